"""Connected-component labelling and label clean-up on dask arrays.

``label`` stands on the label-merge engine (:mod:`bigimg._labels`): its ids
are scipy's, for every chunking. The clean-up functions do lazily what the
tutorial does with numpy fancy indexing on the whole image (``mask_size[label_im]``,
``np.searchsorted(np.unique(l), l)``).
"""

from __future__ import annotations

from typing import Any

import dask.array as da
import numpy as np
import scipy.ndimage as ndi
from dask.base import tokenize
from dask.highlevelgraph import HighLevelGraph

from bigimg import _labels
from bigimg._reduce import Regions, reduce_regions
from bigimg._validation import as_dask, check_output

__all__ = ["label", "relabel", "relabel_sequential", "remove_small_objects"]


def label(input: Any, structure: Any = None, output: Any = None) -> tuple[da.Array, int]:
    """Label connected components, exactly as ``scipy.ndimage.label``.

    Parameters
    ----------
    input : array_like or dask.array.Array
        Image whose non-zero pixels are the features.
    structure : array_like, optional
        Connectivity, 3 along every axis and symmetric about its centre
        (default: faces only, ``generate_binary_structure(ndim, 1)``).
    output : dtype, optional
        Of the label image (default scipy's: int32, or intp for arrays of
        2**31 - 2 pixels or more, so the count always fits the default; ids
        are counted in int64 throughout). An output array is not accepted.
        A dtype too narrow for the number of objects raises ValueError
        ("insufficient bit-depth", scipy's RuntimeError) when ``label`` is
        called.

    Returns
    -------
    labels : dask.array.Array
        Lazy label image, chunked like ``input``: the ids are scipy's (in
        raster order of each object's first pixel) whatever the chunking.
    num_features : int
        Number of objects. Computing it reads the data once: each block is
        labelled, and the labels of neighbouring blocks are joined on their
        shared faces. Computing ``labels`` later labels each block again.

    Examples
    --------
    >>> import numpy as np, dask.array as da, scipy.ndimage as ndi
    >>> x = np.array([[0, 1, 1, 0], [1, 0, 1, 1], [1, 0, 0, 0], [0, 1, 1, 1]])
    >>> lab, n = label(da.from_array(x, chunks=2))
    >>> n
    3
    >>> bool((lab.compute() == ndi.label(x)[0]).all())
    True
    """
    image = as_dask(input)
    if np.issubdtype(image.dtype, np.complexfloating):
        raise TypeError("label: complex input is not supported (like scipy)")
    structure = _labels.check_structure(structure, image.ndim)
    out_dtype = check_output(output)
    dtype = _labels.label_dtype(image.size) if out_dtype is None else out_dtype
    if dtype.kind not in "iu":
        raise TypeError(f"output={output!r}: labels need an integer dtype")
    if image.ndim == 0 or image.size == 0:
        values = np.asarray(image.compute())
        labels, count = ndi.label(values, structure if image.ndim else None)
        return da.from_array(np.asarray(labels, dtype=dtype), chunks=image.chunks), int(count)
    table = _labels.merge_labels(image, structure)
    if table.count > np.iinfo(dtype).max:
        raise ValueError(
            f"output={dtype}: insufficient bit-depth in requested output type: "
            f"{table.count} labels do not fit (at most {np.iinfo(dtype).max}); "
            "use a wider integer dtype"
        )
    return _labels.relabelled(image, structure, table, dtype), table.count


def check_label_dtype(labels: Any, name: str = "labels") -> Any:
    """``labels`` as an array (dask arrays as they are), refused unless its ids are
    integer or boolean, as scikit-image's label functions refuse them.

    A float image is not a label image (every value would become a label), so
    float and complex labels raise TypeError when the function is called,
    before anything is computed. (The scipy.ndimage measurements accept float
    labels, as scipy does; they do not use this check.)
    """
    array = labels if isinstance(labels, da.Array) else np.asarray(labels)
    if array.dtype == object:
        raise TypeError(f"{name} must be a numeric array, not {type(labels).__name__}")
    if array.dtype.kind not in "iub":
        raise TypeError(
            f"{name} must be an integer or boolean image, got {array.dtype}; label a "
            "mask first (bigimg.ndimage.label) or cast integral labels with .astype(int)"
        )
    return array


def _check_labels(labels: Any, name: str = "labels") -> da.Array:
    return as_dask(check_label_dtype(labels, name), name)


def relabel(labels: Any, table: Any) -> da.Array:
    """``table[labels]``, lazily: map every label through a lookup table.

    The tutorial's ``mask_size[label_im]`` (which pixels belong to objects
    that are too small) or any per-label recoding. ``table`` is one small
    array, held once in the graph and shared by every block.

    Parameters
    ----------
    labels : array_like or dask.array.Array
        Integer (or boolean) label image; float and complex images are refused
        (TypeError) when called.
    table : array_like
        1-D lookup table; labels must lie in ``[-len(table), len(table))``
        like numpy indexing (an error at compute time names the label).

    Returns
    -------
    dask.array.Array
        Of ``table``'s dtype, chunked like ``labels``.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> lab = da.from_array(np.array([[0, 1, 1], [2, 0, 3]]), chunks=2)
    >>> relabel(lab, np.array([0, 10, 20, 30])).compute()
    array([[ 0, 10, 10],
           [20,  0, 30]])
    """
    image = _check_labels(labels)
    lut = np.asarray(table)
    if lut.ndim != 1:
        raise ValueError(f"table must be 1-D, got shape {lut.shape}")
    return _lookup(image, lut, "relabel")


def _lookup(image: da.Array, lut: np.ndarray, name: str, search: bool = False) -> da.Array:
    """Map each block through ``lut`` (``lut[block]``, or ``searchsorted(lut, block)``)
    with ``lut`` stored once in the graph."""
    token = tokenize(image.name, lut, search)
    table_key = f"{name}-table-{token}"
    out_name = f"{name}-{token}"
    func = _search_block if search else _index_block
    dtype = np.dtype(np.intp) if search else lut.dtype
    layer: dict[Any, Any] = {table_key: lut}
    for index in np.ndindex(*image.numblocks):
        layer[(out_name, *index)] = (func, (image.name, *index), table_key)
    graph = HighLevelGraph.from_collections(
        out_name,
        layer,
        dependencies=[image],  # type: ignore[list-item]  # dask's Array misses its DaskCollection protocol
    )
    meta = np.empty((0,) * image.ndim, dtype)
    return da.Array(graph, out_name, chunks=image.chunks, dtype=dtype, meta=meta)


def _index_block(block: np.ndarray, lut: np.ndarray) -> np.ndarray:
    try:
        return lut[block]
    except IndexError:
        bad = block[(block >= len(lut)) | (block < -len(lut))]
        raise IndexError(
            f"label {bad.flat[0]} is outside the table of {len(lut)} entries"
        ) from None


def _search_block(block: np.ndarray, values: np.ndarray) -> np.ndarray:
    return np.searchsorted(values, block)


def relabel_sequential(labels: Any) -> tuple[da.Array, np.ndarray]:
    """Labels renumbered consecutively, the tutorial's ``np.searchsorted(np.unique(l), l)``.

    Every value is replaced by its rank among the values present, so labels
    become consecutive (0 stays 0 when there is background), lazily. Unlike
    ``skimage.segmentation.relabel_sequential`` (0 stays 0, the other labels
    become ``offset``, ``offset + 1``, ...), the smallest value present
    becomes 0 even when it is not 0, and the second result is the sorted
    values present, not forward and inverse maps.

    Parameters
    ----------
    labels : array_like or dask.array.Array
        Integer (or boolean) label image; float and complex images are
        refused (TypeError) when called.

    Returns
    -------
    relabelled : dask.array.Array
        intp, chunked like ``labels``.
    values : numpy.ndarray
        The sorted values present (``np.unique(labels)``); computing them reads
        the labels once, block by block.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> lab = da.from_array(np.array([[0, 4, 4], [9, 0, 7]]), chunks=2)
    >>> seq, values = relabel_sequential(lab)
    >>> values
    array([0, 4, 7, 9])
    >>> seq.compute()
    array([[0, 1, 1],
           [3, 0, 2]])
    >>> x = lab.compute()
    >>> bool((seq.compute() == np.searchsorted(np.unique(x), x)).all())
    True
    """
    image = _check_labels(labels)
    # the values present, from one pass of the reduction engine (da.unique would
    # ravel the image: a rechunk of every block, a shuffle on a cluster)
    keys = reduce_regions(None, image, {"count"}, Regions()).keys
    values = keys.astype(image.dtype)
    if image.dtype.kind == "b":  # looked up as ids 0 and 1, not as a mask
        image = image.astype(np.uint8)
    if len(values) and values[0] >= 0 and values[-1] < 4 * len(values) + 2**20:
        dense = np.zeros(int(values[-1]) + 1, dtype=np.intp)  # a lookup beats a search
        dense[values.astype(np.intp)] = np.arange(len(values))
        return _lookup(image, dense, "relabel-sequential"), values
    return _lookup(image, values, "relabel-sequential", search=True), values


def remove_small_objects(
    labels: Any,
    min_size: int | None = None,
    *,
    max_size: int | None = None,
    connectivity: int = 1,
) -> da.Array:
    """Objects smaller than ``min_size`` pixels removed, as scikit-image's
    ``skimage.morphology.remove_small_objects``.

    The tutorial's ``sizes = ndimage.sum(mask, label_im, range(n + 1))``,
    ``label_im[(sizes < min_size)[label_im]] = 0`` without loading the image:
    the sizes of every positive label come from one pass of the reduction
    engine (``bigimg._reduce``), computed when called; then each block drops
    the small ones, lazily.

    Parameters
    ----------
    labels : array_like or dask.array.Array
        Integer labels, used as they are: each value > 0 is one object,
        connected or not (ids are kept; use :func:`relabel_sequential` to
        renumber; labels <= 0 are left alone). Or a boolean mask: its
        connected components (:func:`label` with ``connectivity``) are the
        objects, and the result is the mask without the small ones. Float
        and complex images are refused (TypeError).
    min_size : int, optional
        Objects of fewer pixels are removed (``size < min_size``: the tutorial's
        comparison and scikit-image's documented ``min_size``; scikit-image
        0.26.0 passes its deprecated ``min_size`` on as ``max_size``, issue
        #8001, so ``remove_small_objects(x, n)`` there removes size n too).
    max_size : int, optional, keyword-only
        Objects of this many pixels or fewer are removed (``size <= max_size``:
        scikit-image 0.26's name). Give ``min_size`` or ``max_size``, not both.
    connectivity : int, optional, keyword-only
        1 to ``labels.ndim``: which neighbours join a boolean mask's pixels into
        one object (``generate_binary_structure(ndim, connectivity)``; 1, the
        default, as scikit-image: faces only). Not used for integer labels.

    Returns
    -------
    dask.array.Array
        Of ``labels``' dtype and chunks.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> lab = da.from_array(np.array([[1, 1, 0, 2], [1, 0, 3, 3]]), chunks=2)
    >>> remove_small_objects(lab, 2).compute()
    array([[1, 1, 0, 0],
           [1, 0, 3, 3]])
    >>> mask = da.from_array(np.array([[1, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]], bool), chunks=2)
    >>> remove_small_objects(mask, max_size=2).compute().astype(int)
    array([[0, 0, 0, 0],
           [0, 0, 0, 0],
           [0, 0, 0, 0]])
    >>> remove_small_objects(mask, max_size=2, connectivity=2).compute().astype(int)
    array([[1, 1, 0, 0],
           [0, 0, 1, 0],
           [0, 0, 0, 1]])
    """
    image = _check_labels(labels)
    smallest_kept = _smallest_kept(min_size, max_size)
    if isinstance(connectivity, bool) or not isinstance(connectivity, int | np.integer):
        raise TypeError(f"connectivity must be an integer, not {connectivity!r}")
    if not 1 <= connectivity <= max(image.ndim, 1):
        raise ValueError(
            f"connectivity={connectivity} must be 1 to {max(image.ndim, 1)} for an image of "
            f"{image.ndim} dimensions (1: faces only, {image.ndim}: corners too)"
        )
    if image.dtype.kind == "b":
        return _remove_small_components(image, smallest_kept, int(connectivity))
    root = reduce_regions(None, image, {"count"}, Regions(low=1))
    small = np.asarray(root.keys[root.stats["count"] < smallest_kept])
    if len(small) == 0:
        return image
    top = int(small[-1])
    if top < 4 * len(root.keys) + 2**20:
        keep = np.arange(top + 1, dtype=image.dtype)  # a lookup beats a search
        keep[small] = 0
        return da.map_blocks(_drop_dense, image, keep, dtype=image.dtype)
    return da.map_blocks(_drop_sparse, image, small, dtype=image.dtype)


def _smallest_kept(min_size: Any, max_size: Any) -> int:
    """The size from which objects are kept: ``min_size``, or ``max_size + 1``."""
    if min_size is None and max_size is None:
        raise TypeError(
            "remove_small_objects needs a size: min_size or max_size (min_size=n removes "
            "objects of fewer than n pixels, max_size=n those of n pixels or fewer)"
        )
    if min_size is not None and max_size is not None:
        raise TypeError(
            f"give min_size or max_size, not both (got min_size={min_size!r}, "
            f"max_size={max_size!r})"
        )
    name, size = ("min_size", min_size) if min_size is not None else ("max_size", max_size)
    if isinstance(size, bool) or not isinstance(size, int | np.integer):
        raise TypeError(f"{name} must be an integer, not {size!r}")
    return int(size) if name == "min_size" else int(size) + 1


def _remove_small_components(mask: da.Array, smallest_kept: int, connectivity: int) -> da.Array:
    """The mask without its connected components of fewer than ``smallest_kept`` pixels."""
    if smallest_kept <= 1 or mask.size == 0:
        return mask  # no component has fewer than one pixel
    structure = ndi.generate_binary_structure(mask.ndim, connectivity)
    components, _ = label(mask, structure)
    root = reduce_regions(None, components, {"count"}, Regions(low=1))
    keep = np.zeros(len(root.keys) + 1, dtype=bool)  # label's ids are 1..n, all present
    keep[root.keys.astype(np.intp)] = root.stats["count"] >= smallest_kept
    return _lookup(components, keep, "remove-small-objects")


def _drop_dense(block: np.ndarray, keep: np.ndarray) -> np.ndarray:
    out = block.copy()
    inside = (block > 0) & (block < len(keep))
    out[inside] = keep[block[inside]]
    return out


def _drop_sparse(block: np.ndarray, small: np.ndarray) -> np.ndarray:
    return np.where(np.isin(block, small), np.zeros((), block.dtype), block)
