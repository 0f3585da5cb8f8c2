"""Fourier-domain filters of scipy.ndimage on dask arrays, bit-identical to scipy.

The input is a spectrum computed with :mod:`dask.array.fft` (``n >= 0``: along
``axis``, a real FFT of a length-``n`` signal). Each filter multiplies every
element by a factor depending only on its global index and the global shape:
one task per chunk (:func:`dask.array.map_blocks`), the input's chunks. Per-axis
tables are computed once at call time; each task receives the slices its chunk
needs (small dask arrays aligned with the chunks). Arithmetic follows scipy's C:

* gaussian, uniform and 1-D ellipsoid are separable: each axis's table is
  scipy's own (scipy on a 1-D array of ones); the tables are multiplied in axis
  order in double, the input (converted to double, real and imaginary parts
  alike) is multiplied by the product, then rounded to the output dtype.
* shift sums per-axis phases ``-2*pi*shift*k/N`` in axis order and multiplies by
  ``cos + i*sin`` of the sum, as complex numbers in double.
* 2-D/3-D ellipsoid: ``2*J1(r)/r`` and ``3*(sin(r) - r*cos(r))/r**3`` with
  ``r = sqrt(sum_k (pi*size_k*k/N_k)**2)``, via ``scipy.special.j1`` and numpy's
  ``sin``/``cos``, which equal the C functions scipy calls (tested bit for bit).
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable
from typing import Any

import dask.array as da
import numpy as np
import scipy.ndimage as ndi
import scipy.special

from bigimg._validation import as_dask, check_output, per_axis, scipy_dry_run

__all__ = ["fourier_ellipsoid", "fourier_gaussian", "fourier_shift", "fourier_uniform"]


# --- per-axis tables (1-D, computed once per call, cached) ------------------------------


def _frequencies(length: int, real: bool) -> np.ndarray:
    """FFT index of each position as a float: 0, 1, ..., -2, -1 (0..length-1 if real)."""
    k = np.arange(length)
    return (k if real else np.where(k < (length + 1) // 2, k, k - length)).astype(np.float64)


@functools.lru_cache(maxsize=256)
def _scipy_table(name: str, length: int, param: float, n: int) -> np.ndarray:
    """scipy's own factor table for one axis: ``scipy.ndimage.<name>`` on ones."""
    table = getattr(ndi, name)(np.ones(length), param, n=n, axis=0)
    table.flags.writeable = False
    return table


@np.errstate(all="ignore")
def _phase_table(length: int, shift: float, n: int) -> np.ndarray:
    """fourier_shift's phase per index; axes of length 1 contribute nothing."""
    if length == 1:
        return np.zeros(1)
    return (-2.0 * np.pi * shift / np.float64(n if n >= 0 else length)) * _frequencies(
        length, n >= 0
    )


@np.errstate(all="ignore")
def _ellipsoid_table(length: int, size: float, n: int) -> np.ndarray:
    """fourier_ellipsoid's squared per-axis radius term (2-D and 3-D)."""
    term = _frequencies(length, n >= 0) * (np.pi * size / np.float64(n if n >= 0 else length))
    return term * term


# --- block functions --------------------------------------------------------------------


@np.errstate(all="ignore")  # like C: inf * 0 is nan, silently
def _scale(block: np.ndarray, factor: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """``block * factor`` in double precision, rounded to ``dtype`` (scipy's C loop)."""
    if block.dtype.kind == "c":
        out = np.empty(block.shape, dtype=dtype)
        out.real = block.real.astype(np.float64) * factor
        out.imag = block.imag.astype(np.float64) * factor
        return out
    return (block.astype(np.float64) * factor).astype(dtype)


def _separable_block(block: np.ndarray, *tables: np.ndarray, dtype: np.dtype) -> np.ndarray:
    return _scale(block, functools.reduce(operator.mul, tables), dtype)


def _ellipsoid_block(block: np.ndarray, *tables: np.ndarray, dtype: np.dtype) -> np.ndarray:
    r = np.sqrt(functools.reduce(operator.add, tables, 0.0))
    with np.errstate(all="ignore"):
        if len(tables) == 2:
            factor = 2.0 * scipy.special.j1(r) / r
        else:
            factor = 3.0 * (np.sin(r) - r * np.cos(r)) / (r * r * r)
    return _scale(block, np.where(r > 0.0, factor, 1.0), dtype)


@np.errstate(all="ignore")
def _shift_block(block: np.ndarray, *tables: np.ndarray, dtype: np.dtype) -> np.ndarray:
    phase = functools.reduce(operator.add, tables, 0.0)
    cos, sin = np.cos(phase), np.sin(phase)
    out = np.empty(block.shape, dtype=dtype)
    if block.dtype.kind == "c":
        re, im = block.real.astype(np.float64), block.imag.astype(np.float64)
        out.real = re * cos - im * sin
        out.imag = re * sin + im * cos
    else:
        re = block.astype(np.float64)
        out.real = re * cos
        out.imag = re * sin
    return out


# --- graph ------------------------------------------------------------------------------


def _prepare(
    func: Callable[..., Any], input: Any, param: Any, name: str, n: Any, axis: Any, output: Any
) -> tuple[da.Array, tuple[float, ...], int, int, np.dtype]:
    """Validate at call time: bigimg's checks naming the parameter, then scipy's own."""
    image = as_dask(input)
    if isinstance(param, np.ndarray) and param.ndim == 0:
        param = param.item()
    values = per_axis(param, max(image.ndim, 1), name)
    try:
        params = tuple(float(v) for v in values)
    except (TypeError, ValueError):
        raise TypeError(f"{name}={param!r} must be a number or a sequence of numbers") from None
    if name != "shift" and not all(p >= 0 for p in params):
        raise ValueError(f"{name}={param!r} must be non-negative numbers")
    n, axis = _integer(n, "n"), _integer(axis, "axis")
    if func is ndi.fourier_ellipsoid and image.ndim > 3:
        raise NotImplementedError("Only 1d, 2d and 3d inputs are supported")  # scipy's
    dtype = scipy_dry_run(func, image, params, n=n, axis=axis, output=_type(output))
    axis %= image.ndim
    if n >= 0 and (n == 0 or image.shape[axis] != n // 2 + 1):
        raise ValueError(
            f"n={n} must be negative (complex FFT) or the length of the real FFT's signal: "
            f"n >= 1 with n // 2 + 1 == {image.shape[axis]} entries along axis {axis}"
        )
    return image, params, n, axis, dtype


def _integer(value: Any, name: str) -> int:
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError(f"{name}={value!r} must be an integer") from None


def _type(output: Any) -> type | None:
    """scipy takes the scalar type (``np.float32``), bigimg any dtype-like."""
    dtype = check_output(output)
    return None if dtype is None else dtype.type


def _map(
    block_func: Callable[..., np.ndarray], image: da.Array, tables: list[np.ndarray], dtype: Any
) -> da.Array:
    """One task per chunk; each gets the slices of the per-axis tables it needs."""
    if image.size == 0:
        return da.zeros(image.shape, dtype=dtype, chunks=image.chunks)
    aligned = []
    for k, table in enumerate(tables):
        shape = [1] * image.ndim
        shape[k] = table.size
        chunks = tuple(image.chunks[k] if j == k else (1,) for j in range(image.ndim))
        aligned.append(da.from_array(table.reshape(shape), chunks=chunks))
    meta = np.empty((0,) * image.ndim, dtype=dtype)
    return da.map_blocks(block_func, image, *aligned, dtype=dtype, meta=meta)


def _run(name: str, input: Any, param: Any, n: Any, axis: Any, output: Any) -> da.Array:
    """Validate, build each axis's table, one task per chunk."""
    pname = {"fourier_gaussian": "sigma", "fourier_shift": "shift"}.get(name, "size")
    image, params, n, axis, dtype = _prepare(
        getattr(ndi, name), input, param, pname, n, axis, output
    )
    table: Callable[[int, Any, int], np.ndarray]
    if name == "fourier_shift":
        table, block = _phase_table, _shift_block
    elif name == "fourier_ellipsoid" and image.ndim > 1:  # not separable
        table, block = _ellipsoid_table, _ellipsoid_block
    else:  # separable: scipy's own tables
        table, block = functools.partial(_scipy_table, name), _separable_block
    tables = [
        table(length, p, n if k == axis else -1)
        for k, (length, p) in enumerate(zip(image.shape, params))
    ]
    return _map(functools.partial(block, dtype=dtype), image, tables, dtype)


# --- public functions -------------------------------------------------------------------


def fourier_gaussian(
    input: Any, sigma: Any, n: int = -1, axis: int = -1, output: Any = None
) -> da.Array:
    """Multiply by the Fourier transform of a Gaussian; equals scipy's, bit for bit.

    Parameters
    ----------
    input : dask.array.Array or array_like
        A spectrum, e.g. from :func:`dask.array.fft.fft2` (numpy arrays are wrapped).
    sigma : float or sequence of floats
        Standard deviation of the Gaussian, one or one per axis (non-negative).
    n : int, optional
        Negative (default): the input is a complex FFT. ``n >= 1``: along ``axis``
        the input is the real FFT of a length-``n`` signal (``n // 2 + 1`` entries).
    axis : int, optional
        The axis of the real transform.
    output : dtype, optional
        dtype of the result (float32/64, complex64/128; not an array).

    Returns
    -------
    dask.array.Array
        Lazy result with the input's chunks.

    Examples
    --------
    >>> import numpy as np, dask.array as da, scipy.ndimage as ndi
    >>> f = np.fft.fft2(np.random.default_rng(0).random((32, 32)))
    >>> y = fourier_gaussian(da.from_array(f, chunks=10), sigma=2)
    >>> bool((y.compute() == ndi.fourier_gaussian(f, 2)).all())
    True
    """
    return _run("fourier_gaussian", input, sigma, n, axis, output)


def fourier_uniform(
    input: Any, size: Any, n: int = -1, axis: int = -1, output: Any = None
) -> da.Array:
    """Multiply by the Fourier transform of a box; equals scipy's, bit for bit.

    Parameters
    ----------
    input : dask.array.Array or array_like
        A spectrum (numpy arrays are wrapped).
    size : float or sequence of floats
        Width of the box, one or one per axis (non-negative).
    n, axis, output
        As in :func:`fourier_gaussian`.

    Returns
    -------
    dask.array.Array
        Lazy result with the input's chunks.

    Examples
    --------
    >>> import numpy as np, dask.array as da, scipy.ndimage as ndi
    >>> f = np.fft.rfft2(np.random.default_rng(0).random((32, 30)))
    >>> y = fourier_uniform(da.from_array(f, chunks=10), size=(3, 5), n=30)
    >>> bool((y.compute() == ndi.fourier_uniform(f, (3, 5), n=30)).all())
    True
    """
    return _run("fourier_uniform", input, size, n, axis, output)


def fourier_ellipsoid(
    input: Any, size: Any, n: int = -1, axis: int = -1, output: Any = None
) -> da.Array:
    """Multiply by the Fourier transform of an ellipsoid; equals scipy's, bit for bit.

    Like scipy, for 1-D, 2-D and 3-D inputs only (``NotImplementedError`` at call
    time otherwise).

    Parameters
    ----------
    input : dask.array.Array or array_like
        A spectrum (numpy arrays are wrapped).
    size : float or sequence of floats
        Diameter of the ellipsoid, one or one per axis (non-negative).
    n, axis, output
        As in :func:`fourier_gaussian`.

    Returns
    -------
    dask.array.Array
        Lazy result with the input's chunks.

    Examples
    --------
    >>> import numpy as np, dask.array as da, scipy.ndimage as ndi
    >>> f = np.fft.fftn(np.random.default_rng(0).random((16, 16, 16)))
    >>> y = fourier_ellipsoid(da.from_array(f, chunks=5), size=4)
    >>> bool((y.compute() == ndi.fourier_ellipsoid(f, 4)).all())
    True
    """
    return _run("fourier_ellipsoid", input, size, n, axis, output)


def fourier_shift(
    input: Any, shift: Any, n: int = -1, axis: int = -1, output: Any = None
) -> da.Array:
    """Multiply by the Fourier transform of a shift; equals scipy's, bit for bit.

    Parameters
    ----------
    input : dask.array.Array or array_like
        A spectrum (numpy arrays are wrapped).
    shift : float or sequence of floats
        Shift in pixels, one or one per axis.
    n, axis : int, optional
        As in :func:`fourier_gaussian`.
    output : dtype, optional
        complex64 or complex128 (default: complex128 unless the input is complex64).

    Returns
    -------
    dask.array.Array
        Lazy complex result with the input's chunks.

    Examples
    --------
    >>> import numpy as np, dask.array as da, scipy.ndimage as ndi
    >>> f = np.fft.fft2(np.random.default_rng(0).random((32, 32)))
    >>> y = fourier_shift(da.from_array(f, chunks=10), shift=(1.5, -3))
    >>> bool((y.compute() == ndi.fourier_shift(f, (1.5, -3))).all())
    True
    """
    return _run("fourier_shift", input, shift, n, axis, output)
