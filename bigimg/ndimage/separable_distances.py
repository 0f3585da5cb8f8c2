"""The separable distance transforms' passes on pencils, and scipy's results from them.

Each pass runs on *pencils* (:func:`bigimg._halo.lines.map_line_passes`): the
image is rechunked so that the pass's axis is whole and the other axes are
split until a pencil holds about two target chunks. Between passes each
pixel carries what the next pass needs (:func:`_fields`): the squared
distance found so far (float64, -1 for "no background seen yet"; the
integer distance for the L1 / L-infinity metrics) and, for
``return_indices``, its displacement to that background pixel per axis
(int32). :func:`finish` turns the carried fields into scipy's distances and
indices. Used by :mod:`bigimg.ndimage.distance`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import dask.array as da
import numpy as np
from dask.utils import has_keyword

from bigimg._grid import BlockSlices
from bigimg._halo import map_line_passes
from bigimg.ndimage.line_distances import (
    chessboard_lines,
    edt_lines,
    nearest_on_axis,
    taxicab_lines,
)

__all__ = ["bf_euclidean", "edt_distances", "finish", "integer_distances", "separable"]


def _fields(value: str, ndim: int, indices: bool) -> np.dtype:
    """What a pixel carries between passes: distance so far (+ displacements)."""
    if not indices:
        return np.dtype(value)
    return np.dtype([("v", value)] + [(f"e{k}", np.int32) for k in range(ndim)])


def _value(block: np.ndarray) -> np.ndarray:
    return block["v"] if block.dtype.names else block


# --- the passes -------------------------------------------------------------------------------


def _first(
    block: np.ndarray, *, axis: int, output: np.dtype, squared: bool, sampling: float | None
) -> np.ndarray:
    """Pass 0: the nearest background along the line (the lower one on a tie)."""
    shift, valid = nearest_on_axis(block == 0, axis)
    if squared:
        t = shift.astype(np.float64)
        if sampling is not None:
            t *= sampling
        value = np.where(valid, t * t, -1.0)
    else:
        value = np.where(valid, np.abs(shift), np.int32(-1))
    if not output.names:
        return value.astype(output, copy=False)
    out = np.zeros(block.shape, output)
    out["v"] = value
    out[f"e{axis}"] = np.where(valid, shift, 0)
    return out


def _next(
    block: np.ndarray, *, axis: int, output: np.dtype, metric: str, sampling: float | None
) -> np.ndarray:
    """A later pass: each line's lower envelope from the distances so far."""
    length = block.shape[axis]
    lines = np.moveaxis(_value(block), axis, -1)
    flat = lines.reshape(-1, length)
    if metric == "euclidean":
        pos, value = edt_lines(np.ascontiguousarray(flat), sampling)
    elif metric == "taxicab":
        pos, value = taxicab_lines(flat)
    else:
        pos, value = chessboard_lines(flat)
    shape = lines.shape
    out = np.empty(block.shape, output)
    if not output.names:
        out[...] = np.moveaxis(value.reshape(shape), -1, axis)
        return out
    out["v"] = np.moveaxis(value.reshape(shape), -1, axis)
    found = pos >= 0
    take = np.where(found, pos, 0)
    for k in range(len(output.names) - 1):
        old = np.moveaxis(block[f"e{k}"], axis, -1).reshape(-1, length)
        if k == axis:
            new = np.where(found, pos - np.arange(length), old)
        else:
            new = np.where(found, np.take_along_axis(old, take, axis=1), old)
        out[f"e{k}"] = np.moveaxis(new.reshape(shape), -1, axis)
    return out


def separable(
    image: da.Array, metric: str, sampling: tuple[float, ...] | None, indices: bool
) -> da.Array:
    """All passes, in scipy's order; the result in the image's chunks."""
    squared = metric == "euclidean"
    dtype = _fields("f8" if squared else "i4", image.ndim, indices)
    s = sampling if sampling is not None else (None,) * image.ndim
    passes = [(_pass_first, 0, {"squared": squared, "sampling": s[0]})]
    passes += [
        (_pass_next, ax, {"metric": metric, "sampling": s[ax]}) for ax in range(1, image.ndim)
    ]
    return map_line_passes(image, passes, dtype=dtype, name=f"distance-{metric}")


def _pass_first(block: np.ndarray, axis: int, output: Any, **kwargs: Any) -> np.ndarray:
    return _first(block, axis=axis, output=np.dtype(output), **kwargs)


def _pass_next(block: np.ndarray, axis: int, output: Any, **kwargs: Any) -> np.ndarray:
    return _next(block, axis=axis, output=np.dtype(output), **kwargs)


# --- from the carried fields to scipy's results -------------------------------------------------


def _coords(
    where: BlockSlices | None, block_id: tuple[int, ...] | None, shape: tuple[int, ...]
) -> list[np.ndarray]:
    """Global coordinates of a block's pixels, one broadcastable array per axis."""
    located = where(block_id) if where is not None and block_id is not None else None
    spans = [(s.start, s.stop) for s in located] if located else [(0, n) for n in shape]
    grids = []
    for ax, (lo, hi) in enumerate(spans):
        view = [1] * len(shape)
        view[ax] = hi - lo
        grids.append(np.arange(lo, hi, dtype=np.int64).reshape(view))
    return grids


def edt_distances(
    block: np.ndarray,
    sampling: tuple[float, ...] | None,
    where: BlockSlices | None = None,
    block_id: tuple[int, ...] | None = None,
) -> np.ndarray:
    h = _value(block)
    out = np.sqrt(np.where(h >= 0, h, 0.0))
    if (h < 0).any():  # no background at all: scipy's features stay (-1, 0, ..., 0)
        total: float | np.ndarray = 0.0
        for ax, c in enumerate(_coords(where, block_id, h.shape)):
            t = ((-1 if ax == 0 else 0) - c).astype(np.float64)
            if sampling is not None:
                t *= sampling[ax]
            total = total + t * t
        out = np.where(h < 0, np.sqrt(np.broadcast_to(total, h.shape)), out)
    return out


def _features(
    block: np.ndarray, missing: str, where: BlockSlices, block_id: tuple[int, ...] = ()
) -> np.ndarray:
    """scipy's ``indices`` (ndim, ...) int32; ``missing`` says what scipy leaves
    where there is no background at all: 'edt' (-1, 0, ...), 'cdt' the pixel
    itself, 'bf' zeros."""
    valid = block["v"] >= 0
    coords = _coords(where, block_id[1:], block.shape)  # the result's axis 0: new
    out = np.empty((block.ndim, *block.shape), np.int32)
    for ax, c in enumerate(coords):
        none: int | np.ndarray
        if missing == "edt":
            none = -1 if ax == 0 else 0
        elif missing == "cdt":
            none = c
        else:
            none = 0
        out[ax] = np.where(valid, c + block[f"e{ax}"], none)
    return out


def integer_distances(block: np.ndarray, out_dtype: Any, missing: int) -> np.ndarray:
    v = _value(block)
    return np.where(v >= 0, v, missing).astype(out_dtype)


def finish(
    carried: da.Array,
    distances: Callable[..., np.ndarray] | None,
    scipy_func: str,
    **kwargs: Any,
) -> tuple[da.Array | None, da.Array | None]:
    dist = None
    if distances is not None:
        probe = distances(np.zeros((1,) * carried.ndim, carried.dtype), **kwargs)
        if has_keyword(distances, "where"):
            kwargs["where"] = BlockSlices(carried.chunks)
        dist = da.map_blocks(distances, carried, dtype=probe.dtype, **kwargs)
    ind = None
    if carried.dtype.names:
        ind = da.map_blocks(
            _features,
            carried,
            scipy_func,
            BlockSlices(carried.chunks),
            dtype=np.int32,
            new_axis=0,
            chunks=((carried.ndim,), *carried.chunks),
        )
    return dist, ind


def bf_euclidean(block: np.ndarray) -> np.ndarray:
    h = _value(block)
    return np.where(h >= 0, np.sqrt(np.where(h >= 0, h, 0.0)), math.sqrt(np.finfo(float).max))
