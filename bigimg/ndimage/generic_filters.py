"""Filters that run a user's function on every window: scipy.ndimage's
``generic_filter``, ``generic_filter1d`` and ``vectorized_filter``.

The footprint (or ``size``) gives the reach; scipy itself runs on each
halo-extended block with the user's function, so results are scipy's for
every chunking and mode.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import dask.array as da
import scipy.ndimage as ndi

from bigimg._validation import check_output
from bigimg.ndimage.filter_passes import (
    Positional,
    plan_1d,
    single_pass,
    window_reach,
)
from bigimg.ndimage.footprint_passes import windowed

__all__ = [
    "generic_filter",
    "generic_filter1d",
    "vectorized_filter",
]


def generic_filter(
    input: Any,
    function: Callable[..., Any],
    size: Any = None,
    footprint: Any = None,
    output: Any = None,
    mode: Any = "reflect",
    cval: float = 0.0,
    origin: Any = 0,
    extra_arguments: Sequence[Any] = (),
    extra_keywords: dict | None = None,
    *,
    axes: Any = None,
) -> da.Array:
    """Apply a Python function to every window, equal to ``scipy.ndimage.generic_filter``.

    Equal for every chunking and mode: scipy's own ``generic_filter`` runs on
    each halo-extended block with ``function``, which sees one window at a time.

    Parameters
    ----------
    input : array_like or dask.array.Array
        The image (numpy arrays are wrapped into dask arrays).
    function : callable
        ``function(values, *extra_arguments, **extra_keywords) -> scalar``,
        called with the 1-D float64 array of the values under the footprint.
    size : int or sequence of int, optional
        Shape of the window, one or one per filtered axis; ignored, with
        scipy's warning, when ``footprint`` is given.
    footprint : array_like of bool, optional
        Which elements of the window are passed (its shape is the window's).
        ``size`` or ``footprint`` is required.
    output : dtype, optional
        dtype of the result (default: the input's); an array is refused.
    mode : str, optional
        scipy's boundary mode ('reflect' (default), 'constant', 'nearest',
        'mirror', 'wrap'), applied at the border of the whole array, never at
        chunk borders.
    cval : scalar, optional
        Value past the border for 'constant' (default 0.0), cast to the
        input's dtype as scipy does.
    origin : int or sequence of int, optional
        Shift of the window, one or one per filtered axis (default 0: centred).
    extra_arguments : sequence, optional
        Extra positional arguments of ``function``.
    extra_keywords : dict, optional
        Extra keyword arguments of ``function``.
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
    vectorized_filter, generic_filter1d

    Notes
    -----
    The call runs scipy once on a tiny array of zeros (``function`` included)
    to check the arguments and learn the result's dtype; the image itself is
    only read when the result is computed.

    Examples
    --------
    >>> import numpy as np, scipy.ndimage as ndi
    >>> x = np.random.default_rng(0).random((12, 10))
    >>> bool((generic_filter(x, np.ptp, size=3).compute()
    ...       == ndi.generic_filter(x, np.ptp, size=3)).all())
    True
    """
    return windowed(
        "generic_filter",
        ndi.generic_filter,
        input,
        size,
        footprint,
        mode,
        cval,
        origin,
        axes,
        function,
        output=check_output(output),
        extra_arguments=tuple(extra_arguments),
        extra_keywords=extra_keywords,
    )


def generic_filter1d(
    input: Any,
    function: Callable[..., Any],
    filter_size: int,
    axis: int = -1,
    output: Any = None,
    mode: str = "reflect",
    cval: float = 0.0,
    origin: int = 0,
    extra_arguments: Sequence[Any] = (),
    extra_keywords: dict | None = None,
) -> da.Array:
    """Apply a Python function to lines along an axis, equal to ``scipy.ndimage.generic_filter1d``.

    scipy's own ``generic_filter1d`` runs on each halo-extended block, so each
    call of ``function`` sees a chunk's line (extended by the halo or by
    ``mode`` at the array's border), not the whole line. The result equals
    scipy's for every chunking and mode when ``function`` computes each output
    from its window of ``filter_size`` inputs only, as scipy's contract states.

    Parameters
    ----------
    input : array_like or dask.array.Array
        The image (numpy arrays are wrapped into dask arrays).
    function : callable
        ``function(input_line, output_line, *extra_arguments, **extra_keywords)``:
        ``input_line`` (float64) is the line extended by ``filter_size - 1``
        values; fill ``output_line`` in place.
    filter_size : int
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
    extra_arguments : sequence, optional
        Extra positional arguments of ``function``.
    extra_keywords : dict, optional
        Extra keyword arguments of ``function``.

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
    generic_filter

    Examples
    --------
    >>> import numpy as np, dask.array as da, scipy.ndimage as ndi
    >>> def spread(line, out):  # max - min over each window of 3
    ...     out[:] = np.ptp(np.lib.stride_tricks.sliding_window_view(line, 3), axis=1)
    >>> x = np.random.default_rng(0).random((20, 30))
    >>> y = generic_filter1d(da.from_array(x, chunks=7), spread, 3, axis=0)
    >>> bool((y.compute() == ndi.generic_filter1d(x, spread, 3, axis=0)).all())
    True
    """
    n, reach = window_reach(filter_size, origin, "filter_size")
    image, kwargs, dtype, depth, rules = plan_1d(
        input,
        ndi.generic_filter1d,
        axis,
        output,
        mode,
        cval,
        reach,
        function,
        filter_size=n,
        origin=origin,
        extra_arguments=tuple(extra_arguments),
        extra_keywords=extra_keywords,
    )
    call = Positional(ndi.generic_filter1d, (function,))
    return single_pass(image, "generic_filter1d", call, depth, rules, cval, dtype, **kwargs)


def vectorized_filter(
    input: Any,
    function: Callable[..., Any],
    *,
    size: Any = None,
    footprint: Any = None,
    output: Any = None,
    mode: str = "reflect",
    cval: Any = None,
    origin: Any = None,
    axes: Any = None,
    batch_memory: int = 2**30,
) -> da.Array:
    """Apply a vectorized function to every window, equal to ``scipy.ndimage.vectorized_filter``.

    Equal for every chunking and mode: scipy's own ``vectorized_filter`` runs
    on each halo-extended block with ``function``. The result keeps the
    input's shape, so ``function`` must reduce each window to one value and
    ``mode='valid'`` is refused.

    Parameters
    ----------
    input : array_like or dask.array.Array
        The image (numpy arrays are wrapped into dask arrays).
    function : callable
        ``function(windows, *, axis) -> array``, reducing ``windows`` over
        ``axis`` (an int or tuple), like ``np.mean``.
    size : int or sequence of int, optional, keyword-only
        Shape of the window, one or one per filtered axis; ignored, with
        scipy's warning, when ``footprint`` is given.
    footprint : array_like of bool, optional, keyword-only
        Which elements of the window are passed (its shape is the window's).
        ``size`` or ``footprint`` is required.
    output : dtype, optional, keyword-only
        dtype of the result (default: what ``function`` returns); an array is
        refused.
    mode : str, optional, keyword-only
        scipy's boundary mode ('reflect' (default), 'constant', 'nearest',
        'mirror', 'wrap'; 'grid-mirror' is 'mirror' here, as in scipy's
        ``vectorized_filter``), applied at the border of the whole array,
        never at chunk borders. 'valid' is refused.
    cval : scalar, optional, keyword-only
        Value past the border for 'constant' (default None: 0).
    origin : int or sequence of int, optional, keyword-only
        Shift of the window, one or one per filtered axis (default None:
        centred).
    axes : int or tuple of int, optional, keyword-only
        Axes to filter (default all); ``size``, ``footprint`` and ``origin``
        then have one entry per filtered axis.
    batch_memory : int, optional, keyword-only
        Most bytes of windows passed to one call of ``function``, per block
        (default 2**30).

    Returns
    -------
    dask.array.Array
        Lazy result with the input's shape and chunks.

    Raises
    ------
    TypeError
        If ``output`` is an array rather than a dtype.
    ValueError
        If ``mode='valid'`` (crop the result instead), if neither ``size``
        nor ``footprint`` is given, or where scipy refuses the arguments
        (checked at call time).

    See Also
    --------
    generic_filter

    Notes
    -----
    The call runs scipy once on a tiny array of zeros (``function`` included)
    to check the arguments and learn the result's dtype.

    Examples
    --------
    >>> import numpy as np, scipy.ndimage as ndi
    >>> x = np.random.default_rng(0).random((20, 16))
    >>> bool((vectorized_filter(x, np.mean, size=3).compute()
    ...       == ndi.vectorized_filter(x, np.mean, size=3)).all())
    True
    """
    if mode == "valid":
        raise ValueError(
            "mode='valid' changes the output shape; bigimg keeps the input's "
            "shape and chunks (crop the result instead)"
        )
    return windowed(
        "vectorized_filter",
        ndi.vectorized_filter,
        input,
        size,
        footprint,
        mode,
        cval,
        origin,
        axes,
        function,
        **({} if output is None else {"output": check_output(output)}),
        batch_memory=batch_memory,
    )
