"""``watershed_ift``: scipy.ndimage's watershed by image foresting transform, across chunks.

Stands on the flood engine's edge mode (:mod:`bigimg._flood`): the same
labels for every chunking, equal to scipy's wherever scipy's own result does
not depend on its queue order.
"""

from __future__ import annotations

from typing import Any

import dask.array as da
import numpy as np
import scipy.ndimage as ndi

from bigimg._flood import flood_labels
from bigimg._validation import as_dask, check_output

__all__ = ["watershed_ift"]


def _scipy_checks(values: da.Array, seeds: da.Array, structure: Any) -> None:
    """scipy's own checks, in scipy's order, on tiny arrays (its errors, now)."""
    tiny = tuple(min(3, max(n, 1)) for n in values.shape)
    ndi.watershed_ift(np.zeros(tiny, values.dtype), np.zeros(tiny, np.int32), structure)
    if values.shape != seeds.shape:
        raise RuntimeError("input and markers must have equal shape")
    ndi.watershed_ift(np.zeros(tiny, values.dtype), np.zeros(tiny, seeds.dtype), structure)


def watershed_ift(input: Any, markers: Any, structure: Any = None, output: Any = None) -> da.Array:
    """Apply watershed from markers using image foresting transform, as
    ``scipy.ndimage.watershed_ift`` on the whole array.

    Parameters
    ----------
    input : array_like or dask.array.Array of uint8 or uint16
        The image. The cost of a path is the highest absolute difference
        between neighbours along it.
    markers : array_like or dask.array.Array of signed int
        Same shape as ``input``: the markers (any non-zero value, negative
        ones too), 0 elsewhere.
    structure : array_like, optional
        scipy's: 3 pixels a side, as many dimensions as ``input`` (default:
        ``generate_binary_structure(input.ndim, 1)``). Symmetric about its
        centre (NotImplementedError otherwise: scipy floods such a structure
        one way only).
    output : dtype, optional
        Accepted and, as in scipy, not used: the labels have ``markers``'
        dtype. An output array is not accepted (TypeError).

    Returns
    -------
    labels : dask.array.Array
        ``markers``' dtype, chunked like ``input``. As scipy does, the array
        is taken as one flat line in C order: a pixel's neighbours are the
        pixels at the flat strides of the structure's offsets (at the end of
        a row, the next one is the first pixel of the next row). Each pixel's
        lowest path cost from the markers is scipy's; where markers of one
        label only reach it at that cost, its label is that label, which is
        scipy's but where scipy's queue loses an update (rarely: scipy does
        not unlink a pixel alone in its cost bucket when it lowers its cost,
        and may then keep a label that does not reach it lowest). Where several
        do (ties, which scipy breaks by its queue order), bigimg breaks them
        by a rule of its own, the same for every chunking: every edge
        ``p < q = p + s`` is keyed ``(|input[p] - input[q]|, p * (K+1) +
        k)`` (``k``: the index of ``s`` among the ``K`` distinct positive
        strides, sorted), a marker's start ``(-1, p * (K+1) + K)``; a pixel's
        level is the lowest, over the paths from a marker, of the highest key
        on the path, so it names one edge (its pass edge), and every pixel of
        one level takes the label of the pass edge's end of lower level. The
        flood over the blocks' faces runs when ``watershed_ift`` is called (it
        reads the input twice); computing the labels reads each block again.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> import scipy.ndimage as ndi
    >>> image = np.zeros((9, 12), np.uint8)
    >>> image[:, [0, 6, 11]] = 200  # walls (rows wrap: column 11 meets column 0)
    >>> markers = np.zeros((9, 12), np.int32)
    >>> markers[4, 2], markers[4, 9] = 1, -1
    >>> labels = watershed_ift(da.from_array(image, chunks=4), markers).compute()
    >>> labels[4]  # the walls are ties: either basin reaches them at cost 200
    array([ 1,  1,  1,  1,  1,  1,  1, -1, -1, -1, -1,  1], dtype=int32)
    >>> basins = image == 0  # no ties there: scipy's labels
    >>> bool((labels[basins] == ndi.watershed_ift(image, markers)[basins]).all())
    True
    """
    values = as_dask(input, "input")
    seeds = as_dask(markers, "markers")
    check_output(output)  # a dtype: scipy returns markers' dtype whatever it names
    if structure is None:
        structure = ndi.generate_binary_structure(values.ndim, 1)
    structure = np.asarray(structure, dtype=bool)
    _scipy_checks(values, seeds, structure)
    if not np.array_equal(structure, structure[(slice(None, None, -1),) * structure.ndim]):
        raise NotImplementedError(
            "watershed_ift: a structure that is not symmetric about its centre is not "
            "supported (scipy floods it one way only)"
        )
    dtype = seeds.dtype
    seeds = seeds.rechunk(values.chunks)
    if values.size == 0 or values.ndim == 0:
        return seeds.copy()
    steps = np.argwhere(structure) - 1
    steps = steps[np.any(steps != 0, axis=1)].astype(np.int64)
    return flood_labels(values.astype(np.float64), seeds, None, steps, dtype, mode="edge")
