"""Order-statistic filters of scipy.ndimage on dask arrays.

Built like :mod:`bigimg.ndimage.filters`: reach from the footprint, scipy on
the halo-extended block, scipy's 1-D passes for separable minimum / maximum
(the implementation is :mod:`bigimg.ndimage.footprint_passes`).

Separable minima and maxima of floating-point images run on whole lines
(:class:`~bigimg._halo.fusion.LineOp`): scipy's 1-D minimum / maximum keeps a
queue of candidates along the line, and with NaN (every comparison false)
what it holds depends on the line's whole history, so no halo gives scipy's
result (a NaN can change outputs three windows further on). Integers have
no NaN: their passes run on halos.
"""

from __future__ import annotations

from typing import Any

import dask.array as da
import scipy.ndimage as ndi

from bigimg._validation import check_output
from bigimg.ndimage.footprint_passes import min_max, min_max_1d, windowed

__all__ = [
    "maximum_filter",
    "maximum_filter1d",
    "median_filter",
    "minimum_filter",
    "minimum_filter1d",
    "percentile_filter",
    "rank_filter",
]


# --- minimum / maximum ----------------------------------------------------------------------


def minimum_filter1d(
    input: Any,
    size: int,
    axis: int = -1,
    output: Any = None,
    mode: str = "reflect",
    cval: float = 0.0,
    origin: int = 0,
) -> da.Array:
    """1-D minimum filter along one axis, equal to ``scipy.ndimage.minimum_filter1d``.

    Equal for every chunking and mode. Floating-point images run on whole
    lines along ``axis`` (with NaN, scipy's result depends on the line's whole
    history, see the module doc); integer images run on halos.

    Parameters
    ----------
    input : array_like or dask.array.Array
        The image (numpy arrays are wrapped into dask arrays).
    size : int
        Length of the window, at least 1.
    axis : int, optional
        Axis to filter (default the last).
    output : dtype, optional
        dtype of the result (default: the input's); an array is refused.
    mode : str, optional
        scipy's boundary mode ('reflect' (default), 'constant', 'nearest',
        'mirror', 'wrap'), applied at the border of the whole array, never at
        chunk borders.
    cval : scalar, optional
        Value past the border for 'constant' (default 0.0).
    origin : int, optional
        Shift of the window (default 0: centred).

    Returns
    -------
    dask.array.Array
        Lazy result with the input's shape and chunks.

    Raises
    ------
    TypeError
        If ``output`` is an array rather than a dtype.

    See Also
    --------
    maximum_filter1d, minimum_filter

    Examples
    --------
    >>> import numpy as np, dask.array as da, scipy.ndimage as ndi
    >>> x = np.random.default_rng(0).random((30, 20))
    >>> y = minimum_filter1d(da.from_array(x, chunks=7), 4, axis=0, mode="nearest")
    >>> bool((y.compute() == ndi.minimum_filter1d(x, 4, axis=0, mode="nearest")).all())
    True
    """
    return min_max_1d("minimum_filter1d", input, size, axis, output, mode, cval, origin)


def maximum_filter1d(
    input: Any,
    size: int,
    axis: int = -1,
    output: Any = None,
    mode: str = "reflect",
    cval: float = 0.0,
    origin: int = 0,
) -> da.Array:
    """1-D maximum filter along one axis, equal to ``scipy.ndimage.maximum_filter1d``.

    Equal for every chunking and mode. Floating-point images run on whole
    lines along ``axis`` (with NaN, scipy's result depends on the line's whole
    history, see the module doc); integer images run on halos.

    Parameters
    ----------
    input : array_like or dask.array.Array
        The image (numpy arrays are wrapped into dask arrays).
    size : int
        Length of the window, at least 1.
    axis : int, optional
        Axis to filter (default the last).
    output : dtype, optional
        dtype of the result (default: the input's); an array is refused.
    mode : str, optional
        scipy's boundary mode ('reflect' (default), 'constant', 'nearest',
        'mirror', 'wrap'), applied at the border of the whole array, never at
        chunk borders.
    cval : scalar, optional
        Value past the border for 'constant' (default 0.0).
    origin : int, optional
        Shift of the window (default 0: centred).

    Returns
    -------
    dask.array.Array
        Lazy result with the input's shape and chunks.

    Raises
    ------
    TypeError
        If ``output`` is an array rather than a dtype.

    See Also
    --------
    minimum_filter1d, maximum_filter

    Examples
    --------
    >>> import numpy as np, dask.array as da, scipy.ndimage as ndi
    >>> x = np.random.default_rng(0).integers(0, 99, (30, 20))
    >>> y = maximum_filter1d(da.from_array(x, chunks=7), 5, mode="constant", cval=50)
    >>> bool((y.compute() == ndi.maximum_filter1d(x, 5, mode="constant", cval=50)).all())
    True
    """
    return min_max_1d("maximum_filter1d", input, size, axis, output, mode, cval, origin)


def minimum_filter(
    input: Any,
    size: Any = None,
    footprint: Any = None,
    output: Any = None,
    mode: Any = "reflect",
    cval: float = 0.0,
    origin: Any = 0,
    *,
    axes: Any = None,
) -> da.Array:
    """Multidimensional minimum filter, equal to ``scipy.ndimage.minimum_filter``.

    Equal for every chunking and mode. A full window (``size``, or a footprint
    of ones) runs as scipy's separable 1-D passes, on whole lines for
    floating-point images (see the module doc); other footprints run scipy's
    filter on halo-extended blocks.

    Parameters
    ----------
    input : array_like or dask.array.Array
        The image (numpy arrays are wrapped into dask arrays).
    size : int or sequence of int, optional
        Shape of the window, one or one per filtered axis; ignored, with
        scipy's warning, when ``footprint`` is given.
    footprint : array_like of bool, optional
        Which elements of the window take part (its shape is the window's).
        ``size`` or ``footprint`` is required.
    output : dtype, optional
        dtype of the result (default: the input's); an array is refused.
    mode : str or sequence of str, optional
        scipy's boundary mode ('reflect' (default), 'constant', 'nearest',
        'mirror', 'wrap'), one or one per filtered axis; applied at the border
        of the whole array, never at chunk borders.
    cval : scalar, optional
        Value past the border for 'constant' (default 0.0).
    origin : int or sequence of int, optional
        Shift of the window, one or one per filtered axis (default 0: centred).
    axes : int or tuple of int, optional, keyword-only
        Axes to filter (default all); ``size``, ``footprint``, ``mode`` and
        ``origin`` then have one entry per filtered axis.

    Returns
    -------
    dask.array.Array
        Lazy result with the input's shape and chunks.

    Raises
    ------
    TypeError
        If ``output`` is an array rather than a dtype.
    ValueError
        If neither ``size`` nor ``footprint`` is given, the footprint is all
        false or has the wrong number of dimensions, or scipy refuses the
        arguments (checked at call time).

    See Also
    --------
    maximum_filter, minimum_filter1d, grey_erosion

    Examples
    --------
    >>> import numpy as np, dask.array as da, scipy.ndimage as ndi
    >>> x = np.random.default_rng(0).random((30, 20))
    >>> bool((minimum_filter(x, size=(3, 4), mode="wrap").compute()
    ...       == ndi.minimum_filter(x, size=(3, 4), mode="wrap")).all())
    True
    >>> fp = np.array([[0, 1, 0], [1, 1, 1], [0, 1, 0]], bool)
    >>> y = minimum_filter(da.from_array(x, chunks=8), footprint=fp)
    >>> bool((y.compute() == ndi.minimum_filter(x, footprint=fp)).all())
    True
    """
    return min_max("minimum_filter", input, size, footprint, output, mode, cval, origin, axes)


def maximum_filter(
    input: Any,
    size: Any = None,
    footprint: Any = None,
    output: Any = None,
    mode: Any = "reflect",
    cval: float = 0.0,
    origin: Any = 0,
    *,
    axes: Any = None,
) -> da.Array:
    """Multidimensional maximum filter, equal to ``scipy.ndimage.maximum_filter``.

    Equal for every chunking and mode. A full window (``size``, or a footprint
    of ones) runs as scipy's separable 1-D passes, on whole lines for
    floating-point images (see the module doc); other footprints run scipy's
    filter on halo-extended blocks.

    Parameters
    ----------
    input : array_like or dask.array.Array
        The image (numpy arrays are wrapped into dask arrays).
    size : int or sequence of int, optional
        Shape of the window, one or one per filtered axis; ignored, with
        scipy's warning, when ``footprint`` is given.
    footprint : array_like of bool, optional
        Which elements of the window take part (its shape is the window's).
        ``size`` or ``footprint`` is required.
    output : dtype, optional
        dtype of the result (default: the input's); an array is refused.
    mode : str or sequence of str, optional
        scipy's boundary mode ('reflect' (default), 'constant', 'nearest',
        'mirror', 'wrap'), one or one per filtered axis; applied at the border
        of the whole array, never at chunk borders.
    cval : scalar, optional
        Value past the border for 'constant' (default 0.0).
    origin : int or sequence of int, optional
        Shift of the window, one or one per filtered axis (default 0: centred).
    axes : int or tuple of int, optional, keyword-only
        Axes to filter (default all); ``size``, ``footprint``, ``mode`` and
        ``origin`` then have one entry per filtered axis.

    Returns
    -------
    dask.array.Array
        Lazy result with the input's shape and chunks.

    Raises
    ------
    TypeError
        If ``output`` is an array rather than a dtype.
    ValueError
        If neither ``size`` nor ``footprint`` is given, the footprint is all
        false or has the wrong number of dimensions, or scipy refuses the
        arguments (checked at call time).

    See Also
    --------
    minimum_filter, maximum_filter1d, grey_dilation

    Examples
    --------
    >>> import numpy as np, dask.array as da, scipy.ndimage as ndi
    >>> x = np.random.default_rng(0).integers(0, 255, (30, 20)).astype(np.uint8)
    >>> y = maximum_filter(da.from_array(x, chunks=8), size=(5, 3), mode="mirror")
    >>> bool((y.compute() == ndi.maximum_filter(x, size=(5, 3), mode="mirror")).all())
    True
    """
    return min_max("maximum_filter", input, size, footprint, output, mode, cval, origin, axes)


# --- rank, median, percentile -----------------------------------------------------------------


def rank_filter(
    input: Any,
    rank: int,
    size: Any = None,
    footprint: Any = None,
    output: Any = None,
    mode: Any = "reflect",
    cval: float = 0.0,
    origin: Any = 0,
    *,
    axes: Any = None,
) -> da.Array:
    """Multidimensional rank filter, equal to ``scipy.ndimage.rank_filter``.

    Equal for every chunking and mode. Each block is computed by bigimg's
    compiled selection where it gives scipy's result, by scipy otherwise
    (e.g. blocks holding NaN or -0.0, 1-D input); the first or last rank of a
    full float window runs as scipy does, a separable minimum or maximum on
    whole lines.

    Parameters
    ----------
    input : array_like or dask.array.Array
        The image (numpy arrays are wrapped into dask arrays).
    rank : int
        Which order statistic of the window: 0 is the smallest; negative
        values count from the largest (-1).
    size : int or sequence of int, optional
        Shape of the window, one or one per filtered axis; ignored, with
        scipy's warning, when ``footprint`` is given.
    footprint : array_like of bool, optional
        Which elements of the window take part (its shape is the window's).
        ``size`` or ``footprint`` is required.
    output : dtype, optional
        dtype of the result (default: the input's); an array is refused.
    mode : str, optional
        scipy's boundary mode ('reflect' (default), 'constant', 'nearest',
        'mirror', 'wrap'), applied at the border of the whole array, never at
        chunk borders. scipy takes one mode per axis only where it runs
        separable passes (first or last rank of a full window).
    cval : scalar, optional
        Value past the border for 'constant' (default 0.0).
    origin : int or sequence of int, optional
        Shift of the window, one or one per filtered axis (default 0: centred).
    axes : int or tuple of int, optional, keyword-only
        Axes to filter (default all); ``size``, ``footprint`` and ``origin``
        then have one entry per filtered axis.

    Returns
    -------
    dask.array.Array
        Lazy result with the input's shape and chunks.

    Raises
    ------
    TypeError
        If ``output`` is an array rather than a dtype.
    ValueError
        If neither ``size`` nor ``footprint`` is given, the footprint is all
        false or has the wrong number of dimensions, or scipy refuses the
        arguments (checked at call time; scipy's ``RuntimeError`` is raised as
        ``ValueError``).

    See Also
    --------
    median_filter, percentile_filter, minimum_filter, maximum_filter

    Examples
    --------
    >>> import numpy as np, dask.array as da, scipy.ndimage as ndi
    >>> x = np.random.default_rng(0).integers(0, 99, (30, 20))
    >>> y = rank_filter(da.from_array(x, chunks=8), 2, size=(3, 3), mode="wrap")
    >>> bool((y.compute() == ndi.rank_filter(x, 2, size=(3, 3), mode="wrap")).all())
    True
    """
    return windowed(
        "rank_filter",
        ndi.rank_filter,
        input,
        size,
        footprint,
        mode,
        cval,
        origin,
        axes,
        rank,
        output=check_output(output),
    )


def median_filter(
    input: Any,
    size: Any = None,
    footprint: Any = None,
    output: Any = None,
    mode: Any = "reflect",
    cval: float = 0.0,
    origin: Any = 0,
    *,
    axes: Any = None,
) -> da.Array:
    """Multidimensional median filter, equal to ``scipy.ndimage.median_filter``.

    Equal for every chunking and mode; the median is scipy's, the element of
    rank ``n // 2`` of the ``n`` under the footprint (the upper median for
    even ``n``). Blocks are computed as in :func:`rank_filter`.

    Parameters
    ----------
    input : array_like or dask.array.Array
        The image (numpy arrays are wrapped into dask arrays).
    size : int or sequence of int, optional
        Shape of the window, one or one per filtered axis; ignored, with
        scipy's warning, when ``footprint`` is given.
    footprint : array_like of bool, optional
        Which elements of the window take part (its shape is the window's).
        ``size`` or ``footprint`` is required.
    output : dtype, optional
        dtype of the result (default: the input's); an array is refused.
    mode : str, optional
        scipy's boundary mode ('reflect' (default), 'constant', 'nearest',
        'mirror', 'wrap'), applied at the border of the whole array, never at
        chunk borders.
    cval : scalar, optional
        Value past the border for 'constant' (default 0.0).
    origin : int or sequence of int, optional
        Shift of the window, one or one per filtered axis (default 0: centred).
    axes : int or tuple of int, optional, keyword-only
        Axes to filter (default all); ``size``, ``footprint`` and ``origin``
        then have one entry per filtered axis.

    Returns
    -------
    dask.array.Array
        Lazy result with the input's shape and chunks.

    Raises
    ------
    TypeError
        If ``output`` is an array rather than a dtype.
    ValueError
        If neither ``size`` nor ``footprint`` is given, the footprint is all
        false or has the wrong number of dimensions, or scipy refuses the
        arguments (checked at call time).

    See Also
    --------
    rank_filter, percentile_filter

    Examples
    --------
    >>> import numpy as np, scipy.ndimage as ndi
    >>> x = np.random.default_rng(0).random((40, 30))
    >>> bool((median_filter(x, 3).compute() == ndi.median_filter(x, 3)).all())
    True
    """
    return windowed(
        "median_filter",
        ndi.median_filter,
        input,
        size,
        footprint,
        mode,
        cval,
        origin,
        axes,
        output=check_output(output),
    )


def percentile_filter(
    input: Any,
    percentile: float,
    size: Any = None,
    footprint: Any = None,
    output: Any = None,
    mode: Any = "reflect",
    cval: float = 0.0,
    origin: Any = 0,
    *,
    axes: Any = None,
) -> da.Array:
    """Multidimensional percentile filter, equal to ``scipy.ndimage.percentile_filter``.

    Equal for every chunking and mode; the percentile is scipy's, an element
    of the window (no interpolation). Blocks are computed as in
    :func:`rank_filter`.

    Parameters
    ----------
    input : array_like or dask.array.Array
        The image (numpy arrays are wrapped into dask arrays).
    percentile : float
        Percentile from -100 to 100; negative values count from 100
        (-20 is the 80th percentile).
    size : int or sequence of int, optional
        Shape of the window, one or one per filtered axis; ignored, with
        scipy's warning, when ``footprint`` is given.
    footprint : array_like of bool, optional
        Which elements of the window take part (its shape is the window's).
        ``size`` or ``footprint`` is required.
    output : dtype, optional
        dtype of the result (default: the input's); an array is refused.
    mode : str, optional
        scipy's boundary mode ('reflect' (default), 'constant', 'nearest',
        'mirror', 'wrap'), applied at the border of the whole array, never at
        chunk borders.
    cval : scalar, optional
        Value past the border for 'constant' (default 0.0).
    origin : int or sequence of int, optional
        Shift of the window, one or one per filtered axis (default 0: centred).
    axes : int or tuple of int, optional, keyword-only
        Axes to filter (default all); ``size``, ``footprint`` and ``origin``
        then have one entry per filtered axis.

    Returns
    -------
    dask.array.Array
        Lazy result with the input's shape and chunks.

    Raises
    ------
    TypeError
        If ``output`` is an array rather than a dtype.
    ValueError
        If neither ``size`` nor ``footprint`` is given, the footprint is all
        false or has the wrong number of dimensions, or scipy refuses the
        arguments (checked at call time).

    See Also
    --------
    rank_filter, median_filter

    Examples
    --------
    >>> import numpy as np, dask.array as da, scipy.ndimage as ndi
    >>> x = np.random.default_rng(0).random((30, 20))
    >>> y = percentile_filter(da.from_array(x, chunks=8), 25, size=(4, 3))
    >>> bool((y.compute() == ndi.percentile_filter(x, 25, size=(4, 3))).all())
    True
    """
    return windowed(
        "percentile_filter",
        ndi.percentile_filter,
        input,
        size,
        footprint,
        mode,
        cval,
        origin,
        axes,
        percentile,
        output=check_output(output),
    )
