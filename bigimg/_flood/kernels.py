"""Compiled block arithmetic of the flood engine (numba, GIL-free).

A block is handled as a padded, flattened array: the block plus a ring of
one cell on every side, so a neighbour is ``cell + offset`` for the flat
offsets of the structure and no bounds are checked. Each cell has a state:
:data:`OFF` (outside the mask or the array), :data:`INSIDE` (a pixel of the
block in the mask) or :data:`RING` (a pixel of a neighbouring block, in the
array: a seed when the global step gave it a level).

A pixel's key is ``(value, raster index)``: a total order, the image's with
ties between equal values broken by position. Levels are keys too: the
level of a pixel is the lowest, over the paths from a marker to it, of the
highest key on the path (the marker's and its own included). Levels are
compared as pairs ``(v, i)``; "none" is ``(inf, INT_MAX)``.
"""

from __future__ import annotations

import numpy as np

from bigimg._kernels import jit

__all__ = [
    "INSIDE", "NO_INDEX", "OFF", "RING", "block_summary", "find_root", "flood", "heap_pop",
    "heap_push", "join_terminals", "key_less", "levels_from_root", "resolve",
]  # fmt: skip

OFF, INSIDE, RING = 0, 1, 2
#: the index part of "no level"
NO_INDEX = np.iinfo(np.int64).max


@jit
def key_less(av: float, ai: int, bv: float, bi: int) -> bool:
    return av < bv or (av == bv and ai < bi)


@jit
def find_root(parent: np.ndarray, x: int) -> int:
    root = x
    while parent[root] != root:
        root = parent[root]
    while parent[x] != root:
        up = parent[x]
        parent[x] = root
        x = up
    return root


@jit
def block_summary(
    order: np.ndarray,
    state: np.ndarray,
    terminal: np.ndarray,
    marker: np.ndarray,
    values: np.ndarray,
    gidx: np.ndarray,
    offsets: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The block's levels between its terminals, as a tree (Kruskal).

    ``order``: the block's cells in key order. The block's pixels are added
    one at a time in that order, each joined to its neighbours added before
    it (and a marker to the root, cell ``len(state)``); when a join connects
    two parts that each hold a terminal (a pixel on a face to another block,
    or the root), the edge ``(terminal, terminal, key)`` is emitted. The
    highest key on the tree path between two terminals is then the lowest
    highest key of the paths inside the block between them.

    Returns the edges: cells ``a``, ``b`` (the root is ``len(state)``), key.
    """
    n = len(state)
    root = n
    parent = np.arange(n + 1)
    rep = np.full(n + 1, -1, np.int64)
    rep[root] = root
    done = np.zeros(n, np.bool_)
    cap = int(terminal.sum()) + 1
    ea = np.empty(cap, np.int64)
    eb = np.empty(cap, np.int64)
    ev = np.empty(cap, np.float64)
    ei = np.empty(cap, np.int64)
    m = 0
    for k in range(len(order)):
        p = order[k]
        done[p] = True
        if terminal[p]:
            rep[p] = p
        kv, ki = values[p], gidx[p]
        for j in range(len(offsets) + 1):
            if j == len(offsets):
                if not marker[p]:
                    continue
                q = root
            else:
                q = p + offsets[j]
                if state[q] != INSIDE or not done[q]:
                    continue
            a, b = join_terminals(parent, rep, root, p, q)
            if a >= 0:
                ea[m], eb[m], ev[m], ei[m] = a, b, kv, ki
                m += 1
    return ea[:m], eb[:m], ev[:m], ei[:m]


@jit
def join_terminals(
    parent: np.ndarray, rep: np.ndarray, root: int, a: int, b: int
) -> tuple[int, int]:
    """Unite the parts of ``a`` and ``b`` (union-find ``parent``; ``rep``:
    each part's terminal, -1 for none; ``root`` stays a root). Returns the
    two parts' terminals when both had one (the tree edge Kruskal emits),
    else ``(-1, -1)``."""
    ra, rb = find_root(parent, a), find_root(parent, b)
    if ra == rb:
        return -1, -1
    ta, tb = rep[ra], rep[rb]
    if rb == root:  # the root stays a root: it is every block's one node
        ra, rb = rb, ra
    parent[rb] = ra
    if rep[ra] < 0:
        rep[ra] = rep[rb]
    if ta >= 0 and tb >= 0:
        return ta, tb
    return -1, -1


@jit
def heap_push(
    hv: np.ndarray, hi: np.ndarray, hc: np.ndarray, size: int, v: float, i: int, c: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    if size == len(hv):
        grown = 2 * len(hv) + 16
        nv, ni, nc = np.empty(grown), np.empty(grown, np.int64), np.empty(grown, np.int64)
        nv[:size], ni[:size], nc[:size] = hv[:size], hi[:size], hc[:size]
        hv, hi, hc = nv, ni, nc
    k = size
    while k > 0:
        up = (k - 1) >> 1
        if not key_less(v, i, hv[up], hi[up]):
            break
        hv[k], hi[k], hc[k] = hv[up], hi[up], hc[up]
        k = up
    hv[k], hi[k], hc[k] = v, i, c
    return hv, hi, hc, size + 1


@jit
def heap_pop(hv: np.ndarray, hi: np.ndarray, hc: np.ndarray, size: int) -> int:
    """Remove the heap's top (read it before); returns the new size."""
    size -= 1
    v, i, c = hv[size], hi[size], hc[size]
    k = 0
    while True:
        child = 2 * k + 1
        if child >= size:
            break
        if child + 1 < size and key_less(hv[child + 1], hi[child + 1], hv[child], hi[child]):
            child += 1
        if not key_less(hv[child], hi[child], v, i):
            break
        hv[k], hi[k], hc[k] = hv[child], hi[child], hc[child]
        k = child
    if size > 0:
        hv[k], hi[k], hc[k] = v, i, c
    return size


@jit
def flood(
    state: np.ndarray,
    marker: np.ndarray,
    values: np.ndarray,
    gidx: np.ndarray,
    seed_v: np.ndarray,
    seed_i: np.ndarray,
    offsets: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Every cell's level, from the block's markers and the ring's seeds.

    ``seed_v``, ``seed_i``: the ring cells' levels (none elsewhere). A
    priority flood (Dijkstra's order on the pair keys): a pixel reached from
    a cell of level ``L`` gets ``max(L, its key)`` if that is lower than
    what it has; the first cell to reach a pixel gives it its level (cells
    leave the heap in increasing level), so each is pushed once, as in
    scikit-image's flood. Returns the levels of every cell (the ring's: its
    seeds).
    """
    n = len(state)
    lv = np.full(n, np.inf)
    li = np.full(n, NO_INDEX, np.int64)
    cap = 1024
    hv, hi, hc = np.empty(cap), np.empty(cap, np.int64), np.empty(cap, np.int64)
    size = 0
    for c in range(n):
        if state[c] == INSIDE and marker[c]:
            lv[c], li[c] = values[c], gidx[c]
            hv, hi, hc, size = heap_push(hv, hi, hc, size, lv[c], li[c], c)
        elif state[c] == RING and seed_i[c] != NO_INDEX:
            lv[c], li[c] = seed_v[c], seed_i[c]
            hv, hi, hc, size = heap_push(hv, hi, hc, size, lv[c], li[c], c)
    while size > 0:
        v, i, c = hv[0], hi[0], hc[0]
        size = heap_pop(hv, hi, hc, size)
        if v != lv[c] or i != li[c]:
            continue  # a stale entry: the cell was lowered since
        for j in range(len(offsets)):
            q = c + offsets[j]
            if q < 0 or q >= n or state[q] != INSIDE:  # a ring cell's neighbours may be off
                continue
            if li[q] != NO_INDEX:
                # reached already: cells leave the heap in increasing level, so a
                # later cell could only give it max(higher level, its key) >= this
                continue
            nv, ni = v, i
            if key_less(nv, ni, values[q], gidx[q]):
                nv, ni = values[q], gidx[q]
            lv[q], li[q] = nv, ni
            hv, hi, hc, size = heap_push(hv, hi, hc, size, nv, ni, q)
    return lv, li


@jit
def resolve(
    state: np.ndarray,
    marker: np.ndarray,
    gidx: np.ndarray,
    lv: np.ndarray,
    li: np.ndarray,
    offsets: np.ndarray,
    order: np.ndarray,
    local_of: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Where each pass pixel of the block takes its label from.

    A pass pixel is one whose level is its own key. A marker's label is its
    own; another pass pixel takes the label of its lowest-level neighbour
    (every neighbour of that level has the same label). That neighbour's
    label is the label of the pass pixel of its level, which is found here
    if it lies in the block (pass pixels are taken in key order, so it is
    known by then), else named by its raster index.

    ``order``: the block's pass pixels in key order; ``local_of(raster index)`` is
    done by the caller through ``local_of``: for each cell, the cell of the
    raster index ``li`` names, or -1 outside the block.

    Returns per cell: ``kind`` (0: none or not a pass pixel, 1: the label is
    the marker at ``ref``, a cell; 2: the label is that of the outside pass
    pixel whose raster index is ``ref``) and ``ref``.
    """
    n = len(state)
    kind = np.zeros(n, np.int8)
    ref = np.full(n, -1, np.int64)
    for k in range(len(order)):
        s = order[k]
        if li[s] != gidx[s]:
            continue  # not a pass pixel (or not reached)
        if marker[s]:
            kind[s], ref[s] = 1, s
            continue
        bv, bi = np.inf, NO_INDEX
        best = -1
        for j in range(len(offsets)):
            q = s + offsets[j]
            if state[q] == OFF:
                continue
            if key_less(lv[q], li[q], bv, bi):
                bv, bi, best = lv[q], li[q], q
        if best < 0 or bi == NO_INDEX:
            continue
        t = local_of[best]
        if t >= 0:
            kind[s], ref[s] = kind[t], ref[t]
        else:
            kind[s], ref[s] = 2, bi
    return kind, ref


@jit
def levels_from_root(
    n: int,
    src: np.ndarray,
    dst: np.ndarray,
    kv: np.ndarray,
    ki: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """The level of each node of a graph (nodes ``0..n-1``, the root ``n``):
    the lowest, over paths from the root, of the highest edge key on them
    (a priority flood over an edge list, both ways)."""
    m = len(src)
    count = np.zeros(n + 2, np.int64)
    for e in range(m):
        count[src[e] + 1] += 1
        count[dst[e] + 1] += 1
    start = np.cumsum(count)
    fill = start.copy()
    nbr = np.empty(2 * m, np.int64)
    edge = np.empty(2 * m, np.int64)
    for e in range(m):
        a, b = src[e], dst[e]
        nbr[fill[a]], edge[fill[a]] = b, e
        fill[a] += 1
        nbr[fill[b]], edge[fill[b]] = a, e
        fill[b] += 1
    lv = np.full(n + 1, np.inf)
    li = np.full(n + 1, NO_INDEX, np.int64)
    lv[n], li[n] = -np.inf, -1
    cap = 1024
    hv, hi, hc = np.empty(cap), np.empty(cap, np.int64), np.empty(cap, np.int64)
    hv, hi, hc, size = heap_push(hv, hi, hc, 0, -np.inf, -1, n)
    while size > 0:
        v, i, c = hv[0], hi[0], hc[0]
        size = heap_pop(hv, hi, hc, size)
        if v != lv[c] or i != li[c]:
            continue
        for k in range(start[c], start[c + 1]):
            q, e = nbr[k], edge[k]
            nv, ni = v, i
            if key_less(nv, ni, kv[e], ki[e]):
                nv, ni = kv[e], ki[e]
            if key_less(nv, ni, lv[q], li[q]):
                lv[q], li[q] = nv, ni
                hv, hi, hc, size = heap_push(hv, hi, hc, size, nv, ni, q)
    return lv[:n], li[:n]
