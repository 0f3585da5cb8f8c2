"""One block of the flood engine: its padded grid, and its three passes.

The grid (:class:`Grid`) is the block with a ring of one cell on every side,
flattened (see :mod:`.kernels`). The passes, each one task per block:

- :func:`summary`: the block's terminals (its pixels with a neighbour in
  another block) and the tree of levels between them (Kruskal), plus the
  edges from its terminals to the blocks after it;
- :func:`passes`: the block flooded from its markers and its ring's levels
  (exact, once the global step gave them), and where the pass pixels the
  global step asks about take their labels from;
- :func:`labelled`: the same flood, and every pixel's label.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bigimg._flood.kernels import INSIDE, NO_INDEX, RING, block_summary, flood, resolve

__all__ = ["Grid", "labelled", "passes", "summary"]


class Grid:
    """The padded, flattened grid of one block (see module doc)."""

    def __init__(
        self,
        values: np.ndarray,
        markers: np.ndarray,
        mask: np.ndarray | None,
        start: tuple[int, ...],
        shape: tuple[int, ...],
        steps: np.ndarray,
    ) -> None:
        ndim = values.ndim
        self.start, self.shape = np.asarray(start, np.int64), tuple(shape)
        self.block = values.shape
        padded = tuple(n + 2 for n in values.shape)
        self.padded = padded
        inner = tuple(slice(1, -1) for _ in range(ndim))
        # each cell's global raster index, and whether it lies in the array
        strides = np.cumprod((1, *shape[::-1][:-1]))[::-1].astype(np.int64)
        gidx = np.zeros(padded, np.int64)
        inside_array = np.ones(padded, bool)
        for ax in range(ndim):
            coord = np.arange(start[ax] - 1, start[ax] + values.shape[ax] + 1, dtype=np.int64)
            view = [None] * ndim
            view[ax] = slice(None)  # type: ignore[call-overload]
            gidx += (coord * strides[ax])[tuple(view)]
            inside_array &= ((coord >= 0) & (coord < shape[ax]))[tuple(view)]
        state = np.where(inside_array, RING, 0).astype(np.int8)
        inmask = np.ones(values.shape, bool) if mask is None else np.asarray(mask, bool)
        state[inner] = np.where(inmask, INSIDE, 0)
        self.state = state.ravel()
        self.gidx = gidx.ravel()
        vals = np.zeros(padded, np.float64)
        vals[inner] = values
        self.values = vals.ravel()
        mark = np.zeros(padded, bool)
        mark[inner] = (markers != 0) & inmask
        self.marker = mark.ravel()
        labels = np.zeros(padded, markers.dtype)
        labels[inner] = markers
        self.labels = labels.ravel()
        pstrides = np.cumprod((1, *padded[::-1][:-1]))[::-1].astype(np.int64)
        self.offsets = (steps @ pstrides).astype(np.int64)
        ring = state == RING
        terminal = np.zeros(padded, bool)
        for d in steps:
            shifted = tuple(slice(1 + k, padded[ax] - 1 + k) for ax, k in enumerate(d))
            terminal[inner] |= ring[shifted]
        terminal &= state == INSIDE
        self.terminal = terminal.ravel()

    def key_order(self, cells: np.ndarray) -> np.ndarray:
        """``cells`` (in raster order) sorted by key: by value, ties in raster order."""
        return cells[np.argsort(self.values[cells], kind="stable")]

    def cells_of(self, raster: np.ndarray) -> np.ndarray:
        """The cells (padded grid) of global raster indices, -1 off the grid."""
        coords = np.unravel_index(np.minimum(raster, np.prod(self.shape) - 1), self.shape)
        out = np.zeros(len(raster), np.int64)
        ok = raster < np.prod(self.shape, dtype=np.float64)
        for ax, c in enumerate(coords):
            local = c - self.start[ax] + 1
            ok &= (local >= 0) & (local < self.padded[ax])
            out = out * self.padded[ax] + local
        return np.where(ok, out, -1)

    def seeded(self, seeds: tuple[np.ndarray, np.ndarray, np.ndarray]) -> tuple[Any, Any]:
        """The flood's levels, the ring's seeds ``(raster, v, i)`` given."""
        seed_v = np.full(len(self.state), np.inf)
        seed_i = np.full(len(self.state), NO_INDEX, np.int64)
        raster, sv, si = seeds
        if len(raster):
            cells = self.cells_of(raster)
            ok = cells >= 0
            seed_v[cells[ok]], seed_i[cells[ok]] = sv[ok], si[ok]
        return flood(self.state, self.marker, self.values, self.gidx, seed_v, seed_i, self.offsets)

    def sources(self, lv: np.ndarray, li: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:func:`.kernels.resolve` on this block's levels."""
        reached = li != NO_INDEX
        local_of = np.full(len(li), -1, np.int64)
        local_of[reached] = self.cells_of(li[reached])
        local_of[local_of >= 0] = np.where(
            self.state[local_of[local_of >= 0]] == INSIDE, local_of[local_of >= 0], -1
        )
        passing = np.flatnonzero((li == self.gidx) & (self.state == INSIDE))
        return resolve(
            self.state, self.marker, self.gidx, lv, li, self.offsets,
            self.key_order(passing), local_of,
        )  # fmt: skip


def summary(
    values: np.ndarray,
    markers: np.ndarray,
    mask: np.ndarray | None,
    start: tuple[int, ...],
    shape: tuple[int, ...],
    steps: np.ndarray,
) -> tuple[np.ndarray, ...]:
    """Pass 1 of a block: ``(terminal raster indices, their values, tree
    edges a, b (raster indices, -1: the root), edge key v, i, cross edges
    from, to)``; cross edges go from a terminal to the cells of blocks after
    this one in raster order (each edge between two blocks is listed once)."""
    g = Grid(values, markers, mask, start, shape, steps)
    ea, eb, ev, ei = block_summary(
        g.key_order(np.flatnonzero(g.state == INSIDE)),
        g.state,
        g.terminal,
        g.marker,
        g.values,
        g.gidx,
        g.offsets,
    )
    raster = np.append(g.gidx, -1)  # the root: -1
    terms = np.flatnonzero(g.terminal)
    ahead = g.offsets[g.offsets > 0]
    targets = terms[:, None] + ahead[None, :]
    across = g.state[targets] == RING
    source = np.broadcast_to(terms[:, None], targets.shape)[across]
    return (
        g.gidx[terms], g.values[terms], raster[ea], raster[eb], ev, ei,
        g.gidx[source], g.gidx[targets[across]],
    )  # fmt: skip


def passes(
    values: np.ndarray,
    markers: np.ndarray,
    mask: np.ndarray | None,
    start: tuple[int, ...],
    shape: tuple[int, ...],
    steps: np.ndarray,
    seeds: tuple[np.ndarray, np.ndarray, np.ndarray],
    asked: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Pass 2 of a block: for the pass pixels ``asked`` (raster indices in
    the block), ``(kind, ref)``: kind 1, ref the marker's label; kind 2, ref
    the raster index of the pass pixel whose label it takes."""
    g = Grid(values, markers, mask, start, shape, steps)
    lv, li = g.seeded(seeds)
    kind, ref = g.sources(lv, li)
    cells = g.cells_of(asked)
    k, r = kind[cells], ref[cells]
    marker = k == 1
    out = r.astype(np.int64)
    out[marker] = g.labels[r[marker]]
    return k, out


def labelled(
    values: np.ndarray,
    markers: np.ndarray,
    mask: np.ndarray | None,
    start: tuple[int, ...],
    shape: tuple[int, ...],
    steps: np.ndarray,
    seeds: tuple[np.ndarray, np.ndarray, np.ndarray],
    known: tuple[np.ndarray, np.ndarray],
    dtype: np.dtype,
) -> np.ndarray:
    """Pass 3 of a block: its labels. ``known``: ``(raster indices, labels)``
    of the pass pixels outside it that its pixels may take their labels from."""
    g = Grid(values, markers, mask, start, shape, steps)
    lv, li = g.seeded(seeds)
    kind, ref = g.sources(lv, li)
    # the label of each pass pixel of the block
    label = np.zeros(len(g.state), np.int64)
    own = kind == 1
    label[own] = g.labels[ref[own]]
    outside = kind == 2
    names, found = known
    if outside.any():
        label[outside] = _named(names, found, ref[outside])
    # every pixel: the label of the pass pixel of its level
    inner = np.flatnonzero(g.state == INSIDE)
    out = np.zeros(len(g.state), np.int64)
    reached = inner[li[inner] != NO_INDEX]
    cells = g.cells_of(li[reached])
    here = (cells >= 0) & (g.state[np.maximum(cells, 0)] == INSIDE)
    out[reached[here]] = label[cells[here]]
    far = reached[~here]
    if len(far):
        out[far] = _named(names, found, li[far])
    padded = out.reshape(g.padded)
    inner_slices = tuple(slice(1, -1) for _ in g.padded)
    return padded[inner_slices].astype(dtype)


def _named(names: np.ndarray, found: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """The labels of the pass pixels ``wanted`` (raster indices), from the
    global step's ``names`` (sorted) and ``found``."""
    pos = np.minimum(np.searchsorted(names, wanted), max(len(names) - 1, 0))
    if not len(names) or (names[pos] != wanted).any():
        raise AssertionError("flood: a block names a pass pixel the global step did not give")
    return found[pos]
