"""scipy's B-spline prefilter on a line's chunks, compiled: no rechunking.

scipy's ``spline_filter1d`` runs, per line of ``n`` doubles, a recursive
filter (``ni_splines.c``; the starts below were checked against scipy 1.17
for every order and length)::

    c *= gain                                   # prod over poles of (1-z)(1-1/z)
    for z in poles(order):
        c[0] = causal start                     # a sum over the whole line
        c[i] += z * c[i-1]        i = 1 .. n-1  # causal pass
        c[n-1] = anticausal start
        c[i] = z * (c[i+1] - c[i])  i = n-2 .. 0  # anticausal pass

with these starts (``zn = z**(n-1)`` by ``pow``; ``w`` starts at ``z`` and is
multiplied by ``z`` after each term):

* *mirror* (modes ``mirror``, ``constant``, ``grid-constant``, ``wrap``):
  ``acc = c[0] + zn*c[n-1]``, then ``acc += w*(c[i] + zn*c[n-1-i])`` for
  ``i = 1 .. n-2``, ``c[0] = acc / (1 - zn*zn)``; and
  ``c[n-1] = (z*c[n-2] + c[n-1]) * z / (z*z - 1)``.
* *wrap* (mode ``grid-wrap``): ``c[0] += w*c[n-i]`` for ``i = 1 .. n-1``,
  ``c[0] /= 1 - w``; and ``c[n-1] += w*c[i]`` for ``i = 0 .. n-2``,
  ``c[n-1] *= z / (w - 1)``.

Modes ``nearest``, ``reflect`` and ``grid-mirror`` start differently in
scipy 1.17 than in its published source; they, complex data and non-float
outputs take scipy's own filter on whole-line pencils
(:func:`bigimg._lines.map_line_passes`).

The filter is bound by memory traffic, not arithmetic (a few operations per
value and pass), so the plan is to touch each value once: one task per line
of chunks along the axis (the chunks of every line through them) copies a
small group of lines (about 512 KiB, so it stays in the core's cache) out of
the chunks into a buffer, runs every pass of every pole there, the lines side
by side so the loops run across contiguous memory, and writes them into the
output chunks. Nothing is rechunked: no pencil is assembled and split again,
and the only new memory is the output. A task holds one line of chunks,
as a whole-line pencil would.
"""

from __future__ import annotations

import math
import operator
from itertools import product
from typing import Any

import dask.array as da
import numpy as np
from dask.base import tokenize
from dask.highlevelgraph import HighLevelGraph

from bigimg import _splines
from bigimg._splines import _inline, _jit

try:  # pragma: no cover - whichever environment runs the tests
    from numba import types
    from numba.typed import List

    #: the chunks as the compiled loop takes them: any strides, float32 or float64
    _ARRAY = {
        np.dtype(t): types.Array(getattr(types, t), 3, "A", readonly=True)
        for t in ("float32", "float64")
    }
except ImportError:  # pragma: no cover
    List = _ARRAY = None

__all__ = ["POLES", "supports", "chunked_spline_filter1d"]

#: scipy's poles of the B-spline prefilter per order (``ni_splines.c``)
POLES = {
    2: (-0.171572875253809902396622551580603843,),
    3: (-0.267949192431122706472553658494127633,),
    4: (-0.361341225900220177092212841325675255, -0.013725429297339121360331226939128204),
    5: (-0.430575347099973791851434783493520110, -0.043096288203264653822712376822550182),
}
_MIRROR, _WRAP = 0, 1
#: how each mode starts the recursions (modes not here are left to scipy)
_START = {
    "mirror": _MIRROR,
    "constant": _MIRROR,
    "grid-constant": _MIRROR,
    "wrap": _MIRROR,
    "grid-wrap": _WRAP,
}
_CACHE_BYTES = 2 * 1024 * 1024  # a group of lines turned side by side


def supports(order: int, mode: str, dtype: np.dtype, output: np.dtype) -> bool:
    """Whether :func:`chunked_spline_filter1d` reproduces scipy for these."""
    return (
        _splines.ENABLED
        and order in POLES
        and mode in _START
        and dtype.kind in "fiub"
        and output.kind == "f"
    )


def chunked_spline_filter1d(image: da.Array, axis: int, order: int, mode: str) -> da.Array:
    """``scipy.ndimage.spline_filter1d(image, order, axis, np.float64, mode)``
    in ``image``'s chunks (see the module doc; check :func:`supports` first)."""
    n = image.shape[axis]
    if n < 2 or image.size == 0:  # scipy leaves a line of one value as it is
        return image.astype(np.float64)
    name = f"spline-filter-{tokenize(image.name, axis, order, mode)}"
    layer: dict[Any, Any] = {}
    other = [range(len(c)) for ax, c in enumerate(image.chunks) if ax != axis]
    for col in product(*other):
        idx = [(*col[:axis], k, *col[axis:]) for k in range(len(image.chunks[axis]))]
        line = (f"{name}-line", *col)
        layer[line] = (_filter_line, [(image.name, *i) for i in idx], axis, order, mode)
        for k, i in enumerate(idx):
            layer[(name, *i)] = (operator.getitem, line, k)
    graph = HighLevelGraph.from_collections(name, layer, dependencies=[image])
    meta = np.empty((0,) * image.ndim)
    return da.Array(graph, name, chunks=image.chunks, dtype=np.float64, meta=meta)


def _filter_line(blocks: list[np.ndarray], axis: int, order: int, mode: str) -> tuple:
    """The chunks along ``axis`` of one line of chunks, filtered."""
    # compiled for float32 and float64 chunks; small integers are exact in float32
    small = blocks[0].dtype.kind in "iub" and blocks[0].dtype.itemsize <= 2
    work = np.float32 if blocks[0].dtype == np.float32 or small else np.float64
    outs = [np.empty(b.shape) for b in blocks]
    starts = np.cumsum([0] + [b.shape[axis] for b in blocks])
    n = int(starts[-1])

    def lines(x: np.ndarray) -> np.ndarray:
        shape = (math.prod(x.shape[:axis]), x.shape[axis], math.prod(x.shape[axis + 1 :]))
        try:  # a view where the strides allow: chunks are read where they lie
            return np.reshape(x, shape, copy=False)
        except ValueError:
            return np.reshape(x, shape)

    ins = List.empty_list(_ARRAY[np.dtype(work)])
    for b in blocks:
        ins.append(lines(np.asarray(b, dtype=work)))
    _filter_lines(
        ins,
        List([lines(o) for o in outs]),
        starts,
        np.array(POLES[order]),
        _START[mode],
        max(4, min(64, _CACHE_BYTES // (8 * n))),  # lines along memory: turned in groups
    )
    return tuple(outs)


@_jit
def _filter_lines(ins, outs, starts, poles, init, group):  # pragma: no cover - compiled
    """Every line of the chunks ``ins`` (shape (before, along, after), the
    line's chunks in order), filtered into ``outs``."""
    pre, _, post = ins[0].shape
    n = starts[len(starts) - 1]
    if post > 1:  # lines side by side in memory: filter in the output chunks, row by row
        owner = np.empty(n, np.int64)
        for k in range(len(ins)):
            owner[starts[k] : starts[k + 1]] = k
        gain = 1.0
        for z in poles:
            gain *= (1.0 - z) * (1.0 - 1.0 / z)
        for p in range(pre):
            if init != _MIRROR:  # else the first start's sum brings the rows in
                for i in range(n):
                    _bring(ins, outs, owner, starts, p, i, gain)
            _filter_rows(ins, outs, owner, starts, p, poles, init, gain)
        return
    # lines along memory: a group at a time, turned side by side in a buffer
    buf = np.zeros((n, group))
    for p0 in range(0, pre, group):
        g = min(group, pre - p0)
        for k in range(len(ins)):
            b, s = ins[k], starts[k]
            for t in range(g):
                for r in range(b.shape[1]):
                    buf[s + r, t] = b[p0 + t, r, 0]
        _prefilter_lines(buf, poles, init)
        for k in range(len(outs)):
            o, s = outs[k], starts[k]
            for t in range(g):
                for r in range(o.shape[1]):
                    o[p0 + t, r, 0] = buf[s + r, t]


@_inline
def _row(outs, owner, starts, p, i):  # pragma: no cover - compiled
    k = owner[i]
    return outs[k][p, i - starts[k]]


@_inline
def _bring(ins, outs, owner, starts, p, i, gain):  # pragma: no cover - compiled
    """Row ``i`` into the output as doubles times the gain (scipy's first step)."""
    k = owner[i]
    src, dst = ins[k][p, i - starts[k]], outs[k][p, i - starts[k]]
    for j in range(len(dst)):
        dst[j] = src[j] * gain


@_jit
def _filter_rows(ins, outs, owner, starts, p, poles, init, gain):  # pragma: no cover - compiled
    """:func:`_prefilter_lines` on the lines ``outs[k][p, :, :]`` of a line of
    chunks, in place: the same operations, rows found through ``owner``. With
    the mirror start the rows of ``ins`` come in (times the gain) as the first
    start's sum first reaches them, so the data is read once for both."""
    n = len(owner)
    m = outs[0].shape[2]
    acc = np.empty(m)
    for pole in range(len(poles)):
        z = poles[pole]
        fresh = pole == 0 and init == _MIRROR
        if fresh:
            _bring(ins, outs, owner, starts, p, 0, gain)
            _bring(ins, outs, owner, starts, p, n - 1, gain)
        first = _row(outs, owner, starts, p, 0)
        last = _row(outs, owner, starts, p, n - 1)
        if init == _MIRROR:
            zn = math.pow(z, n - 1.0)
            for j in range(m):
                acc[j] = first[j] + zn * last[j]
            zi = z
            for i in range(1, n - 1):
                if fresh and i <= n - 1 - i:
                    _bring(ins, outs, owner, starts, p, i, gain)
                    if i < n - 1 - i:
                        _bring(ins, outs, owner, starts, p, n - 1 - i, gain)
                a = _row(outs, owner, starts, p, i)
                b = _row(outs, owner, starts, p, n - 1 - i)
                for j in range(m):
                    acc[j] += zi * (a[j] + zn * b[j])
                zi *= z
            for j in range(m):
                first[j] = acc[j] / (1 - zn * zn)
        else:
            zi = z
            for i in range(1, n):
                b = _row(outs, owner, starts, p, n - i)
                for j in range(m):
                    first[j] += zi * b[j]
                zi *= z
            for j in range(m):
                first[j] /= 1 - zi
        prev = first
        for i in range(1, n):
            c = _row(outs, owner, starts, p, i)
            for j in range(m):
                c[j] += z * prev[j]
            prev = c
        if init == _MIRROR:
            b = _row(outs, owner, starts, p, n - 2)
            for j in range(m):
                last[j] = (z * b[j] + last[j]) * z / (z * z - 1)
        else:
            zi = z
            for i in range(n - 1):
                b = _row(outs, owner, starts, p, i)
                for j in range(m):
                    last[j] += zi * b[j]
                zi *= z
            for j in range(m):
                last[j] *= z / (zi - 1)
        nxt = last
        for i in range(n - 2, -1, -1):
            c = _row(outs, owner, starts, p, i)
            for j in range(m):
                c[j] = z * (nxt[j] - c[j])
            nxt = c


@_jit
def _prefilter_lines(c, poles, init):  # pragma: no cover - compiled
    """scipy's recursive prefilter along axis 0 of ``c`` (float64, (n, lines)),
    in place; every line gets scipy's operations, the lines side by side."""
    n, m = c.shape
    if n < 2:
        return
    gain = 1.0
    for z in poles:
        gain *= (1.0 - z) * (1.0 - 1.0 / z)
    for i in range(n):
        for j in range(m):
            c[i, j] *= gain
    acc = np.empty(m)
    for z in poles:
        # the first coefficient of the causal pass
        if init == _MIRROR:
            zn = math.pow(z, n - 1.0)
            for j in range(m):
                acc[j] = c[0, j] + zn * c[n - 1, j]
            zi = z
            for i in range(1, n - 1):
                for j in range(m):
                    acc[j] += zi * (c[i, j] + zn * c[n - 1 - i, j])
                zi *= z
            for j in range(m):
                c[0, j] = acc[j] / (1 - zn * zn)
        else:
            zi = z
            for i in range(1, n):
                for j in range(m):
                    c[0, j] += zi * c[n - i, j]
                zi *= z
            for j in range(m):
                c[0, j] /= 1 - zi
        for i in range(1, n):
            for j in range(m):
                c[i, j] += z * c[i - 1, j]
        # the last coefficient of the anticausal pass
        if init == _MIRROR:
            for j in range(m):
                c[n - 1, j] = (z * c[n - 2, j] + c[n - 1, j]) * z / (z * z - 1)
        else:
            zi = z
            for i in range(n - 1):
                for j in range(m):
                    c[n - 1, j] += zi * c[i, j]
                zi *= z
            for j in range(m):
                c[n - 1, j] *= z / (zi - 1)
        for i in range(n - 2, -1, -1):
            for j in range(m):
                c[i, j] = z * (c[i + 1, j] - c[i, j])
