"""Linear and derivative filters of scipy.ndimage on dask arrays.

Each function validates its arguments (bigimg's checks, then scipy's own on a
tiny array), declares its reach with :mod:`bigimg._halo` and hands a block
function to :func:`bigimg._halo.fusion.apply`. Block functions call scipy itself on
the halo-extended block; separable filters run scipy's 1-D passes in scipy's
order with :meth:`~bigimg._halo.Frame.refill` between passes, which is how
scipy extends each pass's input on the whole array. Results are therefore
identical to scipy's for every chunking and mode.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.ndimage as ndi

from bigimg import _halo, _kernels
from bigimg._halo import LineOp, apply, as_input
from bigimg._kernels import normalize_modes
from bigimg._validation import check_output, per_axis, scipy_dry_run
from bigimg.ndimage.filter_passes import (
    Pass,
    check_sigma,
    check_size,
    plan_1d,
    rules_for,
    separable,
    single_pass,
    window_reach,
)

__all__ = [
    "gaussian_filter",
    "gaussian_filter1d",
    "uniform_filter",
    "uniform_filter1d",
]

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
    """1-D moving average along ``axis``, equal to ``scipy.ndimage.uniform_filter1d``.

    Each output is the mean of the ``size`` inputs in the window around it.
    For integer images the window sums are exact and a halo of the window's
    reach gives scipy's result. For floating images scipy keeps one running
    double sum per line, whose rounding depends on where the line starts;
    bigimg replays that sum chunk by chunk along the line (one small vector
    per chunk travels along ``axis``, the data stays in its chunks), so the
    result is bit-identical to scipy's for every chunking.

    Parameters
    ----------
    input : array_like or dask.array.Array
        The image (numpy arrays are wrapped into dask arrays).
    size : int
        Length of the window (positive).
    axis : int, optional
        The axis of ``input`` along which to filter. Default is -1.
    output : dtype, optional
        dtype of the result (default: the input's). Unlike scipy, an output
        array is refused: the result is lazy.
    mode : str, optional
        How the input is extended past its border, as in scipy: 'reflect'
        (default), 'constant', 'nearest', 'mirror', 'wrap', or the synonyms
        'grid-mirror', 'grid-constant', 'grid-wrap'. Applied at the border of
        the whole array, never at chunk borders.
    cval : scalar, optional
        Value past the border when ``mode`` is 'constant'. Default is 0.0.
    origin : int, optional
        Placement of the window: 0 (default) centres it on the pixel,
        positive values shift it to the left, negative ones to the right.

    Returns
    -------
    dask.array.Array
        The filtered image, lazy, with the input's shape and chunks and
        scipy's result dtype.

    Raises
    ------
    TypeError
        If ``output`` is an array.
    ValueError
        If ``size`` is not a positive integer, ``axis`` is out of range or
        ``mode`` is not a single mode name (and for what scipy refuses).

    See Also
    --------
    uniform_filter : The same window along several axes.

    Examples
    --------
    >>> import numpy as np, dask.array as da, scipy.ndimage as ndi
    >>> x = np.random.default_rng(0).random((40, 30))
    >>> y = uniform_filter1d(da.from_array(x, chunks=7), 5, axis=0, mode="wrap")
    >>> bool((y.compute() == ndi.uniform_filter1d(x, 5, axis=0, mode="wrap")).all())
    True
    """
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
    """Multidimensional moving average, equal to ``scipy.ndimage.uniform_filter``.

    As in scipy, a sequence of 1-D moving averages (:func:`uniform_filter1d`),
    one per filtered axis in axis order, each intermediate stored in the
    result dtype; axes with ``size`` 1 are skipped. With integer values
    throughout the window sums are exact and one halo pass gives scipy's
    result; with floating values (input, or intermediates of several passes)
    scipy's running sums are carried from chunk to chunk along each line, so
    results are bit-identical to scipy's for every chunking.

    Parameters
    ----------
    input : array_like or dask.array.Array
        The image (numpy arrays are wrapped into dask arrays).
    size : int or sequence of ints, optional
        Window length, one for every filtered axis or one per axis.
        Default is 3.
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
    origin : int or sequence of ints, optional
        Placement of the window, one or one per filtered axis: 0 (default)
        centres it, positive values shift it to the left.
    axes : int or tuple of int, optional, keyword-only
        Axes to filter (default: all). Sequences given for ``size``,
        ``origin`` and ``mode`` must have one entry per axis in ``axes``.

    Returns
    -------
    dask.array.Array
        The filtered image, lazy, with the input's shape and chunks and
        scipy's result dtype.

    Raises
    ------
    TypeError
        If ``output`` is an array.
    ValueError
        If a size is not a positive integer, a per-axis sequence has the
        wrong length, or ``axes`` is out of range (and for what scipy
        refuses).

    See Also
    --------
    uniform_filter1d : One axis.

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
    sizes = check_size(size, n)
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
        image, "uniform_filter", passes, depth, rules_for(image.ndim, axes_t, modes), cval, dtype
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
    (:func:`bigimg._halo.lines.carried_uniform`)."""
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
    """1-D Gaussian filter along ``axis``, equal to ``scipy.ndimage.gaussian_filter1d``.

    Correlates each line with scipy's Gaussian kernel (or its ``order``-th
    derivative) of radius ``round(truncate * sigma)``, or ``radius`` when
    given. Blocks are extended by that radius along ``axis`` and filtered
    with scipy's own arithmetic (compiled, bit-identical kernels), so the
    result equals scipy's for every chunking and mode.

    Parameters
    ----------
    input : array_like or dask.array.Array
        The image (numpy arrays are wrapped into dask arrays).
    sigma : scalar
        Standard deviation of the Gaussian kernel (non-negative).
    axis : int, optional
        The axis of ``input`` along which to filter. Default is -1.
    order : int, optional
        0 (default) convolves with a Gaussian; a positive order convolves
        with that derivative of a Gaussian.
    output : dtype, optional
        dtype of the result (default: the input's). Unlike scipy, an output
        array is refused: the result is lazy.
    mode : str, optional
        How the input is extended past its border, as in scipy: 'reflect'
        (default), 'constant', 'nearest', 'mirror', 'wrap', or the synonyms
        'grid-mirror', 'grid-constant', 'grid-wrap'. Applied at the border of
        the whole array, never at chunk borders.
    cval : scalar, optional
        Value past the border when ``mode`` is 'constant'. Default is 0.0.
    truncate : float, optional
        Truncate the kernel at this many standard deviations. Default is 4.0.
    radius : int, optional, keyword-only
        Radius of the kernel (size ``2*radius + 1``); if given, ``truncate``
        is ignored. Default is None.

    Returns
    -------
    dask.array.Array
        The filtered image, lazy, with the input's shape and chunks and
        scipy's result dtype.

    Raises
    ------
    TypeError
        If ``output`` is an array.
    ValueError
        If ``sigma`` is negative, ``axis`` is out of range or ``mode`` is not
        a single mode name (and for what scipy refuses).

    See Also
    --------
    gaussian_filter : Along several axes.

    Examples
    --------
    >>> import numpy as np, dask.array as da, scipy.ndimage as ndi
    >>> x = np.random.default_rng(0).random((50, 40))
    >>> y = gaussian_filter1d(da.from_array(x, chunks=16), 2.5, axis=0, order=1)
    >>> bool((y.compute() == ndi.gaussian_filter1d(x, 2.5, axis=0, order=1)).all())
    True
    """
    (s,) = check_sigma(sigma, 1)
    r = _kernels.gaussian_radius(s, truncate, radius)
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


def gaussian_plan(
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
    sigmas = check_sigma(sigma, n)
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
            r = _kernels.gaussian_radius(s, truncate, r)
            passes.append(
                (
                    _kernels.gaussian_filter1d,
                    ax,
                    dict(sigma=s, order=int(o), mode=m, cval=cval, truncate=truncate, radius=r),
                )
            )
            reach.append((ax, (r, r)))
    depth = _halo.along(ndim, [a for a, _ in reach], [d for _, d in reach])
    return passes, depth, rules_for(ndim, axes_t, modes)


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
    """Multidimensional Gaussian filter, equal to ``scipy.ndimage.gaussian_filter``.

    As in scipy, a sequence of 1-D Gaussian passes, one per filtered axis in
    axis order (axes with ``sigma`` 0 are skipped), each intermediate stored
    in the result dtype. The passes run on blocks extended by every pass's
    radius, and before each pass the block is re-extended past the array
    border by that pass's mode, as scipy extends each pass's input on the
    whole array: results are identical to scipy's for every chunking and
    mode.

    Parameters
    ----------
    input : array_like or dask.array.Array
        The image (numpy arrays are wrapped into dask arrays).
    sigma : scalar or sequence of scalars
        Standard deviation of the Gaussian kernel, one for every filtered
        axis or one per axis (non-negative).
    order : int or sequence of ints, optional
        Derivative order, one or one per filtered axis: 0 (default) smooths,
        a positive order convolves with that derivative of a Gaussian.
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
    truncate : float, optional
        Truncate the kernel at this many standard deviations. Default is 4.0.
    radius : int or sequence of ints, optional, keyword-only
        Kernel radius, one or one per filtered axis; overrides ``truncate``.
        Default is None.
    axes : int or tuple of int, optional, keyword-only
        Axes to filter (default: all). Sequences given for ``sigma``,
        ``order``, ``mode`` and ``radius`` must have one entry per axis in
        ``axes``.

    Returns
    -------
    dask.array.Array
        The filtered image, lazy, with the input's shape and chunks and
        scipy's result dtype.

    Raises
    ------
    TypeError
        If ``output`` is an array.
    ValueError
        If a sigma is negative, an order is not a non-negative integer, a
        per-axis sequence has the wrong length, or ``axes`` is out of range
        (and for what scipy refuses).

    See Also
    --------
    gaussian_filter1d : One axis.
    gaussian_laplace, gaussian_gradient_magnitude : Gaussian derivatives.

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
    passes, depth, rules = gaussian_plan(
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
