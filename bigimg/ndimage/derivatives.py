"""Derivative filters of scipy.ndimage on dask arrays: sobel, prewitt,
laplace, the gaussian derivatives and the generic ones.

Each is a chain of scipy's 1-D passes run on halo-extended blocks, in
scipy's order, so results are identical to scipy's for every chunking and
mode (:mod:`bigimg.ndimage.filter_passes`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import scipy.ndimage as ndi

from bigimg import _halo, _kernels
from bigimg._halo import as_input
from bigimg._kernels import normalize_modes
from bigimg._validation import check_output, per_axis, scipy_dry_run
from bigimg.ndimage.filter_passes import (
    Pass,
    Positional,
    call_scipy,
    check_axis,
    local,
    rules_for,
    separable,
    single_pass,
)

__all__ = [
    "generic_gradient_magnitude",
    "generic_laplace",
    "laplace",
    "prewitt",
    "sobel",
]

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
    return passes, rules_for(ndim, range(ndim), modes)


def _edge(
    input: Any,
    axis: int,
    output: Any,
    mode: Any,
    cval: float,
    *,
    name: str,
    smooth: Sequence[float],
    scipy_func: Callable[..., Any],
) -> Any:
    """sobel / prewitt: scipy's 1-D passes on blocks extended by one pixel."""
    image = as_input(input)
    ax = check_axis(axis, image.ndim)
    passes, rules = _derivative_passes(image.ndim, ax, smooth, mode, cval)
    dtype = scipy_dry_run(
        scipy_func, image, axis=axis, output=check_output(output), mode=mode, cval=cval
    )
    return separable(image, name, passes, _halo.radius([1] * image.ndim), rules, cval, dtype)


def sobel(
    input: Any, axis: int = -1, output: Any = None, mode: Any = "reflect", cval: float = 0.0
) -> Any:
    """Sobel derivative along ``axis``, equal to ``scipy.ndimage.sobel``.

    As in scipy: the difference ``[-1, 0, 1]`` along ``axis``, then the
    smoothing ``[1, 2, 1]`` along every other axis in axis order, each
    intermediate stored in the result dtype. The passes run on blocks
    extended by one pixel, re-extended past the array border by each pass's
    mode, so results are identical to scipy's for every chunking and mode.

    Parameters
    ----------
    input : array_like or dask.array.Array
        The image (numpy arrays are wrapped into dask arrays).
    axis : int, optional
        The axis of ``input`` along which to differentiate. Default is -1.
    output : dtype, optional
        dtype of the result (default: the input's). Unlike scipy, an output
        array is refused: the result is lazy.
    mode : str or sequence of str, optional
        How the input is extended past its border, as in scipy: 'reflect'
        (default), 'constant', 'nearest', 'mirror', 'wrap', or the synonyms
        'grid-mirror', 'grid-constant', 'grid-wrap'; a sequence gives one
        per axis of the input. Applied at the border of the whole array,
        never at chunk borders.
    cval : scalar, optional
        Value past the border when ``mode`` is 'constant'. Default is 0.0.

    Returns
    -------
    dask.array.Array
        The derivative, lazy, with the input's shape and chunks and scipy's
        result dtype.

    Raises
    ------
    TypeError
        If ``output`` is an array.
    ValueError
        If ``axis`` is out of range or a ``mode`` sequence does not have one
        entry per axis (and for what scipy refuses).

    See Also
    --------
    prewitt : The same with ``[1, 1, 1]`` smoothing.
    generic_gradient_magnitude : Combines the derivatives along every axis.

    Examples
    --------
    >>> import numpy as np, scipy.ndimage as ndi
    >>> x = np.random.default_rng(0).random((30, 20))
    >>> bool((sobel(x, axis=0, mode="constant").compute()
    ...       == ndi.sobel(x, axis=0, mode="constant")).all())
    True
    """
    return _edge(
        input, axis, output, mode, cval, name="sobel", smooth=(1, 2, 1), scipy_func=ndi.sobel
    )


def prewitt(
    input: Any, axis: int = -1, output: Any = None, mode: Any = "reflect", cval: float = 0.0
) -> Any:
    """Prewitt derivative along ``axis``, equal to ``scipy.ndimage.prewitt``.

    As in scipy: the difference ``[-1, 0, 1]`` along ``axis``, then the
    smoothing ``[1, 1, 1]`` along every other axis in axis order, each
    intermediate stored in the result dtype. The passes run on blocks
    extended by one pixel, re-extended past the array border by each pass's
    mode, so results are identical to scipy's for every chunking and mode.

    Parameters
    ----------
    input : array_like or dask.array.Array
        The image (numpy arrays are wrapped into dask arrays).
    axis : int, optional
        The axis of ``input`` along which to differentiate. Default is -1.
    output : dtype, optional
        dtype of the result (default: the input's). Unlike scipy, an output
        array is refused: the result is lazy.
    mode : str or sequence of str, optional
        How the input is extended past its border, as in scipy: 'reflect'
        (default), 'constant', 'nearest', 'mirror', 'wrap', or the synonyms
        'grid-mirror', 'grid-constant', 'grid-wrap'; a sequence gives one
        per axis of the input. Applied at the border of the whole array,
        never at chunk borders.
    cval : scalar, optional
        Value past the border when ``mode`` is 'constant'. Default is 0.0.

    Returns
    -------
    dask.array.Array
        The derivative, lazy, with the input's shape and chunks and scipy's
        result dtype.

    Raises
    ------
    TypeError
        If ``output`` is an array.
    ValueError
        If ``axis`` is out of range or a ``mode`` sequence does not have one
        entry per axis (and for what scipy refuses).

    See Also
    --------
    sobel : The same with ``[1, 2, 1]`` smoothing.

    Examples
    --------
    >>> import numpy as np, dask.array as da, scipy.ndimage as ndi
    >>> x = np.random.default_rng(0).random((30, 20))
    >>> y = prewitt(da.from_array(x, chunks=7), axis=1, mode=("wrap", "nearest"))
    >>> bool((y.compute() == ndi.prewitt(x, axis=1, mode=("wrap", "nearest"))).all())
    True
    """
    return _edge(
        input, axis, output, mode, cval, name="prewitt", smooth=(1, 1, 1), scipy_func=ndi.prewitt
    )


def laplace(
    input: Any, output: Any = None, mode: Any = "reflect", cval: float = 0.0, *, axes: Any = None
) -> Any:
    """Laplace filter from second differences, equal to ``scipy.ndimage.laplace``.

    The sum over the filtered axes of the second differences
    ``[1, -2, 1]``. Every term reads the input once, so scipy's ``laplace``
    itself runs on blocks extended by one pixel along the filtered axes:
    results are identical to scipy's for every chunking and mode.

    Parameters
    ----------
    input : array_like or dask.array.Array
        The image (numpy arrays are wrapped into dask arrays).
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
        Axes to filter (default: all). A ``mode`` sequence must have one
        entry per axis in ``axes``.

    Returns
    -------
    dask.array.Array
        The Laplacian, lazy, with the input's shape and chunks and scipy's
        result dtype.

    Raises
    ------
    TypeError
        If ``output`` is an array.
    ValueError
        If ``axes`` is out of range or a ``mode`` sequence has the wrong
        length (and for what scipy refuses).

    See Also
    --------
    generic_laplace : With a user's second derivative.
    gaussian_laplace : With Gaussian second derivatives.

    Examples
    --------
    >>> import numpy as np, dask.array as da, scipy.ndimage as ndi
    >>> x = np.random.default_rng(0).random((30, 20, 10))
    >>> y = laplace(da.from_array(x, chunks=8), mode="mirror", axes=(0, 1))
    >>> bool((y.compute() == ndi.laplace(x, mode="mirror", axes=(0, 1))).all())
    True
    """
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
        rules_for(image.ndim, axes_t, modes),
        cval,
        dtype,
        **kwargs,
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
        rules_for(image.ndim, axes_t, modes),
        cval,
        dtype,
        (name, derivative, kwargs),
    )


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
    """Generic Laplace filter, equal to ``scipy.ndimage.generic_laplace``.

    The sum over the filtered axes of a user's second derivative
    ``derivative2`` along each axis. scipy's ``generic_laplace`` itself runs
    on blocks extended by ``depth`` pixels. bigimg cannot see inside a
    Python callable, so ``depth`` (bigimg's addition) says how far it reads.
    Results equal scipy's when the callable makes a single pass over its
    input (like ``correlate1d``) or ``mode`` is not 'constant'. For
    multi-pass derivatives with 'constant', use :func:`gaussian_laplace`, or
    compose exact steps with :func:`bigimg.ndimage.fused`.

    Parameters
    ----------
    input : array_like or dask.array.Array
        The image (numpy arrays are wrapped into dask arrays).
    derivative2 : callable
        Second derivative along one axis, called by scipy as
        ``derivative2(input, axis, output, mode, cval, *extra_arguments,
        **extra_keywords)`` on each extended block.
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
    extra_arguments : sequence, optional
        Extra positional arguments passed to ``derivative2``.
    extra_keywords : dict, optional
        Extra keyword arguments passed to ``derivative2``.
    axes : int or tuple of int, optional, keyword-only
        Axes to filter (default: all). A ``mode`` sequence must have one
        entry per axis in ``axes``.
    depth : int or sequence of ints, keyword-only
        Required (bigimg's addition): how many pixels ``derivative2`` reads
        on each side, one for every axis or one per axis of the input
        (e.g. 1 for ``[1, -2, 1]``).

    Returns
    -------
    dask.array.Array
        The Laplacian, lazy, with the input's shape and chunks and scipy's
        result dtype.

    Raises
    ------
    TypeError
        If ``depth`` is not given or ``output`` is an array.
    ValueError
        If ``depth`` is not non-negative integers, ``axes`` is out of range
        or a per-axis sequence has the wrong length (and for what scipy
        refuses).

    See Also
    --------
    laplace : With ``[1, -2, 1]`` second differences.
    gaussian_laplace : With Gaussian second derivatives, exact in every mode.

    Examples
    --------
    >>> import numpy as np, scipy.ndimage as ndi
    >>> x = np.random.default_rng(0).random((30, 20))
    >>> d2 = lambda i, ax, out, mode, cval: ndi.correlate1d(i, [1, -2, 1], ax, out, mode, cval)
    >>> bool((generic_laplace(x, d2, depth=1).compute() == ndi.generic_laplace(x, d2)).all())
    True
    """
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
    """Generic gradient magnitude, equal to ``scipy.ndimage.generic_gradient_magnitude``.

    The square root of the sum over the filtered axes of the squared
    ``derivative`` along each axis. scipy's ``generic_gradient_magnitude``
    itself runs on blocks extended by ``depth`` pixels. bigimg cannot see
    inside a Python callable, so ``depth`` (bigimg's addition) says how far
    it reads. Results equal scipy's when the callable makes a single pass
    over its input (like ``correlate1d``) or ``mode`` is not 'constant'. For
    multi-pass derivatives with 'constant', use
    :func:`gaussian_gradient_magnitude`, or compose exact steps with
    :func:`bigimg.ndimage.fused`.

    Parameters
    ----------
    input : array_like or dask.array.Array
        The image (numpy arrays are wrapped into dask arrays).
    derivative : callable
        Derivative along one axis, called by scipy as ``derivative(input,
        axis, output, mode, cval, *extra_arguments, **extra_keywords)`` on
        each extended block.
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
    extra_arguments : sequence, optional
        Extra positional arguments passed to ``derivative``.
    extra_keywords : dict, optional
        Extra keyword arguments passed to ``derivative``.
    axes : int or tuple of int, optional, keyword-only
        Axes to filter (default: all). A ``mode`` sequence must have one
        entry per axis in ``axes``.
    depth : int or sequence of ints, keyword-only
        Required (bigimg's addition): how many pixels ``derivative`` reads
        on each side, one for every axis or one per axis of the input
        (e.g. 1 for :func:`scipy.ndimage.sobel`).

    Returns
    -------
    dask.array.Array
        The gradient magnitude, lazy, with the input's shape and chunks and
        scipy's result dtype.

    Raises
    ------
    TypeError
        If ``depth`` is not given or ``output`` is an array.
    ValueError
        If ``depth`` is not non-negative integers, ``axes`` is out of range
        or a per-axis sequence has the wrong length (and for what scipy
        refuses).

    See Also
    --------
    gaussian_gradient_magnitude : With Gaussian derivatives, exact in every mode.

    Examples
    --------
    >>> import numpy as np, scipy.ndimage as ndi
    >>> x = np.random.default_rng(0).random((30, 20))
    >>> bool((generic_gradient_magnitude(x, ndi.sobel, depth=1).compute()
    ...       == ndi.generic_gradient_magnitude(x, ndi.sobel)).all())
    True
    """
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
