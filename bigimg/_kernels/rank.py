"""Order statistics under a footprint, compiled: a selection network per tile.

Rank, median, percentile, minimum and maximum filters pick a value of the
input, so any correct selection gives scipy's result where the order is
unambiguous. :func:`rank_filter` gathers each tile's footprint values into
rows and orders them column-wise with the compare-exchange pairs of
:func:`selection_network`, vectorised across the tile.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from bigimg._kernels import numba_jit
from bigimg._kernels.boundary import MODES, extend_indices, holds
from bigimg._kernels.numba_jit import jit

__all__ = ["rank_filter", "selection_network"]

_TILE = 512  # outputs per vector tile along the last axis


@functools.lru_cache(maxsize=64)
def selection_network(size: int, rank: int) -> tuple[np.ndarray, np.ndarray]:
    """Compare-exchange pairs that put the ``rank``-th smallest of ``size``
    values at position ``rank``: Batcher's odd-even merge sort on the next
    power of two, without the exchanges that touch missing inputs (they hold
    +inf) or that cannot reach position ``rank``."""
    n = 1
    while n < size:
        n *= 2
    pairs: list[tuple[int, int]] = []
    p = 1
    while p < n:
        k = p
        while k >= 1:
            for j in range(k % p, n - k, 2 * k):
                for i in range(min(k, n - j - k)):
                    if (i + j) // (2 * p) == (i + j + k) // (2 * p):
                        pairs.append((i + j, i + j + k))
            k //= 2
        p *= 2
    pairs = [(a, b) for a, b in pairs if b < size]
    needed, kept = {rank}, []
    for a, b in reversed(pairs):
        if a in needed or b in needed:
            kept.append((a, b))
            needed |= {a, b}
    kept.reverse()
    first = np.array([a for a, _ in kept], dtype=np.intp)
    second = np.array([b for _, b in kept], dtype=np.intp)
    return first, second


@jit
def _select(padded, offsets, bases, width, first, second, rank, out):  # pragma: no cover
    """out[r, t] = the ``rank``-th smallest of padded[bases[r] + offsets + t].

    A tile of outputs along the last axis is the vector: the footprint's
    values are gathered into rows, the network orders them column-wise.
    """
    m = offsets.shape[0]
    rows = np.empty((m, _TILE), padded.dtype)
    for r in range(bases.shape[0]):
        dest_row = out[r]
        for k0 in range(0, width, _TILE):
            kt = min(_TILE, width - k0)
            for e in range(m):
                start = bases[r] + offsets[e] + k0
                src, row = padded[start : start + kt], rows[e]
                for t in range(kt):
                    row[t] = src[t]
            for c in range(first.shape[0]):
                a, b = rows[first[c]], rows[second[c]]
                for t in range(kt):
                    u, v = a[t], b[t]
                    small = v < u
                    a[t] = v if small else u
                    b[t] = u if small else v
            chosen, dest = rows[rank], dest_row[k0 : k0 + kt]
            for t in range(kt):
                dest[t] = chosen[t]


_SELECTABLE = frozenset(
    np.dtype(t) for t in ("float32", "float64", "int8", "int16", "int32", "int64")
) | frozenset(np.dtype(t) for t in ("uint8", "uint16", "uint32", "uint64"))


def rank_filter(
    x: np.ndarray,
    rank: int,
    footprint: np.ndarray,
    mode: str,
    cval: Any,
    origins: tuple[int, ...],
) -> np.ndarray | None:
    """The ``rank``-th smallest value under ``footprint`` (one dimension per
    axis of ``x``), compiled; ``None`` where scipy must decide instead.

    Order statistics are values of the input, so any correct selection gives
    scipy's result, except where the order is ambiguous: NaN, and zeros of
    both signs. Blocks holding NaN or -0.0 go to scipy, as do ``cval`` values
    the input dtype cannot hold (scipy's paths cast them differently), axes
    shorter than the footprint and 1-D input.
    """
    if (
        not numba_jit.ENABLED
        or x.dtype not in _SELECTABLE
        or x.ndim < 2
        or footprint.ndim != x.ndim
        or mode not in MODES
        or any(n < f for n, f in zip(x.shape, footprint.shape))
    ):
        return None
    rule = MODES[mode]
    if rule == "constant":
        if not holds(x.dtype, cval) or np.isnan(cval):
            return None
        fill = x.dtype.type(cval)
    if x.dtype.kind == "f" and (np.isnan(x).any() or (np.signbit(x) & (x == 0)).any()):
        return None
    padded = np.ascontiguousarray(x)
    for ax, (f, o) in enumerate(zip(footprint.shape, origins)):
        before = f // 2 + int(o)
        if not 0 <= before < f:
            return None
        src = extend_indices(np.arange(-before, x.shape[ax] + f - 1 - before), x.shape[ax], rule)
        padded = np.take(padded, np.maximum(src, 0), axis=ax)
        if rule == "constant":
            padded[(slice(None),) * ax + (src < 0,)] = fill
    strides = np.array(padded.strides) // padded.itemsize
    offsets = (np.argwhere(footprint) @ strides).astype(np.intp)
    grid = np.indices(x.shape[:-1]).reshape(x.ndim - 1, -1)
    bases = (strides[:-1] @ grid).astype(np.intp)
    first, second = selection_network(len(offsets), int(rank))
    out = np.empty(x.shape, x.dtype)
    _select(
        padded.reshape(-1),
        offsets,
        bases,
        x.shape[-1],
        first,
        second,
        int(rank),
        out.reshape(-1, x.shape[-1]),
    )
    return out
