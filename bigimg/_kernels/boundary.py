"""scipy.ndimage's boundary modes as index arithmetic.

Where a filter, the overlap gather or a line pass reaches past the array's
border, scipy extends the array by the user's ``mode``. :func:`extend_indices`
says which source pixel each position past the border reads, by the same
rule as scipy's line buffers, so every engine extends the array one way.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["MODES", "extend_indices", "holds", "normalize_modes"]

#: scipy.ndimage filter modes and the boundary rule each one means for filters
MODES = {
    "reflect": "reflect",
    "grid-mirror": "reflect",
    "mirror": "mirror",
    "nearest": "nearest",
    "wrap": "wrap",
    "grid-wrap": "wrap",
    "constant": "constant",
    "grid-constant": "constant",
}


def normalize_modes(
    mode: str | Sequence[str], ndim: int, *, name: str = "mode"
) -> tuple[str, ...]:
    """One boundary rule per axis from scipy's ``mode`` (a name or one per axis)."""
    modes = (mode,) * ndim if isinstance(mode, str) else tuple(mode)
    if len(modes) != ndim:
        raise ValueError(f"{name}={mode!r} must be a string or a sequence of {ndim} strings")
    out = []
    for m in modes:
        if m not in MODES:
            raise ValueError(f"{name}={m!r} is not one of {', '.join(MODES)}")
        out.append(MODES[m])
    return tuple(out)


def extend_indices(positions: np.ndarray, n: int, rule: str) -> np.ndarray:
    """Map positions along an axis of length ``n`` (any integers) to source
    indices under a boundary ``rule``; -1 marks the constant value."""
    p = np.asarray(positions, dtype=np.int64)
    if rule == "constant":
        return np.where((p >= 0) & (p < n), p, -1)
    if rule == "nearest":
        return np.clip(p, 0, n - 1)
    if rule == "wrap":
        return np.mod(p, n)
    if rule == "reflect":  # ... 1 0 | 0 1 ... n-1 | n-1 n-2 ...
        q = np.mod(p, 2 * n)
        return np.where(q < n, q, 2 * n - 1 - q)
    if rule == "mirror":  # ... 2 1 | 0 1 ... n-1 | n-2 ...
        if n == 1:
            return np.zeros_like(p)
        q = np.mod(p, 2 * n - 2)
        return np.where(q < n, q, 2 * n - 2 - q)
    raise ValueError(f"unknown boundary rule {rule!r}")


def holds(dtype: np.dtype, value: Any) -> bool:
    """True if ``value`` survives a round trip through ``dtype`` unchanged."""
    with np.errstate(all="ignore"):
        try:
            cast = np.asarray(value).astype(dtype)
        except (ValueError, OverflowError):
            return False
        return bool(np.array_equal(cast, np.asarray(value), equal_nan=True))
