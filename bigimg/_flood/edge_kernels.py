"""Compiled block arithmetic of the flood engine's edge mode (numba, GIL-free).

Edge mode (scipy's ``watershed_ift``) keys the *edges* between neighbours,
not the pixels: an edge's key is ``(|value difference|, edge id)``, and a
marker's edge to the markers' root is keyed ``(-1, root id)`` (ids: see
:mod:`.edge_blocks`). A cell's level is the lowest, over the paths from the
root, of the highest edge key on the path. The grid is the padded one of
:mod:`.kernels`, with one more array: ``alias``, the cell a neighbour
``c + offset`` stands for (a ring cell naming a pixel of the block itself
stands for that pixel), so a neighbour is ``alias[c + offset]``.
"""

from __future__ import annotations

import numpy as np

from bigimg._flood.kernels import (
    INSIDE,
    NO_INDEX,
    RING,
    heap_pop,
    heap_push,
    join_terminals,
    key_less,
)
from bigimg._kernels import jit

__all__ = ["chain", "edge_flood", "kruskal"]


@jit
def _edge_key(
    c: int, q: int, j: int, values: np.ndarray, gidx: np.ndarray, forward: np.ndarray,
    kidx: np.ndarray, k1: int,
) -> tuple[float, int]:  # fmt: skip
    """The key of the edge from cell ``c`` to its neighbour ``q`` by offset ``j``."""
    low = gidx[c] if forward[j] else gidx[q]
    return abs(values[c] - values[q]), low * k1 + kidx[j]


@jit
def edge_flood(
    state: np.ndarray,
    alias: np.ndarray,
    marker: np.ndarray,
    values: np.ndarray,
    gidx: np.ndarray,
    ring_v: np.ndarray,
    ring_i: np.ndarray,
    offsets: np.ndarray,
    forward: np.ndarray,
    kidx: np.ndarray,
    k1: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Every cell's level, from the block's markers and the ring's levels.

    ``ring_v``, ``ring_i``: the ring cells' exact levels (none elsewhere);
    they are kept, and only the block's pixels are flooded: each starts from
    the lowest of its own root edge (a marker) and ``max(ring level, edge
    key)`` over its ring neighbours, then a priority flood (Dijkstra's order)
    lowers the levels through the block's edges. Ring cells are never
    expanded (their neighbours ``c + offset`` may wrap around the grid).
    """
    n = len(state)
    lv = np.full(n, np.inf)
    li = np.full(n, NO_INDEX, np.int64)
    for c in range(n):
        if state[c] == RING:
            lv[c], li[c] = ring_v[c], ring_i[c]
    cap = 1024
    hv, hi, hc = np.empty(cap), np.empty(cap, np.int64), np.empty(cap, np.int64)
    size = 0
    for c in range(n):
        if state[c] != INSIDE:
            continue
        bv, bi = np.inf, NO_INDEX
        if marker[c]:
            bv, bi = -1.0, gidx[c] * k1 + k1 - 1
        for j in range(len(offsets)):
            q = alias[c + offsets[j]]
            if state[q] != RING or li[q] == NO_INDEX:
                continue
            nv, ni = _edge_key(c, q, j, values, gidx, forward, kidx, k1)
            if key_less(nv, ni, lv[q], li[q]):
                nv, ni = lv[q], li[q]
            if key_less(nv, ni, bv, bi):
                bv, bi = nv, ni
        if bi != NO_INDEX:
            lv[c], li[c] = bv, bi
            hv, hi, hc, size = heap_push(hv, hi, hc, size, bv, bi, c)
    while size > 0:
        v, i, c = hv[0], hi[0], hc[0]
        size = heap_pop(hv, hi, hc, size)
        if v != lv[c] or i != li[c]:
            continue  # a stale entry: the cell was lowered since
        for j in range(len(offsets)):
            q = alias[c + offsets[j]]
            if state[q] != INSIDE:
                continue
            nv, ni = _edge_key(c, q, j, values, gidx, forward, kidx, k1)
            if key_less(nv, ni, v, i):
                nv, ni = v, i
            if key_less(nv, ni, lv[q], li[q]):
                lv[q], li[q] = nv, ni
                hv, hi, hc, size = heap_push(hv, hi, hc, size, nv, ni, q)
    return lv, li


@jit
def kruskal(
    n: int,
    ea: np.ndarray,
    eb: np.ndarray,
    ev: np.ndarray,
    ei: np.ndarray,
    terminal: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The block's levels between its terminals, as a tree (Kruskal).

    ``ea``, ``eb``, ``ev``, ``ei``: the block's edges (cells; the root is
    ``n``) in key order, root edges first. When an edge joins two parts that
    each hold a terminal (or the root), the edge ``(terminal, terminal,
    key)`` is emitted: the highest key on the emitted tree's path between
    two terminals is the lowest highest key of the block's paths between them.
    """
    root = n
    parent = np.arange(n + 1)
    rep = np.full(n + 1, -1, np.int64)
    rep[root] = root
    for c in range(n):
        if terminal[c]:
            rep[c] = c
    cap = int(terminal.sum()) + 1
    oa = np.empty(cap, np.int64)
    ob = np.empty(cap, np.int64)
    ov = np.empty(cap, np.float64)
    oi = np.empty(cap, np.int64)
    m = 0
    for e in range(len(ea)):
        a, b = join_terminals(parent, rep, root, ea[e], eb[e])
        if a >= 0:
            oa[m], ob[m], ov[m], oi[m] = a, b, ev[e], ei[e]
            m += 1
    return oa[:m], ob[:m], ov[:m], oi[:m]


@jit
def chain(
    order: np.ndarray, root: np.ndarray, label: np.ndarray, local: np.ndarray, name: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Where the block's pass edges take their labels from, in key order.

    Per pass edge (``order``: positions in key order): a ``root`` edge takes
    its marker's ``label`` (kind 1); another ``local``, the position of
    the pass edge of its lower endpoint's level if the block owns it (known
    by then: it is lower), or -1: kind 2, the label of the level ``name``.
    Returns ``kind`` and ``ref`` (kind 1: a label; kind 2: an edge id).
    """
    m = len(order)
    kind = np.zeros(m, np.int8)
    ref = np.zeros(m, np.int64)
    for k in range(m):
        e = order[k]
        if root[e]:
            kind[e], ref[e] = 1, label[e]
        elif local[e] >= 0:
            kind[e], ref[e] = kind[local[e]], ref[local[e]]
        else:
            kind[e], ref[e] = 2, name[e]
    return kind, ref
