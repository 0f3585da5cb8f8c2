"""numba, where it is installed: compiled, GIL-free block arithmetic.

Every compiled kernel in bigimg is decorated here, and every caller checks
:data:`ENABLED` (through this module, at call time) before taking the
compiled path, so the tests can switch it off and compare the fallback
(scipy, numpy) with the compiled result.
"""

from __future__ import annotations

from typing import Any

try:  # pragma: no cover - exercised by whichever environment runs the tests
    import numba
except ImportError:  # pragma: no cover
    numba = None  # type: ignore[assignment]  # None: numba is not installed

__all__ = ["ENABLED", "compiled", "inline", "jit"]

ENABLED = numba is not None  # tests switch it off to check the fallbacks


def jit(func: Any) -> Any:
    """``func`` compiled without the GIL (and cached), or as it is without numba."""
    return numba.njit(nogil=True, cache=True)(func) if numba is not None else func


def inline(func: Any) -> Any:
    """A helper compiled into its callers (numba-level inlining)."""
    return numba.njit(inline="always", cache=True)(func) if numba is not None else func


def compiled() -> bool:
    """Whether the compiled paths are on (read at call time: tests switch them)."""
    return ENABLED
