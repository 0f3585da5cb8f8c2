"""The mirror of ``skimage.feature``: same names, signatures and results.

:func:`peak_local_max` finds the candidate pixels block by block (a maximum
filter exact at chunk borders, or, with labels, each label's box as skimage
cuts it), gathers them in this process as the blocks finish (coordinates and
values: small), then orders and spaces them exactly as scikit-image 0.26
does on the whole array (:mod:`bigimg._peaks`).
"""

from __future__ import annotations

from typing import Any
from warnings import warn

import dask.array as da
import numpy as np
import scipy.ndimage as ndi

from bigimg._peaks import (
    image_candidates,
    image_range,
    kept_ranges,
    label_candidates,
    strongest,
)
from bigimg._validation import as_dask
from bigimg.ndimage import find_objects, maximum_filter

__all__ = ["peak_local_max"]


def peak_local_max(
    image: Any,
    min_distance: int = 1,
    threshold_abs: float | None = None,
    threshold_rel: float | None = None,
    exclude_border: int | tuple[int, ...] | bool = True,
    num_peaks: float = np.inf,
    footprint: Any = None,
    labels: Any = None,
    num_peaks_per_label: float = np.inf,
    p_norm: float = np.inf,
) -> np.ndarray:
    """Coordinates of the local peaks of an image, as ``skimage.feature.peak_local_max``.

    Equal to scikit-image 0.26's result on the whole array (the same peaks
    in the same order) for every chunking. A peak is a pixel equal to the
    maximum of its neighbourhood (``footprint``, or a cube of side
    ``2 * min_distance + 1``; mode 'nearest'), above the threshold and
    outside the excluded border; they are sorted by value (ties in raster
    order) and each one closer than ``min_distance`` to a stronger one is
    dropped. The candidates are found block by block and gathered in this
    process: memory grows with their number, not with the image.

    Parameters
    ----------
    image : array_like or dask.array.Array
        Input image (numpy arrays are wrapped into dask arrays).
    min_distance : int, optional
        The minimal allowed distance separating peaks (default 1: every
        local maximum).
    threshold_abs : float, optional
        Minimum intensity of peaks (default: the image's minimum).
    threshold_rel : float, optional
        Minimum intensity of peaks as ``threshold_rel * image.max()``; with
        ``threshold_abs`` too, the larger of the two counts.
    exclude_border : int, tuple of int or bool, optional
        Exclude peaks within that many pixels of the border (one value, or
        one per axis); True (default) means ``min_distance``; 0 or False
        excludes none.
    num_peaks : int, optional
        At most this many peaks, the strongest (default: all).
    footprint : ndarray of bool, optional
        The neighbourhood, instead of ``min_distance``'s cube.
    labels : array_like or dask.array.Array of int, optional
        Regions searched separately (0 is background), each with its own
        ``num_peaks_per_label``; the image's shape.
    num_peaks_per_label : int, optional
        At most this many peaks per label (default: all).
    p_norm : float, optional
        The Minkowski p-norm of the distance between peaks, in [1, inf]
        (default inf: Chebyshev; 2 is Euclidean).

    Returns
    -------
    numpy.ndarray
        ``(N, image.ndim)`` integer coordinates of the peaks, in
        scikit-image's order (with labels: label by label, then by value);
        ``(0, 2)`` with labels when no label lies outside the excluded border.

    Raises
    ------
    ValueError, TypeError
        As scikit-image, for a bad ``exclude_border``, ``min_distance``,
        ``footprint``, ``labels`` dtype or ``p_norm``.
    ValueError
        With labels: if their shape is not the image's; if a label holds a
        NaN (at compute time); bigimg's ``find_objects`` limit on a huge,
        sparse largest label.
    NotImplementedError
        With labels, when the threshold lies below the dtype's minimum
        (skimage then also reports background pixels of a label's box).

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> img = np.zeros((7, 7))
    >>> img[3, 4] = 1
    >>> img[3, 2] = 1.5
    >>> peak_local_max(da.from_array(img, chunks=3), min_distance=1)
    array([[3, 2],
           [3, 4]])
    >>> peak_local_max(da.from_array(img, chunks=3), min_distance=2)
    array([[3, 2]])
    >>> labels = np.zeros((7, 7), dtype=int)
    >>> labels[:, 3:] = 1
    >>> peak_local_max(img, labels=labels)
    array([[3, 4]])
    """
    img = as_dask(image, "image")
    if (footprint is None or np.size(footprint) == 1) and min_distance < 1:
        warn(
            "When min_distance < 1, peak_local_max acts as finding "
            "image > max(threshold_abs, threshold_rel * max(image)).",
            RuntimeWarning,
            stacklevel=2,
        )
    widths = _border_widths(img.ndim, min_distance, exclude_border)
    threshold = _threshold(img, threshold_abs, threshold_rel)
    if footprint is None:
        side = 2 * min_distance + 1
        fp = np.ones((side,) * img.ndim, dtype=bool)
    else:
        fp = np.asarray(footprint)
    keep = kept_ranges(img.shape, widths)
    if labels is None:
        -np.empty(0, img.dtype)  # skimage sorts by -value: booleans are refused
        peak_max = None
        if fp.size != 1 and img.size != 1:
            _scipy_checks(img, fp)
            peak_max = maximum_filter(img, footprint=fp, mode="nearest")
        found = image_candidates(img, peak_max, threshold, keep)
        return strongest(found.coords, found.values, num_peaks, min_distance, p_norm)
    return _labelled(
        img, labels, fp, threshold, keep, num_peaks, num_peaks_per_label, min_distance, p_norm
    )


def _scipy_checks(img: da.Array, fp: np.ndarray) -> None:
    """scipy's errors for this footprint and dtype (skimage's maximum filter),
    from a filter of a tiny array."""
    ndi.maximum_filter(np.zeros((3,) * img.ndim, img.dtype), footprint=fp, mode="nearest")


def _border_zeroed(block: np.ndarray, keep: Any, block_info: Any = None) -> np.ndarray:
    """A block of labels with skimage's excluded border set to 0."""
    out = np.zeros_like(block)
    box = []
    for (start, stop), (lo, hi) in zip(block_info[0]["array-location"], keep):
        a, b = min(max(lo - start, 0), stop - start), min(max(hi - start, 0), stop - start)
        box.append(slice(a, max(a, b)))
    out[tuple(box)] = block[tuple(box)]
    return out


def _border_widths(ndim: int, min_distance: Any, exclude_border: Any) -> tuple[Any, ...]:
    """skimage's excluded border width per axis, with its errors."""
    if isinstance(exclude_border, bool):
        return (min_distance if exclude_border else 0,) * ndim
    if isinstance(exclude_border, int):
        if exclude_border < 0:
            raise ValueError("`exclude_border` cannot be a negative value")
        return (exclude_border,) * ndim
    if isinstance(exclude_border, tuple):
        if len(exclude_border) != ndim:
            raise ValueError(
                "`exclude_border` should have the same length as the dimensionality of the image."
            )
        for width in exclude_border:
            if not isinstance(width, int):
                raise ValueError(
                    "`exclude_border`, when expressed as a tuple, must only contain ints."
                )
            if width < 0:
                raise ValueError("`exclude_border` can not be a negative value")
        return exclude_border
    raise TypeError(
        "`exclude_border` must be bool, int, or tuple with the same "
        "length as the dimensionality of the image."
    )


def _threshold(image: da.Array, threshold_abs: Any, threshold_rel: Any) -> Any:
    """skimage's threshold: ``threshold_abs`` or the image's minimum, raised to
    ``threshold_rel * image.max()``; the same types (numpy scalars of the
    image's dtype), so the comparisons promote alike."""
    if threshold_abs is not None and threshold_rel is None:
        return threshold_abs
    if image.size == 0:  # numpy's error for the reduction skimage makes
        empty = np.empty(0, image.dtype)
        empty.min() if threshold_abs is None else empty.max()
    low, high = image_range(image)
    threshold = threshold_abs if threshold_abs is not None else low
    if threshold_rel is not None:
        threshold = max(threshold, threshold_rel * high)
    return threshold


def _labelled(
    img: da.Array,
    labels: Any,
    fp: np.ndarray,
    threshold: Any,
    keep: tuple[tuple[int, int], ...],
    num_peaks: Any,
    num_peaks_per_label: Any,
    min_distance: Any,
    p_norm: Any,
) -> np.ndarray:
    """skimage's label by label search, on the candidates of every label."""
    lab = as_dask(labels, "labels")
    np.empty(0, lab.dtype).astype(int, casting="safe")  # skimage's cast, its TypeError
    if lab.shape != img.shape:
        raise ValueError(f"labels have shape {lab.shape}, the image {img.shape}")
    if np.issubdtype(img.dtype, np.floating):
        bg = np.finfo(img.dtype).min
    else:
        bg = np.iinfo(img.dtype).min
    if np.asarray(np.asarray(bg, img.dtype) > threshold):
        raise NotImplementedError(
            f"peak_local_max with labels and a threshold ({threshold}) below the minimum of "
            f"{img.dtype} ({bg}): skimage then reports background pixels too"
        )
    lab = lab.astype(int).rechunk(img.chunks)
    inner = lab.map_blocks(_border_zeroed, keep=keep, dtype=lab.dtype)
    boxes = find_objects(inner) if img.size else []
    if all(box is None for box in boxes):
        return np.empty((0, 2), dtype=int)
    if fp.size != 1 and any(
        box is not None and np.prod([s.stop - s.start for s in box]) > 1 for box in boxes
    ):
        _scipy_checks(img, fp)  # as skimage meets them on its first box
    found = label_candidates(img, lab, boxes, fp, bg, threshold)
    assert found.labels is not None
    order = np.argsort(found.labels, kind="stable")  # label by label, raster order within
    coords, values, ids = found.coords[order], found.values[order], found.labels[order]
    cuts = np.flatnonzero(np.diff(ids)) + 1
    starts = np.concatenate([[0], cuts]) if len(ids) else np.empty(0, np.intp)
    stops = np.concatenate([cuts, [len(ids)]]) if len(ids) else np.empty(0, np.intp)
    picked = [
        strongest(coords[a:b], values[a:b], num_peaks_per_label, min_distance, p_norm)
        for a, b in zip(starts.tolist(), stops.tolist())
    ]
    out = np.concatenate([np.empty((0, img.ndim), np.intp), *picked])
    if len(out) > num_peaks:
        # skimage's choice among every label's peaks, on the image's values
        where = np.ravel_multi_index(tuple(found.coords.T), img.shape)
        chosen = np.unique(np.ravel_multi_index(tuple(out.T), img.shape))
        at = np.searchsorted(where, chosen)
        again = np.stack(np.unravel_index(chosen, img.shape), axis=-1).astype(np.intp)
        out = strongest(again, found.values[at], num_peaks, min_distance, p_norm)
    return out
