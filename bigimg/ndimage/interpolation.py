"""Geometric transforms and spline filters of scipy.ndimage on dask arrays.

Every transform stands on the resampling engine (:mod:`bigimg._resample`):
each output chunk reads only the input region its coordinates need and
interpolates there with scipy's own arithmetic, so results equal scipy's on
the whole array bit for bit, for every chunking, order, mode and prefilter.
The spline prefilter is scipy's recursive filter run over whole lines, one
axis at a time, in the chunks themselves (:mod:`bigimg._prefilter`): exact too.
"""

from __future__ import annotations

import dataclasses
import math
import operator
from collections.abc import Callable, Sequence
from typing import Any

import dask.array as da
import numpy as np
import scipy.ndimage as ndi
from dask.array.core import normalize_chunks
from dask.base import tokenize
from scipy import special

from bigimg import _overlap
from bigimg._resample import (
    Mapping,
    Spline,
    affine_mapping,
    given_coordinates,
    resample,
    separable_mapping,
    spline_filtered,
)
from bigimg.ndimage._inputs import as_dask, check_output, per_axis, scipy_dry_run

__all__ = [
    "affine_transform",
    "geometric_transform",
    "map_coordinates",
    "rotate",
    "shift",
    "spline_filter",
    "spline_filter1d",
    "zoom",
]

MODES = tuple(_overlap.MODES)  # scipy's boundary modes, the same names as the filters'


# --- arguments ---------------------------------------------------------------------------------


def _spline(order: Any, mode: Any, cval: Any, prefilter: Any) -> Spline:
    """scipy's interpolation arguments, checked (``cval`` may be complex)."""
    if isinstance(order, bool) or not isinstance(order, int | np.integer) or not 0 <= order <= 5:
        raise ValueError(f"order={order!r}: the spline order must be an integer from 0 to 5")
    if mode not in MODES:
        raise ValueError(f"mode={mode!r} is not one of {', '.join(MODES)}")
    return Spline(int(order), mode, cval, bool(prefilter))


def _arguments(
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


def _chunks(output_chunks: Any, shape: tuple[int, ...], like: da.Array, dtype: np.dtype) -> Any:
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


def _transform(
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
        else _chunks(output_chunks, output_shape, image, dtype)
    )
    if image.dtype.kind == "c":

        def run(part: da.Array, value: float) -> da.Array:
            return _transform(
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


def affine_transform(
    input: Any,
    matrix: Any,
    offset: Any = 0.0,
    output_shape: Any = None,
    output: Any = None,
    order: int = 3,
    mode: str = "constant",
    cval: float = 0.0,
    prefilter: bool = True,
    *,
    output_chunks: Any = None,
) -> da.Array:
    """Affine transform; equals ``scipy.ndimage.affine_transform`` for every chunking.

    Parameters are scipy's (``output`` is a dtype); ``output_chunks`` chunks
    the result (default: the input's chunks, or its chunk sizes for another
    shape). Each output chunk reads only the input region it maps onto.

    Examples
    --------
    >>> import numpy as np, dask.array as da, scipy.ndimage as ndi
    >>> x = np.arange(48.0).reshape(6, 8)
    >>> m = [[0.8, 0.3], [-0.2, 1.1]]
    >>> y = affine_transform(da.from_array(x, chunks=3), m, offset=(1, -0.5))
    >>> bool((y.compute() == ndi.affine_transform(x, m, offset=(1, -0.5))).all())
    True
    """
    image, spline, dtype = _arguments(input, output, order, mode, cval, prefilter)
    order = spline.order
    shape = tuple(image.shape if output_shape is None else (int(n) for n in output_shape))
    scipy_dry_run(
        lambda x, **kw: ndi.affine_transform(x, matrix, offset, output_shape=_tiny(shape), **kw),
        image,
        output=dtype,
        order=order,
        mode=mode,
        cval=cval,
        prefilter=False,
    )
    m = np.asarray(matrix, dtype=np.float64)
    ndim = image.ndim
    if m.ndim == 2 and m.shape[1] == ndim + 1 and m.shape[0] in (ndim, ndim + 1):
        offset, m = m[:ndim, ndim], m[:ndim, :ndim]
    off = np.asarray(
        per_axis(offset, ndim, "offset") if np.ndim(offset) == 0 else offset, np.float64
    )
    if m.ndim == 1:
        with np.errstate(divide="ignore", invalid="ignore"):
            mapping = separable_mapping(m, off / m, False)
    else:
        mapping = affine_mapping(m, off, tuple(range(len(shape))))
    return _transform(image, mapping, shape, spline, dtype, output_chunks, "affine-transform")


def _tiny(shape: Sequence[int]) -> tuple[int, ...]:
    return tuple(min(3, max(int(n), 1)) for n in shape)


def shift(
    input: Any,
    shift: Any,
    output: Any = None,
    order: int = 3,
    mode: str = "constant",
    cval: float = 0.0,
    prefilter: bool = True,
) -> da.Array:
    """Shift; equals ``scipy.ndimage.shift`` for every chunking (chunks as the input's).

    Examples
    --------
    >>> import numpy as np, dask.array as da, scipy.ndimage as ndi
    >>> x = np.arange(30.0).reshape(5, 6)
    >>> y = shift(da.from_array(x, chunks=2), (0.5, -1.25), mode="nearest")
    >>> bool((y.compute() == ndi.shift(x, (0.5, -1.25), mode="nearest")).all())
    True
    """
    image, spline, dtype = _arguments(input, output, order, mode, cval, prefilter)
    order = spline.order
    scipy_dry_run(ndi.shift, image, shift, output=dtype, order=order, mode=mode, cval=cval)
    offsets = np.asarray([-float(s) for s in per_axis(shift, image.ndim, "shift")], np.float64)
    mapping = separable_mapping(None, offsets, False)
    return _transform(image, mapping, image.shape, spline, dtype, None, "shift")


def zoom(
    input: Any,
    zoom: Any,
    output: Any = None,
    order: int = 3,
    mode: str = "constant",
    cval: float = 0.0,
    prefilter: bool = True,
    *,
    grid_mode: bool = False,
    output_chunks: Any = None,
) -> da.Array:
    """Zoom; equals ``scipy.ndimage.zoom`` for every chunking.

    The output shape is scipy's, ``round(shape * zoom)``; ``output_chunks``
    chunks it (default: the input's chunk sizes).

    Examples
    --------
    >>> import numpy as np, dask.array as da, scipy.ndimage as ndi
    >>> x = np.arange(30.0).reshape(5, 6)
    >>> y = zoom(da.from_array(x, chunks=2), 1.5)
    >>> y.shape
    (8, 9)
    >>> bool((y.compute() == ndi.zoom(x, 1.5)).all())
    True
    """
    image, spline, dtype = _arguments(input, output, order, mode, cval, prefilter)
    order = spline.order
    factors = per_axis(zoom, image.ndim, "zoom")
    scipy_dry_run(
        ndi.zoom,
        image,
        factors,
        output=dtype,
        order=order,
        mode=mode,
        cval=cval,
        grid_mode=grid_mode,
    )
    shape = tuple(round(float(n * z)) for n, z in zip(image.shape, factors))
    if all(z == 1 for z in factors) and prefilter:  # scipy returns the input itself
        return image.astype(dtype).rechunk(_chunks(output_chunks, shape, image, dtype))
    div = np.array(shape) - (0 if grid_mode else 1)
    num = np.array(image.shape) - (0 if grid_mode else 1)
    ratio = np.divide(num, div, out=np.ones(image.ndim, np.float64), where=div != 0)
    mapping = separable_mapping(ratio, None, grid_mode)
    return _transform(image, mapping, shape, spline, dtype, output_chunks, "zoom")


def rotate(
    input: Any,
    angle: float,
    axes: Any = (1, 0),
    reshape: bool = True,
    output: Any = None,
    order: int = 3,
    mode: str = "constant",
    cval: float = 0.0,
    prefilter: bool = True,
    *,
    output_chunks: Any = None,
) -> da.Array:
    """Rotate in the plane of ``axes``; equals ``scipy.ndimage.rotate`` for every chunking.

    A volume is rotated plane by plane, as scipy does (each plane filtered and
    interpolated on its own).

    Examples
    --------
    >>> import numpy as np, dask.array as da, scipy.ndimage as ndi
    >>> x = np.arange(48.0).reshape(6, 8)
    >>> y = rotate(da.from_array(x, chunks=3), 30)
    >>> y.shape == ndi.rotate(x, 30).shape
    True
    >>> bool((y.compute() == ndi.rotate(x, 30)).all())
    True
    """
    image, spline, dtype = _arguments(input, output, order, mode, cval, prefilter)
    order = spline.order
    scipy_dry_run(
        ndi.rotate, image, angle, axes, reshape, output=dtype, order=order, mode=mode, cval=cval
    )
    plane = sorted(a % image.ndim for a in (operator.index(axes[0]), operator.index(axes[1])))
    c, s = special.cosdg(angle), special.sindg(angle)
    rot = np.array([[c, s], [-s, c]])
    size = np.asarray(image.shape)
    in_plane = size[plane]
    if reshape:
        iy, ix = in_plane
        corners = rot @ [[0, 0, iy, iy], [0, ix, 0, ix]]
        out_plane = (np.ptp(corners, axis=1) + 0.5).astype(int)
    else:
        out_plane = in_plane
    offset = (in_plane - 1) / 2 - rot @ ((out_plane - 1) / 2)
    shape_arr = size.copy()
    shape_arr[plane] = out_plane
    shape = tuple(int(n) for n in shape_arr)
    mapping = affine_mapping(rot, offset, tuple(plane))
    mapping = dataclasses.replace(mapping, axes=tuple(plane))
    return _transform(image, mapping, shape, spline, dtype, output_chunks, "rotate")


def map_coordinates(
    input: Any,
    coordinates: Any,
    output: Any = None,
    order: int = 3,
    mode: str = "constant",
    cval: float = 0.0,
    prefilter: bool = True,
) -> da.Array:
    """Interpolate at given coordinates; equals ``scipy.ndimage.map_coordinates``.

    ``coordinates`` (numpy or dask, shape ``(input.ndim, *output shape)``)
    chunk the result along its output axes. Their bounds per chunk are read
    at call time (one pass over them), so that each output chunk reads only
    the input region it needs.

    Examples
    --------
    >>> import numpy as np, dask.array as da, scipy.ndimage as ndi
    >>> x = np.arange(12.0).reshape(4, 3)
    >>> c = [[0.5, 2.0], [0.5, 1.0]]
    >>> map_coordinates(da.from_array(x, chunks=2), c, order=1).compute()
    array([2., 7.])
    """
    image, spline, dtype = _arguments(input, output, order, mode, cval, prefilter)
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
    return _transform(
        image, mapping, coords.shape[1:], spline, dtype, None, "map-coordinates", coords
    )


def _mapped_block(
    block: np.ndarray,
    mapping_func: Callable[..., Any],
    args: tuple,
    kwargs: dict,
    block_info: Any = None,
) -> np.ndarray:
    location = block_info[None]["array-location"][1:]
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
    """Transform by a Python mapping; equals ``scipy.ndimage.geometric_transform``.

    ``mapping(output coordinates tuple, *extra_arguments, **extra_keywords)``
    gives the input coordinates, as in scipy, once per output pixel. It runs
    twice: at call time to bound each chunk's input region, and again when
    the chunk is computed; use :func:`affine_transform` or
    :func:`map_coordinates` where they apply, they are far faster.

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
    image, spline, dtype = _arguments(input, output, order, mode, cval, prefilter)
    order = spline.order
    if not callable(mapping):
        raise TypeError(f"mapping must be callable, not {type(mapping).__name__}")
    shape = tuple(image.shape if output_shape is None else (int(n) for n in output_shape))
    kwargs = dict(extra_keywords or {})
    chunks = _chunks(output_chunks, shape, image, dtype)
    token = tokenize(mapping, extra_arguments, kwargs, shape, chunks)
    coords = da.map_blocks(
        _mapped_block,
        da.zeros((image.ndim, *shape), chunks=((image.ndim,), *chunks), dtype=np.float64),
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
    """Spline coefficients along one axis; equals ``scipy.ndimage.spline_filter1d``.

    scipy's recursive filter runs over whole lines, one task per line of
    chunks, so the result is bit-identical for every chunking.

    Examples
    --------
    >>> import numpy as np, dask.array as da, scipy.ndimage as ndi
    >>> x = np.arange(20.0).reshape(4, 5) ** 2
    >>> y = spline_filter1d(da.from_array(x, chunks=2), axis=0)
    >>> bool((y.compute() == ndi.spline_filter1d(x, axis=0)).all())
    True
    """
    image, spline, dtype = _arguments(input, output, order, mode, 0.0, True)
    order = spline.order
    scipy_dry_run(ndi.spline_filter1d, image, order, axis, output=dtype, mode=mode)
    ax = axis % image.ndim
    return _filtered(image, order, (ax,), dtype, mode)


def spline_filter(
    input: Any, order: int = 3, output: Any = np.float64, mode: str = "mirror"
) -> da.Array:
    """Spline coefficients along every axis; equals ``scipy.ndimage.spline_filter``.

    Examples
    --------
    >>> import numpy as np, dask.array as da, scipy.ndimage as ndi
    >>> x = np.arange(20.0).reshape(4, 5) ** 2
    >>> y = spline_filter(da.from_array(x, chunks=2), mode="reflect")
    >>> bool((y.compute() == ndi.spline_filter(x, mode="reflect")).all())
    True
    """
    image, spline, dtype = _arguments(input, output, order, mode, 0.0, True)
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
