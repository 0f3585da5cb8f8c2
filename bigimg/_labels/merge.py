"""The label-merge engine: chunk-local labels -> global union on faces -> scipy's ids.

:func:`merge_labels` labels connected components of a chunked image so that
the result is identical to ``scipy.ndimage.label`` on the whole array, for
every chunking:

1. **Local.** Every block is labelled on its own (no offsets chained from
   block to block) by :func:`bigimg._labels.blocks.label_block`, which also
   reports, for each local label, the raster index of its first pixel; it
   becomes a global raster (C-order) index here. Local ids follow raster
   order inside the block, and raster order inside a box is global raster
   order restricted to it, so that pixel is also the label's first pixel in
   the whole array.
2. **Faces.** Between two neighbouring rows of blocks along an axis, only the
   last plane of the lower blocks and the first plane of the upper ones can
   connect. Each block has one edges task (its first planes along every
   axis, as the blocks below it face them: whole, or a one-pixel margin for
   a diagonal neighbour) and one summary task: its labels' first pixels, and
   the pairs of labels the structure connects across its last plane along
   each axis and the facing planes above it (its own upper neighbour's and,
   for diagonal structures, the margins of the blocks beside that one).
   Pairs across a chunk *corner* are seen by the plane of every axis they
   cross. Tasks: 3 per block; data moved: faces only.
3. **Union.** All face pairs are unioned at once
   (``scipy.sparse.csgraph.connected_components`` on the labels that occur
   in pairs only): O(labels on faces).
4. **Ids.** A component's first pixel is the smallest first pixel of its
   parts; scipy numbers components by their first pixel in raster order, so
   sorting the components by it gives scipy's ids, whatever the chunking.
   The lookup table is cut into one slice per block.

Steps 1-3 run when :func:`merge_labels` is called (scipy returns the number
of labels eagerly, and it needs them); only the small per-block summaries
(first pixels and face pairs) are kept. The returned label image is lazy: each block is
labelled again and its pixels written straight through its slice of the table
(:func:`bigimg._labels.blocks.label_block_mapped`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import product
from typing import Any

import dask.array as da
import numpy as np
import scipy.ndimage as ndi
from dask.base import tokenize
from dask.highlevelgraph import HighLevelGraph
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from bigimg._budget import check_task
from bigimg._execute import compute_keys, tile_order
from bigimg._labels.blocks import BlockLabels, label_block, label_block_mapped

__all__ = ["LabelTable", "check_structure", "label_dtype", "merge_labels", "relabelled"]


def check_structure(structure: Any, ndim: int) -> np.ndarray:
    """scipy's ``structure`` as a boolean 3 x ... x 3 array; ValueError if unusable.

    Connectivity is a symmetric relation, so the structure must be symmetric
    about its centre (scipy assumes it and gives inconsistent labels otherwise).
    """
    if structure is None:
        return ndi.generate_binary_structure(max(ndim, 1), 1)
    s = np.asarray(structure)
    if s.dtype == object:
        raise TypeError(f"structure must be an array of booleans, not {type(structure).__name__}")
    s = s.astype(bool)
    if s.ndim != ndim:
        raise ValueError(f"structure has {s.ndim} dimensions; the input has {ndim}")
    if any(n != 3 for n in s.shape):
        raise ValueError(f"structure must be 3 along every axis, got shape {s.shape}")
    if not np.array_equal(s, s[(slice(None, None, -1),) * ndim]):
        raise ValueError("structure must be symmetric about its centre (connectivity is mutual)")
    return s


def label_dtype(size: int) -> np.dtype:
    """scipy's output dtype of ``label``: int32, or intp when ids could overflow it."""
    return np.dtype(np.intp if size >= 2**31 - 2 else np.int32)


# --- per-block tasks ------------------------------------------------------------------------

#: a provisional label is coded as (block ordinal << _SHIFT) | local id, so face tasks
#: need not know the other blocks' label counts
_SHIFT = 32


def _first_pixels(
    local: BlockLabels, offset: tuple[int, ...], shape: tuple[int, ...]
) -> np.ndarray:
    """Global raster index of each local label's first pixel (int64, by local id)."""
    coords = np.unravel_index(local.starts, local.provisional.shape)
    return np.ravel_multi_index(tuple(c + o for c, o in zip(coords, offset)), shape).astype(
        np.int64
    )


def _plane(
    local: BlockLabels,
    axis: int,
    last: bool,
    crop: tuple[slice, ...],
    ordinal: int,
) -> np.ndarray:
    """One plane of a block's local labels along ``axis``, cropped across it, coded."""
    index = list(crop)
    index[axis] = slice(local.provisional.shape[axis] - 1, None) if last else slice(0, 1)
    plane = local.labels(tuple(index)).astype(np.int64)
    plane[plane > 0] += ordinal << _SHIFT
    return plane


def _first_planes(
    local: BlockLabels, needs: tuple[tuple[int, tuple[int, ...]], ...], ordinal: int
) -> dict[tuple[int, tuple[int, ...]], np.ndarray]:
    """A block's first planes along each axis that its lower neighbours face,
    coded; for ``(axis, delta)``, cropped to the one-pixel margin across the
    other axes where ``delta`` is not 0 (a diagonal neighbour's view)."""
    out = {}
    for axis, delta in needs:
        crop = tuple(
            slice(None) if d == 0 else slice(0, 1) if d > 0 else slice(-1, None) for d in delta
        )
        out[(axis, delta)] = _plane(local, axis, False, crop, ordinal)
    return out


def _summary(
    local: BlockLabels,
    offset: tuple[int, ...],
    shape: tuple[int, ...],
    ordinal: int,
    faces: list[Any],
) -> tuple[np.ndarray, np.ndarray]:
    """What the merge needs of one block: its labels' first pixels
    (:func:`_first_pixels`) and the coded pairs across its faces with the
    blocks above it (``faces``: per axis, ``[axis, shift, steps, uppers,
    picks]``, ``uppers`` the facing blocks' :func:`_first_planes` and
    ``picks`` the plane of each)."""
    found = []
    full = tuple(slice(None) for _ in offset)
    for axis, shift, steps, uppers, picks in faces:
        lower = _plane(local, axis, True, full, ordinal)
        found.append(_face_pairs(lower, _picked(uppers, picks), axis, shift, steps))
    pairs = np.concatenate(found) if found else np.empty((0, 2), np.int64)
    return _first_pixels(local, offset, shape), pairs


def _picked(uppers: Any, picks: Any) -> Any:
    if isinstance(uppers, dict):
        return uppers[picks]
    return [_picked(u, p) for u, p in zip(uppers, picks)]


def _face_pairs(
    lower: np.ndarray, uppers: list[Any], axis: int, shift: tuple[int, ...], steps: np.ndarray
) -> np.ndarray:
    """Coded label pairs the structure connects across one plane.

    ``lower`` is the lower block's last plane; ``uppers`` (nested for
    ``np.block``) the facing planes above it, widened by ``shift`` pixels
    before the lower extent on each other axis (and as many after).
    ``steps``: the structure's offsets crossing the plane upwards.
    """
    up = np.block(uppers)
    found = []
    for step in steps:
        lo_index, up_index = [], []
        for ax, d in enumerate(step.tolist()):
            if ax == axis:
                lo_index.append(slice(None))
                up_index.append(slice(None))
                continue
            s = d + shift[ax]  # lower position p faces upper position p + s
            first, last = max(0, -s), min(lower.shape[ax], up.shape[ax] - s)
            lo_index.append(slice(first, max(first, last)))
            up_index.append(slice(first + s, max(first, last) + s))
        a = lower[tuple(lo_index)].ravel()
        b = up[tuple(up_index)].ravel()
        both = (a > 0) & (b > 0)
        if both.any():
            found.append(np.stack([a[both], b[both]], axis=1))
    if not found:
        return np.empty((0, 2), np.int64)
    return np.unique(np.concatenate(found), axis=0)


# --- the engine -----------------------------------------------------------------------------


@dataclass(frozen=True)
class LabelTable:
    """What the eager phase found: enough to build the lazy label image."""

    count: int  # number of components (scipy's second return value)
    tables: dict[tuple[int, ...], np.ndarray]  # block -> final id by local id (index 0: 0)
    first_pixels: np.ndarray  # by final id - 1: raster index of the component's first pixel


def merge_labels(image: da.Array, structure: np.ndarray) -> LabelTable:
    """Steps 1-4 of the module docstring: one pass over the data, then the union."""
    ndim, shape, chunks = image.ndim, image.shape, image.chunks
    if np.prod([max(c) for c in chunks], dtype=np.float64) >= 2**_SHIFT:
        raise ValueError(
            f"label: chunks of {tuple(max(c) for c in chunks)} pixels hold 2**{_SHIFT} "
            "or more, more local labels than the merge can code; use smaller chunks"
        )
    # a block's labels, union-find parents and first pixels: 8 bytes each a pixel
    per_pixel = image.dtype.itemsize + 24
    check_task(lambda c: math.prod(c) * per_pixel, [max(c) for c in chunks], "label")
    blocks = list(product(*(range(len(c)) for c in chunks)))
    ordinal = {b: k for k, b in enumerate(blocks)}
    starts = [np.cumsum((0, *c[:-1])).tolist() for c in chunks]
    token = tokenize(image.name, structure)
    local_name, edge_name = f"label-local-{token}", f"label-edges-{token}"
    summary_name = f"label-summary-{token}"
    layer: dict[Any, Any] = {}
    faces: dict[tuple[int, ...], list[Any]] = {b: [] for b in blocks}  # b's faces, as lower
    needs: dict[tuple[int, ...], set[Any]] = {}  # the planes b's lower neighbours need
    centre = np.ones(ndim, int)
    for axis in range(ndim):
        steps = np.argwhere(structure) - centre
        steps = steps[steps[:, axis] == 1]
        if len(steps) == 0:
            continue
        reach = np.abs(steps).max(axis=0)
        for b in blocks:
            if b[axis] + 1 >= len(chunks[axis]):
                continue
            # the facing blocks: b one up along axis, and its neighbours across where
            # the structure reaches diagonally (one-pixel margins of them)
            around = [
                [0]
                if ax == axis or not reach[ax]
                else [d for d in (-1, 0, 1) if 0 <= b[ax] + d < len(chunks[ax])]
                for ax in range(ndim)
            ]
            shift = tuple(1 if -1 in around[ax] else 0 for ax in range(ndim))
            uppers = np.empty([len(a) for a in around], dtype=object)
            picks = np.empty([len(a) for a in around], dtype=object)
            for pos in product(*(range(len(a)) for a in around)):
                delta = tuple(around[ax][k] for ax, k in enumerate(pos))
                up = tuple(b[ax] + (1 if ax == axis else delta[ax]) for ax in range(ndim))
                needs.setdefault(up, set()).add((axis, delta))
                uppers[pos], picks[pos] = (edge_name, *up), (axis, delta)
            faces[b].append([axis, shift, steps, uppers.tolist(), picks.tolist()])
    for b in blocks:
        layer[(local_name, *b)] = (label_block, (image.name, *b), structure)
        if b in needs:
            layer[(edge_name, *b)] = (
                _first_planes, (local_name, *b), tuple(sorted(needs[b])), ordinal[b])  # fmt: skip
        offset = tuple(starts[ax][i] for ax, i in enumerate(b))
        layer[(summary_name, *b)] = (
            _summary, (local_name, *b), offset, shape, ordinal[b], faces[b])  # fmt: skip
    merge = f"label-merge-{token}"
    graph = HighLevelGraph.from_collections(merge, layer, dependencies=[image])  # type: ignore[list-item]  # dask.typing.DaskCollection's `__dask_scheduler__: staticmethod` does not match da.Array's
    # block by block in Z order: on a cluster the keys go in windows of compact
    # patches of blocks, each block labelled about once
    order = [(summary_name, *b) for b in tile_order(blocks)]
    values = dict(zip(order, compute_keys(graph, order), strict=True))
    summaries = [values[(summary_name, *b)] for b in blocks]
    firsts, found = [f for f, _ in summaries], [pairs for _, pairs in summaries]
    return _number(blocks, firsts, found)


def _number(
    blocks: list[tuple[int, ...]], firsts: list[np.ndarray], pairs: list[np.ndarray]
) -> LabelTable:
    """Union the face pairs, order the components by first pixel: scipy's ids."""
    counts = np.array([len(f) for f in firsts], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    total = int(counts.sum())
    keys = np.concatenate(firsts) if total else np.empty(0, np.int64)
    component = np.arange(total, dtype=np.int64)  # provisional id - 1 -> component
    coded = np.concatenate(pairs) if pairs else np.empty((0, 2), np.int64)
    if len(coded):
        provisional = offsets[coded >> _SHIFT] + (coded & ((1 << _SHIFT) - 1)) - 1
        nodes, inverse = np.unique(provisional, return_inverse=True)
        inverse = inverse.reshape(-1, 2)
        edges = coo_matrix(
            (np.ones(len(inverse), np.int8), (inverse[:, 0], inverse[:, 1])),
            shape=(len(nodes), len(nodes)),
        )
        _, joined = connected_components(edges, directed=False)
        component[nodes] = total + joined
    unique, which = np.unique(component, return_inverse=True)
    first = np.full(len(unique), np.iinfo(np.int64).max, np.int64)
    np.minimum.at(first, which, keys)
    order = np.argsort(first, kind="stable")
    rank = np.empty(len(unique), np.int64)
    rank[order] = np.arange(1, len(unique) + 1)
    final = rank[which]
    tables = {
        b: np.concatenate([[0], final[offsets[k] : offsets[k] + counts[k]]])
        for k, b in enumerate(blocks)
    }
    return LabelTable(len(unique), tables, first[order])


def relabelled(
    image: da.Array,
    structure: np.ndarray,
    table: LabelTable,
    dtype: Any,
    values: np.ndarray | None = None,
) -> da.Array:
    """The lazy label image: each block labelled again and written through its
    table; with ``values`` (one per final id, ``values[0]`` for background),
    ``values[labels]`` instead. A block whose objects all map to one value
    needs no labelling: it is that value where the image is non-zero."""
    dtype = np.dtype(dtype)
    token = tokenize(image.name, structure, dtype, table.count, values)
    name = f"label-{token}"
    layer: dict[Any, Any] = {}
    for b, t in table.tables.items():
        lut = (t if values is None else values[t]).astype(dtype)
        if len(lut) == 1 or (lut[1:] == lut[1]).all():
            inside = lut[1] if len(lut) > 1 else lut[0]
            layer[(name, *b)] = (_uniform, (image.name, *b), inside, lut[0])
        else:
            layer[(name, *b)] = (label_block_mapped, (image.name, *b), structure, lut)
    graph = HighLevelGraph.from_collections(name, layer, dependencies=[image])  # type: ignore[list-item]  # dask.typing.DaskCollection's `__dask_scheduler__: staticmethod` does not match da.Array's
    meta = np.empty((0,) * image.ndim, dtype)
    return da.Array(graph, name, chunks=image.chunks, dtype=dtype, meta=meta)


def _uniform(block: np.ndarray, inside: np.generic, outside: np.generic) -> np.ndarray:
    """``inside`` on the block's non-zero pixels, ``outside`` elsewhere."""
    return np.where(block != 0, inside, outside)
