"""Downsampling of lazy images: previews and multiscale pyramids."""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import dask.array as da
import numpy as np

__all__ = ["METHODS", "downsample", "pyramid_shapes"]

METHODS = ("mean", "nearest", "max", "min")


def downsample(image: da.Array, factors: int | Sequence[int], *, method: str = "mean") -> da.Array:
    """Shrink ``image`` by integer ``factors`` per axis, lazily, chunk by chunk.

    Parameters
    ----------
    image : dask.array.Array
        Input image of any dimensionality.
    factors : int or sequence of int
        Shrink factor per axis (1 leaves the axis alone). The output length of
        an axis of length ``n`` is ``ceil(n / factor)``; the last window of an
        axis may hold fewer than ``factor`` pixels.
    method : {'mean', 'nearest', 'max', 'min'}, keyword-only
        'mean' averages each window (integers are rounded to the nearest
        value, booleans become "at least half set"); 'nearest' keeps the first
        pixel of each window (right for label images); 'max' / 'min' keep the
        extreme.

    Returns
    -------
    dask.array.Array
        Same dtype as ``image``.

    Examples
    --------
    >>> import dask.array as da
    >>> x = da.arange(16, chunks=5).reshape(4, 4)
    >>> downsample(x, 2, method='max').compute()
    array([[ 5,  7],
           [13, 15]])
    """
    image = da.asarray(image)
    if method not in METHODS:
        raise ValueError(f"method={method!r} must be one of {METHODS}")
    if isinstance(factors, int | np.integer):
        factors = cast("tuple[int, ...]", (int(factors),) * image.ndim)  # dask: ndim is Any
    factors = tuple(int(f) for f in factors)
    if len(factors) != image.ndim:
        raise ValueError(f"factors={factors} needs one entry per axis ({image.ndim})")
    if any(f < 1 for f in factors):
        raise ValueError(f"factors={factors} must be positive integers")
    # chunks that are whole multiples of the factor (but the last) keep windows in one block
    image = image.rechunk(
        {ax: max(f, image.chunks[ax][0] // f * f) for ax, f in enumerate(factors) if f > 1}
    )
    out_chunks = tuple(
        tuple(-(-c // f) for c in chunks) for chunks, f in zip(image.chunks, factors)
    )
    return da.map_blocks(
        _shrink_block, image, factors=factors, method=method, chunks=out_chunks, dtype=image.dtype
    )


def _shrink_block(block: np.ndarray, factors: tuple[int, ...], method: str) -> np.ndarray:
    dtype = block.dtype
    out = block
    for axis, f in enumerate(factors):
        if f == 1:
            continue
        if method == "nearest":  # a copy: a view would keep the whole block in memory
            out = out[(slice(None),) * axis + (slice(None, None, f),)].copy()
            continue
        n = out.shape[axis]
        starts = np.arange(0, n, f)
        if method == "mean":
            wide = np.result_type(out.dtype, np.float64)
            sums = np.add.reduceat(out.astype(wide, copy=False), starts, axis=axis)
            counts = np.diff(np.append(starts, n)).reshape((-1,) + (1,) * (out.ndim - axis - 1))
            out = sums / counts
        else:
            ufunc = np.maximum if method == "max" else np.minimum
            out = ufunc.reduceat(out, starts, axis=axis)
    if method == "mean":
        if dtype == np.bool_:
            return out >= 0.5
        if np.issubdtype(dtype, np.integer):
            info = np.iinfo(dtype)
            return np.clip(np.rint(out), info.min, info.max).astype(dtype)
        return out.astype(dtype, copy=False)
    return out


def pyramid_shapes(
    shape: Sequence[int], factors: Sequence[int], *, min_size: int = 256
) -> list[tuple[int, ...]]:
    """Level shapes halving (by ``factors``) until every shrunk axis is <= ``min_size``."""
    shapes = [tuple(int(s) for s in shape)]
    while any(f > 1 and s > min_size for s, f in zip(shapes[-1], factors)):
        shapes.append(tuple(-(-s // f) for s, f in zip(shapes[-1], factors)))
    return shapes
