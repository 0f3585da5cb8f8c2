"""Label values mapped lazily: scikit-image's ``relabel_sequential`` and
``ArrayMap``, and bigimg's ``relabel`` (a lookup table, the tutorial's
``table[labels]``).

Every map is one small table held once in the graph and shared by every
block; the values present in a label image come from one pass of the
reduction engine (:mod:`bigimg._reduce`), block by block, in bounded memory.
"""

from __future__ import annotations

from typing import Any

import dask.array as da
import numpy as np
from dask.base import tokenize
from dask.highlevelgraph import HighLevelGraph

from bigimg._reduce import Regions, reduce_regions
from bigimg._validation import as_dask
from bigimg.ndimage.labeling import check_label_dtype

__all__ = [
    "ArrayMap",
    "check_labels",
    "label_values",
    "lookup",
    "map_values",
    "refuse_out",
    "relabel",
    "relabel_sequential",
]

#: a dense table is used when the largest value is at most this much more
#: than four times the number of values (a lookup beats a search)
DENSE_SLACK = 2**20


def check_labels(labels: Any, name: str = "labels") -> da.Array:
    """``labels`` as a dask array, refused (TypeError, when called) unless its
    ids are integer or boolean, as scikit-image's label functions refuse them
    (:func:`bigimg.ndimage.labeling.check_label_dtype`)."""
    return as_dask(check_label_dtype(labels, name), name)


def refuse_out(out: Any, func: str) -> None:
    """scikit-image's ``out=`` array: a lazy result cannot fill one (TypeError)."""
    if out is not None:
        raise TypeError(
            f"{func}: out= is not supported on dask arrays (the result is a new lazy "
            "array); leave it None and store the result (bigimg.save, or .compute())"
        )


def label_values(image: da.Array) -> np.ndarray:
    """The sorted values present in ``image`` (``np.unique``), in its dtype:
    one pass of the reduction engine (``da.unique`` would ravel the image)."""
    keys = reduce_regions(None, image, {"count"}, Regions()).keys
    return np.asarray(keys).astype(image.dtype)


def lookup(image: da.Array, lut: np.ndarray, name: str) -> da.Array:
    """``lut[image]``, lazily, with ``lut`` stored once in the graph."""
    return _blockwise(image, _index_block, (lut,), lut.dtype, name)


def map_values(
    image: da.Array, in_values: np.ndarray, out_values: np.ndarray, name: str
) -> da.Array:
    """scikit-image's ``map_array``, lazily: each value in ``in_values`` becomes
    the matching ``out_values`` entry, every other value 0 (in ``out_values``'
    dtype). A dense table when the values allow it, else a sorted search."""
    in_values, out_values = np.asarray(in_values), np.asarray(out_values)
    if image.dtype.kind == "b":
        image = image.astype(np.uint8)
    if len(in_values) == 0:
        return da.zeros(image.shape, dtype=out_values.dtype, chunks=image.chunks)
    order = np.argsort(in_values, kind="stable")
    keys = in_values[order].astype(image.dtype)
    values = out_values[order]
    if keys[0] >= 0 and int(keys[-1]) < 4 * len(keys) + DENSE_SLACK:
        dense = np.zeros(int(keys[-1]) + 1, dtype=out_values.dtype)
        dense[keys.astype(np.intp)] = values
        return _blockwise(image, _dense_block, (dense,), dense.dtype, name)
    return _blockwise(image, _search_block, (keys, values), values.dtype, name)


def _blockwise(
    image: da.Array, func: Any, tables: tuple[np.ndarray, ...], dtype: np.dtype, name: str
) -> da.Array:
    """``func(block, *tables)`` on every block, the tables held once in the graph."""
    token = tokenize(image.name, func.__name__, *tables)
    table_keys = [f"{name}-table{i}-{token}" for i in range(len(tables))]
    out_name = f"{name}-{token}"
    layer: dict[Any, Any] = dict(zip(table_keys, tables))
    for index in np.ndindex(*image.numblocks):
        layer[(out_name, *index)] = (func, (image.name, *index), *table_keys)
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


def _dense_block(block: np.ndarray, dense: np.ndarray) -> np.ndarray:
    inside = (block >= 0) & (block < len(dense))
    if inside.all():
        return dense[block]
    out = np.zeros(block.shape, dense.dtype)
    out[inside] = dense[block[inside]]
    return out


def _search_block(block: np.ndarray, keys: np.ndarray, values: np.ndarray) -> np.ndarray:
    at = np.minimum(np.searchsorted(keys, block), len(keys) - 1)
    found = keys[at] == block
    return np.where(found, values[at], np.zeros((), values.dtype))


class ArrayMap:
    """scikit-image's ``ArrayMap``: a map from label values to values, indexed
    like a NumPy lookup array without holding one as long as the largest label.

    ``relabel_sequential`` returns two (forward and inverse). Indexing with a
    numpy array (or scalar, slice, boolean mask) gives what scikit-image's
    gives; indexing with a dask array maps it lazily, block by block.

    Parameters
    ----------
    in_values : array of int, shape (K,)
        The values mapped from.
    out_values : array, shape (K,)
        The values they map to (values not in ``in_values`` map to 0).

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> fw = ArrayMap(np.array([0, 10]), np.array([0, 1]))
    >>> print(fw)
    ArrayMap:
      0 → 0
      10 → 1
    >>> fw[np.array([10, 0, 3])]
    array([1, 0, 0])
    >>> fw[da.from_array(np.array([10, 10, 0]), chunks=2)].compute()
    array([1, 1, 0])
    """

    def __init__(self, in_values: Any, out_values: Any) -> None:
        self.in_values = np.asarray(in_values)
        self.out_values = np.asarray(out_values)
        self._max_str_lines = 4
        self._array: np.ndarray | None = None

    def __len__(self) -> int:
        """One more than the largest value mapped from."""
        return int(np.max(self.in_values)) + 1

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        """The lookup array this map stands for (as long as the largest value + 1)."""
        out = np.zeros(np.max(self.in_values) + 1, dtype=self.out_values.dtype)
        out[self.in_values] = self.out_values
        return out if dtype is None else out.astype(dtype)

    @property
    def dtype(self) -> np.dtype:
        """The dtype of the values mapped to."""
        return self.out_values.dtype

    def __repr__(self) -> str:
        return f"ArrayMap({self.in_values!r}, {self.out_values!r})"

    def __str__(self) -> str:
        def row(i: int) -> str:
            return f"  {self.in_values[i]} → {self.out_values[i]}"

        n, most = len(self.in_values), self._max_str_lines
        if n <= most + 1:
            rows = [row(i) for i in range(n)]
        else:
            rows = [*map(row, range(most // 2)), "  ...", *map(row, range(-most // 2, 0))]
        return "\n".join(["ArrayMap:", *rows])

    def __call__(self, arr: Any) -> Any:
        return self.__getitem__(arr)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, da.Array):
            return map_values(
                check_labels(index, "index"), self.in_values, self.out_values, "arraymap"
            )
        scalar = np.isscalar(index)
        if scalar:
            index = np.array([index])
        elif isinstance(index, slice):
            start = index.start or 0
            stop = index.stop if index.stop is not None else len(self)
            index = np.arange(start, stop, index.step)
        index = np.asarray(index)
        if index.dtype == bool:
            index = np.flatnonzero(index)
        if index.dtype.kind not in "iu":
            raise TypeError("The dtype of an array to be remapped should be integer.")
        out = _map_numpy(index, self.in_values, self.out_values)
        return out[0] if scalar else out

    def __setitem__(self, indices: Any, values: Any) -> None:
        if self._array is None:
            self._array = self.__array__()
        self._array[indices] = values
        self.in_values = np.flatnonzero(self._array)
        self.out_values = self._array[self.in_values]


def _map_numpy(index: np.ndarray, in_values: np.ndarray, out_values: np.ndarray) -> np.ndarray:
    """``map_array`` on a numpy array: values not in ``in_values`` become 0."""
    if len(in_values) == 0:
        return np.zeros(index.shape, out_values.dtype)
    order = np.argsort(in_values, kind="stable")
    keys = in_values[order].astype(index.dtype, copy=False)
    return _search_block(index, keys, out_values[order])


def relabel(labels: Any, table: Any) -> da.Array:
    """``table[labels]``, lazily: map every label through a lookup table.

    bigimg's own clean-up step (not a scikit-image name): the tutorial's
    ``mask_size[label_im]`` (which pixels belong to objects that are too
    small) or any per-label recoding. ``table`` is one small array, held
    once in the graph and shared by every block.

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
    image = check_labels(labels)
    lut = np.asarray(table)
    if lut.ndim != 1:
        raise ValueError(f"table must be 1-D, got shape {lut.shape}")
    return lookup(image, lut, "relabel")


def relabel_sequential(label_field: Any, offset: int = 1) -> tuple[da.Array, ArrayMap, ArrayMap]:
    """Labels renumbered ``offset``, ``offset + 1``, ..., as
    ``skimage.segmentation.relabel_sequential``.

    0 stays 0 (background); the other values present become consecutive
    from ``offset``, in increasing order. The values present are computed
    when called (one pass over the labels, block by block, in bounded
    memory); the relabelled image is lazy.

    Parameters
    ----------
    label_field : array_like or dask.array.Array
        Non-negative integer labels. Boolean, float and complex images are
        refused (TypeError), and an empty one (ValueError), when called;
        negative values raise ValueError once the values are computed.
    offset : int, optional
        The first new label, strictly positive (default 1).

    Returns
    -------
    relabeled : dask.array.Array
        Chunked like ``label_field``, of its dtype unless the new labels
        overflow it (then scikit-image's smallest unsigned dtype that holds
        them).
    forward_map : ArrayMap
        Old values -> new ones (``in_values``: the sorted values present).
    inverse_map : ArrayMap
        New values -> old ones.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> lab = da.from_array(np.array([1, 1, 5, 5, 8, 99, 42]), chunks=3)
    >>> relab, fw, inv = relabel_sequential(lab)
    >>> relab.compute()
    array([1, 1, 2, 2, 3, 5, 4])
    >>> fw.in_values, fw.out_values
    (array([ 1,  5,  8, 42, 99]), array([1, 2, 3, 4, 5]))
    >>> inv[relab].compute()
    array([ 1,  1,  5,  5,  8, 99, 42])
    >>> relabel_sequential(lab, offset=5)[0].compute()
    array([5, 5, 6, 6, 7, 9, 8])
    """
    if offset <= 0:
        raise ValueError("Offset must be strictly positive.")
    image = check_labels(label_field, "label_field")
    if image.dtype.kind not in "iu":
        raise TypeError(f"label_field must have an integer dtype, not {image.dtype}")
    if image.size == 0:
        raise ValueError("relabel_sequential: label_field is empty (it has no values)")
    offset = int(offset)
    in_vals = label_values(image)
    if in_vals[0] < 0:
        raise ValueError("Cannot relabel array that contains negative values.")
    if in_vals[0] == 0:  # 0 always maps to 0
        out_vals = np.concatenate([[0], np.arange(offset, offset + len(in_vals) - 1)])
    else:
        out_vals = np.arange(offset, offset + len(in_vals))
    # scikit-image's output type: the input's, unless the new labels overflow it
    input_type = image.dtype
    required_type = np.min_scalar_type(out_vals[-1])
    if input_type.itemsize < required_type.itemsize:
        output_type = required_type
    elif out_vals[-1] < np.iinfo(input_type).max:
        output_type = input_type
    else:
        output_type = required_type
    out_vals = out_vals.astype(output_type)
    relabeled = map_values(image, in_vals, out_vals, "relabel-sequential")
    return relabeled, ArrayMap(in_vals, out_vals), ArrayMap(out_vals, in_vals)
