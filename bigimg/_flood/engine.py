"""The flood engine: a marker-based watershed across chunks, exact for every chunking.

**What it computes.** Every pixel has a key ``(value, raster index)``: the
image's order, ties between equal values broken by position (the earlier
pixel counts as lower). The *level* of a pixel is the lowest, over the paths
(through the mask, by the structure) from a marker to it, of the highest key
on the path, the marker's and its own included. A priority flood (the
scikit-image watershed's order: lowest first) reaches the pixels by level;
every pixel of one level ``key(s)`` is reached through the one pixel ``s``
of that key (its *pass pixel*) and takes ``s``'s label; a pass pixel that is
not a marker takes the label of its lowest-level neighbour (all neighbours
of that level share one label). This is scikit-image's ``watershed`` exactly
where its flood is not decided by queue order (no equal values): it labels a
pixel from the first of its neighbours to leave the queue, and the queue
releases pixels in the order of those levels. With equal values, it is
scikit-image's result on the image with ties broken by raster order.

**How, across chunks.** Three passes over the blocks, two small global steps:

1. Each block (:func:`.blocks.summary`): its *terminals* (pixels with a
   neighbour in another block) and, by Kruskal over its pixels in key
   order, a tree between its terminals and the markers' root whose highest
   keys on paths are the block's lowest highest keys between them; and the
   edges from its terminals into the blocks after it.
2. Globally: a priority flood from the root over the terminals (block trees
   and cross edges): every terminal's exact level. O(terminals).
3. Each block (:func:`.blocks.passes`): flooded from its markers and its
   ring's exact levels (the neighbours' terminals), which makes every level
   in it exact; the pass pixels that terminals' levels name are asked where
   their labels come from: a marker, or another pass pixel.
4. Globally: those pointers followed to their markers (they go down in key).
5. Each block (:func:`.blocks.labelled`, lazily, per output chunk): flooded
   again, every pixel labelled from its pass pixel.

The client holds O(terminals) numbers (the blocks' faces), never a block.

**Edge mode** (``mode="edge"``, scipy's ``watershed_ift``; see
:mod:`.edge_blocks`): the same steps with edges keyed instead of pixels, on
scipy's flat topology. A level names a pass edge (an edge id), resolved in
step 3 by the block of its lower-raster end; cross edges carry their
forward stride's index and are keyed here from the terminals' values; a
block's ring is its flat ring (:func:`.edge_blocks.flat_ring`) and its
seeds carry the ring's values.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import dask.array as da
import numpy as np
from dask._task_spec import Task, TaskRef
from dask.base import tokenize

from bigimg._budget import check_task
from bigimg._execute import run_keys, tile_order
from bigimg._flood import blocks, edge_blocks
from bigimg._flood.kernels import NO_INDEX, levels_from_root
from bigimg._grid import LazyLayer, graph_on

__all__ = ["flood_labels"]

#: bytes a flood task needs per pixel: padded values, keys, levels, heap, union-find
_PER_PIXEL = 120


class _Flood:
    """Builds the tasks of each pass from a block's index, when asked for."""

    def __init__(
        self,
        values: da.Array,
        markers: da.Array,
        mask: da.Array | None,
        steps: np.ndarray,
        mode: str = "vertex",
    ) -> None:
        self.values, self.markers, self.mask, self.steps = values, markers, mask, steps
        self.mode = mode
        self.blocks: Any = edge_blocks if mode == "edge" else blocks
        #: edge mode: the edge ids' radix (forward strides + 1)
        self.k1 = len(edge_blocks.flat_strides(steps, values.shape)[1]) + 1
        self.shape = values.shape
        self.numblocks = values.numblocks
        self.starts = [np.cumsum((0, *c)).astype(np.int64) for c in values.chunks]
        self.token = tokenize(
            values.name, markers.name, None if mask is None else mask.name, steps, mode
        )
        self.inputs = [values, markers] + ([] if mask is None else [mask])

    def inside(self, b: tuple[int, ...]) -> bool:
        return len(b) == len(self.numblocks) and all(0 <= i < n for i, n in zip(b, self.numblocks))

    def start(self, b: tuple[int, ...]) -> tuple[int, ...]:
        return tuple(int(s[i]) for s, i in zip(self.starts, b))

    def refs(self, b: tuple[int, ...]) -> list[Any]:
        mask = None if self.mask is None else TaskRef((self.mask.name, *b))
        return [TaskRef((self.values.name, *b)), TaskRef((self.markers.name, *b)), mask]

    def layer(self, name: str, task: Any) -> Any:
        def blocks() -> Iterator[tuple[int, ...]]:
            return iter(np.ndindex(*self.numblocks))

        def build(key: tuple[Any, ...]) -> Task | None:
            b = tuple(key[1:])
            return task(key, b) if self.inside(b) else None

        layer = LazyLayer(name, blocks, build)
        deps = set().union(*(a.__dask_layers__() for a in self.inputs))
        return graph_on(self.inputs, {name: (layer, deps)})

    def run(self, name: str, task: Any) -> list[Any]:
        """Every block's result of ``task`` (by block ordinal), in windows."""
        graph = self.layer(name, task)
        order = [(name, *b) for b in tile_order(list(np.ndindex(*self.numblocks)))]
        out: list[Any] = [None] * len(order)

        def keep(key: Any, value: Any) -> None:
            out[int(np.ravel_multi_index(tuple(key[1:]), self.numblocks))] = value

        run_keys(graph, order, keep)
        return out

    def block_of(self, raster: np.ndarray) -> np.ndarray:
        """The ordinal of the block holding each raster index."""
        coords = np.unravel_index(raster, self.shape)
        ordinal = np.zeros(len(raster), np.int64)
        for ax, c in enumerate(coords):
            ordinal = (
                ordinal * self.numblocks[ax] + np.searchsorted(self.starts[ax], c, "right") - 1
            )
        return ordinal

    def ring(self, b: tuple[int, ...]) -> np.ndarray:
        """Raster indices of the cells around block ``b`` (inside the array),
        sorted: where its seeds can be."""
        lo = [int(s[i]) for s, i in zip(self.starts, b)]
        hi = [int(s[i + 1]) for s, i in zip(self.starts, b)]
        if self.mode == "edge":  # the flat topology's ring (see .edge_blocks)
            return edge_blocks.flat_ring(lo, hi, self.shape)
        parts = []
        ndim = len(self.shape)
        for ax in range(ndim):
            for side in (lo[ax] - 1, hi[ax]):
                if not 0 <= side < self.shape[ax]:
                    continue
                # the slab just outside the block on this side, over the block's
                # extent one cell wider on the axes after it... and before it
                ranges = []
                for other in range(ndim):
                    if other == ax:
                        ranges.append(np.array([side]))
                    else:
                        a = max(lo[other] - 1, 0)
                        z = min(hi[other] + 1, self.shape[other])
                        ranges.append(np.arange(a, z))
                grid = np.meshgrid(*ranges, indexing="ij")
                parts.append(np.ravel_multi_index([g.ravel() for g in grid], self.shape))
        if not parts:
            return np.empty(0, np.int64)
        return np.unique(np.concatenate(parts)).astype(np.int64)


class _Groups:
    """Sorted raster indices grouped by the block holding them: each block's
    positions in the sorted array, found without a list per block."""

    def __init__(self, f: _Flood, raster: np.ndarray) -> None:
        self.numblocks = f.numblocks
        block = f.block_of(raster) if len(raster) else np.empty(0, np.int64)
        self.order = np.argsort(block, kind="stable")
        self.bounds = np.searchsorted(block[self.order], np.arange(math.prod(f.numblocks) + 1))
        self.blocks = [tuple(int(x) for x in np.unravel_index(int(k), f.numblocks))
                       for k in np.unique(block)]  # fmt: skip

    def __call__(self, b: tuple[int, ...]) -> np.ndarray:
        k = int(np.ravel_multi_index(b, self.numblocks))
        return self.order[self.bounds[k] : self.bounds[k + 1]]


def _lookup(names: np.ndarray, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions of ``wanted`` in the sorted ``names``, and which are there."""
    if not len(names):
        return np.zeros(len(wanted), np.int64), np.zeros(len(wanted), bool)
    pos = np.minimum(np.searchsorted(names, wanted), len(names) - 1)
    return pos, names[pos] == wanted


class _Terminals:
    """Steps 1-2 of the module doc: every block's terminals and their exact levels."""

    def __init__(self, f: _Flood, first: list[tuple[np.ndarray, ...]]) -> None:
        def joined(k: int) -> np.ndarray:
            return np.concatenate([r[k] for r in first])

        raster, value = joined(0), joined(1)
        sort = np.argsort(raster, kind="stable")
        self.raster, value = raster[sort], value[sort]
        self.value = value
        n = len(self.raster)
        # tree edges (raster indices, -1: the markers' root), and cross edges whose
        # far end is a terminal (in the mask), keyed by their higher end (vertex
        # mode) or by their own key (edge mode: |difference|, id from the lower end)
        ea, eb, ev, ei, ca, cb = (joined(k) for k in range(2, 8))
        _, there = _lookup(self.raster, cb)
        ca, cb = ca[there], cb[there]
        va, vb = value[_lookup(self.raster, ca)[0]], value[_lookup(self.raster, cb)[0]]
        if f.mode == "edge":
            cv, ci = np.abs(va - vb), ca * f.k1 + joined(8)[there]
        else:
            higher = (vb > va) | ((vb == va) & (cb > ca))
            cv, ci = np.where(higher, vb, va), np.where(higher, cb, ca)

        def node(r: np.ndarray) -> np.ndarray:
            return np.where(r < 0, n, _lookup(self.raster, r)[0])

        self.lv, self.li = levels_from_root(
            n, np.concatenate([node(ea), node(ca)]), np.concatenate([node(eb), node(cb)]),
            np.concatenate([ev, cv]), np.concatenate([ei, ci]))  # fmt: skip
        self.reached = self.li != NO_INDEX
        self.by_block = _Groups(f, self.raster)
        self.f = f

    def seeds(self, b: tuple[int, ...]) -> tuple[np.ndarray, ...]:
        """The levels of the terminals around block ``b``: its ring's seeds
        (edge mode: and their values)."""
        around = self.f.ring(b)
        pos, there = _lookup(self.raster, around)
        pos, around = pos[there], around[there]
        ok = self.reached[pos]
        if self.f.mode == "edge":
            return around[ok], self.lv[pos[ok]], self.li[pos[ok]], self.value[pos[ok]]
        return around[ok], self.lv[pos[ok]], self.li[pos[ok]]

    def own_levels(self, b: tuple[int, ...]) -> np.ndarray:
        own = self.by_block(b)
        return self.li[own][self.reached[own]]


def flood_labels(
    values: da.Array,
    markers: da.Array,
    mask: da.Array | None,
    steps: np.ndarray,
    dtype: np.dtype,
    mode: str = "vertex",
) -> da.Array:
    """The labels of the flood (see module doc) as a lazy dask array.

    ``values`` (float64), ``markers`` (0: none) and ``mask`` (bool or None)
    share one chunk grid; ``steps``: the structure's neighbour offsets, one
    row per neighbour. Steps 1-4 run now; step 5 when the result is computed.

    ``mode="edge"``: scipy's ``watershed_ift`` instead (no mask; the
    structure symmetric): the array is flat, edges are keyed by the absolute
    difference of their ends, and levels name pass edges, each resolved by
    the block of its lower-raster end (see :mod:`.edge_blocks`).
    """
    if mode not in ("vertex", "edge") or (mode == "edge" and mask is not None):
        raise ValueError(f"flood: mode={mode!r} (edge mode takes no mask)")
    per_pixel = _PER_PIXEL + (56 * len(steps) if mode == "edge" else 0)
    check_task(lambda c: math.prod(n + 2 for n in c) * per_pixel,
               [max(c) for c in values.chunks], "watershed")  # fmt: skip
    f = _Flood(values, markers, mask, steps, mode)
    summary, passes, labelled = f.blocks.summary, f.blocks.passes, f.blocks.labelled
    static = (values.shape, steps)

    def summary_task(key: Any, b: tuple[int, ...]) -> Task:
        return Task(key, summary, *f.refs(b), f.start(b), *static)

    terms = _Terminals(f, f.run(f"flood-summary-{f.token}", summary_task))

    # 3. where the pass pixels that terminals' levels name take their labels from
    asked = np.unique(terms.li[terms.reached])
    # the block that resolves each: the pass pixel's, or the pass edge's lower end's
    asked_by_block = _Groups(f, asked // f.k1 if mode == "edge" else asked)
    kinds = np.zeros(len(asked), np.int8)
    refs = np.zeros(len(asked), np.int64)

    def passes_task(key: Any, b: tuple[int, ...]) -> Task:
        return Task(key, passes, *f.refs(b), f.start(b), *static, terms.seeds(b),
                    asked[asked_by_block(b)])  # fmt: skip

    def keep(key: Any, value: tuple[np.ndarray, np.ndarray]) -> None:
        where = asked_by_block(tuple(key[1:]))
        kinds[where], refs[where] = value

    name = f"flood-passes-{f.token}"
    order = [(name, *b) for b in tile_order(asked_by_block.blocks)]
    if order:
        run_keys(f.layer(name, passes_task), order, keep)

    # 4. pointers followed down to their markers
    labels = _follow(asked, kinds, refs)

    def labels_task(key: Any, b: tuple[int, ...]) -> Task:
        # the pass pixels the block's pixels may name outside it: the levels of its
        # own terminals and of its ring (a level's pixels are connected, so a level
        # that reaches out of the block does so through one of its terminals)
        seeds = terms.seeds(b)
        names = np.unique(np.concatenate([terms.own_levels(b), seeds[2]]))
        known = (names, labels[_lookup(asked, names)[0]])
        return Task(key, labelled, *f.refs(b), f.start(b), *static, seeds, known, dtype)

    # 5. the lazy label image
    name = f"flood-labels-{tokenize(f.token, dtype)}"
    meta = np.empty((0,) * values.ndim, dtype)
    return da.Array(f.layer(name, labels_task), name, chunks=values.chunks, dtype=dtype, meta=meta)


def _follow(asked: np.ndarray, kinds: np.ndarray, refs: np.ndarray) -> np.ndarray:
    """Each asked pass pixel's label: a marker's (kind 1), or that of the
    pass pixel it names (kind 2), found by pointer jumping (the pointers go
    down in key, so they end at markers)."""
    labels = np.where(kinds == 1, refs, 0).astype(np.int64)
    done = kinds == 1
    pointer = np.arange(len(asked))
    named = kinds == 2
    if named.any():
        pos, there = _lookup(asked, refs[named])
        if not there.all():
            raise AssertionError("flood: a pass pixel names one no terminal's level named")
        pointer[named] = pos
    open_ = np.flatnonzero(named)
    while len(open_):
        ahead = pointer[open_]
        now = done[ahead]
        labels[open_[now]] = labels[ahead[now]]
        done[open_[now]] = True
        open_ = open_[~now]
        pointer[open_] = pointer[pointer[open_]]
    return labels
