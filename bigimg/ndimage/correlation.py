"""Correlation and convolution of scipy.ndimage on dask arrays.

The weights' size and origin give the reach; each block runs scipy's own
correlation (or bigimg's compiled, bit-identical 1-D kernels) on the
halo-extended block, so results equal scipy's for every chunking and mode.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.ndimage as ndi

from bigimg import _halo, _kernels
from bigimg._halo import as_input
from bigimg._kernels import normalize_modes
from bigimg._validation import check_output, per_axis, scipy_dry_run
from bigimg.ndimage.filter_passes import (
    plan_1d,
    rules_for,
    single_pass,
)

__all__ = [
    "convolve",
    "convolve1d",
    "correlate",
    "correlate1d",
]


def correlate1d(
    input: Any,
    weights: Any,
    axis: int = -1,
    output: Any = None,
    mode: str = "reflect",
    cval: float = 0.0,
    origin: int = 0,
) -> Any:
    """1-D correlation along ``axis``, equal to ``scipy.ndimage.correlate1d``.

    Along ``axis``, output ``i`` is the sum over ``j`` of
    ``weights[j] * input[i + j - len(weights) // 2 - origin]``, the input
    extended past its border by ``mode``. Blocks are extended by the
    weights' reach along ``axis`` and correlated with scipy's own arithmetic
    (compiled, bit-identical kernels for real floats, scipy itself
    otherwise), so the result equals scipy's for every chunking and mode.

    Parameters
    ----------
    input : array_like or dask.array.Array
        The image (numpy arrays are wrapped into dask arrays).
    weights : array_like
        1-D sequence of numbers, not empty.
    axis : int, optional
        The axis of ``input`` along which to correlate. Default is -1.
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
        Placement of the weights: 0 (default) centres them on the pixel,
        positive values shift them to the left, negative ones to the right.

    Returns
    -------
    dask.array.Array
        The correlated image, lazy, with the input's shape and chunks and
        scipy's result dtype.

    Raises
    ------
    TypeError
        If ``output`` is an array.
    ValueError
        If ``weights`` is not a non-empty 1-D sequence, ``axis`` is out of
        range or ``mode`` is not a single mode name (and for what scipy
        refuses).

    See Also
    --------
    convolve1d : The same with the weights mirrored.
    correlate : Multidimensional weights.

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
    """1-D convolution along ``axis``, equal to ``scipy.ndimage.convolve1d``.

    Correlation with the weights mirrored (and ``origin`` mirrored as scipy
    does). Blocks are extended by the weights' reach along ``axis`` and
    filtered with scipy's own arithmetic, so the result equals scipy's for
    every chunking and mode.

    Parameters
    ----------
    input : array_like or dask.array.Array
        The image (numpy arrays are wrapped into dask arrays).
    weights : array_like
        1-D sequence of numbers, not empty.
    axis : int, optional
        The axis of ``input`` along which to convolve. Default is -1.
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
        Placement of the weights: 0 (default) centres them on the pixel,
        positive values shift them to the left, negative ones to the right.

    Returns
    -------
    dask.array.Array
        The convolved image, lazy, with the input's shape and chunks and
        scipy's result dtype.

    Raises
    ------
    TypeError
        If ``output`` is an array.
    ValueError
        If ``weights`` is not a non-empty 1-D sequence, ``axis`` is out of
        range or ``mode`` is not a single mode name (and for what scipy
        refuses).

    See Also
    --------
    correlate1d : The same without mirroring.
    convolve : Multidimensional weights.

    Examples
    --------
    >>> import numpy as np, dask.array as da, scipy.ndimage as ndi
    >>> x = np.random.default_rng(0).random((30, 40))
    >>> y = convolve1d(da.from_array(x, chunks=9), [3, -1, 0, 2], mode="nearest", origin=1)
    >>> bool((y.compute() == ndi.convolve1d(x, [3, -1, 0, 2], mode="nearest", origin=1)).all())
    True
    """
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
    """Multidimensional correlation, equal to ``scipy.ndimage.correlate``.

    Each output is the sum of the weights times the input values under them,
    the weights centred on the pixel (shifted by ``origin``). Blocks are
    extended by the weights' reach and correlated by scipy itself, so the
    result equals scipy's for every chunking and mode.

    Parameters
    ----------
    input : array_like or dask.array.Array
        The image (numpy arrays are wrapped into dask arrays).
    weights : array_like
        Array of weights, not empty, with one dimension per filtered axis
        (the input's dimensions, or ``len(axes)``).
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
        Placement of the weights, one or one per filtered axis: 0 (default)
        centres them, positive values shift them to the left.
    axes : int or tuple of int, optional, keyword-only
        Axes to filter (default: all). Sequences given for ``mode`` and
        ``origin`` must have one entry per axis in ``axes``.

    Returns
    -------
    dask.array.Array
        The correlated image, lazy, with the input's shape and chunks and
        scipy's result dtype.

    Raises
    ------
    TypeError
        If ``output`` is an array.
    ValueError
        If ``weights`` is empty or its dimensions do not match the filtered
        axes, a per-axis sequence has the wrong length, or ``axes`` is out of
        range (and for what scipy refuses).

    See Also
    --------
    convolve : The same with the weights mirrored.
    correlate1d : 1-D weights along one axis.

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
    """Multidimensional convolution, equal to ``scipy.ndimage.convolve``.

    Correlation with the weights mirrored along every filtered axis (and
    ``origin`` mirrored as scipy does). Blocks are extended by the weights'
    reach and convolved by scipy itself, so the result equals scipy's for
    every chunking and mode.

    Parameters
    ----------
    input : array_like or dask.array.Array
        The image (numpy arrays are wrapped into dask arrays).
    weights : array_like
        Array of weights, not empty, with one dimension per filtered axis
        (the input's dimensions, or ``len(axes)``).
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
        Placement of the weights, one or one per filtered axis: 0 (default)
        centres them, positive values shift them to the left.
    axes : int or tuple of int, optional, keyword-only
        Axes to filter (default: all). Sequences given for ``mode`` and
        ``origin`` must have one entry per axis in ``axes``.

    Returns
    -------
    dask.array.Array
        The convolved image, lazy, with the input's shape and chunks and
        scipy's result dtype.

    Raises
    ------
    TypeError
        If ``output`` is an array.
    ValueError
        If ``weights`` is empty or its dimensions do not match the filtered
        axes, a per-axis sequence has the wrong length, or ``axes`` is out of
        range (and for what scipy refuses).

    See Also
    --------
    correlate : The same without mirroring.
    convolve1d : 1-D weights along one axis.

    Examples
    --------
    >>> import numpy as np, dask.array as da, scipy.ndimage as ndi
    >>> x = np.random.default_rng(0).random((30, 20, 10))
    >>> k = np.arange(6.0).reshape(3, 2)
    >>> y = convolve(da.from_array(x, chunks=8), k, mode="mirror", axes=(0, 2))
    >>> bool((y.compute() == ndi.convolve(x, k, mode="mirror", axes=(0, 2))).all())
    True
    """
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
    rules = rules_for(image.ndim, axes_t, modes)
    return single_pass(image, scipy_func.__name__, scipy_func, depth, rules, cval, dtype, **kwargs)
