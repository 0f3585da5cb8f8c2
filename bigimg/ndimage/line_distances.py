"""One-dimensional passes of the separable distance transforms, on many lines at once.

A separable distance transform (Maurer et al. 2003, which scipy's
``distance_transform_edt`` implements; Meijster et al. 2000) runs one pass
per axis. Pass 0 finds, along each line, the nearest background pixel. Each
later pass sees, at every pixel of a line, the squared distance ``h`` to the
nearest background of the lower-dimensional slice through it, and finds the
lower envelope of the parabolas ``h[j] + ((x - j) * s)**2``.

:func:`edt_lines` replays scipy's own pass (``_VoronoiFT`` in
``ni_morphology.c``): the same stack of parabolas, the same floating-point
test to drop one (evaluated in the same order, so it rounds alike), the same
scan for the nearest. Its choices, and so its distances, are scipy's bit for
bit, ties and near-ties included.

Speed comes from vectorising across lines and from cutting lines at
background pixels: a pixel with ``h == 0`` is never dropped from the stack
(its drop test is negative) and beats every parabola beyond it, so the
stretch between two background pixels is an independent problem. Lines are
cut into such segments, segments of similar length are stacked, and the
sequential algorithm runs over the segment length, not the line length.
:func:`taxicab_lines` and :func:`chessboard_lines` are the L1 and L-infinity
passes (exact integers) that make ``distance_transform_cdt`` separable.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["chessboard_lines", "edt_lines", "nearest_on_axis", "taxicab_lines"]

#: no feature yet (distances are never negative)
NONE = -1


def nearest_on_axis(background: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """Displacement to the nearest background pixel along ``axis`` (the lower one
    on a tie, as scipy's first pass), and whether the line has any background.

    Two sweeps along the axis, one vectorised operation per position (faster
    than numpy's strided ``accumulate`` across rows)."""
    n = background.shape[axis]
    shape = [1] * background.ndim
    shape[axis] = n
    index = np.arange(n, dtype=np.int32).reshape(shape)
    prev = np.where(background, index, np.int32(-1))
    nxt = np.where(background, index, np.int32(2 * n + 1))
    p, q = np.moveaxis(prev, axis, 0), np.moveaxis(nxt, axis, 0)
    for i in range(1, n):
        np.maximum(p[i - 1 : i], p[i : i + 1], out=p[i : i + 1])
    for i in range(n - 2, -1, -1):
        np.minimum(q[i + 1 : i + 2], q[i : i + 1], out=q[i : i + 1])
    up = index - prev
    down = nxt - index
    take_prev = (prev >= 0) & (up <= down)
    valid = (prev >= 0) | (nxt <= n)
    np.negative(up, out=up)
    return np.where(take_prev, up, down), valid


# --- segments between background pixels ----------------------------------------------------


def _segments(cut: np.ndarray, whole: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Runs of pixels that are not ``cut`` in each line of ``cut`` (M, L), widened by
    the background pixel on each side: (line, first, last) of each segment, inclusive.
    ``whole``: one segment per line instead."""
    m, n = cut.shape
    if whole:
        lines = np.arange(m)
        return lines, np.zeros(m, np.int64), np.full(m, n - 1, np.int64)
    inner = np.zeros((m, n + 2), bool)
    inner[:, 1:-1] = ~cut
    edges = np.diff(inner.view(np.int8), axis=1)
    line, where = np.nonzero(edges)
    rising = edges[line, where] == 1
    line, first, stop = line[rising], where[rising], where[~rising]
    first = np.maximum(first - 1, 0)
    last = np.minimum(stop, n - 1)
    return line, first.astype(np.int64), last.astype(np.int64)


def _by_length(
    lines: np.ndarray,
    first: np.ndarray,
    last: np.ndarray,
    values: np.ndarray,
    pad: float,
    solve: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]],
    out_pos: np.ndarray,
    out_val: np.ndarray,
) -> None:
    """Stack segments of similar lengths (up to the next power of two), solve each
    stack, write the answers back (position in the line, value)."""
    if len(lines) == 0:
        return
    length = last - first + 1
    bucket = np.ceil(np.log2(np.maximum(length, 1))).astype(np.int64)
    for b in np.unique(bucket):
        pick = np.flatnonzero(bucket == b)
        size = int(length[pick].max())
        offsets = np.arange(size)
        where = first[pick, None] + offsets[None, :]
        inside = offsets[None, :] < length[pick, None]
        rows = np.broadcast_to(lines[pick, None], where.shape)
        stacked = np.full(where.shape, pad, dtype=values.dtype)
        stacked[inside] = values[rows[inside], where[inside]]
        local, value = solve(np.ascontiguousarray(stacked.T))
        local, value = local.T, value.T
        found = inside & (local >= 0)
        r, c = rows[found], where[found]
        out_pos[r, c] = (local + first[pick, None])[found]
        out_val[r, c] = value[found]


# --- Euclidean: scipy's pass, replayed --------------------------------------------------------


def _voronoi(heights: np.ndarray, s: float | None) -> tuple[np.ndarray, np.ndarray]:
    """scipy's ``_VoronoiFT`` on each column of ``heights`` (L, n): chosen position
    (-1: none) and its squared distance, for every position."""
    size, n = heights.shape
    stack_pos = np.zeros((size, n), np.int64)
    stack_h = np.zeros((size, n), np.float64)
    flat_pos, flat_h = stack_pos.reshape(-1), stack_h.reshape(-1)
    top = np.full(n, -1, np.int64)
    for ii in range(size):
        w = heights[ii]
        valid = np.flatnonzero(w >= 0)
        if valid.size == 0:
            continue
        act = valid[top[valid] >= 1]
        while act.size:
            upper = top[act] * n + act
            lower = upper - n
            g1 = flat_pos[upper]
            a = (g1 - flat_pos[lower]).astype(np.float64)
            b = (ii - g1).astype(np.float64)
            if s is not None:
                a *= s
                b *= s
            c = a + b
            test = c * flat_h[upper] - b * flat_h[lower] - a * w[act] - a * b * c
            act = act[~(test <= 0.0)]  # scipy keeps the middle parabola when test <= 0
            top[act] -= 1
            act = act[top[act] >= 1]
        top[valid] += 1
        at = top[valid] * n + valid
        flat_pos[at] = ii
        flat_h[at] = w[valid]
    pos = np.full((size, n), NONE, np.int64)
    dist = np.full((size, n), float(NONE))
    has = np.flatnonzero(top >= 0)
    if has.size == 0:
        return pos, dist
    last = top[has]
    level = np.zeros(has.size, np.int64)
    for ii in range(size):
        at = level * n + has
        g = flat_pos[at]
        t = (g - ii).astype(np.float64)
        if s is not None:
            t *= s
        best = flat_h[at] + t * t
        act = np.flatnonzero(level < last)
        while act.size:
            nxt = (level[act] + 1) * n + has[act]
            g2 = flat_pos[nxt]
            t = (g2 - ii).astype(np.float64)
            if s is not None:
                t *= s
            d2 = flat_h[nxt] + t * t
            move = ~(best[act] <= d2)  # scipy stops at the first that is not beaten
            act = act[move]
            best[act] = d2[move]
            g[act] = g2[move]
            level[act] += 1
            act = act[level[act] < last[act]]
        pos[ii, has] = g
        dist[ii, has] = best
    return pos, dist


def edt_lines(heights: np.ndarray, s: float | None) -> tuple[np.ndarray, np.ndarray]:
    """One Euclidean pass on the lines (rows) of ``heights`` (M, L): -1 where no
    feature yet, else the squared distance from the previous passes. Returns the
    chosen position along the line (-1: none) and the new squared distance."""
    n = heights.shape[1]
    # cutting at background relies on every step being positive and finite
    cut_ok = s is None or bool(np.isfinite(s) and s > 0)
    background = heights == 0.0
    if cut_ok:  # a background pixel is its own nearest
        pos = np.where(background, np.arange(n), NONE)
        dist = np.where(background, 0.0, float(NONE))
    else:
        pos = np.full(heights.shape, NONE, np.int64)
        dist = np.full(heights.shape, float(NONE))
    lines, first, last = _segments(background, whole=not cut_ok)
    _by_length(lines, first, last, heights, float(NONE), lambda h: _voronoi(h, s), pos, dist)
    return pos, dist


# --- city block and chessboard ------------------------------------------------------------------

#: larger than any distance (the paper's "infinity", safe from overflow in int64)
_FAR = np.int64(2**40)


def taxicab_lines(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``min_j values[j] + |x - j|`` along each row (-1: no feature): two running minima."""
    n = values.shape[1]
    j = np.arange(n, dtype=np.int64)
    v = np.where(values >= 0, values.astype(np.int64), _FAR)
    left = v - j
    best_left = np.minimum.accumulate(left, axis=1)
    arg_left = np.maximum.accumulate(np.where(left == best_left, j, 0), axis=1)
    right = (v + j)[:, ::-1]  # position k is j = n - 1 - k
    best_rev = np.minimum.accumulate(right, axis=1)
    arg_rev = np.maximum.accumulate(np.where(right == best_rev, j, 0), axis=1)
    best_right, arg_right = best_rev[:, ::-1], (n - 1 - arg_rev)[:, ::-1]
    from_left, from_right = best_left + j, best_right - j
    use_left = from_left <= from_right
    value = np.where(use_left, from_left, from_right)
    pos = np.where(use_left, arg_left, arg_right)
    none = value >= _FAR
    return np.where(none, NONE, pos), np.where(none, NONE, value)


def _meijster(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Meijster's L-infinity pass on each column of ``values`` (L, n), -1 padding."""
    size, n = values.shape
    g = np.where(values >= 0, values, _FAR).astype(np.int64)
    cols = np.arange(n)
    s_pos = np.zeros((size, n), np.int64)  # positions of the cones on the stack
    t_pos = np.zeros((size, n), np.int64)  # where each starts to be the lowest
    q = np.zeros(n, np.int64)

    def f(x: np.ndarray, i: np.ndarray, c: np.ndarray) -> np.ndarray:
        return np.maximum(np.abs(x - i), g[i, c])

    for u in range(1, size):
        act = np.flatnonzero(q >= 0)
        while act.size:
            tq, sq = t_pos[q[act], act], s_pos[q[act], act]
            worse = f(tq, sq, act) > np.maximum(np.abs(tq - u), g[u, act])
            act = act[worse]
            q[act] -= 1
            act = act[q[act] >= 0]
        empty = q < 0
        q[empty] = 0
        s_pos[0, empty] = u
        t_pos[0, empty] = 0
        rest = np.flatnonzero(~empty)
        if rest.size:
            i = s_pos[q[rest], rest]
            gi, gu = g[i, rest], g[u, rest]
            mid = (i + u) // 2
            sep = np.where(gi <= gu, np.maximum(i + gu, mid), np.minimum(u - gi, mid))
            w = 1 + sep
            push = rest[w < size]
            q[push] += 1
            s_pos[q[push], push] = u
            t_pos[q[push], push] = w[w < size]
    pos = np.empty((size, n), np.int64)
    val = np.empty((size, n), np.int64)
    for u in range(size - 1, -1, -1):
        i = s_pos[q, cols]
        pos[u] = i
        val[u] = np.maximum(np.abs(u - i), g[i, cols])
        q[t_pos[q, cols] == u] -= 1
    none = val >= _FAR
    return np.where(none, NONE, pos), np.where(none, NONE, val)


def chessboard_lines(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``min_j max(values[j], |x - j|)`` along each row (-1: no feature)."""
    n = values.shape[1]
    background = values == 0
    pos = np.where(background, np.arange(n, dtype=np.int32), np.int32(NONE))
    val = np.where(background, values.dtype.type(0), values.dtype.type(NONE))
    lines, first, last = _segments(background, whole=False)
    _by_length(lines, first, last, values, NONE, _meijster, pos, val)
    return pos, val
