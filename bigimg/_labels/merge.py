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

With ``by_value`` (scikit-image's ``label`` of an integer image), only
neighbours of equal value join, inside blocks and across faces: each face
plane then carries the pixels' values beside their labels.

Steps 1-3 run when :func:`merge_labels` is called (scipy returns the number
of labels eagerly, and it needs them); only the small per-block summaries
(first pixels and face pairs) are kept. The returned label image is lazy: each block is
labelled again and its pixels written straight through its slice of the table
(:func:`bigimg._labels.blocks.label_block_mapped`).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from itertools import product
from typing import Any

import dask.array as da
import numpy as np
import scipy.ndimage as ndi
from dask._task_spec import Task, TaskRef, parse_input
from dask.base import tokenize
from dask.highlevelgraph import HighLevelGraph
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from bigimg._budget import check_task
from bigimg._execute import run_keys, tile_order
from bigimg._grid import LazyLayer, graph_on
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
    """One plane of a block's local labels along ``axis``, cropped across it, coded;
    labelled by value, stacked on the plane's values (as int64 bits) on a first axis."""
    index = list(crop)
    index[axis] = slice(local.provisional.shape[axis] - 1, None) if last else slice(0, 1)
    plane = local.labels(tuple(index)).astype(np.int64)
    plane[plane > 0] += ordinal << _SHIFT
    if local.values is None:
        return plane
    values = local.values[tuple(index)]
    bits = values.view(np.int64) if values.dtype == np.uint64 else values.astype(np.int64)
    return np.stack([plane, bits])


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
        uppers = _picked(uppers, picks)
        found.append(_face_pairs(lower, uppers, axis, shift, steps, local.values is not None))
    pairs = np.concatenate(found) if found else np.empty((0, 2), np.int64)
    return _first_pixels(local, offset, shape), pairs


def _picked(uppers: Any, picks: Any) -> Any:
    if isinstance(uppers, dict):
        return uppers[picks]
    return [_picked(u, p) for u, p in zip(uppers, picks)]


def _face_pairs(
    lower: np.ndarray,
    uppers: list[Any],
    axis: int,
    shift: tuple[int, ...],
    steps: np.ndarray,
    by_value: bool = False,
) -> np.ndarray:
    """Coded label pairs the structure connects across one plane.

    ``lower`` is the lower block's last plane; ``uppers`` (nested for
    ``np.block``) the facing planes above it, widened by ``shift`` pixels
    before the lower extent on each other axis (and as many after).
    ``steps``: the structure's offsets crossing the plane upwards. With
    ``by_value`` the planes hold labels and values on a first axis, and only
    pixels of equal values pair.
    """
    up = np.block(uppers)
    lower_values = up_values = None
    if by_value:
        (lower, lower_values), (up, up_values) = lower, up
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
        if lower_values is not None and up_values is not None:
            both &= lower_values[tuple(lo_index)].ravel() == up_values[tuple(up_index)].ravel()
        if both.any():
            found.append(np.stack([a[both], b[both]], axis=1))
    if not found:
        return np.empty((0, 2), np.int64)
    return np.unique(np.concatenate(found), axis=0)


# --- the engine -----------------------------------------------------------------------------


class BlockTables(Mapping[tuple[int, ...], np.ndarray]):
    """Block -> its lookup table (final id by local id, index 0: 0), cut when
    asked for from one array of every block's ids: no array per block."""

    def __init__(self, numblocks: tuple[int, ...], final: np.ndarray, offsets: np.ndarray) -> None:
        self.numblocks, self.final, self.offsets = numblocks, final, offsets  # offsets: n + 1

    def __getitem__(self, block: tuple[int, ...]) -> np.ndarray:
        if len(block) != len(self.numblocks) or not all(
            0 <= b < n for b, n in zip(block, self.numblocks)
        ):
            raise KeyError(block)
        k = int(np.ravel_multi_index(block, self.numblocks))
        return np.concatenate([[0], self.final[self.offsets[k] : self.offsets[k + 1]]])

    def __iter__(self) -> Iterator[tuple[int, ...]]:
        return iter(np.ndindex(*self.numblocks))

    def __len__(self) -> int:
        return math.prod(self.numblocks)


@dataclass(frozen=True)
class LabelTable:
    """What the eager phase found: enough to build the lazy label image."""

    count: int  # number of components (scipy's second return value)
    tables: BlockTables  # block -> final id by local id (index 0: 0)
    first_pixels: np.ndarray  # by final id - 1: raster index of the component's first pixel


class _Merge:
    """The three tasks of each block (labels, first planes, summary; steps 1-2
    of the module docstring), built when asked for from the block's index."""

    def __init__(self, image: da.Array, structure: np.ndarray, by_value: bool = False) -> None:
        self.image, self.structure, self.by_value = image, structure, by_value
        self.ndim, self.numblocks = image.ndim, image.numblocks
        self.starts = [np.cumsum((0, *c[:-1])).tolist() for c in image.chunks]
        token = tokenize(image.name, structure, by_value)
        self.local, self.edges = f"label-local-{token}", f"label-edges-{token}"
        self.summary = f"label-summary-{token}"
        centre = np.ones(self.ndim, int)
        self.axes = []  # per axis with steps across it: (axis, steps, reach)
        for axis in range(self.ndim):
            steps = np.argwhere(structure) - centre
            steps = steps[steps[:, axis] == 1]
            if len(steps):
                self.axes.append((axis, steps, np.abs(steps).max(axis=0)))

    def _inside(self, block: tuple[int, ...]) -> bool:
        return len(block) == self.ndim and all(0 <= b < n for b, n in zip(block, self.numblocks))

    def ordinal(self, block: tuple[int, ...]) -> int:
        return int(np.ravel_multi_index(block, self.numblocks))

    def faces(self, b: tuple[int, ...]) -> list[Any]:
        """Per axis, what ``b``'s summary takes of the blocks above it:
        ``[axis, shift, steps, uppers, picks]`` (see :func:`_summary`)."""
        out = []
        for axis, steps, reach in self.axes:
            if b[axis] + 1 >= self.numblocks[axis]:
                continue
            # the facing blocks: b one up along axis, and its neighbours across where
            # the structure reaches diagonally (one-pixel margins of them)
            around = [
                [0]
                if ax == axis or not reach[ax]
                else [d for d in (-1, 0, 1) if 0 <= b[ax] + d < self.numblocks[ax]]
                for ax in range(self.ndim)
            ]
            shift = tuple(1 if -1 in around[ax] else 0 for ax in range(self.ndim))
            uppers = np.empty([len(a) for a in around], dtype=object)
            picks = np.empty([len(a) for a in around], dtype=object)
            for pos in product(*(range(len(a)) for a in around)):
                delta = tuple(around[ax][k] for ax, k in enumerate(pos))
                up = tuple(b[ax] + (1 if ax == axis else delta[ax]) for ax in range(self.ndim))
                uppers[pos], picks[pos] = TaskRef((self.edges, *up)), (axis, delta)
            out.append([axis, shift, steps, uppers.tolist(), picks.tolist()])
        return out

    def needs(self, up: tuple[int, ...]) -> tuple[tuple[int, tuple[int, ...]], ...]:
        """The planes of ``up`` that the blocks below it face (:meth:`faces`)."""
        found: set[tuple[int, tuple[int, ...]]] = set()
        for axis, _, reach in self.axes:
            if up[axis] < 1:
                continue
            choices = [
                [0]
                if ax == axis or not reach[ax]
                else [d for d in (-1, 0, 1) if 0 <= up[ax] - d < self.numblocks[ax]]
                for ax in range(self.ndim)
            ]
            found.update((axis, delta) for delta in product(*choices))
        return tuple(sorted(found))

    def local_task(self, key: tuple[Any, ...]) -> Task | None:
        b = tuple(key[1:])
        if not self._inside(b):
            return None
        return Task(
            key, label_block, TaskRef((self.image.name, *b)), self.structure, self.by_value
        )

    def edges_task(self, key: tuple[Any, ...]) -> Task | None:
        b = tuple(key[1:])
        needs = self.needs(b) if self._inside(b) else ()
        if not needs:
            return None
        return Task(key, _first_planes, TaskRef((self.local, *b)), needs, self.ordinal(b))

    def summary_task(self, key: tuple[Any, ...]) -> Task | None:
        b = tuple(key[1:])
        if not self._inside(b):
            return None
        offset = tuple(self.starts[ax][i] for ax, i in enumerate(b))
        faces = parse_input(self.faces(b))
        return Task(
            key, _summary, TaskRef((self.local, *b)), offset, self.image.shape,
            self.ordinal(b), faces)  # fmt: skip

    def graph(self) -> HighLevelGraph:
        def blocks() -> Iterator[tuple[int, ...]]:
            return iter(np.ndindex(*self.numblocks))

        def edged() -> Iterator[tuple[int, ...]]:
            return (b for b in np.ndindex(*self.numblocks) if self.needs(b))

        local = LazyLayer(self.local, blocks, self.local_task)
        edges = LazyLayer(self.edges, edged, self.edges_task)
        summary = LazyLayer(self.summary, blocks, self.summary_task)
        layers = {
            self.local: (local, self.image.__dask_layers__()),
            self.edges: (edges, {self.local}),
            self.summary: (summary, {self.local, self.edges}),
        }
        return graph_on([self.image], layers)


def merge_labels(image: da.Array, structure: np.ndarray, by_value: bool = False) -> LabelTable:
    """Steps 1-4 of the module docstring: one pass over the data, then the union
    (``by_value``: regions of one value are the components)."""
    chunks = image.chunks
    if np.prod([max(c) for c in chunks], dtype=np.float64) >= 2**_SHIFT:
        raise ValueError(
            f"label: chunks of {tuple(max(c) for c in chunks)} pixels hold 2**{_SHIFT} "
            "or more, more local labels than the merge can code; use smaller chunks"
        )
    # a block's labels, union-find parents and first pixels: 8 bytes each a pixel
    per_pixel = image.dtype.itemsize * (2 if by_value else 1) + 24
    check_task(lambda c: math.prod(c) * per_pixel, [max(c) for c in chunks], "label")
    merge = _Merge(image, structure, by_value)
    # block by block in Z order, in windows of compact patches of blocks (each
    # window's tasks built when it runs), each block labelled about once
    order = [(merge.summary, *b) for b in tile_order(list(np.ndindex(*image.numblocks)))]
    firsts: list[Any] = [None] * len(order)
    found: list[Any] = [None] * len(order)

    def keep(key: Any, summary: tuple[np.ndarray, np.ndarray]) -> None:
        k = merge.ordinal(tuple(key[1:]))
        firsts[k], found[k] = summary

    run_keys(merge.graph(), order, keep)
    return _number(image.numblocks, firsts, found)


def _number(
    numblocks: tuple[int, ...], firsts: list[np.ndarray], pairs: list[np.ndarray]
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
    bounds = np.concatenate([offsets, [total]]).astype(np.int64)
    return LabelTable(len(unique), BlockTables(numblocks, final, bounds), first[order])


def relabelled(
    image: da.Array,
    structure: np.ndarray,
    table: LabelTable,
    dtype: Any,
    values: np.ndarray | None = None,
    by_value: bool = False,
) -> da.Array:
    """The lazy label image: each block labelled again and written through its
    table; with ``values`` (one per final id, ``values[0]`` for background),
    ``values[labels]`` instead. A block whose objects all map to one value
    needs no labelling: it is that value where the image is non-zero.
    ``by_value`` as given to :func:`merge_labels` for ``table``."""
    dtype = np.dtype(dtype)
    token = tokenize(image.name, structure, dtype, table.count, values, by_value)
    name = f"label-{token}"

    def task(key: tuple[Any, ...]) -> Task | None:
        b = tuple(key[1:])
        try:
            t = table.tables[b]
        except KeyError:
            return None
        lut = (t if values is None else values[t]).astype(dtype)
        if len(lut) == 1 or (lut[1:] == lut[1]).all():
            inside = lut[1] if len(lut) > 1 else lut[0]
            return Task(key, _uniform, TaskRef((image.name, *b)), inside, lut[0])
        return Task(key, label_block_mapped, TaskRef((image.name, *b)), structure, lut, by_value)

    # each block's task built when a window of keys is culled: no O(blocks) layer here
    layer = LazyLayer(name, lambda: iter(np.ndindex(*image.numblocks)), task)
    graph = graph_on([image], {name: (layer, image.__dask_layers__())})
    meta = np.empty((0,) * image.ndim, dtype)
    return da.Array(graph, name, chunks=image.chunks, dtype=dtype, meta=meta)


def _uniform(block: np.ndarray, inside: np.generic, outside: np.generic) -> np.ndarray:
    """``inside`` on the block's non-zero pixels, ``outside`` elsewhere."""
    return np.where(block != 0, inside, outside)
