"""Geometric transforms of scipy.ndimage on dask arrays: ``affine_transform``,
``shift``, ``zoom`` and ``rotate``.

Each output chunk reads only the input region its coordinates reach plus the
spline support (the resampling engine, :mod:`bigimg._resample`); spline
coefficients come from scipy's prefilter run on whole lines.
"""

from __future__ import annotations

import dataclasses
import operator
from collections.abc import Sequence
from typing import Any

import dask.array as da
import numpy as np
import scipy.ndimage as ndi
from scipy import special

from bigimg._resample import (
    affine_mapping,
    separable_mapping,
)
from bigimg._validation import per_axis, scipy_dry_run
from bigimg.ndimage.interpolation import arguments, output_chunks_for, transform

__all__ = [
    "affine_transform",
    "rotate",
    "shift",
    "zoom",
]


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
    """Affine transform, equal to ``scipy.ndimage.affine_transform``.

    Output pixel ``o`` takes the input's value at ``matrix @ o + offset``.
    Bit-identical to scipy for every chunking; each output chunk reads only
    the input region it maps onto (plus the spline's support).

    Parameters
    ----------
    input : array_like or dask.array.Array
        The image. Complex images are interpolated as real and imaginary
        parts, as scipy does.
    matrix : array_like
        As in scipy: ``(ndim, ndim)``, a diagonal ``(ndim,)``, or homogeneous
        ``(ndim, ndim + 1)`` / ``(ndim + 1, ndim + 1)`` (whose last column
        is the offset, and ``offset`` is then ignored).
    offset : float or sequence of float, optional
        Offset into the input, one per axis or the same for all (default 0.0).
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
    ValueError
        For an order outside 0 to 5, an unknown mode, and whatever scipy
        refuses.
    TypeError
        If ``output`` is an array.

    See Also
    --------
    map_coordinates, rotate, shift, zoom

    Examples
    --------
    >>> import numpy as np, dask.array as da, scipy.ndimage as ndi
    >>> x = np.arange(48.0).reshape(6, 8)
    >>> m = [[0.8, 0.3], [-0.2, 1.1]]
    >>> y = affine_transform(da.from_array(x, chunks=3), m, offset=(1, -0.5))
    >>> bool((y.compute() == ndi.affine_transform(x, m, offset=(1, -0.5))).all())
    True
    """
    image, spline, dtype = arguments(input, output, order, mode, cval, prefilter)
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
    return transform(image, mapping, shape, spline, dtype, output_chunks, "affine-transform")


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
    """Shift an array, equal to ``scipy.ndimage.shift``.

    Output pixel ``o`` takes the input's value at ``o - shift``.
    Bit-identical to scipy for every chunking; the result has the input's
    chunks.

    Parameters
    ----------
    input : array_like or dask.array.Array
        The image. Complex images are interpolated as real and imaginary
        parts, as scipy does.
    shift : float or sequence of float
        The shift along each axis, or the same for all.
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

    Returns
    -------
    dask.array.Array
        Lazy result, with the input's shape and chunks.

    Raises
    ------
    ValueError
        For an order outside 0 to 5, an unknown mode, and whatever scipy
        refuses.
    TypeError
        If ``output`` is an array.

    Examples
    --------
    >>> import numpy as np, dask.array as da, scipy.ndimage as ndi
    >>> x = np.arange(30.0).reshape(5, 6)
    >>> y = shift(da.from_array(x, chunks=2), (0.5, -1.25), mode="nearest")
    >>> bool((y.compute() == ndi.shift(x, (0.5, -1.25), mode="nearest")).all())
    True
    """
    image, spline, dtype = arguments(input, output, order, mode, cval, prefilter)
    order = spline.order
    scipy_dry_run(ndi.shift, image, shift, output=dtype, order=order, mode=mode, cval=cval)
    offsets = np.asarray([-float(s) for s in per_axis(shift, image.ndim, "shift")], np.float64)
    mapping = separable_mapping(None, offsets, False)
    return transform(image, mapping, image.shape, spline, dtype, None, "shift")


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
    """Zoom an array, equal to ``scipy.ndimage.zoom``.

    Bit-identical to scipy for every chunking. The output shape is scipy's,
    ``round(shape * zoom)``. A zoom of 1 on every axis with ``prefilter``
    returns the input as ``output``, as scipy does.

    Parameters
    ----------
    input : array_like or dask.array.Array
        The image. Complex images are interpolated as real and imaginary
        parts, as scipy does.
    zoom : float or sequence of float
        The zoom factor along each axis, or the same for all.
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
    grid_mode : bool, optional
        Keyword-only, as in scipy: False (default) maps the centres of the
        corner pixels onto each other, True the outer edges of the grid.
    output_chunks : int, tuple or str, optional
        Keyword-only, bigimg's addition: chunks of the result, as dask takes
        them (default: the input's chunks for the same shape, else its chunk
        sizes).

    Returns
    -------
    dask.array.Array
        Lazy result of shape ``round(input.shape * zoom)``.

    Raises
    ------
    ValueError
        For an order outside 0 to 5, an unknown mode, and whatever scipy
        refuses.
    TypeError
        If ``output`` is an array.

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
    image, spline, dtype = arguments(input, output, order, mode, cval, prefilter)
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
        return image.astype(dtype).rechunk(output_chunks_for(output_chunks, shape, image, dtype))
    div = np.array(shape) - (0 if grid_mode else 1)
    num = np.array(image.shape) - (0 if grid_mode else 1)
    ratio = np.divide(num, div, out=np.ones(image.ndim, np.float64), where=div != 0)
    mapping = separable_mapping(ratio, None, grid_mode)
    return transform(image, mapping, shape, spline, dtype, output_chunks, "zoom")


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
    """Rotate an array in the plane of ``axes``, equal to ``scipy.ndimage.rotate``.

    Bit-identical to scipy for every chunking. A volume is rotated plane by
    plane, as scipy does (each plane filtered and interpolated on its own).

    Parameters
    ----------
    input : array_like or dask.array.Array
        The image. Complex images are interpolated as real and imaginary
        parts, as scipy does.
    angle : float
        The rotation angle in degrees.
    axes : tuple of 2 ints, optional
        The two axes of the rotation plane (default ``(1, 0)``).
    reshape : bool, optional
        If True (default), the output shape holds the whole rotated input;
        if False, it is the input's shape.
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
    output_chunks : int, tuple or str, optional
        Keyword-only, bigimg's addition: chunks of the result, as dask takes
        them (default: the input's chunks for the same shape, else its chunk
        sizes).

    Returns
    -------
    dask.array.Array
        Lazy rotated image.

    Raises
    ------
    ValueError
        For an order outside 0 to 5, an unknown mode, and whatever scipy
        refuses.
    TypeError
        If ``output`` is an array.

    See Also
    --------
    affine_transform

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
    image, spline, dtype = arguments(input, output, order, mode, cval, prefilter)
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
    return transform(image, mapping, shape, spline, dtype, output_chunks, "rotate")
