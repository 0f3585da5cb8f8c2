"""Gaussian derivative filters of scipy.ndimage on dask arrays:
``gaussian_laplace`` and ``gaussian_gradient_magnitude``.

scipy builds them from ``gaussian_filter`` with one derivative order per
axis; here the same 1-D passes run on halo-extended blocks in scipy's order
and are combined as scipy combines them, so results are identical.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import scipy.ndimage as ndi

from bigimg import _halo
from bigimg._halo import Frame, as_input
from bigimg._kernels import normalize_modes
from bigimg._validation import check_output, per_axis, scipy_dry_run
from bigimg.ndimage.filter_passes import (
    check_sigma,
    local,
    run_passes,
)
from bigimg.ndimage.filters import gaussian_plan

__all__ = [
    "gaussian_gradient_magnitude",
    "gaussian_laplace",
]


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
    passes, _, rules = gaussian_plan(
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
    input: Any,
    sigma: Any,
    output: Any,
    mode: Any,
    cval: float,
    axes: Any,
    kwargs: dict[str, Any],
    *,
    name: str,
    combine: Callable[..., Any],
    order: int,
    scipy_func: Callable[..., Any],
) -> Any:
    """gaussian_laplace / _gradient_magnitude: scipy's ``combine`` on extended blocks, with
    an exact gaussian derivative (order ``order``) as its callback."""
    image = as_input(input)
    axes_t = _halo.normalize_axes(axes, image.ndim)
    n = len(axes_t)
    sigmas = check_sigma(sigma, n)
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
    _, depth, _ = gaussian_plan(
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


def gaussian_laplace(
    input: Any,
    sigma: Any,
    output: Any = None,
    mode: Any = "reflect",
    cval: float = 0.0,
    *,
    axes: Any = None,
    **kwargs: Any,
) -> Any:
    """Laplacian of Gaussian, equal to ``scipy.ndimage.gaussian_laplace``.

    As in scipy: the sum over the filtered axes of the Gaussian filter of
    ``sigma`` with derivative order 2 along that axis (sigma 0 on the axes
    not filtered). Every term runs scipy's 1-D passes in scipy's order on
    blocks extended by the kernels' radii, each pass re-extended past the
    array border by the term's mode, and the terms are added as scipy adds
    them: results are identical to scipy's for every chunking and mode.

    Parameters
    ----------
    input : array_like or dask.array.Array
        The image (numpy arrays are wrapped into dask arrays).
    sigma : scalar or sequence of scalars
        Standard deviation of the Gaussian, one for every filtered axis or
        one per axis (non-negative).
    output : dtype, optional
        dtype of the result (default: the input's). Unlike scipy, an output
        array is refused: the result is lazy.
    mode : str or sequence of str, optional
        How the input is extended past its border, as in scipy: 'reflect'
        (default), 'constant', 'nearest', 'mirror', 'wrap', or the synonyms
        'grid-mirror', 'grid-constant', 'grid-wrap'; a sequence gives one
        per filtered axis. Applied at the border of the whole array, never
        at chunk borders.
    cval : scalar, optional
        Value past the border when ``mode`` is 'constant'. Default is 0.0.
    axes : int or tuple of int, optional, keyword-only
        Axes to filter (default: all). Sequences given for ``sigma`` and
        ``mode`` must have one entry per axis in ``axes``.
    **kwargs
        Passed to :func:`gaussian_filter` as in scipy: ``truncate`` and
        ``radius`` (bigimg accepts only these two).

    Returns
    -------
    dask.array.Array
        The Laplacian of Gaussian, lazy, with the input's shape and chunks
        and scipy's result dtype.

    Raises
    ------
    TypeError
        If ``output`` is an array or ``kwargs`` holds other keywords than
        ``truncate`` and ``radius``.
    ValueError
        If a sigma is negative, a per-axis sequence has the wrong length, or
        ``axes`` is out of range (and for what scipy refuses).

    See Also
    --------
    gaussian_filter : The Gaussian passes.
    laplace, generic_laplace : Other second derivatives.

    Examples
    --------
    >>> import numpy as np, scipy.ndimage as ndi
    >>> x = np.random.default_rng(0).random((40, 30))
    >>> bool((gaussian_laplace(x, 2, mode="nearest").compute()
    ...       == ndi.gaussian_laplace(x, 2, mode="nearest")).all())
    True
    """
    return _gaussian_combination(
        input,
        sigma,
        output,
        mode,
        cval,
        axes,
        kwargs,
        name="gaussian_laplace",
        combine=ndi.generic_laplace,
        order=2,
        scipy_func=ndi.gaussian_laplace,
    )


def gaussian_gradient_magnitude(
    input: Any,
    sigma: Any,
    output: Any = None,
    mode: Any = "reflect",
    cval: float = 0.0,
    *,
    axes: Any = None,
    **kwargs: Any,
) -> Any:
    """Gaussian gradient magnitude, equal to ``scipy.ndimage.gaussian_gradient_magnitude``.

    As in scipy: the square root of the sum over the filtered axes of the
    squared Gaussian filter of ``sigma`` with derivative order 1 along that
    axis (sigma 0 on the axes not filtered). Every term runs scipy's 1-D
    passes in scipy's order on blocks extended by the kernels' radii, each
    pass re-extended past the array border by the term's mode, and the terms
    are combined as scipy combines them: results are identical to scipy's
    for every chunking and mode.

    Parameters
    ----------
    input : array_like or dask.array.Array
        The image (numpy arrays are wrapped into dask arrays).
    sigma : scalar or sequence of scalars
        Standard deviation of the Gaussian, one for every filtered axis or
        one per axis (non-negative).
    output : dtype, optional
        dtype of the result (default: the input's). Unlike scipy, an output
        array is refused: the result is lazy.
    mode : str or sequence of str, optional
        How the input is extended past its border, as in scipy: 'reflect'
        (default), 'constant', 'nearest', 'mirror', 'wrap', or the synonyms
        'grid-mirror', 'grid-constant', 'grid-wrap'; a sequence gives one
        per filtered axis. Applied at the border of the whole array, never
        at chunk borders.
    cval : scalar, optional
        Value past the border when ``mode`` is 'constant'. Default is 0.0.
    axes : int or tuple of int, optional, keyword-only
        Axes to filter (default: all). Sequences given for ``sigma`` and
        ``mode`` must have one entry per axis in ``axes``.
    **kwargs
        Passed to :func:`gaussian_filter` as in scipy: ``truncate`` and
        ``radius`` (bigimg accepts only these two).

    Returns
    -------
    dask.array.Array
        The gradient magnitude, lazy, with the input's shape and chunks and
        scipy's result dtype.

    Raises
    ------
    TypeError
        If ``output`` is an array or ``kwargs`` holds other keywords than
        ``truncate`` and ``radius``.
    ValueError
        If a sigma is negative, a per-axis sequence has the wrong length, or
        ``axes`` is out of range (and for what scipy refuses).

    See Also
    --------
    gaussian_filter : The Gaussian passes.
    generic_gradient_magnitude : With a user's derivative.

    Examples
    --------
    >>> import numpy as np, dask.array as da, scipy.ndimage as ndi
    >>> x = np.random.default_rng(0).random((40, 30))
    >>> y = gaussian_gradient_magnitude(da.from_array(x, chunks=12), 2, mode="constant")
    >>> bool((y.compute() == ndi.gaussian_gradient_magnitude(x, 2, mode="constant")).all())
    True
    """
    return _gaussian_combination(
        input,
        sigma,
        output,
        mode,
        cval,
        axes,
        kwargs,
        name="gaussian_gradient_magnitude",
        combine=ndi.generic_gradient_magnitude,
        order=1,
        scipy_func=ndi.gaussian_gradient_magnitude,
    )
