"""Geometric transforms and spline filters of scipy.ndimage on dask arrays.

Every transform stands on the resampling engine (:mod:`bigimg._resample`):
each output chunk reads only the input region its coordinates need and
interpolates there with scipy's own arithmetic, so results equal scipy's on
the whole array bit for bit, for every chunking, order, mode and prefilter.
The spline prefilter is scipy's recursive filter run over whole lines, one
axis at a time, in the chunks themselves (:mod:`bigimg._resample.prefilter`): exact too.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from typing import Any

import dask.array as da
import numpy as np
import scipy.ndimage as ndi
from dask.array.core import normalize_chunks
from dask.base import tokenize

from bigimg import _kernels
from bigimg._grid import BlockSlices
from bigimg._resample import (
    Mapping,
    Spline,
    given_coordinates,
    resample,
    spline_filtered,
)
from bigimg._validation import as_dask, check_output, scipy_dry_run

__all__ = [
    "geometric_transform",
    "map_coordinates",
    "spline_filter",
    "spline_filter1d",
]

MODES = tuple(_kernels.MODES)  # scipy's boundary modes, the same names as the filters'


# --- arguments ---------------------------------------------------------------------------------


def _spline(order: Any, mode: Any, cval: Any, prefilter: Any) -> Spline:
    """scipy's interpolation arguments, checked (``cval`` may be complex)."""
    if isinstance(order, bool) or not isinstance(order, int | np.integer) or not 0 <= order <= 5:
        raise ValueError(f"order={order!r}: the spline order must be an integer from 0 to 5")
    if mode not in MODES:
        raise ValueError(f"mode={mode!r} is not one of {', '.join(MODES)}")
    return Spline(int(order), mode, cval, bool(prefilter))


def arguments(
    input: Any, output: Any, order: Any, mode: Any, cval: Any, prefilter: Any
) -> tuple[da.Array, Spline, np.dtype]:
    """The image, the spline and the output dtype of a call, checked."""
    image = as_dask(input)
    return image, _spline(order, mode, cval, prefilter), _dtype(output, image)


def _dtype(output: Any, image: da.Array) -> np.dtype:
    dtype = check_output(output)
    if dtype is None:
        return image.dtype
    if image.dtype.kind == "c" and dtype.kind != "c":  # scipy promotes it (and warns)
        return np.promote_types(dtype, np.complex64)
    return dtype


def output_chunks_for(
    output_chunks: Any, shape: tuple[int, ...], like: da.Array, dtype: np.dtype
) -> Any:
    """``output_chunks``, else the input's chunks (same shape) or its chunk sizes."""
    if output_chunks is not None:
        return normalize_chunks(output_chunks, shape, dtype=dtype)
    if shape == like.shape:
        return like.chunks
    if len(shape) == like.ndim:  # (an empty input's chunk size 0 stands for any size)
        return normalize_chunks(tuple(max(1, c) for c in like.chunksize), shape)
    return normalize_chunks("auto", shape, dtype=dtype)


def _split_complex(
    run: Callable[[da.Array, float], da.Array], image: da.Array, cval: Any, dtype: np.dtype
) -> da.Array:
    """scipy transforms the real and imaginary parts of complex input apart."""
    part = np.dtype(np.float64 if dtype.kind != "c" else dtype.type(0).real.dtype)
    real = run(image.real, float(np.real(cval))).astype(part)
    imag = run(image.imag, float(np.imag(cval))).astype(part)
    return da.map_blocks(_complex, real, imag, dtype=dtype, out=dtype)


def _complex(real: np.ndarray, imag: np.ndarray, out: np.dtype) -> np.ndarray:
    result = np.empty(real.shape, out)
    result.real, result.imag = real, imag
    return result


# --- the transforms ----------------------------------------------------------------------------


def transform(
    image: da.Array,
    mapping: Mapping,
    output_shape: tuple[int, ...],
    spline: Spline,
    dtype: np.dtype,
    output_chunks: Any,
    name: str,
    coordinates: da.Array | None = None,
) -> da.Array:
    _check_empty(image, mapping.axes, spline, output_shape)
    chunks = (
        coordinates.chunks[1:]
        if coordinates is not None
        else output_chunks_for(output_chunks, output_shape, image, dtype)
    )
    if image.dtype.kind == "c":

        def run(part: da.Array, value: float) -> da.Array:
            return transform(
                part,
                mapping,
                output_shape,
                dataclasses.replace(spline, cval=value),
                np.dtype(np.float64),
                chunks,
                name,
                coordinates,
            )

        return _split_complex(run, image, spline.cval, dtype)
    spline = dataclasses.replace(spline, cval=float(spline.cval))
    return resample(
        image,
        mapping,
        spline,
        output_shape,
        chunks,
        dtype=dtype,
        name=name,
        coordinates=coordinates,
    )


def _check_empty(
    image: da.Array, axes: Sequence[int], spline: Spline, output_shape: Sequence[int]
) -> None:
    """An input empty along an interpolated axis has no value to interpolate:
    scipy refuses it in mode 'nearest' with a prefilter (numpy's pad cannot
    extend it), gives ``cval`` in the constant modes, and in the other modes
    returns whatever memory lies past the array (undefined). bigimg refuses
    that last case too, unless the output is empty as well."""
    empty = [ax for ax in axes if image.shape[ax] == 0]
    if not empty:
        return
    if spline.mode == "nearest" and spline.order > 1 and spline.prefilter:
        raise ValueError(
            f"input has length 0 along axis {empty[0]}: mode='nearest' cannot extend an "
            "empty axis for the spline prefilter (scipy refuses it too)"
        )
    if math.prod(output_shape) and spline.mode not in ("constant", "grid-constant"):
        raise ValueError(
            f"input has length 0 along axis {empty[0]}: mode={spline.mode!r} has no value "
            "to extend it with, only the constant modes can fill a non-empty output "
            "(scipy reads memory past the array)"
        )


def map_coordinates(
    input: Any,
    coordinates: Any,
    output: Any = None,
    order: int = 3,
    mode: str = "constant",
    cval: float = 0.0,
    prefilter: bool = True,
) -> da.Array:
    """Interpolate at given coordinates, equal to ``scipy.ndimage.map_coordinates``.

    Bit-identical to scipy on the whole array for every chunking, order,
    mode and prefilter. The result is chunked as ``coordinates`` along its
    output axes; their bounds per chunk are read at call time (one pass over
    them), so that each output chunk reads only the input region it needs.

    Parameters
    ----------
    input : array_like or dask.array.Array
        The image. Complex images are interpolated as real and imaginary
        parts, as scipy does.
    coordinates : array_like or dask.array.Array
        Real numbers of shape ``(input.ndim, *output shape)``: the input
        coordinates of each output pixel.
    output : dtype, optional
        Dtype of the result (default: the input's). Unlike scipy, not an
        array: a lazy result cannot fill one. A real dtype for a complex
        input is promoted to complex, as scipy does.
    order : int, optional
        Spline order, 0 to 5 (default 3).
    mode : str, optional
        How the input extends beyond its edges: 'constant' (default),
        'grid-constant', 'nearest', 'reflect', 'mirror', 'grid-mirror',
        'wrap' or 'grid-wrap', as in scipy.
    cval : scalar, optional
        Value past the edges for the constant modes (default 0.0); complex
        for complex input.
    prefilter : bool, optional
        Whether to spline-filter the input first for ``order > 1`` (default
        True); False treats the input as spline coefficients already.

    Returns
    -------
    dask.array.Array
        Lazy result of shape ``coordinates.shape[1:]``.

    Raises
    ------
    ValueError
        For an order outside 0 to 5, an unknown mode, coordinates of the
        wrong shape, and whatever scipy refuses.
    TypeError
        For an output array, or coordinates that are not real numbers.

    See Also
    --------
    geometric_transform, affine_transform

    Examples
    --------
    >>> import numpy as np, dask.array as da, scipy.ndimage as ndi
    >>> x = np.arange(12.0).reshape(4, 3)
    >>> c = [[0.5, 2.0], [0.5, 1.0]]
    >>> map_coordinates(da.from_array(x, chunks=2), c, order=1).compute()
    array([2., 7.])
    >>> bool((map_coordinates(x, c).compute() == ndi.map_coordinates(x, c)).all())
    True
    """
    image, spline, dtype = arguments(input, output, order, mode, cval, prefilter)
    order = spline.order
    coords = (
        coordinates
        if isinstance(coordinates, da.Array)
        else da.from_array(np.asarray(coordinates))
    )
    if coords.dtype.kind not in "biuf":
        raise TypeError(f"coordinates must be real numbers, not {coords.dtype}")
    if coords.ndim < 2 or coords.shape[0] != image.ndim:
        raise ValueError(
            f"coordinates have shape {coords.shape}; expected ({image.ndim}, *output shape)"
        )
    scipy_dry_run(
        lambda x, **kw: ndi.map_coordinates(x, np.zeros((image.ndim, 1)), **kw),
        image,
        output=dtype,
        order=order,
        mode=mode,
        cval=cval,
    )
    coords = coords.rechunk({0: -1})
    mapping = given_coordinates(coords)
    return transform(
        image, mapping, coords.shape[1:], spline, dtype, None, "map-coordinates", coords
    )


def _mapped_block(
    block: np.ndarray,
    mapping_func: Callable[..., Any],
    args: tuple,
    kwargs: dict,
    where: BlockSlices,
    block_id: tuple[int, ...] = (),
) -> np.ndarray:
    location = [(s.start, s.stop) for s in where(block_id)][1:]
    shape = tuple(b - a for a, b in location)
    out = np.empty((block.shape[0], *shape))
    for index in np.ndindex(*shape):
        point = tuple(a + i for (a, _), i in zip(location, index))
        out[(slice(None), *index)] = mapping_func(point, *args, **kwargs)
    return out


def geometric_transform(
    input: Any,
    mapping: Callable[..., Any],
    output_shape: Any = None,
    output: Any = None,
    order: int = 3,
    mode: str = "constant",
    cval: float = 0.0,
    prefilter: bool = True,
    extra_arguments: tuple = (),
    extra_keywords: dict | None = None,
    *,
    output_chunks: Any = None,
) -> da.Array:
    """Transform by a Python mapping, equal to ``scipy.ndimage.geometric_transform``.

    ``mapping`` runs once per output pixel, twice over: at call time to bound
    each output chunk's input region, and again when the chunk is computed.
    Use :func:`affine_transform` or :func:`map_coordinates` where they
    apply: they are far faster. Bit-identical to scipy for every chunking.

    Parameters
    ----------
    input : array_like or dask.array.Array
        The image. Complex images are interpolated as real and imaginary
        parts, as scipy does.
    mapping : callable
        ``mapping(output coordinates tuple, *extra_arguments,
        **extra_keywords)`` returns the input coordinates (a tuple of
        ``input.ndim`` floats), as in scipy.
    output_shape : tuple of int, optional
        Shape of the result (default: the input's).
    output : dtype, optional
        Dtype of the result (default: the input's). Unlike scipy, not an
        array: a lazy result cannot fill one. A real dtype for a complex
        input is promoted to complex, as scipy does.
    order : int, optional
        Spline order, 0 to 5 (default 3).
    mode : str, optional
        How the input extends beyond its edges: 'constant' (default),
        'grid-constant', 'nearest', 'reflect', 'mirror', 'grid-mirror',
        'wrap' or 'grid-wrap', as in scipy.
    cval : scalar, optional
        Value past the edges for the constant modes (default 0.0).
    prefilter : bool, optional
        Whether to spline-filter the input first for ``order > 1`` (default
        True); False treats the input as spline coefficients already.
    extra_arguments : tuple, optional
        Extra positional arguments passed to ``mapping``.
    extra_keywords : dict, optional
        Extra keyword arguments passed to ``mapping``.
    output_chunks : int, tuple or str, optional
        Keyword-only, bigimg's addition: chunks of the result, as dask takes
        them (default: the input's chunks for the same shape, else its chunk
        sizes).

    Returns
    -------
    dask.array.Array
        Lazy result of shape ``output_shape``.

    Raises
    ------
    TypeError
        If ``mapping`` is not callable, or ``output`` is an array.
    ValueError
        For an order outside 0 to 5, an unknown mode, and whatever scipy
        refuses.

    See Also
    --------
    map_coordinates, affine_transform

    Examples
    --------
    >>> import numpy as np, dask.array as da, scipy.ndimage as ndi
    >>> x = np.arange(12.0).reshape(4, 3)
    >>> def half(o):
    ...     return (o[0] * 0.5, o[1])
    >>> y = geometric_transform(da.from_array(x, chunks=2), half, order=1)
    >>> bool((y.compute() == ndi.geometric_transform(x, half, order=1)).all())
    True
    """
    image, spline, dtype = arguments(input, output, order, mode, cval, prefilter)
    order = spline.order
    if not callable(mapping):
        raise TypeError(f"mapping must be callable, not {type(mapping).__name__}")
    shape = tuple(image.shape if output_shape is None else (int(n) for n in output_shape))
    kwargs = dict(extra_keywords or {})
    chunks = output_chunks_for(output_chunks, shape, image, dtype)
    token = tokenize(mapping, extra_arguments, kwargs, shape, chunks)
    grid = da.zeros((image.ndim, *shape), chunks=((image.ndim,), *chunks), dtype=np.float64)
    coords = da.map_blocks(
        _mapped_block,
        grid,
        where=BlockSlices(grid.chunks),
        mapping_func=mapping,
        args=tuple(extra_arguments),
        kwargs=kwargs,
        dtype=np.float64,
        name=f"geometric-coordinates-{token}",
    )
    return map_coordinates(
        image, coords, output=dtype, order=order, mode=mode, cval=cval, prefilter=prefilter
    )


# --- spline filters ----------------------------------------------------------------------------


def spline_filter1d(
    input: Any, order: int = 3, axis: int = -1, output: Any = np.float64, mode: str = "mirror"
) -> da.Array:
    """Spline coefficients along one axis, equal to ``scipy.ndimage.spline_filter1d``.

    scipy's recursive filter runs over whole lines, one task per line of
    chunks, so the result is bit-identical for every chunking.

    Parameters
    ----------
    input : array_like or dask.array.Array
        The image; complex images are filtered as real and imaginary parts.
    order : int, optional
        Spline order, 0 to 5 (default 3); orders 0 and 1 need no filter and
        return the input as ``output``.
    axis : int, optional
        The axis to filter along (default -1).
    output : dtype, optional
        Dtype of the result (default float64). Unlike scipy, not an array: a
        lazy result cannot fill one. A real dtype for a complex input is
        promoted to complex, as scipy does.
    mode : str, optional
        The boundary the coefficients assume: 'mirror' (default), or another
        of scipy's modes.

    Returns
    -------
    dask.array.Array
        Lazy coefficients, with the input's shape and chunks.

    Raises
    ------
    ValueError
        For an order outside 0 to 5, an unknown mode, and whatever scipy
        refuses (such as an axis out of range).

    See Also
    --------
    spline_filter

    Examples
    --------
    >>> import numpy as np, dask.array as da, scipy.ndimage as ndi
    >>> x = np.arange(20.0).reshape(4, 5) ** 2
    >>> y = spline_filter1d(da.from_array(x, chunks=2), axis=0)
    >>> bool((y.compute() == ndi.spline_filter1d(x, axis=0)).all())
    True
    """
    image, spline, dtype = arguments(input, output, order, mode, 0.0, True)
    order = spline.order
    scipy_dry_run(ndi.spline_filter1d, image, order, axis, output=dtype, mode=mode)
    ax = axis % image.ndim
    return _filtered(image, order, (ax,), dtype, mode)


def spline_filter(
    input: Any, order: int = 3, output: Any = np.float64, mode: str = "mirror"
) -> da.Array:
    """Spline coefficients along every axis, equal to ``scipy.ndimage.spline_filter``.

    :func:`spline_filter1d` along each axis in turn, as scipy does:
    bit-identical for every chunking.

    Parameters
    ----------
    input : array_like or dask.array.Array
        The image; complex images are filtered as real and imaginary parts.
    order : int, optional
        Spline order, 0 to 5 (default 3); orders 0 and 1 need no filter and
        return the input as ``output``.
    output : dtype, optional
        Dtype of the result (default float64). Unlike scipy, not an array: a
        lazy result cannot fill one. A real dtype for a complex input is
        promoted to complex, as scipy does.
    mode : str, optional
        The boundary the coefficients assume: 'mirror' (default), or another
        of scipy's modes.

    Returns
    -------
    dask.array.Array
        Lazy coefficients, with the input's shape and chunks.

    Raises
    ------
    ValueError
        For an order outside 0 to 5, an unknown mode, and whatever scipy
        refuses.

    See Also
    --------
    spline_filter1d, map_coordinates

    Examples
    --------
    >>> import numpy as np, dask.array as da, scipy.ndimage as ndi
    >>> x = np.arange(20.0).reshape(4, 5) ** 2
    >>> y = spline_filter(da.from_array(x, chunks=2), mode="reflect")
    >>> bool((y.compute() == ndi.spline_filter(x, mode="reflect")).all())
    True
    """
    image, spline, dtype = arguments(input, output, order, mode, 0.0, True)
    order = spline.order
    scipy_dry_run(ndi.spline_filter, image, order, output=dtype, mode=mode)
    return _filtered(image, order, tuple(range(image.ndim)), dtype, mode)


def _filtered(
    image: da.Array, order: int, axes: tuple[int, ...], dtype: np.dtype, mode: str
) -> da.Array:
    if image.dtype.kind == "c":

        def run(part: da.Array, _: float) -> da.Array:
            return _filtered(part, order, axes, np.dtype(dtype.type(0).real.dtype), mode)

        return _split_complex(run, image, 0.0, dtype)
    return spline_filtered(image, order, mode, axes, dtype)
