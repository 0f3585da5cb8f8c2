"""Linear and derivative filters of scipy.ndimage on dask arrays.

Each function validates its arguments (bigimg's checks, then scipy's own on a
tiny array), declares its reach with :mod:`bigimg._halo` and hands a block
function to :func:`bigimg._local.apply`. Block functions call scipy itself on
the halo-extended block; separable filters run scipy's 1-D passes in scipy's
order with :meth:`~bigimg._overlap.Frame.refill` between passes, which is how
scipy extends each pass's input on the whole array. Results are therefore
identical to scipy's for every chunking and mode.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import scipy.ndimage as ndi

from bigimg import _halo, _kernels
from bigimg._local import LineOp, LocalOp, apply
from bigimg._overlap import Frame, normalize_modes
from bigimg.ndimage._inputs import as_input, check_output, per_axis, scipy_dry_run

__all__ = [
    "convolve",
    "convolve1d",
    "correlate",
    "correlate1d",
    "gaussian_filter",
    "gaussian_filter1d",
    "gaussian_gradient_magnitude",
    "gaussian_laplace",
    "generic_gradient_magnitude",
    "generic_laplace",
    "laplace",
    "prewitt",
    "sobel",
    "uniform_filter",
    "uniform_filter1d",
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


def _rule(mode: Any) -> str:
    return normalize_modes(mode, 1)[0]


def _rules_for(ndim: int, axes: Sequence[int], modes: Sequence[str]) -> list[str]:
    rules = ["reflect"] * ndim
    for ax, m in zip(axes, modes):
        rules[ax] = _rule(m)
    return rules


def _axis(axis: int, ndim: int) -> int:
    if not isinstance(axis, int | np.integer) or not -ndim <= axis < ndim:
        raise ValueError(f"axis={axis!r} is out of range for a {ndim}-D image")
    return int(axis) % ndim


def _check_size(size: Any, n: int, name: str = "size") -> tuple[int, ...]:
    sizes = per_axis(size, n, name)
    for s in sizes:
        if not isinstance(s, int | np.integer) or s < 1:
            raise ValueError(f"{name}={size!r} must be positive integers")
    return tuple(int(s) for s in sizes)


def _check_sigma(sigma: Any, n: int) -> tuple[float, ...]:
    sigmas = per_axis(sigma, n, "sigma")
    for s in sigmas:
        if not np.isscalar(s) or not np.isreal(s) or not s >= 0:
            raise ValueError(f"sigma={sigma!r} must be non-negative numbers")
    return tuple(float(s) for s in sigmas)


def _mode_str(mode: Any) -> str:
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
    ax = _axis(axis, image.ndim)
    _mode_str(mode)
    kwargs = {**params, "axis": ax, "output": check_output(output), "mode": mode, "cval": cval}
    dtype = scipy_dry_run(scipy_func, image, *args, **kwargs)
    depth = _halo.along(image.ndim, [ax], [reach])
    return image, kwargs, dtype, depth, _rules_for(image.ndim, [ax], [mode])


def window_reach(size: Any, origin: int, name: str = "size") -> tuple[int, tuple[int, int]]:
    """``(size, reach)`` of a 1-D window of ``size`` shifted by ``origin``."""
    (n,) = _check_size(size, 1, name)
    return n, _halo.kernel([n], [origin])[0]


# --- correlation and convolution ---------------------------------------------------------


def correlate1d(
    input: Any,
    weights: Any,
    axis: int = -1,
    output: Any = None,
    mode: str = "reflect",
    cval: float = 0.0,
    origin: int = 0,
) -> Any:
    """1-D correlation along ``axis``; equals ``scipy.ndimage.correlate1d``.

    Examples
    --------
    >>> import numpy as np, scipy.ndimage as ndi
    >>> x = np.arange(20.0).reshape(4, 5)
    >>> bool((correlate1d(x, [1, 2, -1], axis=0, mode="wrap").compute()
    ...       == ndi.correlate1d(x, [1, 2, -1], axis=0, mode="wrap")).all())
    True
    """
    return _correlate1d(input, weights, axis, output, mode, cval, origin, convolution=False)


def convolve1d(
    input: Any,
    weights: Any,
    axis: int = -1,
    output: Any = None,
    mode: str = "reflect",
    cval: float = 0.0,
    origin: int = 0,
) -> Any:
    """1-D convolution along ``axis``; equals ``scipy.ndimage.convolve1d``."""
    return _correlate1d(input, weights, axis, output, mode, cval, origin, convolution=True)


def _correlate1d(
    input: Any,
    weights: Any,
    axis: int,
    output: Any,
    mode: str,
    cval: float,
    origin: int,
    *,
    convolution: bool,
) -> Any:
    w = np.asarray(weights)
    if w.ndim != 1 or w.size == 0:
        raise ValueError(f"weights must be a non-empty 1-D sequence, got shape {w.shape}")
    scipy_func = ndi.convolve1d if convolution else ndi.correlate1d
    block_func = _kernels.convolve1d if convolution else _kernels.correlate1d
    shift = _kernels.convolve_origin(w.size, origin) if convolution else int(origin)
    image, kwargs, dtype, depth, rules = plan_1d(
        input,
        scipy_func,
        axis,
        output,
        mode,
        cval,
        _halo.kernel([w.size], [shift])[0],
        weights=w,
        origin=origin,
    )
    return single_pass(image, scipy_func.__name__, block_func, depth, rules, cval, dtype, **kwargs)


def correlate(
    input: Any,
    weights: Any,
    output: Any = None,
    mode: Any = "reflect",
    cval: float = 0.0,
    origin: Any = 0,
    *,
    axes: Any = None,
) -> Any:
    """Multidimensional correlation; equals ``scipy.ndimage.correlate``.

    Examples
    --------
    >>> import numpy as np, scipy.ndimage as ndi
    >>> x = np.random.default_rng(0).random((30, 20))
    >>> k = np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0.5]])
    >>> bool((correlate(x, k, mode="constant", cval=2).compute()
    ...       == ndi.correlate(x, k, mode="constant", cval=2)).all())
    True
    """
    return _correlate(input, weights, output, mode, cval, origin, axes, convolution=False)


def convolve(
    input: Any,
    weights: Any,
    output: Any = None,
    mode: Any = "reflect",
    cval: float = 0.0,
    origin: Any = 0,
    *,
    axes: Any = None,
) -> Any:
    """Multidimensional convolution; equals ``scipy.ndimage.convolve``."""
    return _correlate(input, weights, output, mode, cval, origin, axes, convolution=True)


def _correlate(
    input: Any,
    weights: Any,
    output: Any,
    mode: Any,
    cval: float,
    origin: Any,
    axes: Any,
    *,
    convolution: bool,
) -> Any:
    image = as_input(input)
    axes_t = _halo.normalize_axes(axes, image.ndim)
    w = np.asarray(weights)
    if w.ndim != len(axes_t):
        raise ValueError(
            f"weights has {w.ndim} dimensions but the filter runs over {len(axes_t)} axes"
        )
    if w.size == 0:
        raise ValueError("weights must not be empty")
    origins = per_axis(origin, len(axes_t), "origin")
    modes = per_axis(mode, len(axes_t), "mode")
    normalize_modes(modes, len(axes_t))
    scipy_func = ndi.convolve if convolution else ndi.correlate
    kwargs = dict(
        weights=w, output=check_output(output), mode=mode, cval=cval, origin=origin, axes=axes
    )
    dtype = scipy_dry_run(scipy_func, image, **kwargs)
    shifts = [
        _kernels.convolve_origin(n, o) if convolution else int(o) for n, o in zip(w.shape, origins)
    ]
    depth = _halo.along(image.ndim, axes_t, _halo.kernel(w.shape, shifts))
    rules = _rules_for(image.ndim, axes_t, modes)
    return single_pass(image, scipy_func.__name__, scipy_func, depth, rules, cval, dtype, **kwargs)


# --- uniform ------------------------------------------------------------------------------


def uniform_filter1d(
    input: Any,
    size: int,
    axis: int = -1,
    output: Any = None,
    mode: str = "reflect",
    cval: float = 0.0,
    origin: int = 0,
) -> Any:
    """1-D moving average; equals ``scipy.ndimage.uniform_filter1d``."""
    n, reach = window_reach(size, origin)
    image, kwargs, dtype, depth, rules = plan_1d(
        input, ndi.uniform_filter1d, axis, output, mode, cval, reach, size=n, origin=origin
    )
    one = [
        (ndi.uniform_filter1d, kwargs["axis"], dict(size=n, mode=mode, cval=cval, origin=origin))
    ]
    return _running_sums(image, "uniform_filter1d", one, depth, rules, cval, dtype)


def uniform_filter(
    input: Any,
    size: Any = 3,
    output: Any = None,
    mode: Any = "reflect",
    cval: float = 0.0,
    origin: Any = 0,
    *,
    axes: Any = None,
) -> Any:
    """Multidimensional moving average; equals ``scipy.ndimage.uniform_filter``.

    Examples
    --------
    >>> import numpy as np, scipy.ndimage as ndi
    >>> x = np.random.default_rng(0).random((40, 30)).astype("float32")
    >>> bool((uniform_filter(x, 11).compute() == ndi.uniform_filter(x, 11)).all())
    True
    """
    image = as_input(input)
    axes_t = _halo.normalize_axes(axes, image.ndim)
    n = len(axes_t)
    sizes = _check_size(size, n)
    origins = per_axis(origin, n, "origin")
    modes = per_axis(mode, n, "mode")
    normalize_modes(modes, n)
    dtype = scipy_dry_run(
        ndi.uniform_filter,
        image,
        size=size,
        output=check_output(output),
        mode=mode,
        cval=cval,
        origin=origin,
        axes=axes,
    )
    passes, reach = [], []
    for ax, s, o, m in zip(axes_t, sizes, origins, modes):
        if s > 1:
            passes.append((ndi.uniform_filter1d, ax, dict(size=s, mode=m, cval=cval, origin=o)))
            reach.append((ax, _halo.kernel([s], [o])[0]))
    depth = _halo.along(image.ndim, [a for a, _ in reach], [d for _, d in reach])
    return _running_sums(
        image, "uniform_filter", passes, depth, _rules_for(image.ndim, axes_t, modes), cval, dtype
    )


def _running_sums(
    image: Any,
    name: str,
    passes: list[Pass],
    depth: _halo.Depth,
    rules: Sequence[str],
    cval: Any,
    dtype: np.dtype,
) -> Any:
    """scipy's uniform_filter1d keeps a running sum along the whole line. With
    integer values the sums are exact and a halo gives scipy's result; with
    floating values the rounding depends on where the line starts, so the
    sum is carried from chunk to chunk along each line instead
    (:func:`bigimg._lines.carried_uniform`)."""
    floating = image.dtype.kind in "fc" or (len(passes) > 1 and np.dtype(dtype).kind in "fc")
    if floating:
        return apply(LineOp(name, tuple(passes), np.dtype(dtype)), image)
    return separable(image, name, passes, depth, rules, cval, dtype)


# --- gaussian -----------------------------------------------------------------------------


def gaussian_filter1d(
    input: Any,
    sigma: float,
    axis: int = -1,
    order: int = 0,
    output: Any = None,
    mode: str = "reflect",
    cval: float = 0.0,
    truncate: float = 4.0,
    *,
    radius: int | None = None,
) -> Any:
    """1-D Gaussian filter; equals ``scipy.ndimage.gaussian_filter1d``."""
    (s,) = _check_sigma(sigma, 1)
    r = _halo.gaussian_radius(s, truncate, radius)
    image, kwargs, dtype, depth, rules = plan_1d(
        input,
        ndi.gaussian_filter1d,
        axis,
        output,
        mode,
        cval,
        (r, r),
        sigma=sigma,
        order=order,
        truncate=truncate,
        radius=radius,
    )
    return single_pass(
        image, "gaussian_filter1d", _kernels.gaussian_filter1d, depth, rules, cval, dtype, **kwargs
    )


def _gaussian_plan(
    ndim: int,
    axes_t: Sequence[int],
    sigma: Any,
    order: Any,
    mode: Any,
    cval: float,
    truncate: float,
    radius: Any,
) -> tuple[list[Pass], _halo.Depth, list[str]]:
    """scipy's gaussian_filter as 1-D passes, with their reach and boundary rules."""
    n = len(axes_t)
    sigmas = _check_sigma(sigma, n)
    orders = per_axis(order, n, "order")
    modes = per_axis(mode, n, "mode")
    radii = per_axis(radius, n, "radius")
    for o in orders:
        if not isinstance(o, int | np.integer) or o < 0:
            raise ValueError(f"order={order!r} must be non-negative integers")
    normalize_modes(modes, n)
    passes, reach = [], []
    for ax, s, o, m, r in zip(axes_t, sigmas, orders, modes, radii):
        if s > 1e-15:  # scipy skips the others
            r = _halo.gaussian_radius(s, truncate, r)
            passes.append(
                (
                    _kernels.gaussian_filter1d,
                    ax,
                    dict(sigma=s, order=int(o), mode=m, cval=cval, truncate=truncate, radius=r),
                )
            )
            reach.append((ax, (r, r)))
    depth = _halo.along(ndim, [a for a, _ in reach], [d for _, d in reach])
    return passes, depth, _rules_for(ndim, axes_t, modes)


def gaussian_filter(
    input: Any,
    sigma: Any,
    order: Any = 0,
    output: Any = None,
    mode: Any = "reflect",
    cval: float = 0.0,
    truncate: float = 4.0,
    *,
    radius: Any = None,
    axes: Any = None,
) -> Any:
    """Multidimensional Gaussian filter; equals ``scipy.ndimage.gaussian_filter``.

    Parameters
    ----------
    input : dask.array.Array or array_like
        The image (numpy arrays are wrapped into dask arrays).
    sigma : scalar or sequence of scalars
        Standard deviation of the kernel, per filtered axis.
    order : int or sequence of ints, optional
        Derivative order per axis (0 smooths).
    output : dtype, optional
        dtype of the result (default: the input's).
    mode : str or sequence of str, optional
        scipy's boundary modes, one or one per filtered axis; applied at the
        border of the whole array, never at chunk borders.
    cval : scalar, optional
        Value past the border for 'constant'.
    truncate : float, optional
        Kernel radius in sigmas.
    radius : int or sequence of ints, optional, keyword-only
        Kernel radius, overriding ``truncate``.
    axes : int or tuple of int, optional, keyword-only
        Axes to filter (default all).

    Returns
    -------
    dask.array.Array
        Lazy result with the input's chunks.

    Examples
    --------
    >>> import numpy as np, dask.array as da, scipy.ndimage as ndi
    >>> x = np.random.default_rng(0).random((64, 64))
    >>> y = gaussian_filter(da.from_array(x, chunks=20), sigma=3, mode="wrap")
    >>> bool((y.compute() == ndi.gaussian_filter(x, 3, mode="wrap")).all())
    True
    """
    image = as_input(input)
    axes_t = _halo.normalize_axes(axes, image.ndim)
    passes, depth, rules = _gaussian_plan(
        image.ndim, axes_t, sigma, order, mode, cval, truncate, radius
    )
    dtype = scipy_dry_run(
        ndi.gaussian_filter,
        image,
        sigma,
        order=order,
        output=check_output(output),
        mode=mode,
        cval=cval,
        truncate=truncate,
        radius=radius,
        axes=axes,
    )
    return separable(image, "gaussian_filter", passes, depth, rules, cval, dtype)


# --- derivatives --------------------------------------------------------------------------


def _derivative_passes(
    ndim: int,
    axis: int,
    smooth: Sequence[float],
    mode: Any,
    cval: float,
) -> tuple[list[Pass], list[str]]:
    """sobel / prewitt: difference along ``axis``, then smoothing along the others."""
    modes = per_axis(mode, ndim, "mode")
    normalize_modes(modes, ndim)
    passes: list[Pass] = [
        (
            _kernels.correlate1d,
            axis,
            dict(weights=[-1, 0, 1], mode=modes[axis], cval=cval, origin=0),
        )
    ]
    for ii in range(ndim):
        if ii != axis:
            passes.append(
                (
                    _kernels.correlate1d,
                    ii,
                    dict(weights=list(smooth), mode=modes[ii], cval=cval, origin=0),
                )
            )
    return passes, _rules_for(ndim, range(ndim), modes)


def _edge(
    name: str, smooth: Sequence[float], scipy_func: Callable[..., Any]
) -> Callable[..., Any]:
    def edge(
        input: Any, axis: int = -1, output: Any = None, mode: Any = "reflect", cval: float = 0.0
    ) -> Any:
        image = as_input(input)
        ax = _axis(axis, image.ndim)
        passes, rules = _derivative_passes(image.ndim, ax, smooth, mode, cval)
        dtype = scipy_dry_run(
            scipy_func, image, axis=axis, output=check_output(output), mode=mode, cval=cval
        )
        return separable(image, name, passes, _halo.radius([1] * image.ndim), rules, cval, dtype)

    edge.__name__ = edge.__qualname__ = name
    edge.__doc__ = f"""{name.capitalize()} derivative along ``axis``; equals scipy's ``{name}``.

    Examples
    --------
    >>> import numpy as np, scipy.ndimage as ndi
    >>> x = np.random.default_rng(0).random((30, 20))
    >>> bool(({name}(x, axis=0, mode="constant").compute()
    ...       == ndi.{name}(x, axis=0, mode="constant")).all())
    True
    """
    return edge


sobel = _edge("sobel", (1, 2, 1), ndi.sobel)
prewitt = _edge("prewitt", (1, 1, 1), ndi.prewitt)


def laplace(
    input: Any, output: Any = None, mode: Any = "reflect", cval: float = 0.0, *, axes: Any = None
) -> Any:
    """Laplace filter from second differences; equals ``scipy.ndimage.laplace``."""
    image = as_input(input)
    axes_t = _halo.normalize_axes(axes, image.ndim)
    modes = per_axis(mode, len(axes_t), "mode")
    normalize_modes(modes, len(axes_t))
    kwargs = dict(output=check_output(output), mode=mode, cval=cval, axes=axes)
    dtype = scipy_dry_run(ndi.laplace, image, **kwargs)
    # every term reads the input once: a single pass, whatever the mode
    depth = _halo.along(image.ndim, axes_t, [(1, 1)] * len(axes_t))
    return single_pass(
        image,
        "laplace",
        ndi.laplace,
        depth,
        _rules_for(image.ndim, axes_t, modes),
        cval,
        dtype,
        **kwargs,
    )


def _gaussian_derivative(
    input: np.ndarray,
    axis: int,
    output: Any,
    mode: str,
    cval: float,
    sigma: Sequence[float],
    *,
    frame: Frame,
    order: int,
    truncate: float = 4.0,
    radius: Any = None,
) -> np.ndarray:
    """scipy's derivative callback of gaussian_laplace / _gradient_magnitude, exact on a
    block: the term's own mode on every axis, re-extended before each pass."""
    ndim = input.ndim
    orders = [0] * ndim
    orders[axis] = order
    passes, _, rules = _gaussian_plan(
        ndim, range(ndim), sigma, orders, mode, cval, truncate, radius
    )
    dtype = output.dtype if isinstance(output, np.ndarray) else np.dtype(output)
    term = Frame(frame.axes, tuple(rules), cval)
    reached = tuple(ax for _, ax, _ in passes)
    result = run_passes(
        term.refill(input.copy(), axes=reached), frame=term, passes=tuple(passes), dtype=dtype
    )
    if isinstance(output, np.ndarray):
        output[...] = result
        return output
    return result


def _gaussian_terms(
    block: np.ndarray,
    *,
    frame: Frame,
    combine: Callable[..., Any],
    order: int,
    kwargs: dict,
    extra: dict,
) -> np.ndarray:
    derivative = functools.partial(_gaussian_derivative, frame=frame, order=order)
    return combine(block, derivative, **kwargs, extra_keywords=extra)


def _gaussian_combination(
    name: str, combine: Callable[..., Any], order: int, scipy_func: Callable[..., Any]
) -> Callable[..., Any]:
    def filt(
        input: Any,
        sigma: Any,
        output: Any = None,
        mode: Any = "reflect",
        cval: float = 0.0,
        *,
        axes: Any = None,
        **kwargs: Any,
    ) -> Any:
        image = as_input(input)
        axes_t = _halo.normalize_axes(axes, image.ndim)
        n = len(axes_t)
        sigmas = _check_sigma(sigma, n)
        modes = per_axis(mode, n, "mode")
        normalize_modes(modes, n)
        unknown = set(kwargs) - {"truncate", "radius"}
        if unknown:
            raise TypeError(f"{name}() got unexpected keyword arguments {sorted(unknown)}")
        out_dtype = check_output(output)
        dtype = scipy_dry_run(
            scipy_func, image, sigma, output=out_dtype, mode=mode, cval=cval, axes=axes, **kwargs
        )
        full = [0.0] * image.ndim  # scipy: sigma 0 on the axes not filtered
        for ax, s in zip(axes_t, sigmas):
            full[ax] = s
        _, depth, _ = _gaussian_plan(
            image.ndim,
            range(image.ndim),
            full,
            0,
            "reflect",
            cval,
            kwargs.get("truncate", 4.0),
            kwargs.get("radius"),
        )
        # each term uses its own mode on every axis: gather 'wrap' where any term wraps,
        # the other rules are rebuilt from inside pixels by each term's refill
        wraps = "wrap" in normalize_modes(modes, n)
        rules = ["wrap" if wraps else "reflect"] * image.ndim
        func = functools.partial(
            _gaussian_terms,
            combine=combine,
            order=order,
            extra=kwargs,
            kwargs=dict(output=dtype, mode=mode, cval=cval, extra_arguments=(full,), axes=axes),
        )
        return local(
            image,
            name,
            func,
            depth,
            rules,
            cval,
            dtype,
            (name, full, mode, cval, axes, kwargs, str(out_dtype)),
        )

    filt.__name__ = filt.__qualname__ = name
    filt.__doc__ = f"""Equals ``scipy.ndimage.{name}`` for every chunking and mode.

    Examples
    --------
    >>> import numpy as np, scipy.ndimage as ndi
    >>> x = np.random.default_rng(0).random((40, 30))
    >>> bool(({name}(x, 2, mode="nearest").compute()
    ...       == ndi.{name}(x, 2, mode="nearest")).all())
    True
    """
    return filt


gaussian_laplace = _gaussian_combination(
    "gaussian_laplace", ndi.generic_laplace, 2, ndi.gaussian_laplace
)
gaussian_gradient_magnitude = _gaussian_combination(
    "gaussian_gradient_magnitude",
    ndi.generic_gradient_magnitude,
    1,
    ndi.gaussian_gradient_magnitude,
)


def _generic_derivative(
    image: Any,
    name: str,
    scipy_func: Callable[..., Any],
    derivative: Callable[..., Any],
    output: Any,
    mode: Any,
    cval: float,
    extra_arguments: Sequence[Any],
    extra_keywords: dict | None,
    axes: Any,
    depth: Any,
) -> Any:
    image = as_input(image)
    axes_t = _halo.normalize_axes(axes, image.ndim)
    if depth is None:
        raise TypeError(
            f"{name} needs depth=: how many pixels the derivative callable reaches along "
            "each axis (e.g. depth=1 for sobel); bigimg cannot see inside a Python callable"
        )
    reach = per_axis(depth, image.ndim, "depth")
    if not all(isinstance(d, int | np.integer) and d >= 0 for d in reach):
        raise ValueError(f"depth={depth!r} must be non-negative integers")
    modes = per_axis(mode, len(axes_t), "mode")
    normalize_modes(modes, len(axes_t))
    kwargs = dict(
        output=check_output(output),
        mode=mode,
        cval=cval,
        extra_arguments=tuple(extra_arguments),
        extra_keywords=extra_keywords,
        axes=axes,
    )
    dtype = scipy_dry_run(scipy_func, image, derivative, **kwargs)
    kwargs["output"] = dtype
    func = functools.partial(call_scipy, func=Positional(scipy_func, (derivative,)), kwargs=kwargs)
    return local(
        image,
        name,
        func,
        _halo.radius(reach),
        _rules_for(image.ndim, axes_t, modes),
        cval,
        dtype,
        (name, derivative, kwargs),
    )


_GENERIC_NOTE = """
    ``depth`` (keyword-only, bigimg's addition) is how many pixels the
    derivative callable reads on each side along each axis: bigimg cannot see
    inside a Python callable. The callable runs on halo-extended blocks, so
    results equal scipy's when it makes a single pass over its input (like
    ``correlate1d``) or ``mode`` is not 'constant'. For multi-pass derivatives
    with 'constant', use :func:`gaussian_laplace` /
    :func:`gaussian_gradient_magnitude`, or compose exact steps with
    :func:`bigimg.ndimage.fused`.
"""


def generic_laplace(
    input: Any,
    derivative2: Callable[..., Any],
    output: Any = None,
    mode: Any = "reflect",
    cval: float = 0.0,
    extra_arguments: Sequence[Any] = (),
    extra_keywords: dict | None = None,
    *,
    axes: Any = None,
    depth: Any = None,
) -> Any:
    return _generic_derivative(
        input,
        "generic_laplace",
        ndi.generic_laplace,
        derivative2,
        output,
        mode,
        cval,
        extra_arguments,
        extra_keywords,
        axes,
        depth,
    )


generic_laplace.__doc__ = (
    """N-D Laplace filter from a user's second derivative; equals
    ``scipy.ndimage.generic_laplace``.
"""
    + _GENERIC_NOTE
    + """
    Examples
    --------
    >>> import numpy as np, scipy.ndimage as ndi
    >>> x = np.random.default_rng(0).random((30, 20))
    >>> d2 = lambda i, ax, out, mode, cval: ndi.correlate1d(i, [1, -2, 1], ax, out, mode, cval)
    >>> bool((generic_laplace(x, d2, depth=1).compute() == ndi.generic_laplace(x, d2)).all())
    True
"""
)


def generic_gradient_magnitude(
    input: Any,
    derivative: Callable[..., Any],
    output: Any = None,
    mode: Any = "reflect",
    cval: float = 0.0,
    extra_arguments: Sequence[Any] = (),
    extra_keywords: dict | None = None,
    *,
    axes: Any = None,
    depth: Any = None,
) -> Any:
    return _generic_derivative(
        input,
        "generic_gradient_magnitude",
        ndi.generic_gradient_magnitude,
        derivative,
        output,
        mode,
        cval,
        extra_arguments,
        extra_keywords,
        axes,
        depth,
    )


generic_gradient_magnitude.__doc__ = (
    """Gradient magnitude from a user's derivative; equals
    ``scipy.ndimage.generic_gradient_magnitude``.
"""
    + _GENERIC_NOTE
    + """
    Examples
    --------
    >>> import numpy as np, scipy.ndimage as ndi
    >>> x = np.random.default_rng(0).random((30, 20))
    >>> bool((generic_gradient_magnitude(x, ndi.sobel, depth=1).compute()
    ...       == ndi.generic_gradient_magnitude(x, ndi.sobel)).all())
    True
"""
)
