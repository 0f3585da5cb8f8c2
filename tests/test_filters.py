"""Every filter equals scipy.ndimage on the whole array, for every chunking and mode."""

from __future__ import annotations

import warnings
from typing import Any

import dask.array as da
import numpy as np
import pytest
import scipy.ndimage as ndi
from hypothesis import given
from hypothesis import strategies as st

import bigimg
from bigimg import ndimage as bnd
from tests.guards import raise_if_dask_computes
from tests.reference import check_against
from tests.strategies import MODES, chunked_arrays

FLOATS = ("float64", "float32")
NUMERIC = ("float64", "float32", "uint8", "int16", "int32")
cvals = st.sampled_from([0.0, 1.5, -3.0, 7.0])


def check(name: str, x: np.ndarray, chunks: Any, *args: Any, **kwargs: Any) -> None:
    """bigimg.ndimage.<name> on a chunked dask array == scipy.ndimage.<name> on numpy;
    where scipy refuses the arguments, bigimg refuses them too, at call time."""
    check_against(getattr(ndi, name), getattr(bnd, name), x, chunks, *args, **kwargs)


def per_axis_mode(draw: Any, n: int) -> Any:
    if draw(st.booleans()):
        return draw(st.sampled_from(MODES))
    return tuple(draw(st.lists(st.sampled_from(MODES), min_size=n, max_size=n)))


def origin_for(draw: Any, size: int) -> int:
    return draw(st.integers(-(size // 2), (size - 1) // 2))


@given(data=chunked_arrays(dtypes=NUMERIC), params=st.data(), cval=cvals)
def test_correlate_and_convolve(data: Any, params: Any, cval: float) -> None:
    x, chunks = data
    shape = params.draw(st.lists(st.integers(1, 5), min_size=x.ndim, max_size=x.ndim))
    weights = np.random.default_rng(len(shape)).integers(-3, 4, size=shape).astype(float)
    origin = [origin_for(params.draw, s) for s in shape]
    mode = params.draw(st.sampled_from(MODES))
    for name in ("correlate", "convolve"):
        check(name, x, chunks, weights, mode=mode, cval=cval, origin=origin)


@given(data=chunked_arrays(max_ndim=3, dtypes=FLOATS), params=st.data(), cval=cvals)
def test_correlate_over_some_axes(data: Any, params: Any, cval: float) -> None:
    x, chunks = data
    axes = params.draw(
        st.lists(
            st.integers(-x.ndim, x.ndim - 1),
            min_size=1,
            max_size=x.ndim,
            unique_by=lambda a: a % x.ndim,
        )
    )
    weights = np.arange(1.0, 1.0 + 2 ** len(axes)).reshape((2,) * len(axes))
    check(
        "correlate",
        x,
        chunks,
        weights,
        mode=params.draw(st.sampled_from(MODES)),
        cval=cval,
        axes=tuple(axes),
    )


@given(data=chunked_arrays(dtypes=NUMERIC), params=st.data(), cval=cvals)
def test_correlate1d_convolve1d(data: Any, params: Any, cval: float) -> None:
    x, chunks = data
    n = params.draw(st.integers(1, 7))
    weights = np.linspace(-1, 2, n)
    axis = params.draw(st.integers(-x.ndim, x.ndim - 1))
    for name in ("correlate1d", "convolve1d"):
        check(
            name,
            x,
            chunks,
            weights,
            axis=axis,
            mode=params.draw(st.sampled_from(MODES)),
            cval=cval,
            origin=origin_for(params.draw, n),
        )


@given(data=chunked_arrays(dtypes=NUMERIC), params=st.data(), cval=cvals)
def test_uniform_filter(data: Any, params: Any, cval: float) -> None:
    x, chunks = data
    sizes = params.draw(st.lists(st.integers(1, 6), min_size=x.ndim, max_size=x.ndim))
    origin = [origin_for(params.draw, s) for s in sizes]
    check(
        "uniform_filter",
        x,
        chunks,
        sizes,
        mode=per_axis_mode(params.draw, x.ndim),
        cval=cval,
        origin=origin,
    )
    size = sizes[0]
    check(
        "uniform_filter1d",
        x,
        chunks,
        size,
        axis=0,
        mode=params.draw(st.sampled_from(MODES)),
        cval=cval,
        origin=origin[0],
    )


@given(data=chunked_arrays(dtypes=NUMERIC), params=st.data(), cval=cvals)
def test_gaussian_filter(data: Any, params: Any, cval: float) -> None:
    x, chunks = data
    sigma = params.draw(st.lists(st.floats(0, 3), min_size=x.ndim, max_size=x.ndim))
    order = params.draw(st.lists(st.integers(0, 2), min_size=x.ndim, max_size=x.ndim))
    truncate = params.draw(st.sampled_from([4.0, 2.0, 1.3]))
    check(
        "gaussian_filter",
        x,
        chunks,
        sigma,
        order=order,
        mode=per_axis_mode(params.draw, x.ndim),
        cval=cval,
        truncate=truncate,
    )
    check(
        "gaussian_filter1d",
        x,
        chunks,
        sigma[0] + 0.5,
        axis=-1,
        order=order[0],
        mode=params.draw(st.sampled_from(MODES)),
        cval=cval,
        radius=params.draw(st.sampled_from([None, 1, 4])),
    )


@given(data=chunked_arrays(dtypes=(*FLOATS, "int16")), params=st.data(), cval=cvals)
def test_gaussian_laplace_and_gradient_magnitude(data: Any, params: Any, cval: float) -> None:
    x, chunks = data
    sigma = params.draw(st.floats(0.2, 2.5))
    mode = per_axis_mode(params.draw, x.ndim)
    check("gaussian_laplace", x, chunks, sigma, mode=mode, cval=cval)
    check(
        "gaussian_gradient_magnitude",
        x,
        chunks,
        sigma,
        mode=mode,
        cval=cval,
        truncate=params.draw(st.sampled_from([4.0, 2.5])),
    )


@given(data=chunked_arrays(dtypes=NUMERIC), params=st.data(), cval=cvals)
def test_sobel_prewitt_laplace(data: Any, params: Any, cval: float) -> None:
    x, chunks = data
    axis = params.draw(st.integers(-x.ndim, x.ndim - 1))
    mode = per_axis_mode(params.draw, x.ndim)
    check("sobel", x, chunks, axis=axis, mode=mode, cval=cval)
    check("prewitt", x, chunks, axis=axis, mode=mode, cval=cval)
    check("laplace", x, chunks, mode=mode, cval=cval)


@given(data=chunked_arrays(dtypes=NUMERIC), params=st.data(), cval=cvals)
def test_minimum_maximum_filters(data: Any, params: Any, cval: float) -> None:
    x, chunks = data
    sizes = params.draw(st.lists(st.integers(1, 5), min_size=x.ndim, max_size=x.ndim))
    origin = [origin_for(params.draw, s) for s in sizes]
    for name in ("minimum_filter", "maximum_filter"):
        check(
            name,
            x,
            chunks,
            size=sizes,
            mode=per_axis_mode(params.draw, x.ndim),
            cval=cval,
            origin=origin,
        )
        footprint = np.random.default_rng(sum(sizes)).random(sizes) > 0.4
        footprint.flat[0] = True
        check(
            name,
            x,
            chunks,
            footprint=footprint,
            mode=params.draw(st.sampled_from(MODES)),
            cval=cval,
            origin=origin,
        )
        check(
            name + "1d",
            x,
            chunks,
            sizes[0],
            axis=0,
            mode=params.draw(st.sampled_from(MODES)),
            cval=cval,
            origin=origin[0],
        )


@given(data=chunked_arrays(dtypes=NUMERIC), params=st.data(), cval=cvals)
def test_rank_median_percentile(data: Any, params: Any, cval: float) -> None:
    x, chunks = data
    sizes = params.draw(st.lists(st.integers(1, 4), min_size=x.ndim, max_size=x.ndim))
    footprint = np.random.default_rng(sum(sizes)).random(sizes) > 0.3
    footprint.flat[-1] = True
    origin = [origin_for(params.draw, s) for s in sizes]
    mode = params.draw(st.sampled_from(MODES))
    rank = params.draw(st.integers(-int(footprint.sum()), int(footprint.sum()) - 1))
    percentile = params.draw(st.floats(-100, 100))
    check_rank(
        "rank_filter", x, chunks, rank, footprint=footprint, mode=mode, cval=cval, origin=origin
    )
    check_rank("median_filter", x, chunks, size=sizes, mode=mode, cval=cval, origin=origin)
    check_rank("percentile_filter", x, chunks, percentile, size=sizes, mode=mode, cval=cval)


def check_rank(name: str, x: np.ndarray, chunks: Any, *args: Any, **kwargs: Any) -> None:
    """As :func:`check`; but scipy's 1-D rank code reads outside the array when the
    window is wide compared to it, or for 'mirror' on one pixel (results such as
    1.6e-322 or 0.0, varying between runs). Where it does, the reference is
    scipy's N-D rank code on the same data as a 1 x n image."""
    window = kwargs["footprint"].size if "footprint" in kwargs else int(np.prod(kwargs["size"]))
    if x.dtype.kind == "u" and kwargs.get("cval", 0) < 0:
        # a negative cval reaches unsigned output through a C float -> unsigned
        # conversion, which is undefined behaviour: scipy gives no defined reference
        kwargs["cval"] = -kwargs["cval"]
    if x.ndim != 1 or window <= len(x):  # scipy's 1-D code corrupts memory otherwise
        try:
            check(name, x, chunks, *args, **kwargs)
            return
        except AssertionError:
            if x.ndim != 1 or (x.dtype.kind != "f" and "constant" in kwargs["mode"]):
                raise
    wide = dict(kwargs)
    if "size" in wide:
        wide["size"] = [1, *wide["size"]]
    if "footprint" in wide:
        wide["footprint"] = wide["footprint"][None]
    wide["origin"] = [0, *np.ravel(wide.get("origin", 0))]
    reference = getattr(ndi, name)(x[None], *args, **wide)[0]
    got = getattr(bnd, name)(da.from_array(x, chunks=chunks), *args, **kwargs)
    np.testing.assert_array_equal(got.compute(scheduler="sync"), reference, strict=True)


@given(data=chunked_arrays(max_ndim=2, max_side=8, dtypes=FLOATS), params=st.data(), cval=cvals)
def test_generic_filters(data: Any, params: Any, cval: float) -> None:
    x, chunks = data
    size = params.draw(st.integers(1, 4))
    mode = params.draw(st.sampled_from(MODES))
    check("generic_filter", x, chunks, np.ptp, size=size, mode=mode, cval=cval)

    def running(inp: np.ndarray, out: np.ndarray, k: float) -> None:
        out[:] = inp[size - 1 :] * k + inp[: len(inp) - size + 1]

    check(
        "generic_filter1d",
        x,
        chunks,
        running,
        size,
        axis=0,
        mode=mode,
        cval=cval,
        extra_arguments=(2.0,),
    )
    check(
        "vectorized_filter",
        x,
        chunks,
        np.median,
        size=size,
        mode=mode,
        **({"cval": cval} if mode == "constant" else {}),
    )


@given(data=chunked_arrays(dtypes=FLOATS), mode=st.sampled_from(MODES), cval=cvals)
def test_generic_laplace_and_gradient_magnitude(data: Any, mode: str, cval: float) -> None:
    x, chunks = data

    def d2(inp: np.ndarray, axis: int, output: Any, mode: str, cval: float) -> np.ndarray:
        return ndi.correlate1d(inp, [1, -2, 1], axis, output, mode, cval, 0)

    expected = ndi.generic_laplace(x, d2, mode=mode, cval=cval)
    got = bnd.generic_laplace(da.from_array(x, chunks=chunks), d2, mode=mode, cval=cval, depth=1)
    np.testing.assert_array_equal(got.compute(scheduler="sync"), expected)
    if mode != "constant":  # sobel is two passes; exact for the index modes
        expected = ndi.generic_gradient_magnitude(x, ndi.sobel, mode=mode)
        got = bnd.generic_gradient_magnitude(
            da.from_array(x, chunks=chunks), ndi.sobel, mode=mode, depth=1
        )
        np.testing.assert_array_equal(got.compute(scheduler="sync"), expected)


def test_complex_and_bool_inputs() -> None:
    rng = np.random.default_rng(0)
    z = rng.standard_normal((20, 17)) + 1j * rng.standard_normal((20, 17))
    check("correlate", z, (7, 5), np.ones((3, 2)), mode="wrap")
    check("uniform_filter", z, (7, 5), 3, mode="constant", cval=0.5)
    check("gaussian_filter", z, (6, 6), 1.5, mode="wrap")
    b = rng.random((20, 17)) > 0.5
    check("maximum_filter", b, (7, 5), size=3, mode="constant")
    check("median_filter", b, (3, 3), size=3)


def test_huge_reach_and_tiny_arrays() -> None:
    x = np.random.default_rng(1).random((5, 3))
    for mode in MODES:
        check("gaussian_filter", x, (2, 1), 9.0, mode=mode, cval=0.25)
        check("uniform_filter", x, (1, 2), 13, mode=mode)
    check("gaussian_filter", np.zeros((0, 4)), (1, 2), 2.0)
    check("sobel", np.arange(7.0), 2)


@pytest.mark.parametrize("scheduler_name", ["threads", "distributed"])
def test_filters_on_schedulers(scheduler_name: str, request: pytest.FixtureRequest) -> None:
    x = bigimg.datasets.natural((300, 280), chunks=(70, 90), seed=3)
    image = x.compute()
    sched: Any = "threads"
    if scheduler_name == "distributed":
        sched = request.getfixturevalue("local_cluster")
    for name, args, kwargs in [
        ("gaussian_filter", (2,), {"mode": "wrap"}),
        ("median_filter", (), {"size": 5}),
        ("sobel", (), {"mode": "constant", "cval": 0.5}),
    ]:
        result = da.compute(getattr(bnd, name)(x, *args, **kwargs), scheduler=sched)[0]
        np.testing.assert_array_equal(result, getattr(ndi, name)(image, *args, **kwargs))


def test_graph_is_o_chunks() -> None:
    x = da.zeros((2000, 3000), chunks=(250, 250), dtype="float32")
    with raise_if_dask_computes():
        y = bnd.gaussian_filter(bnd.median_filter(x, 5), 3)
    assert len(y.dask.layers[y.name]) == x.npartitions  # one task per output chunk
    assert len(y.dask) <= 2 * 9 * x.npartitions  # plus at most 8 neighbour strips each


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda x: bnd.gaussian_filter(x, -1), "sigma"),
        (lambda x: bnd.gaussian_filter(x, 1, mode="bogus"), "mode='bogus'"),
        (lambda x: bnd.uniform_filter(x, size=(3, 3, 3)), "size"),
        (lambda x: bnd.uniform_filter(x, size=0), "size"),
        (lambda x: bnd.correlate(x, np.ones((3, 3, 3))), "weights has 3 dimensions"),
        (lambda x: bnd.median_filter(x, footprint=np.ones((3, 3, 3))), "footprint has 3"),
        (lambda x: bnd.median_filter(x), "size or footprint"),
        (lambda x: bnd.gaussian_filter(x, 1, axes=5), "axes"),
        (lambda x: bnd.sobel(x, axis=2), "axis=2"),
        (lambda x: bnd.uniform_filter(x, 3, origin=2), "origin"),
        (lambda x: bnd.generic_laplace(x, ndi.correlate1d), "depth="),
        (lambda x: bnd.gaussian_filter(x, 1, output=np.empty((4, 4))), "output="),
        (lambda x: bnd.correlate1d(x, [1, 2], mode=("wrap", "reflect")), "single mode"),
    ],
)
def test_bad_input_fails_at_call_time(call: Any, message: str) -> None:
    x = da.zeros((40, 40), chunks=10)
    with raise_if_dask_computes(), pytest.raises((ValueError, TypeError), match=message):
        call(x)


def test_numpy_input_is_wrapped() -> None:
    x = np.random.default_rng(0).random((50, 40))
    y = bnd.uniform_filter(x, 5)
    assert isinstance(y, da.Array)
    np.testing.assert_array_equal(y.compute(), ndi.uniform_filter(x, 5))


def test_every_scipy_filter_is_exported() -> None:
    names = {
        "correlate",
        "convolve",
        "correlate1d",
        "convolve1d",
        "gaussian_filter",
        "gaussian_filter1d",
        "gaussian_gradient_magnitude",
        "gaussian_laplace",
        "generic_filter",
        "generic_filter1d",
        "generic_gradient_magnitude",
        "generic_laplace",
        "laplace",
        "maximum_filter",
        "maximum_filter1d",
        "minimum_filter",
        "minimum_filter1d",
        "median_filter",
        "percentile_filter",
        "rank_filter",
        "prewitt",
        "sobel",
        "uniform_filter",
        "uniform_filter1d",
        "vectorized_filter",
    }
    assert names <= set(bnd.__all__)
    for name in names:
        ours, theirs = getattr(bnd, name), getattr(ndi, name)
        import inspect

        ours_params = list(inspect.signature(ours).parameters)
        theirs_params = list(inspect.signature(theirs).parameters)
        assert ours_params[: len(theirs_params)] == theirs_params, name


@pytest.mark.parametrize("name", ["minimum_filter", "maximum_filter", "median_filter"])
@pytest.mark.parametrize("axes", [(2, 0), (0, 2), (1, 2, 0)])
def test_footprint_over_unsorted_axes(name: str, axes: tuple[int, ...]) -> None:
    """scipy places footprint dimensions on the axes in increasing order, origins in
    the given order: the reach must cover both."""
    x = np.random.default_rng(4).standard_normal((12, 5, 12))
    footprint = np.array([[1, 0, 1, 1, 1]]).T
    if len(axes) == 3:
        footprint = footprint[:, :, None] * np.ones((1, 1, 3), bool)
    expected = getattr(ndi, name)(x, footprint=footprint, axes=axes)
    got = getattr(bnd, name)(da.from_array(x, chunks=3), footprint=footprint, axes=axes)
    np.testing.assert_array_equal(got.compute(), expected, strict=True)


@pytest.mark.parametrize("name", ["minimum_filter", "median_filter", "grey_erosion"])
@pytest.mark.parametrize("axes", [(1, 0), (0, 1), (2, 0), (1, 2, 0), (2, 1, 0)])
@pytest.mark.parametrize("origin_index", [0, 1])
def test_footprint_origins_over_permuted_axes(
    name: str, axes: tuple[int, ...], origin_index: int
) -> None:
    """Over fewer axes than the image has, scipy puts origins on ``axes`` in
    their order; over every axis it ignores the order of ``axes`` and uses
    footprint and origins as given. Reach and compiled kernels follow both."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((11, 9) if max(axes) < 2 else (11, 9, 10))
    shape = (4, 3, 2)[: len(axes)]
    footprint = rng.random(shape) > 0.3
    footprint.flat[0] = True
    origin = [0] * len(axes)
    origin[origin_index] = -(shape[origin_index] // 2)
    try:
        expected = getattr(ndi, name)(x, footprint=footprint, axes=axes, origin=origin)
    except (ValueError, RuntimeError) as exc:
        with pytest.raises(type(exc) if isinstance(exc, ValueError) else ValueError):
            getattr(bnd, name)(
                da.from_array(x, chunks=3), footprint=footprint, axes=axes, origin=origin
            )
        return
    got = getattr(bnd, name)(
        da.from_array(x, chunks=3), footprint=footprint, axes=axes, origin=origin
    )
    np.testing.assert_array_equal(got.compute(), expected, strict=True)


@pytest.mark.parametrize(
    "name, args",
    [
        ("median_filter", ()),
        ("rank_filter", (1,)),
        ("percentile_filter", (50,)),
        ("minimum_filter", ()),
        ("generic_filter", (np.mean,)),
        ("vectorized_filter", (np.mean,)),
        ("grey_erosion", ()),
        ("grey_opening", ()),
    ],
)
def test_size_and_footprint_together(name: str, args: tuple[Any, ...]) -> None:
    """As scipy: a warning at the user's call that ``size`` is ignored, or the
    same error where scipy refuses both."""
    x = np.random.default_rng(6).standard_normal((8, 9))
    kwargs = dict(size=3, footprint=np.ones((3, 3), bool))
    try:
        with warnings.catch_warnings(record=True) as theirs:
            warnings.simplefilter("always")
            expected = getattr(ndi, name)(x, *args, **kwargs)
    except ValueError as exc:
        with raise_if_dask_computes(), pytest.raises(ValueError, match=str(exc)[:20]):
            getattr(bnd, name)(da.from_array(x, chunks=4), *args, **kwargs)
        return
    assert any("ignoring size" in str(w.message) for w in theirs)
    with raise_if_dask_computes(), pytest.warns(UserWarning, match="ignoring size") as ours:
        lazy = getattr(bnd, name)(da.from_array(x, chunks=4), *args, **kwargs)
    assert [w.filename for w in ours] == [__file__]
    np.testing.assert_array_equal(lazy.compute(), expected, strict=True)
