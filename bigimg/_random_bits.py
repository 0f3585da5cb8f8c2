"""Counter-based random numbers: each pixel's value is a hash of its global
index and the seed (SplitMix64), so a block is the same whatever the
chunking, and any block can be made without the others.
"""

from __future__ import annotations

import math

import numpy as np

from bigimg._blob_field import along_axis

__all__ = ["GAMMA", "mix", "random_block"]

GAMMA = 0x9E3779B97F4A7C15  # SplitMix64 increment


def mix(z: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser on a uint64 array (wrapping arithmetic, in place)."""
    with np.errstate(over="ignore"):  # 0-d arrays warn about the intended wrap-around
        z ^= z >> np.uint64(30)
        z *= np.uint64(0xBF58476D1CE4E5B9)
        z ^= z >> np.uint64(27)
        z *= np.uint64(0x94D049BB133111EB)
        z ^= z >> np.uint64(31)
    return z


def random_block(
    loc: list[slice],
    *,
    shape: tuple[int, ...],
    seed: int,
    normal: bool,
    dtype: np.dtype | type[np.floating],
) -> np.ndarray:
    """The block ``loc`` of the random image of ``shape`` and ``seed``: uniform
    in [0, 1) or standard normal (Box-Muller), each pixel from its own counter."""
    ndim, index, stride = len(shape), np.zeros((1,) * len(shape), np.uint64), 1
    for d in reversed(range(ndim)):  # global C-order linear index of every pixel
        coords = np.arange(loc[d].start, loc[d].stop, dtype=np.uint64) * np.uint64(stride)
        index = index + along_axis(coords, d, ndim)
        stride *= shape[d]
    base = mix(np.array([seed], dtype=np.uint64))  # two unrelated stream keys per seed
    keys = mix(base + np.arange(1, 3, dtype=np.uint64) * np.uint64(GAMMA))
    counter = index * np.uint64(GAMMA)
    bits = mix(counter + keys[0])
    if not normal:
        nbits = np.finfo(dtype).nmant + 1  # as many random bits as the dtype holds: never 1.0
        return ((bits >> np.uint64(64 - nbits)).astype(np.float64) * 2.0**-nbits).astype(dtype)
    u1 = ((bits >> np.uint64(11)) + np.uint64(1)).astype(np.float64) * 2.0**-53  # (0, 1]
    u2 = (mix(counter + keys[1]) >> np.uint64(11)).astype(np.float64)
    return (np.sqrt(-2.0 * np.log(u1)) * np.cos(u2 * (2.0 * math.pi * 2.0**-53))).astype(dtype)
