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
(:func:`bigimg._halo.lines.map_line_passes`).

The filter is bound by memory traffic, not arithmetic (a few operations per
value and pass), so the plan is to touch each value as few times as possible
and never to rechunk: one task per line of chunks along the axis returns that
line's output chunks, and the only new memory is the output.

* Lines side by side in memory (any axis but the last): the passes run in the
  output chunks themselves, whole contiguous rows at a time; the mirror
  start's first sum brings each input row in (times the gain) when it first
  needs it, so the input is read once.
* Lines along memory (the last axis): a group of lines (about 2 MiB) is
  turned side by side into a buffer that stays in cache, filtered there by
  the same loop, and written back.

A task holds one line of chunks. Where that would exceed about two target
chunks (very long lines), the chunks are first split across the line
(:func:`bigimg._halo.lines.pencil_chunks` sizes the pieces: slicing, no copy) and
joined again afterwards, so memory stays bounded as with pencils.
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

from bigimg._halo import pencil_chunks
from bigimg._kernels import compiled, inline, jit
from bigimg.io.chunking import TARGET_CHUNK_BYTES

try:  # pragma: no cover - whichever environment runs the tests
    import numba
    from numba import types
    from numba.extending import overload
    from numba.typed import List

    #: the chunks as the compiled loop takes them: any strides, float32 or float64
    _ARRAY = {
        np.dtype(t): types.Array(getattr(types, t), 3, "A", readonly=True)
        for t in ("float32", "float64")
    }
except ImportError:  # pragma: no cover
    numba = List = _ARRAY = None  # type: ignore[assignment]  # None: numba is not installed

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
_LINE_BYTES = 2 * TARGET_CHUNK_BYTES  # the most output a line of chunks holds before splitting


def supports(order: int, mode: str, dtype: np.dtype, output: np.dtype) -> bool:
    """Whether :func:`chunked_spline_filter1d` reproduces scipy for these."""
    return (
        compiled()
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
    chunks = image.chunks
    narrow = pencil_chunks(image.shape, chunks, axis, 8, _LINE_BYTES)  # the output is doubles
    pieces = tuple(
        c if ax == axis else tuple(_split(c, narrow[ax])) for ax, c in enumerate(chunks)
    )
    if pieces != chunks:  # lines too long for a line of whole chunks: thinner pieces
        filtered = chunked_spline_filter1d(image.rechunk(pieces), axis, order, mode)
        return filtered.rechunk(chunks)
    name = f"spline-filter-{tokenize(image.name, axis, order, mode)}"
    layer: dict[Any, Any] = {}
    other = [range(len(c)) for ax, c in enumerate(image.chunks) if ax != axis]
    for col in product(*other):
        idx = [(*col[:axis], k, *col[axis:]) for k in range(len(image.chunks[axis]))]
        line = (f"{name}-line", *col)
        layer[line] = (_filter_line, [(image.name, *i) for i in idx], axis, order, mode)
        for k, i in enumerate(idx):
            layer[(name, *i)] = (operator.getitem, line, k)
    graph = HighLevelGraph.from_collections(name, layer, dependencies=[image])  # type: ignore[list-item]  # dask.typing.DaskCollection's `__dask_scheduler__: staticmethod` does not match da.Array's
    meta = np.empty((0,) * image.ndim)
    return da.Array(graph, name, chunks=image.chunks, dtype=np.float64, meta=meta)


def _split(chunks: tuple[int, ...], size: int) -> list[int]:
    """Each chunk cut into pieces of at most ``size`` (pure slicing)."""
    return [min(size, c - i) for c in chunks for i in range(0, c, size)]


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
    group = max(4, min(64, _CACHE_BYTES // (8 * n)))  # lines along memory: turned in groups
    _filter_lines(
        ins,
        List([lines(o) for o in outs]),
        starts,
        np.array(POLES[order]),
        _START[mode],
        List([np.zeros((1, n, group))]),
    )
    return tuple(outs)


@jit
def _filter_lines(ins, outs, starts, poles, init, buffer):  # pragma: no cover - compiled
    """Every line of the chunks ``ins`` (shape (before, along, after), the
    line's chunks in order), filtered into ``outs``; ``buffer`` holds one
    array of shape (1, along, group) for lines along memory."""
    pre, _, post = ins[0].shape
    n = starts[len(starts) - 1]
    gain = 1.0
    for z in poles:
        gain *= (1.0 - z) * (1.0 - 1.0 / z)
    owner = np.empty(n, np.int64)
    for k in range(len(ins)):
        owner[starts[k] : starts[k + 1]] = k
    if post > 1:  # lines side by side in memory: filter in the output chunks, row by row
        for p in range(pre):
            _filter_rows(ins, outs, owner, starts, p, poles, init, gain, False)
        return
    # lines along memory: a group at a time, turned side by side in the buffer
    buf = buffer[0]
    for i in range(n):  # the buffer holds the whole line: one chunk
        owner[i] = 0
    group = buf.shape[2]
    for p0 in range(0, pre, group):
        g = min(group, pre - p0)
        for k in range(len(ins)):
            b, s = ins[k], starts[k]
            for t in range(g):
                for r in range(b.shape[1]):
                    buf[0, s + r, t] = b[p0 + t, r, 0] * gain  # as _bring does
        _filter_rows(buf, buf, owner, starts, 0, poles, init, gain, True)
        for k in range(len(outs)):
            o, s = outs[k], starts[k]
            for t in range(g):
                for r in range(o.shape[1]):
                    o[p0 + t, r, 0] = buf[0, s + r, t]


def _row(data: Any, owner: np.ndarray, starts: np.ndarray, p: int, i: int) -> np.ndarray:
    """Row ``i`` of the lines ``p``: of a line of chunks (a typed list, the
    chunk ``owner[i]`` starting at ``starts[owner[i]]``) or of one array."""
    raise NotImplementedError  # pragma: no cover - compiled code only, through the overload


if numba is not None:  # pragma: no branch

    @overload(_row, inline="always")
    def _row_of(data, owner, starts, p, i):  # pragma: no cover
        if isinstance(data, types.ListType):

            def in_chunks(data, owner, starts, p, i):
                k = owner[i]
                return data[k][p, i - starts[k]]

            return in_chunks
        return lambda data, owner, starts, p, i: data[p, i]


@inline
def _bring(ins, outs, owner, starts, p, i, gain):  # pragma: no cover - compiled
    """Row ``i`` into the output as doubles times the gain (scipy's first step)."""
    src, dst = _row(ins, owner, starts, p, i), _row(outs, owner, starts, p, i)
    for j in range(len(dst)):
        dst[j] = src[j] * gain


@jit
def _filter_rows(ins, outs, owner, starts, p, poles, init, gain, brought):  # pragma: no cover
    """scipy's filter (the module doc) on the lines ``outs[k][p, :, :]`` of a
    line of chunks, in place, side by side; row ``i`` is found through
    ``owner[i]``. The rows of ``ins`` come in times the gain first, unless
    ``brought``; with the mirror start, as the first start's sum first
    reaches them, so the data is read once for both."""
    n = len(owner)
    m = len(_row(outs, owner, starts, p, 0))
    acc = np.empty(m)
    if not brought and init != _MIRROR:
        for i in range(n):
            _bring(ins, outs, owner, starts, p, i, gain)
    for pole in range(len(poles)):
        z = poles[pole]
        fresh = not brought and pole == 0 and init == _MIRROR
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
