"""scipy.ndimage's spline interpolation, compiled: the same sums at the same points.

The resampling engine (:mod:`bigimg._resample`) evaluates, for every output
pixel of a chunk, the spline of order 0-5 through the input region the chunk
reads. scipy's ``map_coordinates`` does that from a float64 coordinate array
(16 bytes per pixel of 2-D output, built by numpy in several passes), and its
general per-pixel loop is about three times slower than the loop behind
``affine_transform``. :func:`interpolate` here computes each coordinate where
it is used and evaluates the spline in the same loop, with scipy's
double-precision operations in scipy's order, so the values are bit-identical:

* **Coordinates**, per output pixel ``o`` (whole-array indices): for an
  affine mapping ``offset[r]``, then ``+= o[j] * matrix[r, j]`` for each
  ``j`` in turn; for a separable mapping (zoom, shift) a per-axis table
  computed by the caller; or given coordinates. Then ``+= npad`` where
  scipy pads before its prefilter. For a separable mapping the support and
  weights below are computed once per output index along each axis, as
  scipy's ``NI_ZoomShift`` does, not once per pixel.
* **Weights**, per axis, from ``d = x - floor(x)`` (odd orders) or
  ``x - floor(x + 0.5)`` (even orders): the B-spline polynomials evaluated
  in the nested order scipy uses (``ni_splines.c``), the last weight being
  ``1`` minus the others in turn. The first support index is the same
  ``floor`` minus ``order // 2``.
* **Sum**: over the support in raster order (last axis fastest), each value
  times the weight of axis 0, then axis 1, ..., added to a double starting at
  0.0. Order 0 takes the value alone (its weight here is 1.0, an exact
  product).
* **Output**: floats are rounded from the double; unsigned integers get
  ``t + 0.5`` (0 when ``t <= 0``) clipped at the type's maximum, signed
  integers ``t +- 0.5`` clipped at both ends, then truncation; booleans
  ``t != 0``.

Only *interior* pixels are evaluated by the compiled loop: those whose
coordinate along every axis lies inside the (padded) array and whose whole
support lies inside the array and inside the region, where no boundary mode
applies. In mode ``'constant'`` a coordinate more than one pixel outside the
array (below -1 or above the length) gives ``cval`` exactly, as scipy does.
Every other pixel (near a border, NaN coordinates, regions of more than
three axes) keeps its coordinate, moved into the region, and
:func:`interpolate` evaluates those with scipy's ``map_coordinates`` on the
region. The interior sum never sees the mode, so this split cannot change a
value.

Compiled with numba (``nogil``); without numba every pixel goes to scipy.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.ndimage as ndi

from bigimg._kernels import compiled, inline, jit

__all__ = ["AFFINE", "GIVEN", "SEPARABLE", "as_output", "interpolate"]

AFFINE, SEPARABLE, GIVEN = 0, 1, 2  # how the coordinates are described
_MAX_RANK = 3


@inline
def _weights(x, order, w):  # pragma: no cover - compiled
    """Fill ``w[:order + 1]`` with the spline weights at ``x``; return the
    first support index."""
    f = np.floor(x) if order & 1 else np.floor(x + 0.5)
    d = x - f
    if order == 0:
        w[0] = 1.0
        return np.int64(f)
    if order == 1:
        w[0] = 1.0 - d
    elif order == 2:
        w[1] = 0.75 - d * d
        y = 0.5 - d
        w[0] = 0.5 * y * y
    elif order == 3:
        z = 1.0 - d
        w[1] = (d * d * (d - 2.0) * 3.0 + 4.0) / 6.0
        w[2] = (z * z * (z - 2.0) * 3.0 + 4.0) / 6.0
        w[0] = z * z * z / 6.0
    elif order == 4:
        z = 1.0 - d
        t = d * d
        w[2] = t * (t * 0.25 - 0.625) + 115.0 / 192.0
        y = 1.0 + d
        w[1] = y * (y * (y * (5.0 - y) / 6.0 - 1.25) + 5.0 / 24.0) + 55.0 / 96.0
        w[3] = z * (z * (z * (5.0 - z) / 6.0 - 1.25) + 5.0 / 24.0) + 55.0 / 96.0
        y = 0.5 - d
        t = y * y
        w[0] = t * t / 24.0
    else:
        z = 1.0 - d
        t = d * d
        w[2] = t * (t * (0.25 - d / 12.0) - 0.5) + 0.55
        t = z * z
        w[3] = t * (t * (0.25 - z / 12.0) - 0.5) + 0.55
        y = d + 1.0
        w[1] = y * (y * (y * (y * (y / 24.0 - 0.375) + 1.25) - 1.75) + 0.625) + 0.425
        z = z + 1.0
        w[4] = z * (z * (z * (z * (z / 24.0 - 0.375) + 1.25) - 1.75) + 0.625) + 0.425
        y = 1.0 - d
        t = y * y
        w[0] = y * t * t / 120.0
    last = 1.0
    for i in range(order):
        last -= w[i]
    w[order] = last
    return np.int64(f) - order // 2


@inline
def _place(x, n, order, start, extent, w):  # pragma: no cover - compiled
    """The support's first index in the region for coordinate ``x`` on an axis of
    length ``n`` (the region: ``start``, ``extent``), weights in ``w``; -1 if
    the pixel is not interior along this axis."""
    if not (x >= 0.0 and x <= n - 1):
        return -1
    first = _weights(x, order, w)
    local = first - start
    if first < 0 or first + order >= n or local < 0 or local + order >= extent:
        return -1
    return local


@inline
def _sum2(v, s1, s2, w1, w2, span1, order):  # pragma: no cover - compiled
    """The spline sum over a 2-D support (1-D: one row, weight 1.0 unused)."""
    t = 0.0
    for f1 in range(span1):
        for f2 in range(order + 1):
            coeff = np.float64(v[s1 + f1, s2 + f2])
            if span1 > 1:
                coeff *= w1[f1]
            coeff *= w2[f2]
            t += coeff
    return t


@inline
def _sum3(v, s0, s1, s2, w0, w1, w2, order):  # pragma: no cover - compiled
    """The spline sum over a 3-D support."""
    t = 0.0
    for f0 in range(order + 1):
        for f1 in range(order + 1):
            for f2 in range(order + 1):
                coeff = np.float64(v[s0 + f0, s1 + f1, s2 + f2])
                coeff *= w0[f0]
                coeff *= w1[f1]
                coeff *= w2[f2]
                t += coeff
    return t


@jit
def _row(
    v, x, lengths, start, order, far_cval, cval, out, base, fb_index, fb_coords, nfb
):  # pragma: no cover - compiled
    """Evaluate one output row: coordinates ``x`` (rank, n), flat output
    ``out[base:base + n]``; pixels left over go to ``fb_*``. Returns ``nfb``."""
    rank = x.shape[0]
    w0 = np.ones(6)
    w1 = np.ones(6)
    w2 = np.ones(6)
    span1 = order + 1 if rank >= 2 else 1
    e0, e1, e2 = v.shape
    plane = v[0]
    for k in range(x.shape[1]):
        far = False
        if far_cval:
            for r in range(rank):
                if x[r, k] < -1.0 or x[r, k] > lengths[r]:
                    far = True
        if far:
            out[base + k] = cval
            continue
        s0 = s1 = 0
        if rank == 3:
            s0 = _place(x[0, k], lengths[0], order, start[0], e0, w0)
        if rank >= 2:
            s1 = _place(x[rank - 2, k], lengths[rank - 2], order, start[rank - 2], e1, w1)
        s2 = _place(x[rank - 1, k], lengths[rank - 1], order, start[rank - 1], e2, w2)
        if s0 < 0 or s1 < 0 or s2 < 0:
            fb_index[nfb] = base + k
            for r in range(rank):
                fb_coords[r, nfb] = x[r, k] - start[r]
            nfb += 1
            continue
        if rank == 3:
            t = _sum3(v, s0, s1, s2, w0, w1, w2, order)
        else:
            t = _sum2(plane, s1, s2, w1, w2, span1, order)
        out[base + k] = t
    return nfb


@jit
def _kernel(
    v,
    kind,
    table,
    origin,
    coords,
    start,
    lengths,
    npad,
    order,
    far_cval,
    cval,
    out,
    fb_index,
    fb_coords,
):  # pragma: no cover - compiled
    """Evaluate the interior pixels of ``out`` (3-D view, leading unit axes
    for lower ranks), row by row; record the others in ``fb_index`` /
    ``fb_coords``. ``v`` is the region (3-D view), ``start`` its offset in
    the padded array (per real axis), ``lengths`` the padded array's
    lengths. Returns the number of pixels handed back."""
    rank = start.shape[0]
    lead = 3 - rank
    n0, n1, n2 = out.shape
    x = np.empty((rank, n2))
    partial = np.empty(rank)
    outf = out.reshape(-1)
    nfb = 0
    for i0 in range(n0):
        for i1 in range(n1):
            base = (i0 * n1 + i1) * n2
            if kind == 0:  # offset, then += o[j] * matrix[r, j] in turn
                for r in range(rank):
                    acc = table[r, rank]
                    if lead == 0:
                        acc = acc + np.float64(origin[0] + i0) * table[r, 0]
                    if lead <= 1:
                        acc = acc + np.float64(origin[rank - 2] + i1) * table[r, rank - 2]
                    partial[r] = acc
                last = origin[rank - 1]
                for r in range(rank):
                    for k in range(n2):
                        x[r, k] = partial[r] + np.float64(last + k) * table[r, rank - 1]
            elif kind == 1:
                for k in range(n2):
                    x[rank - 1, k] = table[rank - 1, k]
                if rank >= 2:
                    x[rank - 2, :] = table[rank - 2, i1]
                if rank == 3:
                    x[0, :] = table[0, i0]
            else:
                for r in range(rank):
                    for k in range(n2):
                        x[r, k] = coords[r, base + k]
            if npad:
                for r in range(rank):
                    for k in range(n2):
                        x[r, k] = x[r, k] + npad
            nfb = _row(
                v, x, lengths, start, order, far_cval, cval, outf, base, fb_index, fb_coords, nfb
            )
    return nfb


@jit
def _axis_weights(x, n, order, start, extent, far_cval, w):  # pragma: no cover - compiled
    """Per output index along one axis of a separable mapping: the support's
    first index in the region (``-1``: not interior, ``-2``: far outside in
    mode ``'constant'``), weights in ``w[k, :order + 1]``."""
    first = np.empty(x.shape[0], np.int64)
    for k in range(x.shape[0]):
        if far_cval and (x[k] < -1.0 or x[k] > n):
            first[k] = -2
        else:
            first[k] = _place(x[k], n, order, start, extent, w[k])
    return first


@jit
def _separable(
    v, table, npad, start, lengths, order, far_cval, cval, out, fb_index, fb_coords
):  # pragma: no cover - compiled
    """:func:`_kernel` for a separable mapping (zoom, shift): each axis's
    coordinates, support and weights are computed once per box, not once per
    pixel (scipy's ``NI_ZoomShift`` does the same); the sums are unchanged."""
    rank = start.shape[0]
    lead = 3 - rank
    n0, n1, n2 = out.shape
    sizes = (n0, n1, n2)
    first = np.full((3, max(n0, n1, n2)), 0, np.int64)
    w = np.ones((3, max(n0, n1, n2), 6))
    x = np.zeros((3, max(n0, n1, n2)))
    for r in range(rank):
        a = lead + r
        for k in range(sizes[a]):
            x[a, k] = table[r, k] + npad if npad else table[r, k]
        first[a, : sizes[a]] = _axis_weights(
            x[a, : sizes[a]], lengths[r], order, start[r], v.shape[a], far_cval, w[a]
        )
    outf = out.reshape(-1)
    span1 = order + 1 if rank >= 2 else 1
    nfb = 0
    plane = v[0]  # ranks 1 and 2
    for i0 in range(n0):
        s0 = first[0, i0]
        for i1 in range(n1):
            s1 = first[1, i1]
            base = (i0 * n1 + i1) * n2
            for k in range(n2):
                s2 = first[2, k]
                if s0 == -2 or s1 == -2 or s2 == -2:
                    outf[base + k] = cval
                elif s0 < 0 or s1 < 0 or s2 < 0:
                    fb_index[nfb] = base + k
                    i = (i0, i1, k)
                    for r in range(rank):
                        fb_coords[r, nfb] = x[lead + r, i[lead + r]] - start[r]
                    nfb += 1
                elif rank == 3:
                    outf[base + k] = _sum3(v, s0, s1, s2, w[0, i0], w[1, i1], w[2, k], order)
                else:
                    outf[base + k] = _sum2(plane, s1, s2, w[1, i1], w[2, k], span1, order)
    return nfb


def as_output(t: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """scipy's conversion of interpolated doubles into the output dtype."""
    if dtype.kind == "u":
        t = np.minimum(np.where(t > 0, t + 0.5, 0.0), float(np.iinfo(dtype).max))
    elif dtype.kind == "i":
        info = np.iinfo(dtype)
        t = np.clip(np.where(t > 0, t + 0.5, t - 0.5), float(info.min), float(info.max))
    elif dtype.kind == "b":
        return t != 0
    return t.astype(dtype)


def _three(a: np.ndarray) -> np.ndarray:
    return a.reshape((1,) * (3 - a.ndim) + a.shape)


def interpolate(
    values: np.ndarray,
    start: tuple[int, ...],
    lengths: tuple[int, ...],
    shape: tuple[int, ...],
    dtype: np.dtype,
    kind: int,
    table: np.ndarray,
    origin: np.ndarray,
    coords: np.ndarray | None,
    *,
    npad: int,
    order: int,
    mode: str,
    cval: float,
) -> np.ndarray:
    """scipy's interpolation through ``values`` for an output box of ``shape``
    (the rank of ``values`` unless the coordinates are given), in ``dtype``.

    ``values``: the region at ``start`` of the padded array of ``lengths``.
    Coordinates: ``kind`` AFFINE (``table`` = [matrix | offset], ``origin``
    the output box's first index per axis), SEPARABLE (``table`` row ``r``:
    the coordinates along output axis ``r`` of the box) or GIVEN (``coords``,
    (rank, size)). Interior pixels are compiled; the others are scipy's
    ``map_coordinates`` on the region, at their coordinates moved into it.
    """
    rank = values.ndim
    size = math.prod(shape)
    if compiled() and 1 <= rank <= _MAX_RANK and values.dtype.kind in "fiub":
        buffer = np.zeros(shape)  # pixels handed back stay 0 until filled below
        pending = np.empty(size, np.int64)
        at = np.empty((rank, size))
        # scipy reads every value as a double
        region = _three(
            np.ascontiguousarray(values, None if values.dtype == np.float32 else float)
        )
        if kind == SEPARABLE:
            count = _separable(
                region,
                np.ascontiguousarray(table, np.float64),
                float(npad),
                np.asarray(start, np.int64),
                np.asarray(lengths, np.int64),
                order,
                mode == "constant",
                float(cval),
                _three(buffer),
                pending,
                at,
            )
        else:
            count = _kernel(
                region,
                kind,
                np.ascontiguousarray(table, np.float64),
                np.asarray(origin, np.int64),
                np.zeros((rank, 1)) if coords is None else coords,
                np.asarray(start, np.int64),
                np.asarray(lengths, np.int64),
                float(npad),
                order,
                mode == "constant",
                float(cval),
                buffer.reshape(1, 1, -1) if kind == GIVEN else _three(buffer),
                pending,
                at,
            )
        out, pending, at = as_output(buffer, dtype), pending[:count], at[:, :count]
    else:
        out, pending = np.empty(shape, dtype), np.arange(size)
        at = _all_coordinates(kind, table, origin, coords, shape, npad, start)
    if pending.size:
        out.reshape(-1)[pending] = ndi.map_coordinates(
            values, at, output=dtype, order=order, mode=mode, cval=cval, prefilter=False
        )
    return out


def _all_coordinates(
    kind: int,
    table: np.ndarray,
    origin: np.ndarray,
    coords: np.ndarray | None,
    shape: tuple[int, ...],
    npad: int,
    start: tuple[int, ...],
) -> np.ndarray:
    """Every pixel's coordinates in region space, with the kernel's arithmetic
    (numpy): one row per axis of the region (``start``)."""
    rank = len(start)
    if kind == GIVEN:
        found = np.array(coords, np.float64)
    else:
        grids = np.indices(shape).reshape(rank, -1)
        found = np.empty((rank, grids.shape[1]))
        for r in range(rank):
            if kind == AFFINE:
                x = np.full(grids.shape[1], table[r, rank])
                for j in range(rank):
                    x = x + (origin[j] + grids[j]).astype(np.float64) * table[r, j]
            else:
                x = table[r, grids[r]]
            found[r] = x
    if npad:
        found += npad
    for r in range(rank):
        if start[r]:
            found[r] -= start[r]
    return found
