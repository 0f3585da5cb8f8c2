"""scipy.ndimage's 1-D line arithmetic, compiled: the same sums, faster loops.

scipy's ``correlate1d`` (behind every gaussian, sobel, prewitt and user 1-D
correlation) and ``uniform_filter1d`` copy each line into a double buffer and
run a scalar loop over it. Along a non-contiguous axis that copy walks memory
with a large stride, which is why scipy's pass along axis 0 of a 1024 x 1024
float32 block takes several times its pass along axis 1.

The kernels here do, for every output pixel, exactly scipy's double-precision
operations in scipy's order (so results are bit-identical), but loop over the
image the way memory is laid out: the innermost loop runs across independent
pixels (neighbouring lines, or neighbouring outputs of one line), which the
compiler vectorises. No reassociation, no fused multiply-add: numba compiles
without fast-math flags, so LLVM keeps every rounding step.

They are compiled with numba (``nogil``, so dask's threads run them in
parallel). Where numba is not importable, or the dtypes are not real floats,
the public functions here call scipy itself; results are the same either way.

The operations, with ``x`` in doubles and ``c = size // 2``, as in scipy's
``ni_filters.c``:

* correlate, symmetric weights: ``x[c]*w[c]`` then ``+= (x[j] + x[2c-j])*w[j]``
  for ``j = 0 .. c-1``; antisymmetric: the same with ``-``; otherwise
  ``x[s-1]*w[s-1]`` then ``+= x[j]*w[j]`` for ``j = 0 .. s-2``. Symmetry is
  decided as scipy does, within ``DBL_EPSILON``.
* uniform: a running double sum of the window, ``sum / size`` per output.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import scipy.ndimage as ndi

from bigimg._kernels import numba_jit
from bigimg._kernels.boundary import MODES, extend_indices
from bigimg._kernels.numba_jit import jit

__all__ = [
    "convolve1d",
    "convolve_origin",
    "correlate1d",
    "gaussian_filter1d",
    "gaussian_radius",
    "running_sum",
]

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
_EPS = np.finfo(np.float64).eps
_TILE = 512  # outputs per vector tile along a contiguous line


# --- correlation ------------------------------------------------------------------------


@jit
def _correlate_rows(x, fill, src, w, kind, out):  # pragma: no cover - compiled
    """Correlate along the rows of ``x`` (position, pixel): output row ``k``
    from input rows ``src[k : k + s]`` (``-1``: the ``fill`` row).

    ``kind``: 1 symmetric, -1 antisymmetric, 0 general (scipy's three loops).
    The vector loop runs across a row, i.e. across neighbouring lines.
    """
    s = w.shape[0]
    c = s // 2
    acc = np.empty(x.shape[1], np.float64)
    for k in range(out.shape[0]):
        if kind == 0:
            r = src[k + s - 1]
            row, wl = (fill if r < 0 else x[r]), w[s - 1]
            for i in range(acc.shape[0]):
                acc[i] = np.float64(row[i]) * wl
            for j in range(s - 1):
                r = src[k + j]
                row, wj = (fill if r < 0 else x[r]), w[j]
                for i in range(acc.shape[0]):
                    acc[i] += np.float64(row[i]) * wj
        else:
            r = src[k + c]
            row, wc = (fill if r < 0 else x[r]), w[c]
            for i in range(acc.shape[0]):
                acc[i] = np.float64(row[i]) * wc
            for j in range(c):
                ra, rb = src[k + j], src[k + s - 1 - j]
                a = fill if ra < 0 else x[ra]
                b = fill if rb < 0 else x[rb]
                wj = w[j]
                if kind > 0:
                    for i in range(acc.shape[0]):
                        acc[i] += (np.float64(a[i]) + np.float64(b[i])) * wj
                else:
                    for i in range(acc.shape[0]):
                        acc[i] += (np.float64(a[i]) - np.float64(b[i])) * wj
        dest = out[k]
        for i in range(acc.shape[0]):
            dest[i] = acc[i]


@jit
def _correlate_contiguous(x, fill, src, w, kind, out):  # pragma: no cover - compiled
    """The same along contiguous lines ``x[line, position]``: each line is
    first copied with its extension into a buffer (scipy's line buffer), then
    outputs are computed a tile at a time, the tile being the vector."""
    s = w.shape[0]
    c = s // 2
    n_out = out.shape[1]
    buf = np.empty(src.shape[0], x.dtype)
    acc = np.empty(_TILE, np.float64)
    for o in range(x.shape[0]):
        line = x[o]
        for t in range(src.shape[0]):
            buf[t] = fill[0] if src[t] < 0 else line[src[t]]
        dest_line = out[o]
        for k0 in range(0, n_out, _TILE):
            kt = min(_TILE, n_out - k0)
            if kind == 0:
                a, wl = buf[k0 + s - 1 : k0 + s - 1 + kt], w[s - 1]
                for t in range(kt):
                    acc[t] = np.float64(a[t]) * wl
                for j in range(s - 1):
                    a, wj = buf[k0 + j : k0 + j + kt], w[j]
                    for t in range(kt):
                        acc[t] += np.float64(a[t]) * wj
            else:
                a, wc = buf[k0 + c : k0 + c + kt], w[c]
                for t in range(kt):
                    acc[t] = np.float64(a[t]) * wc
                for j in range(c):
                    a = buf[k0 + j : k0 + j + kt]
                    b = buf[k0 + s - 1 - j : k0 + s - 1 - j + kt]
                    wj = w[j]
                    if kind > 0:
                        for t in range(kt):
                            acc[t] += (np.float64(a[t]) + np.float64(b[t])) * wj
                    else:
                        for t in range(kt):
                            acc[t] += (np.float64(a[t]) - np.float64(b[t])) * wj
            dest = dest_line[k0 : k0 + kt]
            for t in range(kt):
                dest[t] = acc[t]


def _symmetry(w: np.ndarray) -> int:
    """scipy's test: 1 symmetric, -1 antisymmetric, 0 neither (odd sizes only)."""
    s = len(w)
    if not s & 1:
        return 0
    c = s // 2
    left, right = w[c - 1 :: -1][:c], w[c + 1 :]
    if np.all(np.abs(right - left) <= _EPS):
        return 1
    if np.all(np.abs(right + left) <= _EPS):
        return -1
    return 0


def _lines(a: np.ndarray, axis: int) -> np.ndarray:
    """``a`` as (lines before, along axis, lines after): a view of a C-ordered array."""
    shape = a.shape
    outer = int(np.prod(shape[:axis], dtype=np.int64))
    inner = int(np.prod(shape[axis + 1 :], dtype=np.int64))
    return a.reshape(outer, shape[axis], inner)


def correlate1d(
    x: np.ndarray,
    weights: Any,
    axis: int = -1,
    output: Any = None,
    mode: str = "reflect",
    cval: float = 0.0,
    origin: int = 0,
) -> np.ndarray:
    """``scipy.ndimage.correlate1d`` on a numpy array, bit-identical, compiled
    for real float input and output (scipy itself otherwise)."""
    out_dtype = np.dtype(x.dtype if output is None else output)
    if np.iscomplexobj(weights):
        return ndi.correlate1d(x, weights, axis, output, mode, cval, origin)
    w = np.asarray(weights, dtype=np.float64)
    s = len(w) if w.ndim == 1 else 0
    before = s // 2 + int(origin)
    if (
        not numba_jit.ENABLED
        or x.dtype not in _FLOATS
        or out_dtype not in _FLOATS
        or not s
        or not 0 <= before < s  # scipy raises for this origin
        or x.ndim == 0
        or x.size == 0
        or mode not in MODES
    ):
        return ndi.correlate1d(x, w, axis, out_dtype, mode, cval, origin)
    axis = axis % x.ndim
    n = x.shape[axis]
    # scipy's line buffer: positions -before .. n+after-1, -1 where it holds cval
    src = extend_indices(np.arange(-before, n + s - 1 - before), n, MODES[mode])
    if (src < 0).any() and float(x.dtype.type(cval)) != float(cval):
        x = x.astype(np.float64)  # cval keeps its double value, as in scipy's buffer
    x3 = _lines(np.ascontiguousarray(x), axis)
    fill = np.full(x3.shape[2], cval, x.dtype)
    out = np.empty(x.shape, out_dtype)
    o3 = _lines(out, axis)
    kind = _symmetry(w)
    if x3.shape[2] == 1:
        _correlate_contiguous(x3[:, :, 0], fill, src, w, kind, o3[:, :, 0])
    else:
        for x2, o2 in zip(x3, o3):
            _correlate_rows(x2, fill, src, w, kind, o2)
    return out


def convolve1d(
    x: np.ndarray,
    weights: Any,
    axis: int = -1,
    output: Any = None,
    mode: str = "reflect",
    cval: float = 0.0,
    origin: int = 0,
) -> np.ndarray:
    """``scipy.ndimage.convolve1d``: its reversed weights and origin, then
    :func:`correlate1d`."""
    w = np.asarray(weights)
    if w.ndim != 1 or np.iscomplexobj(w):
        return ndi.convolve1d(x, weights, axis, output, mode, cval, origin)
    return correlate1d(x, w[::-1], axis, output, mode, cval, convolve_origin(len(w), origin))


def convolve_origin(length: int, origin: int) -> int:
    """scipy's convolution is a correlation with the kernel flipped and the
    origin mirrored (one more for even lengths)."""
    return -int(origin) - (0 if length & 1 else 1)


# --- running sums -------------------------------------------------------------------------


@jit
def _row(head, mid, tail, o, p):  # pragma: no cover - compiled
    """Position ``p`` of line ``o`` of the buffer head | mid | tail."""
    h, n = head.shape[1], mid.shape[1]
    if p < h:
        return head[o, p]
    if p < h + n:
        return mid[o, p - h]
    return tail[o, p - h - n]


@jit
def _running(head, mid, tail, size, carry, fresh, out):  # pragma: no cover - compiled
    """scipy's uniform running sum along axis 1 of (lines, position, pixel)
    arrays, over the buffer head | mid | tail: out[o, k, i] = sum_k / size,
    sum_0 = carry (or the first window's sum when ``fresh``) plus
    (x[size] - x[0]), sum_k = sum_{k-1} + (x[k+size] - x[k])."""
    outer, n, inner = mid.shape
    if inner == 1:
        h, t = head.shape[1], tail.shape[1]
        buf = np.empty(h + n + t, mid.dtype)
        for o in range(outer):
            buf[:h] = head[o, :, 0]
            buf[h : h + n] = mid[o, :, 0]
            buf[h + n :] = tail[o, :, 0]
            if fresh:
                tmp = 0.0
                for q in range(1, size + 1):
                    tmp += np.float64(buf[q])
            else:
                tmp = carry[o, 0] + (np.float64(buf[size]) - np.float64(buf[0]))
            out[o, 0, 0] = tmp / size
            for k in range(1, n):
                tmp += np.float64(buf[k + size]) - np.float64(buf[k])
                out[o, k, 0] = tmp / size
            carry[o, 0] = tmp
        return
    for o in range(outer):
        acc = carry[o]
        if fresh:
            acc[:] = 0.0
            for q in range(1, size + 1):
                row = _row(head, mid, tail, o, q)
                for i in range(inner):
                    acc[i] += np.float64(row[i])
        else:
            a, b = _row(head, mid, tail, o, size), _row(head, mid, tail, o, 0)
            for i in range(inner):
                acc[i] += np.float64(a[i]) - np.float64(b[i])
        dest = out[o, 0]
        for i in range(inner):
            dest[i] = acc[i] / size
        for k in range(1, n):
            a, b = _row(head, mid, tail, o, k + size), _row(head, mid, tail, o, k)
            dest = out[o, k]
            for i in range(inner):
                acc[i] += np.float64(a[i]) - np.float64(b[i])
                dest[i] = acc[i] / size


def running_sum(
    head: np.ndarray,
    block: np.ndarray,
    tail: np.ndarray,
    carry: np.ndarray | None,
    axis: int,
    size: int,
    dtype: np.dtype,
) -> tuple[np.ndarray, np.ndarray] | None:
    """One chunk of scipy's uniform running sum, compiled; ``None`` when the
    dtypes need the numpy route (complex, or numba missing).

    Along ``axis`` scipy's line buffer is ``head`` (the window of the chunk's
    first pixel before it, plus the pixel leaving first), the chunk
    ``block``, then ``tail``; ``carry`` is the sum at the previous chunk's
    last pixel, ``None`` at a line's start. Returns (output, sum at this
    chunk's last pixel).
    """
    work = np.result_type(head, block, tail)  # the head or tail may hold a wider cval
    if not numba_jit.ENABLED or work not in _FLOATS or np.dtype(dtype) not in _FLOATS:
        return None
    parts = [_lines(np.ascontiguousarray(a, dtype=work), axis) for a in (head, block, tail)]
    outer, _, inner = parts[1].shape
    out = np.empty(block.shape, dtype)
    acc = (
        np.empty((outer, inner), np.float64)
        if carry is None
        else np.array(carry, dtype=np.float64).reshape(outer, inner)
    )
    _running(*parts, size, acc, carry is None, _lines(out, axis))
    lead = [d for ax, d in enumerate(block.shape) if ax != axis]
    return out, acc.reshape(lead)


# --- gaussian ----------------------------------------------------------------------------


def gaussian_radius(sigma: float, truncate: float, radius: int | None = None) -> int:
    """scipy's gaussian kernel radius: ``int(truncate * sigma + 0.5)``, or ``radius``."""
    return int(float(truncate) * float(sigma) + 0.5) if radius is None else int(radius)


try:  # scipy's own kernel (the impulse response below loses the sign of zero weights)
    from scipy.ndimage._filters import _gaussian_kernel1d
except ImportError:  # pragma: no cover - a scipy that moved it
    _gaussian_kernel1d = None


@functools.lru_cache(maxsize=256)
def _gaussian_weights(sigma: float, order: int, radius: int) -> np.ndarray:
    """scipy's correlation weights for ``gaussian_filter1d``: its kernel,
    reversed, as scipy's ``gaussian_filter1d`` passes it to ``correlate1d``.

    Without scipy's private kernel function, the weights are read off its
    response to a unit impulse, which is exact but for the sign of zero
    weights (an odd-order kernel's centre is -0.0)."""
    if _gaussian_kernel1d is not None:
        weights = np.asarray(_gaussian_kernel1d(sigma, order, radius), dtype=np.float64)[
            ::-1
        ].copy()
    else:  # pragma: no cover
        impulse = np.zeros(2 * radius + 1)
        impulse[radius] = 1.0
        response = ndi.gaussian_filter1d(
            impulse, sigma, order=order, mode="constant", radius=radius
        )
        weights = response[::-1].copy()
    weights.setflags(write=False)
    return weights


def gaussian_filter1d(
    x: np.ndarray,
    sigma: float,
    axis: int = -1,
    order: int = 0,
    output: Any = None,
    mode: str = "reflect",
    cval: float = 0.0,
    truncate: float = 4.0,
    *,
    radius: int | None = None,
) -> np.ndarray:
    """``scipy.ndimage.gaussian_filter1d`` on a numpy array, through
    :func:`correlate1d` (bit-identical; arguments already validated)."""
    r = gaussian_radius(sigma, truncate, radius)
    weights = _gaussian_weights(float(sigma), int(order), r)
    return correlate1d(x, weights, axis, output, mode, cval, 0)
