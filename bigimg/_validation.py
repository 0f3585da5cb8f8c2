"""Argument checks shared by every public function, with scipy's own checks.

Every public function validates at call time, before a graph is built:
bigimg's checks name the parameter, and the scipy function itself is run on
a tiny array with the same parameters (:func:`scipy_dry_run`), so anything
scipy would refuse on the whole array is refused now, with scipy's message,
not at compute time.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from typing import Any

import dask.array as da
import numpy as np

from bigimg.io.chunking import choose_chunks

__all__ = [
    "as_dask",
    "check_flag",
    "check_int",
    "check_output",
    "check_real",
    "check_reals",
    "is_int",
    "per_axis",
    "scipy_dry_run",
]


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


def as_dask(image: Any, name: str = "input") -> da.Array:
    """A dask array of ``image``; numpy arrays get bigimg's default chunks."""
    if isinstance(image, da.Array):
        return image
    array = np.asarray(image)
    if array.dtype == object:
        raise TypeError(f"{name} must be a numeric array, not {type(image).__name__}")
    return da.from_array(array, chunks=choose_chunks(array.shape, array.dtype))


def check_output(output: Any) -> np.dtype | None:
    """scipy's ``output``: a dtype here (a dask result cannot fill an array)."""
    if output is None:
        return None
    if isinstance(output, np.ndarray | da.Array):
        raise TypeError(
            "output= must be a dtype for bigimg; an output array cannot be filled by a "
            "lazy result (store the returned dask array instead)"
        )
    try:
        return np.dtype(output)
    except TypeError:
        raise TypeError(f"output={output!r} is not a dtype") from None


def per_axis(value: Any, n: int, name: str) -> tuple[Any, ...]:
    """scipy's scalar-or-sequence parameters, one entry per axis."""
    if isinstance(value, str) or not isinstance(value, Sequence | np.ndarray):
        return (value,) * n
    values = tuple(value)
    if len(values) != n:
        raise ValueError(f"{name}={value!r} must be a scalar or have {n} entries (one per axis)")
    return values


def scipy_dry_run(
    func: Callable[..., Any], image: da.Array, *args: Any, **kwargs: Any
) -> np.dtype:
    """Run ``func`` on a tiny array shaped like ``image``; return the result dtype.

    Raises scipy's own error for any parameter scipy refuses.
    """
    dummy = np.zeros(tuple(min(3, max(s, 1)) for s in image.shape), dtype=image.dtype)
    try:
        result = func(dummy, *args, **kwargs)
    except NotImplementedError:
        raise
    except RuntimeError as exc:  # scipy signals some bad arguments this way
        raise ValueError(f"{getattr(func, '__name__', 'filter')}: {exc}") from exc
    if isinstance(result, tuple):
        result = result[0]
    return np.asarray(result).dtype
