"""The smooth field of :func:`bigimg.datasets.blobs_intensity`, chunk by chunk.

A sum of truncated anisotropic gaussians whose parameters are drawn up front
(:func:`blob_params`); :func:`blob_block` sums, in one fixed global order, the
gaussians that reach a chunk, with ``exp()`` evaluated on rows aligned to the
global grid, so every chunking computes the same bits.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np

__all__ = ["ROW", "TRUNCATE", "along_axis", "blob_block", "blob_params"]

TRUNCATE = 4.0  # gaussians are exactly 0 beyond this many sigmas (max over blobs)
ROW = 16  # batched exp() rows start on multiples of this many elements


def along_axis(values: np.ndarray, d: int, ndim: int) -> np.ndarray:
    """1-D ``values`` shaped to broadcast along axis ``d`` of an ``ndim`` array."""
    return values.reshape([-1 if i == d else 1 for i in range(ndim)])


def blob_params(shape: tuple[int, ...], n: int, blob_size: float, seed: int) -> SimpleNamespace:
    """Centres (float64), amplitudes and per-axis sigmas of every blob, drawn up front."""
    rng, ndim = np.random.default_rng(seed), len(shape)
    if math.prod(shape) == 0:
        n = 0
    centre = rng.random((n, ndim)) * np.array(shape, dtype=np.float64)
    amp = rng.uniform(0.75, 1.5, n)
    spacing = (math.prod(shape) / max(n, 1)) ** (1.0 / ndim)  # mean distance between centres
    sigma = blob_size * spacing * np.exp(rng.uniform(-0.3, 0.3, (n, ndim)))
    radius = math.ceil(TRUNCATE * sigma.max()) if n else 0  # one fixed reach for all
    width = -(-(2 * radius + 1) // ROW) * ROW
    return SimpleNamespace(
        centre=centre,
        amp=amp,
        sigma=sigma,
        radius=radius,
        first=np.floor(centre).astype(np.int64) - radius,
        offsets=np.arange(width) + 0.5,
    )


def blob_block(
    loc: list[slice], *, p: SimpleNamespace, threshold: float | None, dtype: np.dtype
) -> np.ndarray:
    """The chunk at ``loc`` of the field (as ``dtype``), or of ``field > threshold``."""
    ndim, size = len(loc), 2 * p.radius + 1
    out = np.zeros([s.stop - s.start for s in loc])
    start, stop = np.array([s.start for s in loc]), np.array([s.stop for s in loc])
    near = np.flatnonzero(((p.first + size > start) & (p.first < stop)).all(axis=1))
    if near.size:  # ascending: every pixel sums its blobs in the same global order
        first = p.first[near]
        lo, hi = np.maximum(first, start) - first, np.minimum(first + size, stop) - first
        at = first + lo - start
        # each row of each factor is a fixed, aligned array whatever the chunk: same exp() bits
        factors = [
            np.exp(
                -0.5
                * (
                    (first[:, d, None] + p.offsets - p.centre[near, d, None])
                    / p.sigma[near, d, None]
                )
                ** 2
            )
            for d in range(ndim)
        ]
        for i, (amp, lo_i, hi_i, at_i) in enumerate(
            zip(p.amp[near], lo.tolist(), hi.tolist(), at.tolist(), strict=True)
        ):
            patch = amp * along_axis(factors[0][i, lo_i[0] : hi_i[0]], 0, ndim)
            for d in range(1, ndim):
                patch = patch * along_axis(factors[d][i, lo_i[d] : hi_i[d]], d, ndim)
            out[tuple(slice(a, a + n) for a, n in zip(at_i, patch.shape, strict=True))] += patch
    return out > threshold if threshold is not None else out.astype(dtype)
