"""scikit-image's ``skimage.morphology`` clean-up functions on dask arrays:
same names, signatures, defaults and results.

``remove_small_objects`` and ``remove_small_holes`` measure every object
(or hole) in one pass of the reduction engine (:mod:`bigimg._reduce`) when
called, a boolean image labelled first by :func:`bigimg.ndimage.label` (ids
equal to scipy's for every chunking); then each block drops the small ones,
lazily.

scikit-image 0.26 deprecates ``min_size`` and ``area_threshold`` for
``max_size`` (FutureWarning, with scikit-image's message). The deprecated
parameters keep their documented meaning here (objects *smaller than* the
size are removed); scikit-image 0.26.0 itself passes them on as
``max_size`` (objects of that size removed too, scikit-image issue #8001).
"""

from __future__ import annotations

import warnings
from typing import Any

import dask.array as da
import numpy as np
import scipy.ndimage as ndi

from bigimg._reduce import Regions, reduce_regions
from bigimg.ndimage import label
from bigimg.segmentation.relabel import check_labels, lookup, map_values, refuse_out

__all__ = ["remove_small_holes", "remove_small_objects"]


class _Deprecated:
    """scikit-image's signal value: a deprecated parameter that was not given."""

    def __repr__(self) -> str:
        return "<DEPRECATED>"


#: the default of a deprecated parameter (shown as ``<DEPRECATED>``, as scikit-image)
DEPRECATED: Any = _Deprecated()


class _DefaultSize(int):
    """The default ``max_size`` (64): an int, told apart from a 64 given."""


_MAX_SIZE = _DefaultSize(64)

_TEMPLATE = (
    "Parameter `{old}` is deprecated since version 0.26.0 and will be removed in 2.0.0 (or "
    "later). To avoid this warning, please use the parameter `max_size` instead. For more "
    "details, see the documentation of `{func}`. Note that the new threshold removes objects "
    "smaller than **or equal to** its value, while the previous parameter only removed "
    "smaller ones."
)


def _smallest_kept(old: Any, old_name: str, max_size: Any, func: str) -> int | None:
    """The size from which objects are kept: ``old`` (the deprecated
    parameter, with scikit-image's FutureWarning), or ``max_size + 1``; None
    for a size of 0 (scikit-image returns the input then, unchecked)."""
    if old is not DEPRECATED:
        warnings.warn(_TEMPLATE.format(old=old_name, func=func), FutureWarning, stacklevel=3)
        if max_size is not _MAX_SIZE:
            raise ValueError(
                f"Both deprecated parameter `{old_name}` and new parameter `max_size` are "
                "used. Use only the latter to avoid conflicting values."
            )
        name, size, shift = old_name, old, 0
    else:
        name, size, shift = "max_size", max_size, 1
    if isinstance(size, bool) or not isinstance(size, int | np.integer | float | np.floating):
        raise TypeError(f"{name} must be a number, not {size!r}")
    if not np.isfinite(size):
        raise ValueError(f"{name}={size!r} must be finite")
    if size == 0:
        return None
    # sizes are integers: size < t  <=>  size < ceil(t);  size <= t  <=>  size < floor(t) + 1
    return int(np.ceil(size)) if shift == 0 else int(np.floor(size)) + 1


def _check_dtype(image: Any, name: str) -> da.Array:
    array = image if isinstance(image, da.Array) else np.asarray(image)
    if not (array.dtype == bool or np.issubdtype(array.dtype, np.integer)):
        raise TypeError(f"Only bool or integer image types are supported. Got {array.dtype}.")
    return check_labels(array, name)


def _structure(ndim: int, connectivity: Any) -> np.ndarray:
    """scikit-image's footprint: ``generate_binary_structure(ndim, connectivity)``
    (below 1 means 1, above ``ndim`` means every neighbour)."""
    if isinstance(connectivity, bool) or not isinstance(
        connectivity, int | np.integer | float | np.floating
    ):
        raise TypeError(f"connectivity must be a number, not {connectivity!r}")
    return ndi.generate_binary_structure(ndim, connectivity)


def remove_small_objects(
    ar: Any,
    min_size: Any = DEPRECATED,
    connectivity: int = 1,
    *,
    max_size: int = _MAX_SIZE,
    out: Any = None,
) -> da.Array:
    """Objects of ``max_size`` pixels or fewer removed, as
    ``skimage.morphology.remove_small_objects``.

    The tutorial's ``sizes = ndimage.sum(mask, label_im, range(n + 1))``,
    ``label_im[(sizes < min_size)[label_im]] = 0`` without loading the image:
    the size of every label comes from one pass of the reduction engine,
    computed when called; then each block drops the small ones, lazily.

    Parameters
    ----------
    ar : array_like or dask.array.Array
        Integer labels, used as they are: each value > 0 is one object,
        connected or not (ids are kept; relabel with
        :func:`bigimg.segmentation.relabel_sequential`). Negative labels raise
        ValueError once the sizes are computed. Or a boolean mask: its
        connected components (:func:`bigimg.ndimage.label` with
        ``connectivity``) are the objects, and the result is the mask without
        the small ones. Other dtypes are refused (TypeError) when called.
    min_size : int, optional
        Deprecated (scikit-image 0.26; FutureWarning): objects of *fewer*
        pixels are removed (``size < min_size``, its documented meaning;
        scikit-image 0.26.0 removes ``size <= min_size``, its issue #8001).
        Give it or ``max_size``, not both (ValueError).
    connectivity : int, optional
        Which neighbours join a boolean mask's pixels into one object:
        ``generate_binary_structure(ndim, connectivity)`` (1, the default:
        faces only; ``ndim``: corners too). Not used for integer labels.
    max_size : int, optional, keyword-only
        Objects of this many pixels or fewer are removed (default 64).
    out : None, optional, keyword-only
        Must be None: a lazy result cannot fill an array (TypeError).

    Returns
    -------
    dask.array.Array
        Of ``ar``'s dtype, shape and chunks.

    Warns
    -----
    UserWarning
        For integer labels whose largest value is 1 (scikit-image's "Only one
        label was provided"), once the sizes are computed.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> a = np.array([[0, 0, 0, 1, 0], [1, 1, 1, 0, 0], [1, 1, 1, 0, 1]], bool)
    >>> remove_small_objects(da.from_array(a, chunks=2), max_size=5).compute().astype(int)
    array([[0, 0, 0, 0, 0],
           [1, 1, 1, 0, 0],
           [1, 1, 1, 0, 0]])
    >>> remove_small_objects(a, max_size=6, connectivity=2).compute().astype(int)
    array([[0, 0, 0, 1, 0],
           [1, 1, 1, 0, 0],
           [1, 1, 1, 0, 0]])
    >>> lab = da.from_array(np.array([[1, 1, 0, 2], [1, 0, 3, 3]]), chunks=2)
    >>> remove_small_objects(lab, max_size=1).compute()
    array([[1, 1, 0, 0],
           [1, 0, 3, 3]])
    """
    image = _check_dtype(ar, "ar")
    smallest_kept = _smallest_kept(min_size, "min_size", max_size, "remove_small_objects")
    structure = _structure(image.ndim, connectivity)
    refuse_out(out, "remove_small_objects")
    return _remove_small(image, smallest_kept, structure)


def _remove_small(image: da.Array, smallest_kept: int | None, structure: np.ndarray) -> da.Array:
    if smallest_kept is None:
        return image
    if image.dtype == bool:
        if smallest_kept <= 1 or image.size == 0:
            return image  # no component has fewer than one pixel
        components, _ = label(image, structure)
        root = reduce_regions(None, components, {"count"}, Regions(low=1))
        keep = np.zeros(len(root.keys) + 1, dtype=bool)  # label's ids are 1..n, all present
        keep[root.keys.astype(np.intp)] = root.stats["count"] >= smallest_kept
        return lookup(components, keep, "remove-small-objects")
    if image.size == 0:
        return image
    root = reduce_regions(None, image, {"count"}, Regions())
    keys = np.asarray(root.keys)
    if len(keys) and keys[0] < 0:
        raise ValueError(
            "Negative value labels are not supported. Try relabeling the input with "
            "`scipy.ndimage.label` or `skimage.morphology.label`."
        )
    if len(keys) and keys[-1] == 1:  # np.bincount of the labels has two entries
        warnings.warn(
            "Only one label was provided to `remove_small_objects`. Did you mean to use a "
            "boolean array?",
            UserWarning,
            stacklevel=3,
        )
    small = keys[(root.stats["count"] < smallest_kept) & (keys > 0)]
    if len(small) == 0:
        return image
    kept = keys[np.isin(keys, small, invert=True)]
    return map_values(image, kept, kept.astype(image.dtype), "remove-small-objects")


def remove_small_holes(
    ar: Any,
    area_threshold: Any = DEPRECATED,
    connectivity: int = 1,
    *,
    max_size: int = _MAX_SIZE,
    out: Any = None,
) -> da.Array:
    """Holes of ``max_size`` pixels or fewer filled, as
    ``skimage.morphology.remove_small_holes``.

    The holes are the connected components of the background (``~ar``):
    measured in one pass when called, then filled block by block, lazily.

    Parameters
    ----------
    ar : array_like or dask.array.Array
        A boolean mask, or integer labels taken as ``ar != 0`` (with
        scikit-image's UserWarning: the result is boolean). Other dtypes are
        refused (TypeError) when called.
    area_threshold : int, optional
        Deprecated (scikit-image 0.26; FutureWarning): holes of *fewer*
        pixels are filled (its documented meaning; scikit-image 0.26.0
        fills ``size <= area_threshold``, its issue #8001). Give it or
        ``max_size``, not both (ValueError).
    connectivity : int, optional
        Which neighbours join background pixels into one hole:
        ``generate_binary_structure(ndim, connectivity)`` (default 1).
    max_size : int, optional, keyword-only
        Holes of this many pixels or fewer are filled (default 64).
    out : None, optional, keyword-only
        Must be None: a lazy result cannot fill an array (TypeError).

    Returns
    -------
    dask.array.Array of bool
        Of ``ar``'s shape and chunks.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> a = np.array([[1, 1, 1, 1, 1, 0],
    ...               [1, 1, 1, 0, 1, 0],
    ...               [1, 0, 0, 1, 1, 0],
    ...               [1, 1, 1, 1, 1, 0]], bool)
    >>> remove_small_holes(da.from_array(a, chunks=2), max_size=1).compute().astype(int)
    array([[1, 1, 1, 1, 1, 0],
           [1, 1, 1, 1, 1, 0],
           [1, 0, 0, 1, 1, 0],
           [1, 1, 1, 1, 1, 0]])
    >>> remove_small_holes(a, max_size=1, connectivity=2).compute().astype(int)
    array([[1, 1, 1, 1, 1, 0],
           [1, 1, 1, 0, 1, 0],
           [1, 0, 0, 1, 1, 0],
           [1, 1, 1, 1, 1, 0]])
    """
    image = _check_dtype(ar, "ar")
    if image.dtype != bool:
        warnings.warn(
            "Any labeled images will be returned as a boolean array. Did you mean to use a "
            "boolean array?",
            UserWarning,
            stacklevel=2,
        )
    smallest_kept = _smallest_kept(
        area_threshold, "area_threshold", max_size, "remove_small_holes"
    )
    structure = _structure(image.ndim, connectivity)
    refuse_out(out, "remove_small_holes")
    holes = ~image.astype(bool)
    return ~_remove_small(holes, smallest_kept, structure)
