"""How a filter runs on blocks: scipy called on the halo-extended block, or its
1-D passes in scipy's order with the block re-extended between passes.

The public filters (:mod:`bigimg.ndimage.filters`, :mod:`.derivatives`,
:mod:`.rank_filters`) check their arguments with the helpers here, declare
their reach, and hand one of these block functions to the halo engine.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from bigimg import _halo
from bigimg._halo import Frame, LocalOp, apply, as_input
from bigimg._kernels import normalize_modes
from bigimg._validation import check_output, per_axis, scipy_dry_run

__all__ = [
    "Pass",
    "Positional",
    "call_scipy",
    "check_axis",
    "check_sigma",
    "check_size",
    "local",
    "mode_name",
    "plan_1d",
    "rule_of",
    "rules_for",
    "run_passes",
    "separable",
    "single_pass",
    "window_reach",
]

Pass = tuple[Callable[..., np.ndarray], int, dict[str, Any]]  # (scipy 1-D function, axis, kw)


# --- block functions -------------------------------------------------------------------


def call_scipy(block: np.ndarray, *, frame: Frame, func: Callable[..., Any], kwargs: dict) -> Any:
    """Single-pass operation: scipy on the extended block."""
    return func(block, **kwargs)


def run_passes(
    block: np.ndarray, *, frame: Frame, passes: tuple[Pass, ...], dtype: np.dtype
) -> np.ndarray:
    """scipy's separable filters: 1-D passes in order, each input re-extended."""
    out = block
    if not passes:
        return block.astype(dtype)
    for i, (func, axis, kwargs) in enumerate(passes):
        if i and frame.rules[axis] == "constant":
            # index rules commute with passes along other axes; 'constant' does not
            out = frame.refill(out, axes=(axis,))
        out = func(out, axis=axis, output=dtype, **kwargs)
        if all(later != axis for _, later, _ in passes[i + 1 :]):
            out = frame.crop(out, axis)  # the later passes need no halo along it
    return out


def local(
    image: Any,
    name: str,
    func: Callable[..., np.ndarray],
    depth: _halo.Depth,
    rules: Sequence[str],
    cval: Any,
    dtype: np.dtype,
    token: Any,
) -> Any:
    op = LocalOp(name, func, depth, tuple(rules), cval, np.dtype(dtype), token)
    return apply(op, image)


def single_pass(
    image: Any,
    name: str,
    scipy_func: Callable[..., Any],
    depth: _halo.Depth,
    rules: Sequence[str],
    fill: Any,
    dtype: np.dtype,
    /,
    **kwargs: Any,
) -> Any:
    """A one-pass operation: ``scipy_func(block, **kwargs)`` on extended blocks.

    A default ``output=None`` becomes the resolved dtype: a block widened to
    hold ``cval`` must not change scipy's default output dtype.
    """
    if kwargs.get("output", False) is None:
        kwargs["output"] = np.dtype(dtype)
    func = functools.partial(call_scipy, func=scipy_func, kwargs=kwargs)
    return local(image, name, func, depth, rules, fill, dtype, (scipy_func.__name__, kwargs))


class Positional:
    """``func`` with leading positional arguments bound after the block
    (picklable, named, tokenizable)."""

    def __init__(self, func: Callable[..., Any], args: tuple[Any, ...]) -> None:
        self.func, self.args = func, args
        self.__name__ = func.__name__

    def __call__(self, block: np.ndarray, **kwargs: Any) -> Any:
        return self.func(block, *self.args, **kwargs)

    def __dask_tokenize__(self) -> Any:
        return (self.func.__name__, self.args)


def separable(
    image: Any,
    name: str,
    passes: list[Pass],
    depth: _halo.Depth,
    rules: Sequence[str],
    cval: Any,
    dtype: np.dtype,
) -> Any:
    func = functools.partial(run_passes, passes=tuple(passes), dtype=np.dtype(dtype))
    token = [(f.__name__, ax, kw) for f, ax, kw in passes]
    return local(image, name, func, depth, rules, cval, dtype, token)


def rule_of(mode: Any) -> str:
    return normalize_modes(mode, 1)[0]


def rules_for(ndim: int, axes: Sequence[int], modes: Sequence[str]) -> list[str]:
    rules = ["reflect"] * ndim
    for ax, m in zip(axes, modes):
        rules[ax] = rule_of(m)
    return rules


def check_axis(axis: int, ndim: int) -> int:
    if not isinstance(axis, int | np.integer) or not -ndim <= axis < ndim:
        raise ValueError(f"axis={axis!r} is out of range for a {ndim}-D image")
    return int(axis) % ndim


def check_size(size: Any, n: int, name: str = "size") -> tuple[int, ...]:
    sizes = per_axis(size, n, name)
    for s in sizes:
        if not isinstance(s, int | np.integer) or s < 1:
            raise ValueError(f"{name}={size!r} must be positive integers")
    return tuple(int(s) for s in sizes)


def check_sigma(sigma: Any, n: int) -> tuple[float, ...]:
    sigmas = per_axis(sigma, n, "sigma")
    for s in sigmas:
        if not np.isscalar(s) or not np.isreal(s) or not s >= 0:  # type: ignore[operator]  # isscalar's TypeGuard keeps str/bytes
            raise ValueError(f"sigma={sigma!r} must be non-negative numbers")
    return tuple(float(s) for s in sigmas)


def mode_name(mode: Any) -> str:
    if not isinstance(mode, str):
        raise ValueError(f"mode={mode!r} must be a single mode name for this function")
    normalize_modes(mode, 1)
    return mode


def plan_1d(
    input: Any,
    scipy_func: Callable[..., Any],
    axis: int,
    output: Any,
    mode: str,
    cval: Any,
    reach: tuple[int, int],
    *args: Any,
    **params: Any,
) -> tuple[Any, dict[str, Any], np.dtype, _halo.Depth, list[str]]:
    """Validate a filter along one axis whose reach is ``(before, after)``.

    Returns ``(image, kwargs, dtype, depth, rules)``; ``kwargs`` are
    ``params`` plus the normalised ``axis``, ``output``, ``mode`` and ``cval``.
    """
    image = as_input(input)
    ax = check_axis(axis, image.ndim)
    mode_name(mode)
    kwargs = {**params, "axis": ax, "output": check_output(output), "mode": mode, "cval": cval}
    dtype = scipy_dry_run(scipy_func, image, *args, **kwargs)
    depth = _halo.along(image.ndim, [ax], [reach])
    return image, kwargs, dtype, depth, rules_for(image.ndim, [ax], [mode])


def window_reach(size: Any, origin: int, name: str = "size") -> tuple[int, tuple[int, int]]:
    """``(size, reach)`` of a 1-D window of ``size`` shifted by ``origin``."""
    (n,) = check_size(size, 1, name)
    return n, _halo.kernel([n], [origin])[0]
