"""Binary morphology of scipy.ndimage on dask arrays.

**A bounded number of iterations** is local: ``k`` iterations of a structure
reaching ``r`` pixels reach ``k * r``, so ONE overlap pass with that halo
runs scipy's own function (with the same ``iterations``, ``mask``,
``border_value``, ``origin``, ``brute_force``) on each block. scipy treats
pixels outside the array as ``border_value``: the engine's blocks stop at the
true array border, where scipy applies it itself; inside the image, the
wrong values scipy assumes past a block's edge move inwards by ``r`` per
iteration and never reach the chunk. A ``mask`` travels with the image,
packed into the same blocks (one bit each), so it gets the same halo.

**Iterations < 1** ("repeat until nothing changes") have no bounded reach:
see :mod:`bigimg.ndimage.binary_fixed_point`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.ndimage as ndi

from bigimg import _halo
from bigimg._halo import LocalOp, Tracer, apply, as_input, call_inside
from bigimg._validation import check_output, scipy_dry_run
from bigimg.ndimage.binary_blocks import (
    check_binary_structure,
    local_binary,
    plan_binary,
    repeated_reach,
    zero_dim,
)
from bigimg.ndimage.binary_fixed_point import until_stable
from bigimg.ndimage.morphology import check_origin, kernel_depth

__all__ = [
    "binary_closing",
    "binary_dilation",
    "binary_erosion",
    "binary_hit_or_miss",
    "binary_opening",
]


# --- erosion and dilation ---------------------------------------------------------------------


def _erode_or_dilate(
    func: Callable[..., Any],
    input: Any,
    structure: Any,
    iterations: Any,
    mask: Any,
    output: Any,
    border_value: Any,
    origin: Any,
    brute_force: bool,
    axes: Any,
) -> Any:
    image = as_input(input)
    op, k = plan_binary(
        func, image, structure, iterations, mask, output, border_value, origin, brute_force, axes
    )
    if k >= 1:
        name = func.__name__
        return local_binary(
            name, image, mask, (name,), op.kwargs(k), repeated_reach(op.reach, k), op.guard
        )
    if isinstance(image, Tracer):
        raise TypeError(
            "iterations < 1 repeats until nothing changes, over the whole image; "
            "it cannot run inside fused"
        )
    zero = zero_dim(func, image, structure, iterations, mask, None, border_value, origin)
    if zero is not None:
        return zero
    return until_stable(op, image, mask)


def binary_erosion(
    input: Any,
    structure: Any = None,
    iterations: int = 1,
    mask: Any = None,
    output: Any = None,
    border_value: int = 0,
    origin: Any = 0,
    brute_force: bool = False,
    *,
    axes: Any = None,
) -> Any:
    """Binary erosion, equal to ``scipy.ndimage.binary_erosion``.

    Bit-identical to scipy for every chunking: a pixel stays True where the
    structure, placed on it, fits inside the True pixels.

    Parameters
    ----------
    input : array_like or dask.array.Array
        The binary image (nonzero is True).
    structure : array_like, optional
        Binary structuring element with one axis per operated axis (default:
        the cross, ``generate_binary_structure(n, 1)``).
    iterations : int, optional
        Times to repeat (default 1). ``iterations >= 1`` is one overlap pass
        whose halo is ``iterations`` times the structure's reach.
        ``iterations < 1`` repeats until nothing changes: computed at call
        time (connected components, or rounds of bounded passes; see
        :func:`binary_propagation`), and not available inside ``fused``.
    mask : array_like or dask.array.Array, optional
        Binary image of the input's shape: only its True pixels may change.
    output : dtype, optional
        Ignored as in scipy, where the result is boolean whatever dtype is
        named. Unlike scipy, not an array: a lazy result cannot fill one.
    border_value : int, optional
        Value of the pixels past the array's border (default 0).
    origin : int or sequence of int, optional
        Placement of the structure, as in scipy (default 0, centred).
    brute_force : bool, optional
        scipy's choice of algorithm for repeated iterations; the result is
        the same either way (default False).
    axes : sequence of int, optional
        Keyword-only, as in scipy: the axes to operate on (default: all).

    Returns
    -------
    dask.array.Array
        Lazy boolean image with the input's shape and chunks (a traced step
        inside :func:`bigimg.ndimage.fused`).

    Raises
    ------
    ValueError
        For a structure that is not binary or has the wrong number of
        dimensions, a mask of another shape, an origin out of the
        structure's range, and what scipy refuses.
    TypeError
        For a non-integer ``iterations`` or an ``output`` array.

    See Also
    --------
    binary_dilation, binary_opening

    Examples
    --------
    >>> import numpy as np, dask.array as da, scipy.ndimage as ndi
    >>> x = np.zeros((9, 9), bool)
    >>> x[1:8, 2:8] = True
    >>> y = binary_erosion(da.from_array(x, chunks=2), iterations=2)
    >>> bool((y.compute() == ndi.binary_erosion(x, iterations=2)).all())
    True
    """
    return _erode_or_dilate(
        ndi.binary_erosion,
        input,
        structure,
        iterations,
        mask,
        output,
        border_value,
        origin,
        brute_force,
        axes,
    )


def binary_dilation(
    input: Any,
    structure: Any = None,
    iterations: int = 1,
    mask: Any = None,
    output: Any = None,
    border_value: int = 0,
    origin: Any = 0,
    brute_force: bool = False,
    *,
    axes: Any = None,
) -> Any:
    """Binary dilation, equal to ``scipy.ndimage.binary_dilation``.

    Bit-identical to scipy for every chunking: a pixel becomes True where the
    reflected structure, placed on it, meets a True pixel.

    Parameters
    ----------
    input : array_like or dask.array.Array
        The binary image (nonzero is True).
    structure : array_like, optional
        Binary structuring element with one axis per operated axis (default:
        the cross, ``generate_binary_structure(n, 1)``).
    iterations : int, optional
        Times to repeat (default 1). ``iterations >= 1`` is one overlap pass
        whose halo is ``iterations`` times the structure's reach.
        ``iterations < 1`` repeats until nothing changes: computed at call
        time (connected components, or rounds of bounded passes; see
        :func:`binary_propagation`), and not available inside ``fused``.
    mask : array_like or dask.array.Array, optional
        Binary image of the input's shape: only its True pixels may change.
    output : dtype, optional
        Ignored as in scipy, where the result is boolean whatever dtype is
        named. Unlike scipy, not an array: a lazy result cannot fill one.
    border_value : int, optional
        Value of the pixels past the array's border (default 0).
    origin : int or sequence of int, optional
        Placement of the structure, as in scipy (default 0, centred).
    brute_force : bool, optional
        scipy's choice of algorithm for repeated iterations; the result is
        the same either way (default False).
    axes : sequence of int, optional
        Keyword-only, as in scipy: the axes to operate on (default: all).

    Returns
    -------
    dask.array.Array
        Lazy boolean image with the input's shape and chunks (a traced step
        inside :func:`bigimg.ndimage.fused`).

    Raises
    ------
    ValueError
        For a structure that is not binary or has the wrong number of
        dimensions, a mask of another shape, an origin out of the
        structure's range, and what scipy refuses.
    TypeError
        For a non-integer ``iterations`` or an ``output`` array.

    See Also
    --------
    binary_erosion, binary_closing, binary_propagation

    Examples
    --------
    >>> import numpy as np, dask.array as da, scipy.ndimage as ndi
    >>> x = np.zeros((7, 7), bool)
    >>> x[3, 3] = x[0, 6] = True
    >>> s = ndi.generate_binary_structure(2, 2)
    >>> y = binary_dilation(da.from_array(x, chunks=3), s, iterations=2, border_value=1)
    >>> bool((y.compute() == ndi.binary_dilation(x, s, iterations=2, border_value=1)).all())
    True
    """
    return _erode_or_dilate(
        ndi.binary_dilation,
        input,
        structure,
        iterations,
        mask,
        output,
        border_value,
        origin,
        brute_force,
        axes,
    )


def _open_or_close(
    name: str,
    input: Any,
    structure: Any,
    iterations: Any,
    output: Any,
    origin: Any,
    mask: Any,
    border_value: Any,
    brute_force: bool,
    axes: Any,
) -> Any:
    image = as_input(input)
    first, second = (
        (binary_erosion, binary_dilation)
        if name == "binary_opening"
        else (binary_dilation, binary_erosion)
    )
    params = (structure, iterations, mask, output, border_value, origin, brute_force)
    erosion, k = plan_binary(ndi.binary_erosion, image, *params, axes)
    if k < 1:  # two fixed points, one after the other, as scipy
        tmp = first(image, structure, k, mask, None, border_value, origin, brute_force, axes=axes)
        return second(tmp, structure, k, mask, None, border_value, origin, brute_force, axes=axes)
    dilation, _ = plan_binary(ndi.binary_dilation, image, *params, axes)
    depth = repeated_reach(_halo.add(erosion.reach, dilation.reach), k)
    steps = ("binary_erosion", "binary_dilation")
    if name == "binary_closing":
        steps = steps[::-1]
    return local_binary(name, image, mask, steps, erosion.kwargs(k), depth, erosion.guard)


def binary_opening(
    input: Any,
    structure: Any = None,
    iterations: int = 1,
    output: Any = None,
    origin: Any = 0,
    mask: Any = None,
    border_value: int = 0,
    brute_force: bool = False,
    *,
    axes: Any = None,
) -> Any:
    """Binary opening, equal to ``scipy.ndimage.binary_opening``.

    Erosion then dilation with the same structure, as scipy; bit-identical
    for every chunking.

    Parameters
    ----------
    input : array_like or dask.array.Array
        The binary image (nonzero is True).
    structure : array_like, optional
        Binary structuring element with one axis per operated axis (default:
        the cross, ``generate_binary_structure(n, 1)``).
    iterations : int, optional
        Times to repeat each of the two operations (default 1); both run in
        one overlap pass whose halo holds them. ``iterations < 1`` runs each
        until nothing changes, at call time, as :func:`binary_erosion`.
    output : dtype, optional
        Ignored as in scipy, where the result is boolean whatever dtype is
        named. Unlike scipy, not an array: a lazy result cannot fill one.
    origin : int or sequence of int, optional
        Placement of the structure, as in scipy (default 0, centred).
    mask : array_like or dask.array.Array, optional
        Binary image of the input's shape: only its True pixels may change,
        in both operations.
    border_value : int, optional
        Value of the pixels past the array's border (default 0).
    brute_force : bool, optional
        scipy's choice of algorithm for repeated iterations; the result is
        the same either way (default False).
    axes : sequence of int, optional
        Keyword-only, as in scipy: the axes to operate on (default: all).

    Returns
    -------
    dask.array.Array
        Lazy boolean image with the input's shape and chunks (a traced step
        inside :func:`bigimg.ndimage.fused`).

    Raises
    ------
    ValueError
        For a structure that is not binary or has the wrong number of
        dimensions, a mask of another shape, an origin out of the
        structure's range, and what scipy refuses.
    TypeError
        For a non-integer ``iterations`` or an ``output`` array.

    See Also
    --------
    binary_closing, binary_erosion, binary_dilation

    Examples
    --------
    >>> import numpy as np, dask.array as da, scipy.ndimage as ndi
    >>> x = np.random.default_rng(0).random((20, 20)) > 0.3
    >>> y = binary_opening(da.from_array(x, chunks=6), iterations=2)
    >>> bool((y.compute() == ndi.binary_opening(x, iterations=2)).all())
    True
    """
    return _open_or_close(
        "binary_opening",
        input,
        structure,
        iterations,
        output,
        origin,
        mask,
        border_value,
        brute_force,
        axes,
    )


def binary_closing(
    input: Any,
    structure: Any = None,
    iterations: int = 1,
    output: Any = None,
    origin: Any = 0,
    mask: Any = None,
    border_value: int = 0,
    brute_force: bool = False,
    *,
    axes: Any = None,
) -> Any:
    """Binary closing, equal to ``scipy.ndimage.binary_closing``.

    Dilation then erosion with the same structure, as scipy; bit-identical
    for every chunking, in one overlap pass whose halo holds both.

    Parameters
    ----------
    input : array_like or dask.array.Array
        The binary image (nonzero is True).
    structure : array_like, optional
        Binary structuring element with one axis per operated axis (default:
        the cross, ``generate_binary_structure(n, 1)``).
    iterations : int, optional
        Times to repeat each of the two operations (default 1); both run in
        one overlap pass whose halo holds them. ``iterations < 1`` runs each
        until nothing changes, at call time, as :func:`binary_erosion`.
    output : dtype, optional
        Ignored as in scipy, where the result is boolean whatever dtype is
        named. Unlike scipy, not an array: a lazy result cannot fill one.
    origin : int or sequence of int, optional
        Placement of the structure, as in scipy (default 0, centred).
    mask : array_like or dask.array.Array, optional
        Binary image of the input's shape: only its True pixels may change,
        in both operations.
    border_value : int, optional
        Value of the pixels past the array's border (default 0).
    brute_force : bool, optional
        scipy's choice of algorithm for repeated iterations; the result is
        the same either way (default False).
    axes : sequence of int, optional
        Keyword-only, as in scipy: the axes to operate on (default: all).

    Returns
    -------
    dask.array.Array
        Lazy boolean image with the input's shape and chunks (a traced step
        inside :func:`bigimg.ndimage.fused`).

    Raises
    ------
    ValueError
        For a structure that is not binary or has the wrong number of
        dimensions, a mask of another shape, an origin out of the
        structure's range, and what scipy refuses.
    TypeError
        For a non-integer ``iterations`` or an ``output`` array.

    See Also
    --------
    binary_opening, binary_dilation, binary_erosion

    Examples
    --------
    >>> import numpy as np, dask.array as da, scipy.ndimage as ndi
    >>> x = np.random.default_rng(1).random((20, 20)) > 0.6
    >>> y = binary_closing(da.from_array(x, chunks=6))
    >>> bool((y.compute() == ndi.binary_closing(x)).all())
    True
    """
    return _open_or_close(
        "binary_closing",
        input,
        structure,
        iterations,
        output,
        origin,
        mask,
        border_value,
        brute_force,
        axes,
    )


def binary_hit_or_miss(
    input: Any,
    structure1: Any = None,
    structure2: Any = None,
    output: Any = None,
    origin1: Any = 0,
    origin2: Any = None,
    *,
    axes: Any = None,
) -> Any:
    """Binary hit-or-miss transform, equal to ``scipy.ndimage.binary_hit_or_miss``.

    True where ``structure1`` fits the True pixels and ``structure2`` the
    False ones; one overlap pass, bit-identical for every chunking.

    Parameters
    ----------
    input : array_like or dask.array.Array
        The binary image (nonzero is True).
    structure1 : array_like, optional
        Binary structure that must fit the True pixels (default: the cross,
        ``generate_binary_structure(n, 1)``).
    structure2 : array_like, optional
        Binary structure that must fit the False pixels (default: the
        complement of ``structure1``).
    output : dtype, optional
        Ignored as in scipy, where the result is boolean whatever dtype is
        named. Unlike scipy, not an array: a lazy result cannot fill one.
    origin1 : int or sequence of int, optional
        Placement of ``structure1`` (default 0, centred).
    origin2 : int or sequence of int, optional
        Placement of ``structure2`` (default: ``origin1``).
    axes : sequence of int, optional
        Keyword-only, as in scipy: the axes to operate on (default: all).

    Returns
    -------
    dask.array.Array
        Lazy boolean image with the input's shape and chunks (a traced step
        inside :func:`bigimg.ndimage.fused`).

    Raises
    ------
    ValueError
        For a structure that is not binary or has the wrong number of
        dimensions, an origin out of range, and what scipy refuses.
    TypeError
        For an ``output`` array.

    See Also
    --------
    binary_erosion

    Examples
    --------
    >>> import numpy as np, dask.array as da, scipy.ndimage as ndi
    >>> x = np.random.default_rng(2).random((15, 15)) > 0.5
    >>> s1 = np.array([[0, 1, 0], [1, 1, 1], [0, 1, 0]])
    >>> y = binary_hit_or_miss(da.from_array(x, chunks=4), s1)
    >>> bool((y.compute() == ndi.binary_hit_or_miss(x, s1)).all())
    True
    """
    image = as_input(input)
    axes_t = _halo.normalize_axes(axes, image.ndim)
    n = len(axes_t)
    s1 = check_binary_structure(structure1, n, "structure1")
    s2 = ~s1 if structure2 is None else check_binary_structure(structure2, n, "structure2")
    o1 = check_origin(origin1, n, "origin1")
    o2 = o1 if origin2 is None else check_origin(origin2, n, "origin2")
    check_output(output)
    depth = _halo.maximum(
        kernel_depth(s1.shape, o1, image.ndim, axes_t, "origin1"),
        kernel_depth(s2.shape, o2, image.ndim, axes_t, "origin2"),
    )
    kwargs = dict(structure1=s1, structure2=s2, origin1=o1, origin2=o2, axes=axes)
    scipy_dry_run(ndi.binary_hit_or_miss, image, **kwargs)
    block = functools.partial(call_inside, func=ndi.binary_hit_or_miss, kwargs=kwargs)
    rules = ("constant",) * image.ndim
    op = LocalOp("binary_hit_or_miss", block, depth, rules, 0, np.dtype(bool), kwargs)
    return apply(op, image)
