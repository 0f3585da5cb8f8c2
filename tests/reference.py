"""The one comparison of a bigimg result with the reference's (scipy.ndimage,
scikit-image) on the whole array, in the spirit of dask's ``assert_eq``.

- :func:`assert_same`: equal values, dtypes, shapes and container types;
  NaN equals NaN; the sign of every non-NaN zero counts (bit equality), or a
  stated ``rtol``/``atol`` where the arithmetic allows rounding.
- :func:`assert_equal_to_reference`: a lazy result against the reference's
  array: shape, dtype (and chunks, if given) checked before computing, then
  computed on the synchronous scheduler and compared with :func:`assert_same`.
- :func:`check_against`: the whole pattern: the reference on numpy; bigimg on
  a chunked dask array, built under the laziness guard; where the reference
  refuses the arguments, bigimg refuses them too, when called.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import dask.array as da
import numpy as np
import pytest

from tests.guards import raise_if_dask_computes

__all__ = ["assert_equal_to_reference", "assert_same", "check_against"]


def _signs(values: Any) -> np.ndarray:
    a = np.asarray(values)
    return np.signbit(np.real(a)) & ~np.isnan(a)


def assert_same(got: Any, expected: Any, *, rtol: float = 0.0, atol: float = 0.0) -> None:
    """``got`` equals ``expected``: values, dtypes, shapes and container types.

    Dicts (keys in order, key types too), lists and tuples compare item by
    item; Python scalars by type and value; numpy scalars and arrays by type,
    dtype, shape and value (NaN equals NaN). With ``rtol = atol = 0`` float
    zeros must have the same sign (the same bits but NaN payloads); otherwise
    values are compared with ``numpy.testing.assert_allclose``.
    """
    if isinstance(expected, dict):
        assert isinstance(got, dict) and list(got) == list(expected), (list(got), list(expected))
        for key in expected:
            assert type(next(k for k in got if k == key)) is type(key)
            assert_same(got[key], expected[key], rtol=rtol, atol=atol)
        return
    if isinstance(expected, list | tuple):
        assert type(got) is type(expected) and len(got) == len(expected), (got, expected)
        for g, e in zip(got, expected):
            assert_same(g, e, rtol=rtol, atol=atol)
        return
    if expected is None or isinstance(expected, slice) or type(expected) in (bool, int, float):
        assert type(got) is type(expected), (type(got), type(expected))
        if rtol or atol:
            np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol, equal_nan=True)
        else:
            assert got == expected or (got != got and expected != expected), (got, expected)
        return
    assert type(got) is type(expected), (type(got), type(expected), got, expected)
    if isinstance(expected, np.ndarray):
        assert got.dtype == expected.dtype, (got.dtype, expected.dtype)
        assert got.shape == expected.shape, (got.shape, expected.shape)
        if expected.dtype == object:
            for g, e in zip(got.ravel(), expected.ravel()):
                assert_same(g, e, rtol=rtol, atol=atol)
            return
    if rtol or atol:
        np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol, equal_nan=True)
        return
    np.testing.assert_array_equal(got, expected, strict=True)
    if np.asarray(expected).dtype.kind in "fc":
        np.testing.assert_array_equal(_signs(got), _signs(expected))


def assert_equal_to_reference(
    lazy: da.Array,
    expected: np.ndarray,
    *,
    chunks: Any = None,
    rtol: float = 0.0,
    atol: float = 0.0,
) -> np.ndarray:
    """A lazy bigimg result equals the reference's array (see module doc);
    returns the computed values."""
    assert isinstance(lazy, da.Array), type(lazy)
    assert lazy.shape == expected.shape, (lazy.shape, expected.shape)
    assert lazy.dtype == expected.dtype, (lazy.dtype, expected.dtype)
    if chunks is not None:
        assert lazy.chunks == chunks, (lazy.chunks, chunks)
    values = lazy.compute(scheduler="sync")
    assert_same(values, expected, rtol=rtol, atol=atol)
    return values


def check_against(
    reference: Callable[..., Any],
    ours: Callable[..., Any],
    x: np.ndarray,
    chunks: Any,
    *args: Any,
    lazy: bool = True,
    same_chunks: bool = False,
    arrays: dict[str, np.ndarray] | None = None,
    rtol: float = 0.0,
    atol: float = 0.0,
    **kwargs: Any,
) -> np.ndarray | None:
    """``ours(chunked x, ...)`` equals ``reference(x, ...)`` on the whole array.

    ``arrays`` are keyword arguments passed as numpy to the reference and as
    dask arrays with ``x``'s chunks to bigimg. Where the reference raises,
    bigimg must raise (the same type, ValueError or TypeError) when called,
    computing nothing. With ``lazy`` the call must not compute; with
    ``same_chunks`` the result keeps the input's chunks.
    """
    arrays = arrays or {}
    image = da.from_array(x, chunks=chunks)
    ours_arrays = {k: da.from_array(v, chunks=image.chunks) for k, v in arrays.items()}
    try:
        expected = reference(x, *args, **kwargs, **arrays)
    except Exception as exc:
        with raise_if_dask_computes(), pytest.raises((type(exc), ValueError, TypeError)):
            ours(image, *args, **kwargs, **ours_arrays)
        return None
    if lazy:
        with raise_if_dask_computes():
            result = ours(image, *args, **kwargs, **ours_arrays)
    else:
        result = ours(image, *args, **kwargs, **ours_arrays)
    return assert_equal_to_reference(
        result, expected, chunks=image.chunks if same_chunks else None, rtol=rtol, atol=atol
    )
