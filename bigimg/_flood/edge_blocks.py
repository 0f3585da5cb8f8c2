"""One block of the flood engine's edge mode: its padded grid, and its three passes.

Edge mode is scipy's ``watershed_ift``: the array is one flat line of
pixels in raster (C) order, and a pixel's neighbours are ``p + s`` for the
flat stride ``s`` of each structure offset, kept when ``0 <= p + s < size``
(scipy checks the flat index only: at the end of a row, "+1" is the first
pixel of the next row). The strides are deduplicated and zero dropped; the
``K`` positive ones, sorted, are the *forward strides* (:func:`flat_strides`).

**Keys.** The edge between ``p < q = p + fwd[k]`` has id ``p * (K+1) + k``
and key ``(|value[p] - value[q]|, id)``; a marker ``p``'s root edge has id
``p * (K+1) + K`` and key ``(-1, id)``: every key is distinct. A pixel's
level is the lowest over the paths from the root of the highest key on the
path, so it names one edge, its *pass edge*; every pixel of one level takes
the label of the pass edge's endpoint of lower level (a root edge: its
marker's). The pass edge is *owned* by the block of its lower-raster
endpoint: the other endpoint is in the block or in its ring, whose levels
the global step gives.

**The grid.** :class:`EdgeGrid` is the block with a ring of one cell, like
:class:`.blocks.Grid`, but a ring cell's raster index is computed linearly
from its virtual coordinates: that is exactly scipy's flat neighbour. It is
valid iff ``0 <= index < size``; a valid one naming a pixel of the block is
an *alias* of that pixel's cell, the others are ring cells (pixels of other
blocks, whose values and levels come from the global terminal table).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bigimg._flood.edge_kernels import chain, edge_flood, kruskal
from bigimg._flood.kernels import INSIDE, NO_INDEX, OFF, RING

__all__ = ["EdgeGrid", "flat_ring", "flat_strides", "labelled", "passes", "summary"]

Seeds = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def _c_strides(shape: tuple[int, ...]) -> np.ndarray:
    return np.cumprod((1, *shape[::-1][:-1]))[::-1].astype(np.int64)


def flat_strides(steps: np.ndarray, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Each step's flat stride, and the sorted distinct positive ones (forward)."""
    flat = (np.asarray(steps, np.int64).reshape(-1, len(shape)) @ _c_strides(shape)).astype(
        np.int64
    )
    return flat, np.unique(flat[flat > 0])


def flat_ring(lo: list[int], hi: list[int], shape: tuple[int, ...]) -> np.ndarray:
    """Raster indices (sorted) of the ring cells of the block ``[lo, hi)``:
    the valid linear indices of the cells around it naming pixels outside it."""
    strides = _c_strides(shape)
    size = int(np.prod(shape))
    ndim = len(shape)
    parts = []
    for ax in range(ndim):
        for side in (lo[ax] - 1, hi[ax]):
            index = np.zeros(1, np.int64)
            for other in range(ndim):
                coord = (
                    np.array([side]) if other == ax else np.arange(lo[other] - 1, hi[other] + 1)
                )
                index = (index[:, None] + coord[None, :] * strides[other]).ravel()
            parts.append(index)
    if not parts:
        return np.empty(0, np.int64)
    index = np.unique(np.concatenate(parts))
    index = index[(index >= 0) & (index < size)]
    coords = np.unravel_index(index, shape)
    inside = np.ones(len(index), bool)
    for ax, c in enumerate(coords):
        inside &= (c >= lo[ax]) & (c < hi[ax])
    return index[~inside].astype(np.int64)


class EdgeGrid:
    """The padded, flattened grid of one block in edge mode (see module doc)."""

    def __init__(
        self,
        values: np.ndarray,
        markers: np.ndarray,
        start: tuple[int, ...],
        shape: tuple[int, ...],
        steps: np.ndarray,
    ) -> None:
        ndim = values.ndim
        self.start, self.shape, self.block = np.asarray(start, np.int64), shape, values.shape
        padded = tuple(n + 2 for n in values.shape)
        self.padded = padded
        inner = tuple(slice(1, -1) for _ in range(ndim))
        strides = _c_strides(shape)
        size = int(np.prod(shape))
        gidx = np.zeros(padded, np.int64)
        for ax in range(ndim):
            coord = np.arange(start[ax] - 1, start[ax] + values.shape[ax] + 1, dtype=np.int64)
            view: list[Any] = [None] * ndim
            view[ax] = slice(None)
            gidx += (coord * strides[ax])[tuple(view)]
        self.gidx = gidx.ravel()
        n = len(self.gidx)
        state = np.full(padded, OFF, np.int8)
        state[inner] = INSIDE
        self.state = state.ravel()
        self.alias = np.arange(n, dtype=np.int64)
        ring = np.flatnonzero((self.state == OFF) & (self.gidx >= 0) & (self.gidx < size))
        cells = self.inside_cells(self.gidx[ring])
        self.alias[ring[cells >= 0]] = cells[cells >= 0]
        self.state[ring[cells < 0]] = RING
        self.ring = ring[cells < 0]
        vals = np.zeros(padded, np.float64)
        vals[inner] = values
        self.values = vals.ravel()
        mark = np.zeros(padded, bool)
        mark[inner] = markers != 0
        self.marker = mark.ravel()
        labels = np.zeros(padded, np.int64)
        labels[inner] = markers
        self.labels = labels.ravel()
        flat, fwd = flat_strides(steps, shape)
        keep = flat != 0
        steps, flat = np.asarray(steps, np.int64).reshape(-1, ndim)[keep], flat[keep]
        self.offsets = (steps @ _c_strides(padded)).astype(np.int64)
        self.forward = flat > 0
        self.kidx = np.searchsorted(fwd, np.abs(flat)).astype(np.int64)
        self.k1 = len(fwd) + 1
        # a padded offset per forward stride: the far end of a pass edge
        self.fwd_offset = np.zeros(len(fwd), np.int64)
        self.fwd_offset[self.kidx[self.forward]] = self.offsets[self.forward]
        self.inner = np.flatnonzero(self.state == INSIDE)
        terminal = np.zeros(n, bool)
        for off in self.offsets:
            terminal[self.inner] |= self.state[self.alias[self.inner + off]] == RING
        self.terminal = terminal

    def inside_cells(self, raster: np.ndarray) -> np.ndarray:
        """The cells of raster indices in the block, -1 for the others."""
        coords = np.unravel_index(np.clip(raster, 0, int(np.prod(self.shape)) - 1), self.shape)
        ok = (raster >= 0) & (raster < np.prod(self.shape, dtype=np.float64))
        out = np.zeros(len(raster), np.int64)
        for ax, c in enumerate(coords):
            local = c - self.start[ax]
            ok &= (local >= 0) & (local < self.block[ax])
            out = out * self.padded[ax] + local + 1
        return np.where(ok, out, -1)

    def seeded(self, seeds: Seeds) -> tuple[np.ndarray, np.ndarray]:
        """The levels, the ring's ``(raster, level v, level i, value)`` given."""
        ring_v = np.full(len(self.state), np.inf)
        ring_i = np.full(len(self.state), NO_INDEX, np.int64)
        raster, sv, si, value = seeds
        if len(raster) and len(self.ring):
            pos = np.minimum(np.searchsorted(raster, self.gidx[self.ring]), len(raster) - 1)
            hit = raster[pos] == self.gidx[self.ring]
            cells, pos = self.ring[hit], pos[hit]
            ring_v[cells], ring_i[cells], self.values[cells] = sv[pos], si[pos], value[pos]
        return edge_flood(
            self.state, self.alias, self.marker, self.values, self.gidx, ring_v, ring_i,
            self.offsets, self.forward, self.kidx, self.k1,
        )  # fmt: skip

    def sources(self, lv: np.ndarray, li: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The pass edges the block owns (ids, sorted) and where their labels
        come from: ``(ids, kind, ref)`` (kind 1: ref a label; 2: ref the id
        of the level whose label it takes)."""
        reached = np.flatnonzero(li != NO_INDEX)
        ids, first = np.unique(li[reached], return_index=True)
        low = self.inside_cells(ids // self.k1)
        owned = low >= 0
        ids, low, key = ids[owned], low[owned], lv[reached[first[owned]]]
        if not len(ids):
            return ids, np.zeros(0, np.int8), np.zeros(0, np.int64)
        k = ids % self.k1
        root = k == self.k1 - 1
        far = low.copy()
        edge = ~root
        far[edge] = self.alias[low[edge] + self.fwd_offset[k[edge]]]
        # the endpoint of lower level
        a_v, a_i, b_v, b_i = lv[low], li[low], lv[far], li[far]
        a_lower = (a_v < b_v) | ((a_v == b_v) & (a_i < b_i))
        name = np.where(a_lower, a_i, b_i)
        pos = np.minimum(np.searchsorted(ids, name), len(ids) - 1)
        local = np.where((ids[pos] == name) & edge, pos, -1)
        order = np.lexsort((ids, key))
        kind, ref = chain(order, root, self.labels[low], local, name)
        return ids, kind, ref


def summary(
    values: np.ndarray,
    markers: np.ndarray,
    mask: None,
    start: tuple[int, ...],
    shape: tuple[int, ...],
    steps: np.ndarray,
) -> tuple[np.ndarray, ...]:
    """Pass 1 of a block: ``(terminal raster indices, their values, tree
    edges a, b (raster indices, -1: the root), edge key v, i, cross edges
    from, to, k)``: cross edges go from a terminal to a ring cell by a
    forward stride ``k`` (each edge between two blocks is listed once)."""
    g = EdgeGrid(values, markers, start, shape, steps)
    n = len(g.state)
    ea, eb, ev, ei = [], [], [], []
    mk = g.inner[g.marker[g.inner]]
    ea.append(mk)
    eb.append(np.full(len(mk), n))
    ev.append(np.full(len(mk), -1.0))
    ei.append(g.gidx[mk] * g.k1 + g.k1 - 1)
    ca, cb, ck = [], [], []
    for j in np.flatnonzero(g.forward):
        q = g.alias[g.inner + g.offsets[j]]
        within = g.state[q] == INSIDE
        a, b = g.inner[within], q[within]
        ea.append(a)
        eb.append(b)
        ev.append(np.abs(g.values[a] - g.values[b]))
        ei.append(g.gidx[a] * g.k1 + g.kidx[j])
        across = g.state[q] == RING
        ca.append(g.gidx[g.inner[across]])
        cb.append(g.gidx[q[across]])
        ck.append(np.full(int(across.sum()), g.kidx[j]))
    a, b, v, i = (np.concatenate(x) for x in (ea, eb, ev, ei))
    order = np.lexsort((i, v))
    ta, tb, tv, ti = kruskal(n, a[order], b[order], v[order], i[order], g.terminal)
    raster = np.append(g.gidx, -1)  # the root: -1
    terms = np.flatnonzero(g.terminal)

    def joined(parts: list[np.ndarray]) -> np.ndarray:
        return np.concatenate(parts) if parts else np.empty(0, np.int64)

    return (
        g.gidx[terms], g.values[terms], raster[ta], raster[tb], tv, ti,
        joined(ca), joined(cb), joined(ck),
    )  # fmt: skip


def passes(
    values: np.ndarray,
    markers: np.ndarray,
    mask: None,
    start: tuple[int, ...],
    shape: tuple[int, ...],
    steps: np.ndarray,
    seeds: Seeds,
    asked: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Pass 2 of a block: for the pass edges ``asked`` (ids the block owns),
    ``(kind, ref)``: kind 1, ref the marker's label; kind 2, ref the id of
    the level whose label it takes."""
    g = EdgeGrid(values, markers, start, shape, steps)
    ids, kind, ref = g.sources(*g.seeded(seeds))
    pos = np.minimum(np.searchsorted(ids, asked), max(len(ids) - 1, 0))
    if len(asked) and (not len(ids) or (ids[pos] != asked).any()):
        raise AssertionError("flood: the global step asks a block about an edge it does not own")
    return kind[pos], ref[pos]


def labelled(
    values: np.ndarray,
    markers: np.ndarray,
    mask: None,
    start: tuple[int, ...],
    shape: tuple[int, ...],
    steps: np.ndarray,
    seeds: Seeds,
    known: tuple[np.ndarray, np.ndarray],
    dtype: np.dtype,
) -> np.ndarray:
    """Pass 3 of a block: its labels. ``known``: ``(level ids, labels)`` of
    the pass edges outside it that its pixels may take their labels from."""
    g = EdgeGrid(values, markers, start, shape, steps)
    lv, li = g.seeded(seeds)
    ids, kind, ref = g.sources(lv, li)
    names, found = known
    label = np.where(kind == 1, ref, 0)
    if (kind == 2).any():
        label[kind == 2] = _named(names, found, ref[kind == 2])
    out = np.zeros(len(g.state), np.int64)
    level = li[g.inner]
    reached = level != NO_INDEX
    cells, level = g.inner[reached], level[reached]
    pos = np.minimum(np.searchsorted(ids, level), max(len(ids) - 1, 0))
    here = (ids[pos] == level) if len(ids) else np.zeros(len(level), bool)
    out[cells[here]] = label[pos[here]]
    if (~here).any():
        out[cells[~here]] = _named(names, found, level[~here])
    inner_slices = tuple(slice(1, -1) for _ in g.padded)
    return out.reshape(g.padded)[inner_slices].astype(dtype)


def _named(names: np.ndarray, found: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """The labels of the levels ``wanted`` (edge ids), from the global step's
    ``names`` (sorted) and ``found``."""
    pos = np.minimum(np.searchsorted(names, wanted), max(len(names) - 1, 0))
    if not len(names) or (names[pos] != wanted).any():
        raise AssertionError("flood: a block names a pass edge the global step did not give")
    return found[pos]
