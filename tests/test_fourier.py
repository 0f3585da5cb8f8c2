"""Fourier filters equal scipy.ndimage bit for bit, for every chunking, dtype and n."""

from __future__ import annotations

from typing import Any

import dask.array as da
import numpy as np
import pytest
import scipy.ndimage as ndi
from hypothesis import given
from hypothesis import strategies as st

from bigimg.ndimage import fourier as bf
from tests.guards import raise_if_dask_computes
from tests.reference import check_against
from tests.strategies import chunkings

NAMES = ["fourier_gaussian", "fourier_uniform", "fourier_ellipsoid", "fourier_shift"]
DTYPES = ["complex128", "complex64", "float64", "float32"]
OUTPUTS = [None, None, np.float32, np.float64, np.complex64, np.complex128]


def check(name: str, x: np.ndarray, chunks: Any, *args: Any, **kwargs: Any) -> None:
    """bigimg == scipy on the whole array, bit for bit; scipy refuses => bigimg refuses."""
    reference, ours = getattr(ndi, name), getattr(bf, name)
    check_against(reference, ours, x, chunks, *args, same_chunks=True, **kwargs)


def spectrum(draw: Any, shape: tuple[int, ...], dtype: str) -> np.ndarray:
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = rng.standard_normal(shape) * 10
    if np.dtype(dtype).kind == "c":
        x = x + 1j * rng.standard_normal(shape) * 10
    return x.astype(dtype)


@pytest.mark.parametrize("name", NAMES)
@given(data=st.data())
def test_equals_scipy(name: str, data: Any) -> None:
    draw = data.draw
    ndim = draw(st.integers(1, 3))
    shape = draw(st.lists(st.integers(1, 9 if ndim < 3 else 6), min_size=ndim, max_size=ndim))
    axis = draw(st.integers(-ndim, ndim - 1))
    n = -1
    if draw(st.booleans()):  # rfft-style: n real samples -> n // 2 + 1 along axis
        n = draw(st.integers(1, 16))
        shape[axis] = n // 2 + 1
    shape_t = tuple(shape)
    low = -8.0 if name == "fourier_shift" else 0.0
    value = st.floats(low, 8.0, allow_nan=False) | st.sampled_from([0.0, 1.0, 2.5])
    param = draw(value | st.lists(value, min_size=ndim, max_size=ndim))
    x = spectrum(draw, shape_t, draw(st.sampled_from(DTYPES)))
    output = draw(st.sampled_from(OUTPUTS))
    check(name, x, draw(chunkings(shape_t)), param, n=n, axis=axis, output=output)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", ["int16", "bool", "float32"])
def test_real_inputs_and_special_parameters(name: str, dtype: str) -> None:
    rng = np.random.default_rng(1)
    x = (rng.standard_normal((7, 6)) * 50).astype(dtype)
    for param in [0.0, np.inf, (3.0, 0.5), np.float64(1.5), np.array(2.0)]:
        check(name, x, (3, 4), param)


def test_shift_negative_and_nonfinite() -> None:
    x = np.fft.fft2(np.random.default_rng(2).random((9, 8)))
    for shift in [-2.25, (np.inf, 1.0), (np.nan, 0.0), 1e300]:
        check("fourier_shift", x, (4, 3), shift)
    # scipy skips axes of length 1: an infinite shift along one changes nothing
    check("fourier_shift", x[:1], (1, 3), (np.inf, 1.5))


def test_whole_workflow_fft2() -> None:
    """dask fft2 -> fourier_gaussian on chunks -> ifft2 == numpy's pipeline."""
    x = np.random.default_rng(3).random((64, 48))
    image = da.from_array(x, chunks=(20, 16))
    spec = da.fft.fft2(image.rechunk(-1)).rechunk((20, 16))  # fft needs whole axes
    smooth = bf.fourier_gaussian(spec, 2.5)
    assert smooth.chunks == spec.chunks
    result = da.fft.ifft2(smooth.rechunk(-1)).compute()
    expected = np.fft.ifft2(ndi.fourier_gaussian(np.fft.fft2(x), 2.5))
    np.testing.assert_allclose(result, expected, rtol=0, atol=1e-12)
    # a blur, really: close to gaussian_filter with mode="wrap"
    blurred = ndi.gaussian_filter(x, 2.5, mode="wrap")
    np.testing.assert_allclose(result.real, blurred, atol=1e-3)


def test_whole_workflow_rfft_stack() -> None:
    """A stack chunked along z: rfft2 per plane, a real-FFT shift (n=), irfft2."""
    x = np.random.default_rng(4).random((5, 32, 30))
    image = da.from_array(x, chunks=(2, 32, 30))
    spec = da.fft.rfft2(image).rechunk((2, 7, 5))
    moved = bf.fourier_shift(spec, (0, 3, -4), n=30, axis=-1)
    result = da.fft.irfft2(moved.rechunk((2, 32, 16)), s=(32, 30)).compute()
    expected = np.fft.irfft2(ndi.fourier_shift(np.fft.rfft2(x), (0, 3, -4), n=30), s=(32, 30))
    np.testing.assert_allclose(result, expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(result, np.roll(x, (3, -4), axis=(1, 2)), atol=1e-12)


@pytest.mark.parametrize("name", NAMES)
def test_lazy_one_task_per_chunk(name: str) -> None:
    x = np.fft.fftn(np.random.default_rng(5).random((20, 18, 9)))
    image = da.from_array(x, chunks=(7, 5, 9))
    with raise_if_dask_computes():
        lazy = getattr(bf, name)(image, 1.5)
    layer = lazy.dask.layers[lazy.name]
    assert len(layer) == image.npartitions  # one task per chunk
    (dependencies,) = [lazy.dask.dependencies[lazy.name]]
    tables = [lazy.dask.layers[d] for d in dependencies if d != image.name]
    # the per-axis tables arrive as slices, one per chunk along their axis
    assert sum(len(t) for t in tables) == sum(len(c) for c in image.chunks)
    np.testing.assert_array_equal(lazy.compute(), getattr(ndi, name)(x, 1.5), strict=True)


def test_numpy_input_and_empty() -> None:
    x = np.fft.fft(np.random.default_rng(6).random(10))
    result = bf.fourier_uniform(x, 3)
    assert isinstance(result, da.Array)
    np.testing.assert_array_equal(result.compute(), ndi.fourier_uniform(x, 3), strict=True)
    for name in NAMES:
        empty = np.zeros((0, 4), np.complex64)
        check(name, empty, (1, 2), 2.0)


def test_errors_at_call_time() -> None:
    x = da.from_array(np.fft.fft2(np.random.default_rng(7).random((8, 6))), chunks=3)
    with raise_if_dask_computes():
        with pytest.raises(ValueError, match="axis"):
            bf.fourier_gaussian(x, 1.0, axis=2)
        with pytest.raises(TypeError, match="axis"):
            bf.fourier_gaussian(x, 1.0, axis=1.0)
        with pytest.raises(ValueError, match="sigma"):
            bf.fourier_gaussian(x, -1.0)
        with pytest.raises(ValueError, match="sigma"):
            bf.fourier_gaussian(x, (1.0, np.nan))
        for func in (bf.fourier_uniform, bf.fourier_ellipsoid):
            with pytest.raises(ValueError, match="size"):
                func(x, (1.0, -2.0))
            with pytest.raises(ValueError, match="size"):
                func(x, (1.0, 2.0, 3.0))
        with pytest.raises(ValueError, match="shift"):
            bf.fourier_shift(x, (1.0,))
        with pytest.raises(TypeError, match="shift"):
            bf.fourier_shift(x, "a")
        with pytest.raises(ValueError, match="n="):
            bf.fourier_gaussian(x, 1.0, n=6)  # a real FFT of 6 samples has 4 entries, not 6
        with pytest.raises(ValueError, match="n="):
            bf.fourier_shift(x, 1.0, n=0)
        bf.fourier_shift(x, 1.0, n=10)  # 10 // 2 + 1 == 6: fine
        bf.fourier_shift(x, 1.0, n=11, axis=-1)
        with pytest.raises(TypeError, match="n="):
            bf.fourier_uniform(x, 1.0, n=1.5)
        with pytest.raises(TypeError, match="output"):
            bf.fourier_gaussian(x, 1.0, output=np.empty(x.shape, complex))
        with pytest.raises(ValueError, match="not supported"):
            bf.fourier_gaussian(x, 1.0, output=np.int32)
        with pytest.raises(ValueError, match="not supported"):
            bf.fourier_gaussian(x, 1.0, output="float64")  # complex input, real output
        with pytest.raises(ValueError, match="not supported"):
            bf.fourier_shift(x, 1.0, output=np.float64)
        with pytest.raises(NotImplementedError):
            bf.fourier_ellipsoid(da.ones((2, 2, 2, 2), chunks=1), 1.0)
        with pytest.raises(ValueError, match="axis"):
            bf.fourier_shift(da.ones((), dtype=complex), 1.0)


def test_output_dtype_like() -> None:
    x = np.fft.fft2(np.random.default_rng(8).random((6, 6)))
    for out in ["complex64", np.dtype("complex64"), np.complex64]:
        result = bf.fourier_gaussian(da.from_array(x, chunks=4), 1.0, output=out).compute()
        expected = ndi.fourier_gaussian(x, 1.0, output=np.complex64)
        np.testing.assert_array_equal(result, expected, strict=True)
