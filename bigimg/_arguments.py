"""Checks of scalar user arguments, one message style: ``name=value must be ...``.

Used wherever a public function takes plain numbers or flags (synthetic
images, pictures); image arguments are checked by ``bigimg.ndimage._inputs``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["check_flag", "check_int", "check_real", "check_reals", "is_int"]


def is_int(value: Any) -> bool:
    """An integer (numpy's too), not a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_int(value: Any, name: str, *, low: int = 0, high: int | None = None) -> int:
    """``value`` as an int in ``[low, high)``."""
    if not is_int(value):
        raise TypeError(f"{name}={value!r} must be an int")
    if value < low or (high is not None and value >= high):
        bound = f"in [{low}, {high})" if high is not None else f">= {low}"
        raise ValueError(f"{name}={value} must be an integer {bound}")
    return int(value)


def check_real(value: Any, name: str, *, low: float = -math.inf, strict: bool = False) -> float:
    """``value`` as a finite float, ``>= low`` (``> low`` if ``strict``)."""
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        raise TypeError(f"{name}={value!r} must be a real number")
    if not math.isfinite(value) or value < low or (strict and value == low):
        bound = "" if low == -math.inf else f" and {'>' if strict else '>='} {low}"
        raise ValueError(f"{name}={value!r} must be finite{bound}")
    return float(value)


def check_reals(values: Any, name: str) -> tuple[float, ...]:
    """A number or a sequence of numbers, as a tuple of finite floats."""
    if isinstance(values, numbers.Real) and not isinstance(values, bool):
        values = (values,)
    if isinstance(values, str) or not isinstance(values, Sequence | np.ndarray):
        raise TypeError(f"{name}={values!r} must be a number or a sequence of numbers")
    return tuple(check_real(v, name) for v in values)


def check_flag(value: Any, name: str) -> bool:
    """``True`` or ``False`` (numpy's too)."""
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"{name}={value!r} must be True or False")
    return bool(value)
