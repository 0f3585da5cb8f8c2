"""Hostile parameters (issue 8, part 4).

Every public ``bigimg.ndimage`` function, given parameters that break naive
chunked code, returns what ``scipy.ndimage`` returns on the whole array
(bit for bit where bigimg promises it) or raises a clear error when it is
called: never a hang, a crash, a memory blow-up or a silent wrong answer.

1. reaches longer than the whole array (sigma 1000 on 37 x 23, 10**9
   iterations), every boundary mode: small graphs, small memory;
2. zero-size arrays through every function;
3. one-pixel chunks, on every axis and on one;
4. 5-D arrays with odd chunkings;
5. NaN, +Inf, -Inf and signed zeros in float32 and float64 images;
6. label ids near and beyond the int32 limit, without memory proportional
   to the largest id.

The references are scipy on the whole array, except where scipy itself
hangs, allocates per id or reads memory outside the array; there they are
computed another way (named at each test).
"""

from __future__ import annotations

import contextlib
import time
import tracemalloc
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import dask
import dask.array as da
import numpy as np
import pytest
import scipy.ndimage as ndi
from hypothesis import given
from hypothesis import strategies as st
from skimage import segmentation as sk_segmentation

import bigimg.morphology as bmorph
import bigimg.ndimage as bn
import bigimg.segmentation as bseg
from bigimg import _labels
from tests.guards import raise_if_dask_computes
from tests.reference import assert_same
from tests.strategies import chunkings

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

Func = Callable[..., Any]


# --- comparing results -----------------------------------------------------------------------


def assert_close(got: Any, expected: Any) -> None:
    """Sums whose rounding depends on the order of additions: close, NaN where scipy's."""
    assert_same(got, expected, rtol=1e-12, atol=1e-12)


def outcome(func: Func, *args: Any) -> tuple[Any, BaseException | None]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return func(*args), None
        except Exception as exc:  # scipy's own error is the reference
            return None, exc


def computed(result: Any) -> Any:
    return dask.compute(result)[0]


def check(func: Func, x: np.ndarray, chunks: Any, compare: Func = assert_same) -> None:
    """``func(bigimg.ndimage, chunked x)`` against ``func(scipy.ndimage, x)``: equal,
    or the same kind of exception, raised when bigimg's function is called."""
    expected, error = outcome(func, ndi, x)
    image = da.from_array(x, chunks=chunks)
    if error is not None:
        with pytest.raises(type(error)):
            func(bn, image)
        return
    compare(computed(func(bn, image)), expected)


@contextlib.contextmanager
def peak_memory() -> Iterator[list[int]]:
    """``with peak_memory() as peak: ...``, then ``peak[0]`` is the most memory
    Python and numpy held at once inside the block (every thread), in bytes."""
    box = [0]
    tracemalloc.start()
    try:
        yield box
    finally:
        box[0] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()


def _depth(module: Any, depth: int) -> dict[str, int]:
    """bigimg's ``depth=`` for the generic derivative filters (scipy has none)."""
    return {} if module is ndi else {"depth": depth}


RNG = np.random.default_rng(20260)
IMAGE = RNG.standard_normal((37, 23))
NARROW = RNG.standard_normal((23, 17))  # narrower than every window below


# --- 1. reaches longer than the array -----------------------------------------------------------

REACH_MODES = ["wrap", "mirror", "reflect", "nearest", "constant", "grid-wrap"]


def _shifted(line: np.ndarray, out: np.ndarray) -> None:
    out[:] = 2 * line[: len(out)] - line[-len(out) :]


def _second(x: np.ndarray, axis: int, output: Any, mode: str, cval: float) -> Any:
    return ndi.correlate1d(x, np.linspace(-1, 1, 101), axis, output, mode, cval)


#: every filter and grey operation with a window far wider than the 23 x 17 image
HUGE: dict[str, Func] = {
    "gaussian_filter": lambda m, x, mode: m.gaussian_filter(x, 1000, mode=mode),
    "gaussian_filter_radius": lambda m, x, mode: m.gaussian_filter(
        x, 3, mode=mode, radius=(100, 50)
    ),
    "gaussian_filter1d": lambda m, x, mode: m.gaussian_filter1d(
        x, 1000, axis=0, order=1, mode=mode
    ),
    "gaussian_laplace": lambda m, x, mode: m.gaussian_laplace(x, 300, mode=mode),
    "gaussian_gradient_magnitude": lambda m, x, mode: m.gaussian_gradient_magnitude(
        x, 300, mode=mode
    ),
    "uniform_filter": lambda m, x, mode: m.uniform_filter(x, 101, mode=mode),
    "uniform_filter_int": lambda m, x, mode: m.uniform_filter(
        (x * 100).astype(np.int32), (101, 5), mode=mode
    ),
    "uniform_filter1d": lambda m, x, mode: m.uniform_filter1d(x, 10001, mode=mode),
    "correlate": lambda m, x, mode: m.correlate(x, np.ones((81, 5)), mode=mode),
    "convolve": lambda m, x, mode: m.convolve(
        x, np.arange(60.0).reshape(60, 1), mode=mode, origin=(5, 0)
    ),
    "correlate1d": lambda m, x, mode: m.correlate1d(x, np.arange(101.0), mode=mode),
    "convolve1d": lambda m, x, mode: m.convolve1d(x, np.arange(40.0), axis=0, mode=mode),
    "sobel": lambda m, x, mode: m.sobel(x[:1], axis=0, mode=mode),
    "prewitt": lambda m, x, mode: m.prewitt(x[:, :2], axis=0, mode=mode),
    "laplace": lambda m, x, mode: m.laplace(x[:1, :1], mode=mode),
    "median_filter": lambda m, x, mode: m.median_filter(x, 61, mode=mode),
    "rank_filter": lambda m, x, mode: m.rank_filter(x, 5, size=(61, 3), mode=mode),
    "percentile_filter": lambda m, x, mode: m.percentile_filter(x, 30, size=(3, 61), mode=mode),
    "minimum_filter": lambda m, x, mode: m.minimum_filter(x, 101, mode=mode),
    "maximum_filter": lambda m, x, mode: m.maximum_filter(
        x, footprint=np.eye(61, dtype=bool), mode=mode
    ),
    "minimum_filter1d": lambda m, x, mode: m.minimum_filter1d(x, 1001, mode=mode),
    "maximum_filter1d": lambda m, x, mode: m.maximum_filter1d(x, 101, axis=0, mode=mode),
    "generic_filter": lambda m, x, mode: m.generic_filter(x, np.mean, size=(41, 3), mode=mode),
    "generic_filter1d": lambda m, x, mode: m.generic_filter1d(x, _shifted, 61, mode=mode),
    "generic_laplace": lambda m, x, mode: m.generic_laplace(
        x, _second, mode=mode, **_depth(m, 50)
    ),
    "vectorized_filter": lambda m, x, mode: m.vectorized_filter(
        x, np.max, size=(41, 3), mode=mode
    ),
    "grey_erosion": lambda m, x, mode: m.grey_erosion(x, structure=np.zeros((41, 41)), mode=mode),
    "grey_dilation": lambda m, x, mode: m.grey_dilation(x, size=(61, 61), mode=mode),
    "grey_opening": lambda m, x, mode: m.grey_opening(x, size=(41, 41), mode=mode),
    "grey_closing_int": lambda m, x, mode: m.grey_closing(
        (x * 10).astype(np.int16), size=(41, 30), mode=mode
    ),
    "white_tophat": lambda m, x, mode: m.white_tophat(x, size=(41, 41), mode=mode),
    "black_tophat": lambda m, x, mode: m.black_tophat(x, footprint=np.eye(45), mode=mode),
    "morphological_gradient": lambda m, x, mode: m.morphological_gradient(
        x, size=(41, 41), mode=mode
    ),
    "morphological_laplace": lambda m, x, mode: m.morphological_laplace(
        x, footprint=np.ones((51, 3)), mode=mode
    ),
}


def check_small(
    func: Func, x: np.ndarray, chunks: Any, expected: Any, *, traced: bool = True
) -> None:
    """Lazy, promptly built and computed, a graph of a few tasks per chunk, and
    (``traced``) a few MiB of memory: blocks as long as the reach would take GiB."""
    image = da.from_array(x, chunks=chunks)
    start = time.perf_counter()
    with raise_if_dask_computes():
        lazy = func(image)
    assert time.perf_counter() - start < 5
    assert len(lazy.__dask_graph__()) <= 10 * image.npartitions + 20
    with peak_memory() if traced else contextlib.nullcontext([0]) as peak:
        got = lazy.compute()
    assert time.perf_counter() - start < 30
    assert peak[0] < 32 * 2**20
    assert_same(got, expected)


@pytest.mark.parametrize("mode", REACH_MODES)
@pytest.mark.parametrize("name", sorted(HUGE))
def test_window_wider_than_the_array(name: str, mode: str) -> None:
    func = HUGE[name]
    expected = func(ndi, NARROW, mode)
    # memory is traced (slowly) for the two ways blocks meet the border: the
    # periodic extension and the true border, where scipy extends by the mode
    traced = mode in ("wrap", "nearest")
    check_small(lambda image: func(bn, image, mode), NARROW, 4, expected, traced=traced)


@pytest.mark.parametrize("mode", REACH_MODES)
def test_window_wider_than_other_arrays(mode: str) -> None:
    line, volume = NARROW[:, 0], RNG.standard_normal((9, 7, 5))
    for x, chunks, func in [
        (IMAGE, 5, lambda m, a: m.gaussian_filter(a, 1000, mode=mode)),
        (line, 4, lambda m, a: m.gaussian_filter(a, 1000, mode=mode)),
        (line, 1, lambda m, a: m.uniform_filter1d(a, 501, mode=mode)),
        (line, 5, lambda m, a: m.maximum_filter1d(a, 99, mode=mode)),
        (line, 3, lambda m, a: m.correlate1d(a, np.arange(80.0), mode=mode)),
        (volume, 2, lambda m, a: m.gaussian_filter(a, (100, 0, 30), mode=mode)),
        (volume, (4, 3, 5), lambda m, a: m.median_filter(a, (15, 1, 11), mode=mode)),
        (volume, 3, lambda m, a: m.minimum_filter(a, 20, mode=mode)),
    ]:
        check_small(lambda image, f=func: f(bn, image), x, chunks, func(ndi, x))


BLOB = RNG.standard_normal((19, 13))
MASK = RNG.random(BLOB.shape) > 0.1
SHAPE = BLOB > -0.5
GAPPED = np.array([[1], [0], [1]], bool)  # its centre is not set: iterations can oscillate
BIG = 10**9


def _periodic(func: Func, after: int) -> np.ndarray:
    """scipy's result after ``after`` iterations, checked to alternate with period 2
    from there on: so the result after any count of that parity (scipy itself
    would run all 10**9 of them)."""
    result = func(after)
    np.testing.assert_array_equal(func(after + 2), result)
    assert not np.array_equal(func(after + 1), result)  # a true oscillation
    return result


#: one parity per row: dilating by GAPPED.T moves every row's pixels to the other
#: parity and back, for ever (eroding the complement with border 1 too)
CHECKER = (np.add.outer(np.arange(19), np.arange(13)) % 2 == 0) & (RNG.random((19, 13)) < 0.3)
ROWS = GAPPED.T

#: (input, bigimg's call, reference): scipy until stable, or scipy at an equivalent count
ITERATIONS: dict[str, tuple[np.ndarray, Func, Callable[[], np.ndarray]]] = {
    "erosion": (
        SHAPE,
        lambda x: bn.binary_erosion(x, iterations=BIG),
        lambda: ndi.binary_erosion(SHAPE, iterations=0),
    ),
    "erosion_border": (
        SHAPE,
        lambda x: bn.binary_erosion(x, np.ones((3, 3)), iterations=BIG, border_value=1),
        lambda: ndi.binary_erosion(SHAPE, np.ones((3, 3)), iterations=0, border_value=1),
    ),
    "dilation": (
        ~SHAPE,
        lambda x: bn.binary_dilation(x, iterations=BIG),
        lambda: ndi.binary_dilation(~SHAPE, iterations=0),
    ),
    "dilation_mask": (
        ~SHAPE,
        lambda x: bn.binary_dilation(x, iterations=BIG, mask=MASK),
        lambda: ndi.binary_dilation(~SHAPE, iterations=0, mask=MASK),
    ),
    "erosion_mask_brute_force": (
        SHAPE,
        lambda x: bn.binary_erosion(x, iterations=BIG, mask=MASK, brute_force=True),
        lambda: ndi.binary_erosion(SHAPE, iterations=0, mask=MASK, brute_force=True),
    ),
    "erosion_oscillating": (
        ~CHECKER,
        lambda x: bn.binary_erosion(x, ROWS, iterations=BIG, border_value=1),
        lambda: _periodic(
            lambda k: ndi.binary_erosion(~CHECKER, ROWS, iterations=k, border_value=1), 100
        ),
    ),
    "erosion_oscillating_mask": (
        ~CHECKER,
        lambda x: bn.binary_erosion(x, ROWS, iterations=BIG, mask=MASK, border_value=1),
        lambda: _periodic(
            lambda k: ndi.binary_erosion(~CHECKER, ROWS, iterations=k, mask=MASK, border_value=1),
            100,
        ),
    ),
    "dilation_oscillating_odd": (
        CHECKER,
        lambda x: bn.binary_dilation(x, ROWS, iterations=BIG + 1),
        lambda: _periodic(lambda k: ndi.binary_dilation(CHECKER, ROWS, iterations=k), 101),
    ),
    "opening": (
        SHAPE,
        lambda x: bn.binary_opening(x, iterations=BIG),
        lambda: ndi.binary_opening(SHAPE, iterations=0),
    ),
    "closing": (
        SHAPE,
        lambda x: bn.binary_closing(x, np.ones((3, 3)), iterations=BIG),
        lambda: ndi.binary_closing(SHAPE, np.ones((3, 3)), iterations=0),
    ),
}


@pytest.mark.parametrize("chunks", [4, 1, (19, 1)])
@pytest.mark.parametrize("name", sorted(ITERATIONS))
def test_a_billion_iterations(name: str, chunks: Any) -> None:
    x, func, reference = ITERATIONS[name]
    check_small(func, x, chunks, reference())


def test_iterating_an_oscillation_until_stable_is_refused() -> None:
    # scipy never returns from this (the row alternates for ever); bigimg says why
    x = np.zeros((3, 11), bool)
    x[1, 4] = True
    assert not np.array_equal(*(ndi.binary_dilation(x, ROWS, iterations=k) for k in (9, 10)))
    with pytest.raises(ValueError, match="does not converge"):
        bn.binary_dilation(da.from_array(x, chunks=4), ROWS, iterations=0)


@pytest.mark.parametrize("chunks", [1, 5])
def test_distances_across_the_whole_array(chunks: int) -> None:
    x = np.ones(SHAPE.shape, bool)
    x[-1, -1] = False  # the only background pixel, in a corner
    for func in [
        lambda m, a: m.distance_transform_edt(a, sampling=(1e6, 1e-6)),
        lambda m, a: m.distance_transform_edt(a, return_distances=False, return_indices=True),
        lambda m, a: m.distance_transform_cdt(a, metric="taxicab"),
        lambda m, a: m.distance_transform_cdt(a, metric="chessboard"),
        lambda m, a: m.distance_transform_bf(a),
    ]:
        check(func, x, chunks)


@pytest.mark.parametrize(
    "func",
    [
        lambda m, a: m.fourier_gaussian(a.astype(complex), 1e3),
        lambda m, a: m.fourier_uniform(a, 1e6),
        lambda m, a: m.fourier_ellipsoid(a, (1e6, 3e5)),
        lambda m, a: m.fourier_shift(a.astype(complex), 1e6),
    ],
)
def test_fourier_with_huge_parameters(func: Func) -> None:
    check(func, IMAGE, 5)


# --- 2. zero-size arrays ------------------------------------------------------------------------


def _take_two(line: np.ndarray, out: np.ndarray) -> None:
    out[:] = line[1:-1]


def _laplacian(x: np.ndarray, axis: int, output: Any, mode: str, cval: float) -> Any:
    return ndi.correlate1d(x, [1, -2, 1], axis, output, mode, cval)


def _ids(x: Any) -> Any:
    return (x > 0).astype(np.int64)


def _empty_cases(ndim: int) -> dict[str, Func]:
    eye = np.eye(3).reshape((3,) * min(ndim, 2) + (1,) * (ndim - 2)) if ndim > 1 else [1, 0, 1]
    return {
        "gaussian_filter": lambda m, x: m.gaussian_filter(x, 2),
        "gaussian_filter1d": lambda m, x: m.gaussian_filter1d(x, 2),
        "gaussian_laplace": lambda m, x: m.gaussian_laplace(x, 2),
        "gaussian_gradient_magnitude": lambda m, x: m.gaussian_gradient_magnitude(x, 2),
        "uniform_filter": lambda m, x: m.uniform_filter(x, 3),
        "uniform_filter1d": lambda m, x: m.uniform_filter1d(x, 3),
        "median_filter": lambda m, x: m.median_filter(x, 3),
        "rank_filter": lambda m, x: m.rank_filter(x, 1, 3),
        "percentile_filter": lambda m, x: m.percentile_filter(x, 20, 3),
        "minimum_filter": lambda m, x: m.minimum_filter(x, 3),
        "maximum_filter": lambda m, x: m.maximum_filter(x, footprint=eye),
        "minimum_filter1d": lambda m, x: m.minimum_filter1d(x, 3),
        "maximum_filter1d": lambda m, x: m.maximum_filter1d(x, 3),
        "correlate": lambda m, x: m.correlate(x, np.ones((3,) * ndim)),
        "convolve": lambda m, x: m.convolve(x, np.ones((2,) * ndim)),
        "correlate1d": lambda m, x: m.correlate1d(x, [1, 2, 3]),
        "convolve1d": lambda m, x: m.convolve1d(x, [1, 2, 3]),
        "sobel": lambda m, x: m.sobel(x),
        "prewitt": lambda m, x: m.prewitt(x),
        "laplace": lambda m, x: m.laplace(x),
        "generic_filter": lambda m, x: m.generic_filter(x, np.mean, 3),
        "generic_filter1d": lambda m, x: m.generic_filter1d(x, _take_two, 3),
        "generic_laplace": lambda m, x: m.generic_laplace(x, _laplacian, **_depth(m, 1)),
        "generic_gradient_magnitude": lambda m, x: m.generic_gradient_magnitude(
            x, ndi.sobel, **_depth(m, 1)
        ),
        "vectorized_filter": lambda m, x: m.vectorized_filter(x, np.mean, size=3),
        "grey_erosion": lambda m, x: m.grey_erosion(x, 3),
        "grey_dilation": lambda m, x: m.grey_dilation(x, footprint=eye),
        "grey_opening": lambda m, x: m.grey_opening(x, 3),
        "grey_closing": lambda m, x: m.grey_closing(x, 3),
        "white_tophat": lambda m, x: m.white_tophat(x, 3),
        "black_tophat": lambda m, x: m.black_tophat(x, 3),
        "morphological_gradient": lambda m, x: m.morphological_gradient(x, 3),
        "morphological_laplace": lambda m, x: m.morphological_laplace(x, 3),
        "binary_erosion": lambda m, x: m.binary_erosion(x > 0),
        "binary_erosion_until_stable": lambda m, x: m.binary_erosion(x > 0, iterations=0),
        "binary_dilation": lambda m, x: m.binary_dilation(x > 0, iterations=2),
        "binary_dilation_mask": lambda m, x: m.binary_dilation(x > 0, iterations=0, mask=x < 0.5),
        "binary_opening": lambda m, x: m.binary_opening(x > 0),
        "binary_closing": lambda m, x: m.binary_closing(x > 0),
        "binary_hit_or_miss": lambda m, x: m.binary_hit_or_miss(x > 0),
        "binary_fill_holes": lambda m, x: m.binary_fill_holes(x > 0),
        "binary_propagation": lambda m, x: m.binary_propagation(x > 0, mask=x > -1),
        "distance_transform_edt": lambda m, x: m.distance_transform_edt(x > 0),
        "distance_transform_edt_indices": lambda m, x: m.distance_transform_edt(
            x > 0, return_indices=True
        ),
        "distance_transform_cdt": lambda m, x: m.distance_transform_cdt(x > 0),
        "distance_transform_bf": lambda m, x: m.distance_transform_bf(x > 0),
        "fourier_gaussian": lambda m, x: m.fourier_gaussian(x, 2),
        "fourier_uniform": lambda m, x: m.fourier_uniform(x, 2),
        "fourier_ellipsoid": lambda m, x: m.fourier_ellipsoid(x, 2),
        "fourier_shift": lambda m, x: m.fourier_shift(x, 2),
        "zoom": lambda m, x: m.zoom(x, 2),
        "zoom_nearest": lambda m, x: m.zoom(x, 0.5, order=1, mode="nearest"),
        "shift": lambda m, x: m.shift(x, 1.5),
        "rotate": lambda m, x: m.rotate(x if x.ndim > 1 else x[None], 30),
        "rotate_same_shape": lambda m, x: m.rotate(
            x if x.ndim > 1 else x[None], 30, reshape=False, mode="wrap"
        ),
        "affine_transform": lambda m, x: m.affine_transform(x, np.eye(ndim) * 0.5),
        "affine_transform_output": lambda m, x: m.affine_transform(
            x, np.eye(ndim) * 0.5 + 0.1, output_shape=(4,) * ndim, cval=2.5
        ),
        "map_coordinates": lambda m, x: m.map_coordinates(x, np.zeros((ndim, 3)) - 0.3),
        "map_coordinates_none": lambda m, x: m.map_coordinates(x, np.zeros((ndim, 0))),
        "geometric_transform": lambda m, x: m.geometric_transform(x, lambda c: c),
        "spline_filter": lambda m, x: m.spline_filter(x),
        "spline_filter1d": lambda m, x: m.spline_filter1d(x, axis=0),
        "label": lambda m, x: m.label(x > 0),
        "find_objects": lambda m, x: m.find_objects(_ids(x)),
        "find_objects_max_label": lambda m, x: m.find_objects(_ids(x), max_label=3),
        "sum_labels": lambda m, x: m.sum_labels(x),
        "sum_labels_labels": lambda m, x: m.sum_labels(x, _ids(x)),
        "sum_labels_index": lambda m, x: m.sum_labels(x, _ids(x), [1, 2]),
        "sum_labels_empty_index": lambda m, x: m.sum_labels(x, _ids(x), []),
        "sum": lambda m, x: m.sum(x, _ids(x), 1),
        "mean": lambda m, x: m.mean(x),
        "mean_labels": lambda m, x: m.mean(x, _ids(x)),
        "mean_index": lambda m, x: m.mean(x, _ids(x), [0, 1]),
        "variance": lambda m, x: m.variance(x),
        "variance_index": lambda m, x: m.variance(x, _ids(x), [1]),
        "standard_deviation": lambda m, x: m.standard_deviation(x, _ids(x), 1),
        "minimum": lambda m, x: m.minimum(x),
        "minimum_index": lambda m, x: m.minimum(x, _ids(x), [1, 2]),
        "maximum": lambda m, x: m.maximum(x, _ids(x)),
        "maximum_scalar_index": lambda m, x: m.maximum(x, _ids(x), 1),
        "median": lambda m, x: m.median(x),
        "median_index": lambda m, x: m.median(x, _ids(x), [1]),
        "extrema": lambda m, x: m.extrema(x),
        "extrema_index": lambda m, x: m.extrema(x, _ids(x), [1, 2]),
        "minimum_position": lambda m, x: m.minimum_position(x),
        "minimum_position_index": lambda m, x: m.minimum_position(x, _ids(x), [1]),
        "maximum_position": lambda m, x: m.maximum_position(x, _ids(x)),
        "center_of_mass": lambda m, x: m.center_of_mass(x),
        "center_of_mass_index": lambda m, x: m.center_of_mass(x, _ids(x), [1, 2]),
        "histogram": lambda m, x: m.histogram(x, 0, 1, 4),
        "histogram_index": lambda m, x: m.histogram(x, 0, 1, 4, _ids(x), [1, 2]),
        "labeled_comprehension": lambda m, x: m.labeled_comprehension(
            x, _ids(x), [1, 2], np.mean, float, -1.0
        ),
        "labeled_comprehension_positions": lambda m, x: m.labeled_comprehension(
            x, _ids(x), [1, 2], lambda v, p: p.sum(), float, -1.0, pass_positions=True
        ),
        "value_indices": lambda m, x: m.value_indices(_ids(x)),
        "value_indices_ignore": lambda m, x: m.value_indices(_ids(x), ignore_value=0),
    }


EMPTY_SHAPES = [(0,), (0, 5), (5, 0, 3)]


@pytest.mark.parametrize("shape", EMPTY_SHAPES, ids=str)
@pytest.mark.parametrize("name", sorted(_empty_cases(2)))
def test_zero_size_array(name: str, shape: tuple[int, ...]) -> None:
    check(_empty_cases(len(shape))[name], np.zeros(shape), 2)


@pytest.mark.parametrize("dtype", ["uint8", "int16", "float32", "bool", "complex128"])
def test_zero_size_array_of_any_dtype(dtype: str) -> None:
    x = np.zeros((4, 0), dtype)
    for func in [
        lambda m, a: m.gaussian_filter(a, 1),
        lambda m, a: m.uniform_filter(a, 2),
        lambda m, a: m.correlate1d(a, [1, 2]),
        lambda m, a: m.zoom(a, 2, order=1),
        lambda m, a: m.shift(a, 1),
        lambda m, a: m.fourier_shift(a, 1),
        lambda m, a: m.label(a),
        lambda m, a: m.distance_transform_edt(a),
    ]:
        check(func, x, 2)
    if dtype != "complex128":
        for func in [
            lambda m, a: m.median_filter(a, 3),
            lambda m, a: m.maximum_filter(a, 2),
            lambda m, a: m.grey_opening(a, 2),
            lambda m, a: m.sum_labels(a, a),
        ]:
            check(func, x, 2)


def test_clean_up_of_zero_size_labels() -> None:
    for shape in EMPTY_SHAPES:
        lab = np.zeros(shape, np.int32)
        image = da.from_array(lab, chunks=2)
        with pytest.raises(ValueError):  # scikit-image: np.min of an empty array
            sk_segmentation.relabel_sequential(lab)
        with pytest.raises(ValueError, match="empty"):
            bseg.relabel_sequential(image)
        assert_same(bmorph.remove_small_objects(image, max_size=2).compute(), lab)
        assert_same(bseg.relabel(image, np.array([0.5, 2.0])).compute(), np.array([0.5, 2.0])[lab])
        table = bn.region_table(image, image.astype(np.float32))
        assert table["label"].shape == (0,) and table["intensity_mean"].shape == (0,)
        rows = bn.region_table(image, index=[1, 2])
        assert_same(rows["area"], np.zeros(2, np.int64))
        assert np.isnan(rows["centroid_0"]).all()


def test_zero_size_measurements_with_float_or_boolean_labels_refuse() -> None:
    # scipy fails inside with IndexError or TypeError; bigimg says what is wrong
    x = da.zeros((0, 5), chunks=2)
    for labels in [np.zeros((0, 5), float), np.zeros((0, 5), bool)]:
        for func in [bn.sum_labels, bn.mean, bn.minimum, bn.center_of_mass, bn.median]:
            with pytest.raises(ValueError, match="empty"):
                func(x, labels, [1, 2])


@pytest.mark.parametrize("mode", ["nearest", "wrap", "reflect", "mirror", "grid-wrap"])
@pytest.mark.parametrize("order", [0, 1, 3])
def test_interpolating_nothing_into_something_is_refused(mode: str, order: int) -> None:
    # scipy returns whatever memory lies past the empty input (or, for 'nearest'
    # with a prefilter, fails in numpy's pad): bigimg refuses, naming the axis
    x = da.zeros((0, 5), chunks=2)
    for call in [
        lambda: bn.affine_transform(x, np.eye(2), output_shape=(2, 2), order=order, mode=mode),
        lambda: bn.map_coordinates(x, np.zeros((2, 3)), order=order, mode=mode),
        lambda: bn.rotate(x, 30, order=order, mode=mode),
    ]:
        with pytest.raises(ValueError, match="axis 0"):
            call()


@pytest.mark.parametrize("mode", ["constant", "grid-constant"])
@pytest.mark.parametrize("order", [0, 1, 2, 3])
@pytest.mark.parametrize("prefilter", [True, False])
def test_interpolating_nothing_gives_the_constant(mode: str, order: int, prefilter: bool) -> None:
    kwargs = dict(order=order, mode=mode, cval=5.3, prefilter=prefilter)
    coords = np.linspace(-3, 3, 14).reshape(2, 7)
    for x in [np.zeros((0, 5)), np.zeros((3, 0))]:
        for func in [
            lambda m, a: m.affine_transform(
                a, [[0.6, 0.1], [0.1, 0.5]], offset=0.3, output_shape=(5, 4), **kwargs
            ),
            lambda m, a: m.map_coordinates(a, coords, **kwargs),
            lambda m, a: m.rotate(a, 30, **kwargs),
            lambda m, a: m.geometric_transform(
                a, lambda c: (c[0] * 0.7, c[1] - 0.2), output_shape=(3, 3), **kwargs
            ),
        ]:
            check(func, x, 2)


# --- 3. one-pixel chunks ------------------------------------------------------------------------

SMALL = RNG.standard_normal((19, 13))
ONE_PIXEL = [1, (19, 1), (1, 13)]


@pytest.mark.parametrize("chunks", ONE_PIXEL, ids=str)
def test_filters_on_one_pixel_chunks(chunks: Any) -> None:
    for func in [
        lambda m, a: m.gaussian_filter(a, 2, mode="wrap"),
        lambda m, a: m.gaussian_gradient_magnitude(a, 1.5, mode="mirror"),
        lambda m, a: m.uniform_filter(a, 4),
        lambda m, a: m.uniform_filter(a.astype(np.float32), 3, mode="constant", cval=0.5),
        lambda m, a: m.median_filter(a, 3),
        lambda m, a: m.percentile_filter(a, 30, footprint=np.eye(3)),
        lambda m, a: m.minimum_filter(a, 4, mode="nearest"),
        lambda m, a: m.maximum_filter1d(a, 5, axis=0),
        lambda m, a: m.sobel(a, mode="grid-wrap"),
        lambda m, a: m.correlate(a, np.arange(6.0).reshape(2, 3), origin=(0, 1)),
        lambda m, a: m.generic_filter(a, np.ptp, size=(2, 3)),
        lambda m, a: m.grey_opening(a, size=(3, 2)),
        lambda m, a: m.black_tophat((a * 9).astype(np.int8), size=3),
        lambda m, a: m.binary_erosion(a > -0.5, iterations=2),
        lambda m, a: m.binary_fill_holes(a > 0),
        lambda m, a: (
            m.fused(lambda b: m.gaussian_filter(m.median_filter(b, 3), 1) - b)(a)
            if m is bn
            else ndi.gaussian_filter(ndi.median_filter(a, 3), 1) - a
        ),
    ]:
        check(func, SMALL, chunks)


@pytest.mark.parametrize("chunks", ONE_PIXEL, ids=str)
@pytest.mark.parametrize("connectivity", [1, 2])
def test_label_ids_on_one_pixel_chunks(chunks: Any, connectivity: int) -> None:
    mask = ndi.uniform_filter(SMALL, 2) > 0
    structure = ndi.generate_binary_structure(2, connectivity)
    labels, n = bn.label(da.from_array(mask, chunks=chunks), structure)
    expected, n_expected = ndi.label(mask, structure)
    assert n == n_expected
    assert_same(labels.compute(), expected)


@pytest.mark.parametrize("chunks", ONE_PIXEL, ids=str)
def test_measurements_on_one_pixel_chunks(chunks: Any) -> None:
    lab, n = ndi.label(SMALL > 0.3)
    index = np.arange(n + 2)
    x, labels = da.from_array(SMALL, chunks=chunks), da.from_array(lab, chunks=chunks)
    assert_close(bn.sum_labels(x, labels, index), ndi.sum_labels(SMALL, lab, index))
    assert_close(bn.mean(x, labels, index), ndi.mean(SMALL, lab, index))
    assert_close(bn.variance(x, labels, index), ndi.variance(SMALL, lab, index))
    assert_close(
        bn.center_of_mass(x, labels, index[1:]), ndi.center_of_mass(SMALL, lab, index[1:])
    )
    for name in ["minimum", "maximum", "median", "minimum_position", "maximum_position"]:
        assert_same(
            getattr(bn, name)(x, labels, index[1:]), getattr(ndi, name)(SMALL, lab, index[1:])
        )
    assert_same(bn.extrema(x, labels, 2), ndi.extrema(SMALL, lab, 2))
    assert_same(
        bn.histogram(x, -2, 2, 7, labels, [1, 3]), ndi.histogram(SMALL, -2, 2, 7, lab, [1, 3])
    )
    assert_same(bn.find_objects(labels), ndi.find_objects(lab))


@pytest.mark.parametrize("chunks", ONE_PIXEL, ids=str)
def test_resampling_and_distances_on_one_pixel_chunks(chunks: Any) -> None:
    for func in [
        lambda m, a: m.zoom(a, 1.7, order=1),
        lambda m, a: m.zoom(a, 0.5),
        lambda m, a: m.zoom(a, (2, 0.7), mode="grid-mirror", grid_mode=True),
        lambda m, a: m.rotate(a, 30, order=1),
        lambda m, a: m.rotate(a, 123, mode="nearest"),
        lambda m, a: m.distance_transform_edt(a > 0),
        lambda m, a: m.distance_transform_edt(a > 0.5, sampling=(2, 0.5), return_indices=True),
    ]:
        check(func, SMALL, chunks)


# --- 4. five dimensions -------------------------------------------------------------------------

VOLUME = RNG.standard_normal((3, 4, 2, 5, 3))
FULL = ndi.generate_binary_structure(5, 5)
ODD_CHUNKS = [((2, 1), (1, 3), (2,), (2, 2, 1), (1, 1, 1)), ((1, 2), (4,), (1, 1), (3, 2), (2, 1))]
LABELS_5D, COUNT_5D = ndi.label(VOLUME > 0.2, FULL)
COORDS_5D = RNG.random((5, 7)) * np.array([[2], [3], [1], [4], [2]])


def _five(module: Any, a: Any) -> Any:
    return module.shift(a, (0.5, -1.2, 0.1, 2.5, 0), order=3, mode="mirror")


FIVE_D: dict[str, Func] = {
    "gaussian_filter": lambda m, a: m.gaussian_filter(a, 1.5, mode="wrap"),
    "gaussian_derivative": lambda m, a: m.gaussian_filter(a, 1, order=(0, 1, 0, 2, 0)),
    "uniform_filter": lambda m, a: m.uniform_filter(a, 3, mode="nearest"),
    "uniform_filter_f32": lambda m, a: m.uniform_filter(a.astype(np.float32), (2, 3, 1, 4, 2)),
    "median_filter": lambda m, a: m.median_filter(a, 3),
    "rank_filter": lambda m, a: m.rank_filter(a, -2, footprint=FULL, mode="constant", cval=0.5),
    "minimum_filter": lambda m, a: m.minimum_filter(a, 3, mode="wrap"),
    "maximum_filter": lambda m, a: m.maximum_filter(
        a, footprint=ndi.generate_binary_structure(5, 1)
    ),
    "correlate": lambda m, a: m.correlate(
        a, np.arange(3.0**5).reshape((3,) * 5), mode="grid-wrap"
    ),
    "sobel": lambda m, a: m.sobel(a, axis=3, mode="constant"),
    "laplace": lambda m, a: m.laplace(a, mode="mirror"),
    "gaussian_laplace": lambda m, a: m.gaussian_laplace(a, 1.0),
    "generic_filter": lambda m, a: m.generic_filter(a, np.ptp, size=2),
    "grey_opening": lambda m, a: m.grey_opening(a, size=2),
    "grey_dilation": lambda m, a: m.grey_dilation(a, footprint=FULL),
    "binary_erosion": lambda m, a: m.binary_erosion(a > -0.5, FULL, iterations=2),
    "binary_dilation": lambda m, a: m.binary_dilation(a > 0.5, iterations=2, border_value=1),
    "binary_closing": lambda m, a: m.binary_closing(a > 0, FULL),
    "binary_fill_holes": lambda m, a: m.binary_fill_holes(a > 0),
    "binary_propagation": lambda m, a: m.binary_propagation(a > 1, mask=a > -0.5),
    "label_full_connectivity": lambda m, a: m.label(a > 0.2, FULL),
    "label": lambda m, a: m.label(a > 0.2),
    "distance_transform_edt": lambda m, a: m.distance_transform_edt(
        a > 0, sampling=(1, 2, 0.5, 1.5, 1)
    ),
    "distance_transform_edt_indices": lambda m, a: m.distance_transform_edt(
        a > 0, return_distances=False, return_indices=True
    ),
    "distance_transform_cdt": lambda m, a: m.distance_transform_cdt(a > 0, metric="chessboard"),
    "distance_transform_bf": lambda m, a: m.distance_transform_bf(a > 0.5),
    "zoom": lambda m, a: m.zoom(a, 1.5, order=1),
    "zoom_cubic": lambda m, a: m.zoom(a, (1.3, 0.7, 2, 1, 0.5)),
    "shift": lambda m, a: m.shift(a, 0.3, order=1, mode="nearest"),
    "shift_cubic": _five,
    "affine_transform": lambda m, a: m.affine_transform(a, np.eye(5) + 0.1, offset=-0.3, order=1),
    "affine_transform_cubic": lambda m, a: m.affine_transform(a, np.eye(5) * 0.9, mode="reflect"),
    "map_coordinates": lambda m, a: m.map_coordinates(a, COORDS_5D, order=2),
    "fourier_ellipsoid": lambda m, a: m.fourier_ellipsoid(a, 1.2),
    "minimum": lambda m, a: m.minimum(a, LABELS_5D, np.arange(COUNT_5D + 2)),
    "maximum_position": lambda m, a: m.maximum_position(a, LABELS_5D),
    "minimum_position": lambda m, a: m.minimum_position(a, LABELS_5D, np.arange(1, COUNT_5D + 1)),
    "extrema": lambda m, a: m.extrema(a, LABELS_5D, 1),
    "median": lambda m, a: m.median(a, LABELS_5D, np.arange(1, COUNT_5D + 1)),
    "histogram": lambda m, a: m.histogram(a, -1, 1, 5, LABELS_5D, [1, 2]),
    "find_objects": lambda m, a: m.find_objects(LABELS_5D),
    "value_indices": lambda m, a: m.value_indices(LABELS_5D),
    "labeled_comprehension": lambda m, a: m.labeled_comprehension(
        a, LABELS_5D, np.arange(1, COUNT_5D + 1), np.max, float, 0
    ),
}

FIVE_D_SUMS: dict[str, Func] = {
    "sum_labels": lambda m, a: m.sum_labels(a, LABELS_5D, np.arange(COUNT_5D + 2)),
    "mean": lambda m, a: m.mean(a, LABELS_5D, np.arange(COUNT_5D + 2)),
    "variance": lambda m, a: m.variance(a, LABELS_5D, np.arange(COUNT_5D + 2)),
    "center_of_mass": lambda m, a: m.center_of_mass(a, LABELS_5D, np.arange(1, COUNT_5D + 1)),
    "center_of_mass_whole": lambda m, a: m.center_of_mass(a),
}


@pytest.mark.parametrize("chunks", range(len(ODD_CHUNKS)))
@pytest.mark.parametrize("name", sorted(FIVE_D))
def test_five_dimensions(name: str, chunks: int) -> None:
    check(FIVE_D[name], VOLUME, ODD_CHUNKS[chunks])


@pytest.mark.parametrize("chunks", range(len(ODD_CHUNKS)))
@pytest.mark.parametrize("name", sorted(FIVE_D_SUMS))
def test_five_dimensional_sums(name: str, chunks: int) -> None:
    check(FIVE_D_SUMS[name], VOLUME, ODD_CHUNKS[chunks], assert_close)


# --- 5. NaN, infinities and signed zeros --------------------------------------------------------


def special_values(dtype: Any, shape: tuple[int, ...] = (13, 9), seed: int = 0) -> np.ndarray:
    """Normal values with NaN, +Inf, -Inf, +0.0 and -0.0 sprinkled in."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(dtype)
    r = rng.random(shape)
    for lo, value in [(0.0, np.nan), (0.1, np.inf), (0.15, -np.inf), (0.2, 0.0), (0.25, -0.0)]:
        x[(r >= lo) & (r < lo + 0.05 + 0.05 * (lo == 0.0))] = value
    return x


def _differences(line: np.ndarray, out: np.ndarray) -> None:
    out[:] = line[1:-1] - line[:-2]


NAN_FILTERS: dict[str, Func] = {
    "gaussian_filter": lambda m, a: m.gaussian_filter(a, 1.2),
    "gaussian_filter_wrap": lambda m, a: m.gaussian_filter(a, 1.2, mode="wrap"),
    "gaussian_filter1d": lambda m, a: m.gaussian_filter1d(a, 0.8, order=1, mode="nearest"),
    "gaussian_laplace": lambda m, a: m.gaussian_laplace(a, 1.0),
    "gaussian_gradient_magnitude": lambda m, a: m.gaussian_gradient_magnitude(a, 1.0),
    "uniform_filter": lambda m, a: m.uniform_filter(a, 3),
    "uniform_filter_nan_cval": lambda m, a: m.uniform_filter(
        a, (2, 4), mode="constant", cval=np.nan
    ),
    "uniform_filter1d": lambda m, a: m.uniform_filter1d(a, 5, axis=0, mode="mirror"),
    "sobel": lambda m, a: m.sobel(a),
    "prewitt": lambda m, a: m.prewitt(a, axis=0, mode="wrap"),
    "laplace": lambda m, a: m.laplace(a),
    "correlate": lambda m, a: m.correlate(a, [[0, 1, 0], [1, -4, 1], [0, 2, 0.5]]),
    "correlate1d": lambda m, a: m.correlate1d(a, [1, -2, 1]),
    "median_filter": lambda m, a: m.median_filter(a, 3),
    "median_filter_wrap": lambda m, a: m.median_filter(a, 5, mode="wrap"),
    "median_filter_footprint": lambda m, a: m.median_filter(
        a, footprint=[[1, 0, 1], [0, 1, 0], [1, 1, 1]]
    ),
    "rank_filter": lambda m, a: m.rank_filter(a, 2, size=3),
    "rank_filter_last": lambda m, a: m.rank_filter(a, -1, size=(2, 3)),
    "rank_filter_first": lambda m, a: m.rank_filter(a, 0, size=(4, 1), mode="nearest"),
    "percentile_filter": lambda m, a: m.percentile_filter(
        a, 80, size=4, mode="constant", cval=np.nan
    ),
    "minimum_filter": lambda m, a: m.minimum_filter(a, 3),
    "maximum_filter": lambda m, a: m.maximum_filter(a, 4, mode="mirror", origin=(1, -1)),
    "maximum_filter_footprint": lambda m, a: m.maximum_filter(a, footprint=np.eye(3)),
    "minimum_filter1d": lambda m, a: m.minimum_filter1d(a, 4),
    "maximum_filter1d": lambda m, a: m.maximum_filter1d(
        a, 3, axis=0, mode="constant", cval=-np.inf
    ),
    "generic_filter": lambda m, a: m.generic_filter(a, np.nanmax, size=3),
    "generic_filter1d": lambda m, a: m.generic_filter1d(a, _differences, 3),
    "vectorized_filter": lambda m, a: m.vectorized_filter(a, np.mean, size=3),
    "grey_erosion": lambda m, a: m.grey_erosion(a, size=(3, 2), mode="wrap"),
    "grey_erosion_structure": lambda m, a: m.grey_erosion(a, structure=np.ones((3, 3))),
    "grey_dilation": lambda m, a: m.grey_dilation(a, size=3),
    "grey_opening": lambda m, a: m.grey_opening(a, size=(2, 3), origin=(0, 1)),
    "grey_closing": lambda m, a: m.grey_closing(a, footprint=np.ones((3, 3))),
    "white_tophat": lambda m, a: m.white_tophat(a, size=3),
    "black_tophat": lambda m, a: m.black_tophat(a, size=(4, 2), mode="nearest"),
    "morphological_gradient": lambda m, a: m.morphological_gradient(a, size=(2, 3)),
    "morphological_laplace": lambda m, a: m.morphological_laplace(a, size=3, mode="reflect"),
    "zoom": lambda m, a: m.zoom(a, 1.7, order=1),
    "zoom_cubic": lambda m, a: m.zoom(a, 0.6),
    "zoom_nearest": lambda m, a: m.zoom(a, 2, order=0),
    "shift": lambda m, a: m.shift(a, (0.5, -1.3), order=1),
    "shift_cubic": lambda m, a: m.shift(a, 0.4, mode="mirror"),
    "rotate": lambda m, a: m.rotate(a, 17, order=1),
    "affine_transform": lambda m, a: m.affine_transform(a, [[0.9, 0.1], [-0.2, 1.1]], order=1),
    "spline_filter": lambda m, a: m.spline_filter(a),
    "fourier_gaussian": lambda m, a: m.fourier_gaussian(a, 1.5),
    "label": lambda m, a: m.label(a),
    "distance_transform_edt": lambda m, a: m.distance_transform_edt(a),
    "binary_erosion": lambda m, a: m.binary_erosion(a),
}

NAN_CHUNKS = [(5, 4), 1, ((3, 10), (1, 8))]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(NAN_FILTERS))
def test_filters_of_nan_and_infinities(name: str, dtype: str) -> None:
    for seed, chunks in enumerate(NAN_CHUNKS):
        check(NAN_FILTERS[name], special_values(dtype, seed=seed), chunks)


@given(
    chunks=chunkings((24, 3)),
    seed=st.integers(0, 2**32 - 1),
    size=st.integers(2, 7),
    which=st.sampled_from(["minimum_filter1d", "maximum_filter1d"]),
)
def test_running_extremes_over_nan_for_any_chunking(
    chunks: Any, seed: int, size: int, which: str
) -> None:
    # scipy's 1-D minimum / maximum keeps candidates along the whole line; with
    # NaN what it holds depends on every value before (no halo reproduces it)
    x = special_values(np.float64, (24, 3), seed)
    check(lambda m, a: getattr(m, which)(a, size, axis=0), x, chunks)


def _nan_labels(shape: tuple[int, ...]) -> np.ndarray:
    return np.random.default_rng(5).integers(0, 4, shape)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("chunks", [(5, 4), 1], ids=str)
def test_measurements_of_nan_and_infinities(dtype: str, chunks: Any) -> None:
    x = special_values(dtype)
    lab = _nan_labels(x.shape)
    index = [1, 2, 3, 7]
    X, L = da.from_array(x, chunks=chunks), da.from_array(lab, chunks=chunks)
    forms = [((L, index), (lab, index)), ((L,), (lab,)), ((L, 2), (lab, 2)), ((), ())]
    for name in ["sum_labels", "mean", "variance", "standard_deviation", "center_of_mass"]:
        for ours, theirs in forms:
            assert_close(getattr(bn, name)(X, *ours), getattr(ndi, name)(x, *theirs))
    for name in ["minimum", "maximum", "median"]:
        for ours, theirs in forms:
            assert_same(getattr(bn, name)(X, *ours), getattr(ndi, name)(x, *theirs))
    assert_same(bn.histogram(X, -2, 2, 6, L, [1, 2]), ndi.histogram(x, -2, 2, 6, lab, [1, 2]))
    assert_same(bn.histogram(X, -2, 2, 6), ndi.histogram(x, -2, 2, 6))
    lo, hi, _, _ = bn.extrema(X, L, index)
    expected = ndi.extrema(x, lab, index)
    assert_same((lo, hi), expected[:2])


def test_positions_of_nan_extremes() -> None:
    x = RNG.standard_normal((9, 8))  # distinct values: no ties but NaN
    x[[1, 4, 6], [2, 0, 5]] = np.nan
    lab = np.zeros(x.shape, int)
    lab[:5], lab[5:, :4], lab[5:, 4:] = 1, 2, 3  # NaN: two in label 1, one in 3, none in 2
    X, L = da.from_array(x, chunks=(4, 3)), da.from_array(lab, chunks=(4, 3))
    index = [1, 2, 3]
    # a sequence index: scipy's minimum skips NaN, its maximum is a NaN
    assert_same(bn.minimum_position(X, L, index), ndi.minimum_position(x, lab, index))
    found = bn.maximum_position(X, L, index)
    assert found[1] == ndi.maximum_position(x, lab, index)[1]
    assert [found[0], found[2]] == [(1, 2), (6, 5)]  # the first NaN of each (ties: first)
    assert all(np.isnan(x[p]) for p in ndi.maximum_position(x, lab, [1, 3]))
    # a scalar index: scipy fails (IndexError) on a NaN extreme; bigimg gives the first NaN
    assert bn.minimum_position(X, L, 1) == (1, 2) == bn.maximum_position(X, L, 1)
    assert bn.minimum_position(X) == (1, 2)
    assert bn.maximum_position(X, L, 2) == ndi.maximum_position(x, lab, 2)


def test_region_table_of_nan_and_infinities() -> None:
    x = special_values(np.float64)
    lab = _nan_labels(x.shape)
    index = np.arange(1, 4)
    table = bn.region_table(da.from_array(lab, chunks=(5, 4)), da.from_array(x, chunks=(5, 4)))
    np.testing.assert_array_equal(table["label"], index)
    ones = np.ones(x.shape)
    np.testing.assert_array_equal(table["area"], ndi.sum_labels(ones, lab, index))
    boxes = ndi.find_objects(lab)
    for axis in range(2):
        np.testing.assert_array_equal(table[f"bbox_min_{axis}"], [b[axis].start for b in boxes])
        np.testing.assert_array_equal(table[f"bbox_max_{axis}"], [b[axis].stop for b in boxes])
    centroids = np.array(ndi.center_of_mass(ones, lab, index))
    for axis in range(2):
        np.testing.assert_allclose(table[f"centroid_{axis}"], centroids[:, axis], rtol=1e-12)
    for column, func in [
        ("intensity_sum", ndi.sum_labels),
        ("intensity_mean", ndi.mean),
        ("intensity_std", ndi.standard_deviation),
    ]:
        np.testing.assert_allclose(table[column], func(x, lab, index), rtol=1e-12, equal_nan=True)
    assert_same(table["intensity_min"], ndi.minimum(x, lab, index))
    assert_same(table["intensity_max"], ndi.maximum(x, lab, index))


# --- 6. label ids near the int32 limit ----------------------------------------------------------

BIG_IDS = [("int32", 2**31 - 1), ("int64", 2**40), ("uint32", 2**32 - 1)]


def big_labels(dtype: str, top: int) -> np.ndarray:
    lab = np.zeros((37, 23), dtype)
    lab[3:9, 4:10] = 5
    lab[12:20, 1:6] = top - 1
    lab[25:30, 15:22] = top
    lab[0, 0] = top
    lab[30, 0] = 2**31 - 2
    return lab


def _comprehension(values: np.ndarray, positions: np.ndarray) -> float:
    return float(values.max() + positions.sum())


#: measurements that scipy can make on these ids (it remaps them with numpy.unique)
BIG_MEASURES: dict[str, Func] = {
    "sum_labels": lambda m, x, lab, idx: m.sum_labels(x, lab, idx),
    "mean": lambda m, x, lab, idx: m.mean(x, lab, idx),
    "mean_scalar": lambda m, x, lab, idx: m.mean(x, lab, idx[2]),
    "variance": lambda m, x, lab, idx: m.variance(x, lab, idx),
    "center_of_mass": lambda m, x, lab, idx: m.center_of_mass(x, lab, idx),
    "minimum": lambda m, x, lab, idx: m.minimum(x, lab, idx),
    "maximum_position": lambda m, x, lab, idx: m.maximum_position(x, lab, idx),
    "extrema": lambda m, x, lab, idx: m.extrema(x, lab, idx),
    "median": lambda m, x, lab, idx: m.median(x, lab, idx),
    "histogram": lambda m, x, lab, idx: m.histogram(x, -2, 2, 5, lab, idx),
    "labeled_comprehension": lambda m, x, lab, idx: m.labeled_comprehension(
        x, lab, idx, _comprehension, float, -1.0, pass_positions=True
    ),
    "find_objects_max_label": lambda m, x, lab, idx: m.find_objects(lab, max_label=6),
}

_SUMS = {"sum_labels", "mean", "mean_scalar", "variance", "center_of_mass"}


def _small_memory(func: Func) -> Any:
    """``func()`` (warmed up once), checked to hold less than 32 MiB at any time: an
    array over the ids up to 2**31 would take GiB."""
    func()
    with peak_memory() as peak:
        result = func()
    assert peak[0] < 32 * 2**20, f"{peak[0] / 2**20:.0f} MiB"
    return result


@pytest.mark.parametrize(("dtype", "top"), BIG_IDS, ids=str)
@pytest.mark.parametrize("name", sorted(BIG_MEASURES))
def test_measurements_of_huge_label_ids(name: str, dtype: str, top: int) -> None:
    lab = big_labels(dtype, top)
    index = [5, top - 1, top, 7, 2**31 - 2]
    func = BIG_MEASURES[name]
    X = da.from_array(IMAGE, chunks=(5, 7))
    L = da.from_array(lab, chunks=(5, 7))
    got = _small_memory(lambda: func(bn, X, L, index))
    (assert_close if name in _SUMS else assert_same)(got, func(ndi, IMAGE, lab, index))


@pytest.mark.parametrize(("dtype", "top"), BIG_IDS, ids=str)
def test_measure_and_region_table_of_huge_label_ids(dtype: str, top: int) -> None:
    lab = big_labels(dtype, top)
    X, L = da.from_array(IMAGE, chunks=(5, 7)), da.from_array(lab, chunks=(5, 7))
    index = [5, top, 3]
    out = _small_memory(lambda: bn.measure(X, L, index, ["sum", "maximum", "center_of_mass"]))
    assert_close(out["sum"], ndi.sum_labels(IMAGE, lab, index))
    assert_same(out["maximum"], ndi.maximum(IMAGE, lab, index))
    assert_close(out["center_of_mass"], ndi.center_of_mass(IMAGE, lab, index))
    table = _small_memory(lambda: bn.region_table(L, X))
    present = np.unique(lab[lab > 0])
    assert_same(table["label"], present.astype(table["label"].dtype))
    np.testing.assert_array_equal(table["area"], ndi.sum_labels(np.ones(lab.shape), lab, present))
    np.testing.assert_allclose(table["intensity_mean"], ndi.mean(IMAGE, lab, present), rtol=1e-12)
    assert_same(table["intensity_max"], ndi.maximum(IMAGE, lab, present))


@pytest.mark.parametrize(("dtype", "top"), BIG_IDS, ids=str)
def test_where_huge_label_ids_are(dtype: str, top: int) -> None:
    lab = big_labels(dtype, top)
    L = da.from_array(lab, chunks=(5, 7))
    # scipy's value_indices allocates a histogram over the ids (MemoryError) and its
    # find_objects a list of `top` entries (16 GiB): references from numpy
    for ignore in [None, 0]:
        got = _small_memory(lambda ignore=ignore: bn.value_indices(L, ignore_value=ignore))
        expected = {lab.dtype.type(v): np.nonzero(lab == v) for v in np.unique(lab) if v != ignore}
        assert_same(got, expected)
    # first where a regression would cost 0.5 GiB, not 16 GiB
    sparse = np.zeros((5, 4), dtype)
    sparse[1, 1] = 2**26
    with pytest.raises(ValueError, match="region_table"):
        bn.find_objects(da.from_array(sparse, chunks=2))
    with pytest.raises(ValueError, match="region_table"):
        _small_memory(lambda: bn.find_objects(L))
    with pytest.raises(ValueError, match="max_label"):
        bn.find_objects(L, max_label=top)


@pytest.mark.parametrize(("dtype", "top"), BIG_IDS, ids=str)
def test_clean_up_of_huge_label_ids(dtype: str, top: int) -> None:
    lab = big_labels(dtype, top)
    L = da.from_array(lab, chunks=(5, 7))
    values = np.unique(lab)  # the tutorial's numpy
    relabelled, forward, inverse = _small_memory(lambda: computed(bseg.relabel_sequential(L)))
    want, want_forward, want_inverse = sk_segmentation.relabel_sequential(lab)
    assert_same(forward.in_values, values)
    assert_same(relabelled, want)
    for got_map, want_map in [(forward, want_forward), (inverse, want_inverse)]:
        assert_same(got_map.in_values, want_map.in_values)
        assert_same(got_map.out_values, want_map.out_values)
    sizes = {v: int((lab == v).sum()) for v in values if v > 0}
    for min_size in [2, 37, 41]:
        expected = np.where(
            np.isin(lab, [v for v, n in sizes.items() if n < min_size]), 0, lab
        ).astype(lab.dtype)
        got = _small_memory(
            lambda m=min_size: bmorph.remove_small_objects(L, max_size=m - 1).compute()
        )
        assert_same(got, expected)
    table = np.arange(10) * 3
    with pytest.raises(IndexError):  # numpy's table[labels] refuses it too
        table[lab]
    with pytest.raises(IndexError, match="outside the table"):
        bseg.relabel(L, table).compute()


@pytest.mark.parametrize(("output", "count"), [(np.int8, 300), (np.int16, 35_000)])
def test_label_output_too_narrow_for_the_count(output: Any, count: int) -> None:
    mask = np.zeros(2 * count, bool)
    mask[::2] = True  # `count` single-pixel objects
    with pytest.raises(RuntimeError, match="insufficient bit-depth"):
        ndi.label(mask, output=output)
    with pytest.raises(ValueError, match="insufficient bit-depth"):
        bn.label(da.from_array(mask, chunks=1000), output=output)
    wider = np.uint16 if output is np.int8 else np.int32
    labels, n = bn.label(da.from_array(mask, chunks=999), output=wider)
    expected, n_expected = ndi.label(mask, output=wider)
    assert n == n_expected == count
    assert_same(labels.compute(), expected)


def test_label_dtype_follows_scipy_beyond_int32() -> None:
    # scipy: int32 unless the image has 2**31 - 2 pixels or more (then intp), so
    # the count of objects always fits; bigimg's rule is the same, counted in int64
    assert _labels.label_dtype(2**31 - 3) == np.int32
    assert _labels.label_dtype(2**31 - 2) == np.intp
    assert _labels.label_dtype(2**40) == np.intp
    # local ids are coded in 32 bits: a chunk that could hold more is refused up front
    with pytest.raises(ValueError, match="chunks"):
        bn.label(da.zeros((2**17, 2**16), dtype=bool, chunks=-1))
