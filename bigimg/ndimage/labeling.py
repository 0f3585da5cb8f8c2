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
from bigimg._partials import Regions
from bigimg._reduce import reduce_regions
from bigimg.ndimage._inputs import as_dask, check_output

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


def _check_labels(labels: Any, name: str = "labels") -> da.Array:
    image = as_dask(labels, name)
    if image.dtype.kind not in "iub":
        raise TypeError(f"{name} must be an integer label image, not {image.dtype}")
    return image


def relabel(labels: Any, table: Any) -> da.Array:
    """``table[labels]``, lazily: map every label through a lookup table.

    The tutorial's ``mask_size[label_im]`` (which pixels belong to objects
    that are too small) or any per-label recoding. ``table`` is one small
    array, held once in the graph and shared by every block.

    Parameters
    ----------
    labels : array_like or dask.array.Array
        Integer label image.
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
    graph = HighLevelGraph.from_collections(out_name, layer, dependencies=[image])
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
    """The tutorial's ``np.searchsorted(np.unique(l), l)``, lazily.

    Every value is replaced by its rank among the values present, so labels
    become consecutive (0 stays 0 when there is background).

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


def remove_small_objects(labels: Any, min_size: int) -> da.Array:
    """Labels of objects smaller than ``min_size`` pixels set to 0, lazily.

    The tutorial's ``sizes = ndimage.sum(mask, label_im, range(n + 1))``,
    ``label_im[(sizes < min_size)[label_im]] = 0`` without loading the image:
    the sizes of every positive label come from one pass of the reduction
    engine (``bigimg._reduce``), then each block drops the small ones. Ids
    are kept; use :func:`relabel_sequential` to renumber.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> lab = da.from_array(np.array([[1, 1, 0, 2], [1, 0, 3, 3]]), chunks=2)
    >>> remove_small_objects(lab, 2).compute()
    array([[1, 1, 0, 0],
           [1, 0, 3, 3]])
    """
    image = _check_labels(labels)
    if isinstance(min_size, bool) or not isinstance(min_size, int | np.integer):
        raise TypeError(f"min_size must be an integer, not {min_size!r}")
    root = reduce_regions(None, image, {"count"}, Regions(low=1))
    small = np.asarray(root.keys[root.stats["count"] < min_size])
    if len(small) == 0:
        return image
    top = int(small[-1])
    if image.dtype.kind != "b" and top < 4 * len(root.keys) + 2**20:
        keep = np.arange(top + 1, dtype=image.dtype)  # a lookup beats a search
        keep[small] = 0
        return image.map_blocks(_drop_dense, keep, dtype=image.dtype)
    return image.map_blocks(_drop_sparse, small, dtype=image.dtype)


def _drop_dense(block: np.ndarray, keep: np.ndarray) -> np.ndarray:
    out = block.copy()
    inside = (block > 0) & (block < len(keep))
    out[inside] = keep[block[inside]]
    return out


def _drop_sparse(block: np.ndarray, small: np.ndarray) -> np.ndarray:
    return np.where(np.isin(block, small), np.zeros((), block.dtype), block)
