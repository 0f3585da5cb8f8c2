"""Boundaries between labels and objects at the border: scikit-image's
``find_boundaries`` and ``clear_border`` on dask arrays.

``find_boundaries`` is local: every chunk with a one-pixel halo (the halo
engine, :mod:`bigimg._halo`), where scikit-image's grey dilation and erosion
run as on the whole array. ``clear_border`` labels the regions of one value
(the label engine, ``by_value``: scikit-image's ``label``), reads the labels
in the border region only (the border blocks), and clears those regions,
lazily.
"""

from __future__ import annotations

import functools
from typing import Any

import dask.array as da
import numpy as np
import scipy.ndimage as ndi

from bigimg import _labels
from bigimg._halo import LocalOp, apply, as_input, call_inside
from bigimg._reduce import Regions, reduce_regions
from bigimg._validation import as_dask, is_int
from bigimg.segmentation.relabel import check_labels, lookup, refuse_out

__all__ = ["clear_border", "find_boundaries"]

MODES = ("thick", "inner", "outer", "subpixel")


def _max_label(dtype: np.dtype) -> Any:
    """scikit-image's stand-in for 'between pixels': the dtype's largest integer."""
    if dtype.kind not in "iu":
        raise ValueError(f"find_boundaries: mode 'outer' and 'subpixel' need integer labels, "
                         f"not {dtype} (scikit-image takes np.iinfo of the dtype)")  # fmt: skip
    return np.iinfo(dtype).max


def _boundaries(
    x: np.ndarray, footprint: np.ndarray, mode: str, background: Any, max_label: Any
) -> np.ndarray:
    """scikit-image's arithmetic for the modes but 'subpixel', on an array."""
    if x.dtype == bool:
        x = x.astype(np.uint8)
    full = ndi.generate_binary_structure(x.ndim, x.ndim)
    boundaries = ndi.grey_dilation(x, footprint=footprint, mode="reflect") != ndi.grey_erosion(
        x, footprint=footprint, mode="reflect"
    )
    if mode == "inner":
        boundaries &= x != background
    elif mode == "outer":
        background_image = x == background
        inverted = np.array(x, copy=True)
        inverted[background_image] = max_label
        adjacent = (
            ndi.grey_dilation(x, footprint=full, mode="reflect")
            != ndi.grey_erosion(inverted, footprint=full, mode="reflect")
        ) & ~background_image
        boundaries &= background_image | adjacent
    return boundaries


def _subpixel_codes(x: np.ndarray, *, frame: Any, max_label: Any, dtype: Any) -> np.ndarray:
    """Per pixel ``p`` of the chunk, bit ``e`` (``e`` in {0, 1}^ndim, C order) set
    where scikit-image's doubled image is a boundary at ``2 p + e``: at least
    two values other than ``max_label`` among the pixels ``p + f``, ``f <= e``."""
    trims = [a.trim for a in frame.axes]
    chunk = tuple(t.stop - t.start for t in trims)
    codes = np.zeros(chunk, dtype)
    for bit, e in enumerate(np.ndindex(*(2,) * x.ndim)):
        if not any(e):
            continue
        # the chunk's pixels whose neighbour p + e lies in the extended block
        inside = tuple(
            min(n, x.shape[k] - t.start - e[k]) for k, (t, n) in enumerate(zip(trims, chunk))
        )
        if min(inside) <= 0:
            continue
        corners = [
            x[
                tuple(
                    slice(t.start + f[k], t.start + f[k] + inside[k]) for k, t in enumerate(trims)
                )
            ]
            for f in np.ndindex(*(s + 1 for s in e))
        ]
        low = functools.reduce(np.minimum, corners)
        high = functools.reduce(np.maximum, [np.where(c == max_label, low, c) for c in corners])
        found = (low != max_label) & (high > low)
        codes[tuple(slice(0, n) for n in inside)] |= found.astype(dtype) << dtype.type(bit)
    return codes


def _decode(codes: np.ndarray, ndim: int) -> np.ndarray:
    """The doubled block of boundaries from :func:`_subpixel_codes`."""
    bits = (codes[..., None] >> np.arange(2**ndim, dtype=codes.dtype)) & 1
    cube = bits.astype(bool).reshape(codes.shape + (2,) * ndim)
    order = [a for k in range(ndim) for a in (k, ndim + k)]
    return cube.transpose(order).reshape(tuple(2 * n for n in codes.shape))


def find_boundaries(
    label_img: Any, connectivity: int = 1, mode: str = "thick", background: int = 0
) -> da.Array:
    """Boundaries between labelled regions, as ``skimage.segmentation.find_boundaries``.

    Lazy and local: each chunk is read with a one-pixel halo.

    Parameters
    ----------
    label_img : array_like or dask.array.Array
        Labels (integer or boolean; other real dtypes work for 'thick' and
        'inner', as in scikit-image).
    connectivity : int, optional
        Which neighbours count: ``generate_binary_structure(ndim,
        connectivity)`` (1, the default: faces only).
    mode : {'thick', 'inner', 'outer', 'subpixel'}, optional
        'thick' (default): pixels with a neighbour of another label; 'inner':
        those inside objects (not ``background``); 'outer': those in the
        background around objects (and where objects touch); 'subpixel': a
        doubled image (``2 * n - 1`` along each axis) marking the positions
        between pixels of different labels. Another mode raises ValueError
        (scikit-image computes 'thick' for any other name).
    background : int, optional
        The background label of 'inner' and 'outer' (default 0).

    Returns
    -------
    dask.array.Array of bool
        Chunked like ``label_img`` (for 'subpixel': each chunk doubled, the
        last one less one pixel along each axis).

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> x = np.array([[0, 0, 0, 0], [0, 1, 1, 0], [0, 1, 1, 2], [0, 0, 2, 2]], np.uint8)
    >>> find_boundaries(da.from_array(x, chunks=2)).compute().astype(int)
    array([[0, 1, 1, 0],
           [1, 1, 1, 1],
           [1, 1, 1, 1],
           [0, 1, 1, 0]])
    >>> find_boundaries(x, mode="inner").compute().astype(int)
    array([[0, 0, 0, 0],
           [0, 1, 1, 0],
           [0, 1, 1, 1],
           [0, 0, 1, 0]])
    >>> find_boundaries(x[:2, :2], mode="subpixel").compute().astype(int)
    array([[0, 0, 0],
           [0, 1, 1],
           [0, 1, 0]])
    """
    image = as_input(label_img, "label_img")  # a tracer inside bigimg.ndimage.fused
    if image.dtype == object or image.dtype.kind == "c":
        raise TypeError(f"label_img must be a real-valued array, not {image.dtype}")
    if not isinstance(mode, str) or mode not in MODES:
        raise ValueError(f"mode={mode!r} must be one of {', '.join(map(repr, MODES))}")
    if isinstance(connectivity, bool) or not isinstance(
        connectivity, int | np.integer | float | np.floating
    ):
        raise TypeError(f"connectivity must be a number, not {connectivity!r}")
    ndim = image.ndim
    footprint = ndi.generate_binary_structure(ndim, connectivity)
    value_dtype = np.dtype(np.uint8) if image.dtype == bool else image.dtype
    max_label = _max_label(value_dtype) if mode in ("outer", "subpixel") else None
    if ndim == 0:
        raise ValueError("find_boundaries needs an image of at least one dimension")
    if mode == "subpixel":  # not local: its result is a doubled image
        return _subpixel(as_dask(image, "label_img").astype(value_dtype), max_label)
    if image.size == 0:
        return da.zeros(image.shape, dtype=bool, chunks=image.chunks)
    kwargs = dict(footprint=footprint, mode=mode, background=background, max_label=max_label)
    func = functools.partial(call_inside, func=_boundaries, kwargs=kwargs)
    depth = ((1, 1),) * ndim
    op = LocalOp("find_boundaries", func, depth, ("reflect",) * ndim, 0, np.dtype(bool), kwargs)
    return apply(op, image)


def _subpixel(image: da.Array, max_label: Any) -> da.Array:
    ndim = image.ndim
    if image.size == 0:
        raise ValueError("find_boundaries: mode 'subpixel' of an empty image")
    if ndim > 6:
        raise ValueError("find_boundaries: mode 'subpixel' supports at most 6 dimensions")
    dtype = np.dtype(f"uint{max(8, 2**ndim)}")
    kwargs = dict(max_label=max_label, dtype=dtype)
    func = functools.partial(_subpixel_codes, **kwargs)
    depth = ((0, 1),) * ndim
    op = LocalOp("find-boundaries-codes", func, depth, ("nearest",) * ndim, 0, dtype, kwargs)
    codes = apply(op, image)
    doubled = tuple(tuple(2 * n for n in c) for c in codes.chunks)
    boundaries = da.map_blocks(_decode, codes, ndim, chunks=doubled, dtype=bool)
    return boundaries[tuple(slice(0, 2 * n - 1) for n in image.shape)]


def _border_slabs(shape: tuple[int, ...], buffer_size: int) -> list[tuple[slice, ...]]:
    """scikit-image's border region as slabs: along each axis, the first and last
    ``buffer_size + 1`` pixels (numpy's slice rules, for any integer)."""
    ext = buffer_size + 1
    slabs = []
    for d in range(len(shape)):
        for part in (slice(ext), slice(-ext, None)):
            if len(range(*part.indices(shape[d]))):
                slabs.append(tuple(part if k == d else slice(None) for k in range(len(shape))))
    return slabs


def clear_border(
    labels: Any, buffer_size: int = 0, bgval: Any = 0, mask: Any = None, *, out: Any = None
) -> da.Array:
    """Objects touching the image border cleared, as ``skimage.segmentation.clear_border``.

    The objects are scikit-image's ``label(labels, background=0)``: regions
    of one value, joined through faces, edges and corners (a label split in
    two parts is two objects). The objects touching the border region (or
    overlapping ``mask``'s False pixels) are found when called: the border
    blocks are labelled and read (with ``mask``: every block); the result
    is lazy.

    Parameters
    ----------
    labels : array_like or dask.array.Array
        Integer or boolean labels; other dtypes are refused (TypeError).
    buffer_size : int, optional
        The width of the border examined, besides the outermost pixels
        (default 0). Must be smaller than every side (ValueError) unless
        ``mask`` is given.
    bgval : float or int, optional
        The value of the cleared pixels (default 0), cast to ``labels``'
        dtype as numpy assigns it. As in scikit-image, where the border holds
        background, every background pixel becomes ``bgval`` too.
    mask : array_like or dask.array.Array of bool, optional
        Objects overlapping its False pixels are cleared; ``buffer_size`` is
        then ignored. Of ``labels``' shape (ValueError) and boolean
        (TypeError).
    out : None, optional, keyword-only
        Must be None: a lazy result cannot fill an array (TypeError).

    Returns
    -------
    dask.array.Array
        Of ``labels``' dtype, shape and chunks.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> x = np.array([[1, 0, 0, 0, 0],
    ...               [0, 0, 2, 2, 0],
    ...               [0, 3, 2, 0, 0],
    ...               [0, 0, 0, 0, 4]])
    >>> clear_border(da.from_array(x, chunks=2)).compute()
    array([[0, 0, 0, 0, 0],
           [0, 0, 2, 2, 0],
           [0, 3, 2, 0, 0],
           [0, 0, 0, 0, 0]])
    >>> y = np.zeros((6, 6), int)
    >>> y[2:4, 2:4], y[0, :2], y[4, 3] = 5, 6, 7
    >>> clear_border(y, buffer_size=1, bgval=-1).compute()
    array([[-1, -1, -1, -1, -1, -1],
           [-1, -1, -1, -1, -1, -1],
           [-1, -1,  5,  5, -1, -1],
           [-1, -1,  5,  5, -1, -1],
           [-1, -1, -1, -1, -1, -1],
           [-1, -1, -1, -1, -1, -1]])
    """
    image = check_labels(labels)
    if not is_int(buffer_size):
        raise TypeError(f"buffer_size={buffer_size!r} must be an integer")
    if mask is None and any(buffer_size >= s for s in image.shape):
        raise ValueError("buffer size may not be greater than labels size")
    border_mask = None
    if mask is not None:
        border_mask = as_dask(mask, "mask")
        if border_mask.shape != image.shape:
            raise ValueError(
                f"labels and mask should have the same shape but are {image.shape} and "
                f"{border_mask.shape}"
            )
        if border_mask.dtype != bool:
            raise TypeError("mask should be of type bool.")
        border_mask = border_mask.rechunk(image.chunks)
    refuse_out(out, "clear_border")
    scratch = np.zeros(1, image.dtype)
    scratch[0] = bgval  # numpy's assignment: its cast, and its errors, now
    fill = scratch[0]
    if image.ndim == 0 or image.size == 0:
        return image
    structure = ndi.generate_binary_structure(image.ndim, image.ndim)
    table = _labels.merge_labels(image, structure, by_value=True)
    dtype = _labels.label_dtype(image.size)
    objects = _labels.relabelled(image, structure, table, dtype, by_value=True)
    if border_mask is not None:
        parts = [da.where(border_mask, -1, objects)]  # -1: not in the border region
    else:
        parts = [objects[slab] for slab in _border_slabs(image.shape, buffer_size)]
    touching = np.zeros(table.count + 1, dtype=bool)
    for part in parts:
        keys = np.asarray(reduce_regions(None, part, {"count"}, Regions(low=0)).keys)
        touching[keys.astype(np.intp)] = True
    if not touching.any():
        return image
    cleared = lookup(objects, touching, "clear-border")
    return da.where(cleared, fill, image)
