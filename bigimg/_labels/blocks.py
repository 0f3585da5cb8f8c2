"""Connected components of one block, compiled: the local step of the label-merge engine.

:func:`label_block` labels one block like ``scipy.ndimage.label`` (the same
ids: components numbered in raster order of their first pixel) and, in the
same pass, reports where each component starts, which the merge needs and
which scipy cannot tell without another pass over its output.
:func:`label_block_mapped` labels a block again and writes each pixel's
final (global) id straight through a table, without an intermediate gather.

With ``by_value``, neighbours join only when their values are equal: each
connected region of one non-zero value is a component, as
``skimage.measure.label(image, background=0)`` labels integer images.

The algorithm is the classical two-pass union-find. The raster scan gives
each foreground pixel the label of its already visited neighbours (the half
of the structure before the centre in raster order), unioning the labels it
finds, or a new provisional label; the union keeps the smaller label as the
root, so a component's root is its first provisional label, created at its
first pixel. Numbering the roots in increasing order then gives scipy's ids.

Blocks of 1 to 3 dimensions are handled as 3-D views; compiled with numba
(``nogil``: dask's threads label blocks in parallel, which scipy's ``label``
does not allow). Without numba, or for more dimensions, scipy labels the
block and the first pixels are read off its output.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import scipy.ndimage as ndi

from bigimg._kernels import compiled, jit

__all__ = ["BlockLabels", "label_block", "label_block_mapped", "provisional_dtype"]


def provisional_dtype(size: int) -> np.dtype:
    """Local labels of a block of ``size`` pixels: int32 unless ids could overflow it."""
    return np.dtype(np.int64 if size >= 2**31 - 2 else np.int32)


@jit
def _find(parent, x):  # pragma: no cover - compiled
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x


@jit
def _scan(block, steps, labels, parent, first, by_value):  # pragma: no cover - compiled
    """Pass 1: provisional labels into ``labels``; returns how many were made.

    ``steps`` (k x 3): the structure's offsets before the centre in raster order.
    ``parent``: union-find forest (roots are the smallest labels); ``first``:
    flat index of the pixel that created each provisional label; ``by_value``:
    only neighbours of the same value join.
    """
    n0, n1, n2 = block.shape
    count = 0
    k = steps.shape[0]
    rows = np.empty(k, np.int64)  # the steps whose neighbour line exists, this line
    for i in range(n0):
        for j in range(n1):
            valid = 0
            for s in range(k):
                a = i + steps[s, 0]
                b = j + steps[s, 1]
                if a >= 0 and 0 <= b < n1:
                    rows[valid] = s
                    valid += 1
            for m in range(n2):
                if block[i, j, m] == 0:
                    labels[i, j, m] = 0
                    continue
                best = 0
                for r in range(valid):
                    s = rows[r]
                    c = m + steps[s, 2]
                    if c < 0 or c >= n2:
                        continue
                    other = labels[i + steps[s, 0], j + steps[s, 1], c]
                    if other == 0:
                        continue
                    if by_value and block[i + steps[s, 0], j + steps[s, 1], c] != block[i, j, m]:
                        continue
                    root = _find(parent, other)
                    if best == 0:
                        best = root
                    elif root < best:
                        parent[best] = root
                        best = root
                    elif root > best:
                        parent[root] = best
                if best == 0:
                    count += 1
                    best = count
                    parent[best] = best
                    first[best] = (i * n1 + j) * n2 + m
                labels[i, j, m] = best
    return count


@jit
def _number(parent, count, first, starts):  # pragma: no cover - compiled
    """Final local id of every provisional label (in place in ``parent``);
    ``starts[id - 1]``: flat index of each final component's first pixel.
    Returns the number of components."""
    final = 0
    for label in range(1, count + 1):
        up = parent[label]
        if up == label:
            final += 1
            starts[final - 1] = first[label]
            parent[label] = final
        else:
            parent[label] = parent[up]  # up < label: already final
    return final


@jit
def _write(labels, table, out):  # pragma: no cover - compiled
    """Pass 2: ``out = table[labels]`` (table[0] is 0)."""
    n0, n1, n2 = labels.shape
    for i in range(n0):
        for j in range(n1):
            for m in range(n2):
                out[i, j, m] = table[labels[i, j, m]]


def _steps(structure: np.ndarray) -> np.ndarray:
    """Offsets (k x 3) of the structure before its centre in raster order."""
    before = np.flatnonzero(structure.reshape(-1)[: structure.size // 2])
    offsets = np.zeros((len(before), 3), np.int64)
    offsets[:, 3 - structure.ndim :] = np.stack(np.unravel_index(before, structure.shape), 1) - 1
    return offsets


def _compiled(block: np.ndarray) -> bool:
    return compiled() and 1 <= block.ndim <= 3 and block.dtype.kind in "biuf"


def _as3d(block: np.ndarray) -> np.ndarray:
    """A 3-D view (leading unit axes; booleans as bytes) of any layout: no copy."""
    view = block.reshape((1,) * (3 - block.ndim) + block.shape)
    return view.view(np.uint8) if view.dtype == bool else view


def _provisional(
    block: np.ndarray, structure: np.ndarray, by_value: bool = False
) -> tuple[np.ndarray, np.ndarray, Any]:
    """Pass 1 and the numbering: (3-D provisional labels, final id by provisional, starts)."""
    cube = _as3d(block)
    dtype = provisional_dtype(block.size)
    labels = np.empty(cube.shape, dtype)
    parent = np.empty(block.size + 1, dtype)
    first = np.empty(block.size + 1, np.int64)
    count = _scan(cube, _steps(structure), labels, parent, first, by_value)
    starts = np.empty(count, np.int64)
    parent[0] = 0
    found = _number(parent, count, first, starts)
    return labels, parent[: count + 1], starts[:found]


class BlockLabels(NamedTuple):
    """One block's components: scipy's labels are ``ids[provisional]``."""

    provisional: np.ndarray  # block-shaped provisional labels
    ids: np.ndarray  # final local id (scipy's, for this block alone) by provisional label
    starts: np.ndarray  # flat index in the block of each final id's first pixel
    values: np.ndarray | None = None  # the block itself, when labelled by value

    def labels(self, index: Any = ...) -> np.ndarray:
        """scipy's labels of the block, or of ``provisional[index]``."""
        return self.ids[self.provisional[index]]


def label_block(block: np.ndarray, structure: np.ndarray, by_value: bool = False) -> BlockLabels:
    """Label one block as scipy would, and find where each of its components starts
    (``by_value``: regions of one value, as scikit-image's ``label``).

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.ndimage import generate_binary_structure
    >>> x = np.array([[0, 1, 0], [1, 0, 1], [0, 1, 1]])
    >>> found = label_block(x, generate_binary_structure(2, 1))
    >>> found.labels()
    array([[0, 1, 0],
           [2, 0, 3],
           [0, 3, 3]], dtype=int32)
    >>> found.starts
    array([1, 3, 5])
    """
    values = block if by_value else None
    if not _compiled(block):
        if by_value:
            labels, count = _label_by_value(block, structure)
        else:
            labels = np.empty(block.shape, provisional_dtype(block.size))
            count = ndi.label(block, structure, output=labels)
        ids = np.arange(count + 1, dtype=labels.dtype)
        return BlockLabels(labels, ids, _starts(labels, count), values)
    cube, ids, starts = _provisional(block, structure, by_value)
    return BlockLabels(cube.reshape(block.shape), ids, starts, values)


def label_block_mapped(
    block: np.ndarray, structure: np.ndarray, table: np.ndarray, by_value: bool = False
) -> np.ndarray:
    """``table[label(block)]`` in ``table``'s dtype, the gather fused into the labelling."""
    if not _compiled(block):
        if by_value:
            return table[_label_by_value(block, structure)[0]]
        labels = np.empty(block.shape, provisional_dtype(block.size))
        ndi.label(block, structure, output=labels)
        return table[labels]
    cube, final, _ = _provisional(block, structure, by_value)
    out = cube if cube.dtype == table.dtype else np.empty(cube.shape, table.dtype)
    _write(cube, table[final], out)
    return out.reshape(block.shape)


def _label_by_value(block: np.ndarray, structure: np.ndarray) -> tuple[np.ndarray, int]:
    """Regions of one non-zero value labelled with scipy, value by value, and
    numbered in raster order of their first pixels (the uncompiled path)."""
    labels = np.zeros(block.shape, provisional_dtype(block.size))
    count = 0
    for value in np.unique(block[block != 0]):
        part, n = ndi.label(block == value, structure)
        labels[part > 0] = part[part > 0] + count
        count += n
    flat = labels.reshape(-1)
    where = np.flatnonzero(flat)
    _, first = np.unique(flat[where], return_index=True)  # each id's first pixel
    rank = np.zeros(count + 1, labels.dtype)
    rank[1:][np.argsort(where[first], kind="stable")] = np.arange(1, count + 1)
    return rank[labels], count


def _starts(labels: np.ndarray, count: int) -> np.ndarray:
    """Flat index of each id's first pixel, read off a scipy label image."""
    flat = labels.reshape(-1)
    where = np.flatnonzero(flat)
    if count == 0:
        return np.empty(0, np.int64)
    ids = flat[where]
    # ids appear in raster order: each first appearance raises the running maximum
    new = np.empty(ids.shape, bool)
    new[0] = True
    np.greater(ids[1:], np.maximum.accumulate(ids)[:-1], out=new[1:])
    return where[new].astype(np.int64)
