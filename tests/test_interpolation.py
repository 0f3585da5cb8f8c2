"""Geometric transforms and spline filters equal scipy.ndimage bit for bit, for every chunking."""

from __future__ import annotations

from typing import Any

import dask.array as da
import numpy as np
import pytest
import scipy.ndimage as ndi
from dask.core import get_dependencies
from hypothesis import given
from hypothesis import strategies as st

from bigimg import ndimage as bi
from bigimg._kernels import numba_jit
from bigimg._resample import prefilter as _prefilter
from bigimg.ndimage.interpolation import MODES
from tests.guards import raise_if_dask_computes
from tests.reference import assert_equal_to_reference
from tests.strategies import chunkings

MODES = list(MODES)
DTYPES = ["float64", "float32", "uint8", "int16"]


@st.composite
def images(draw: Any, min_dims: int = 1, max_dims: int = 3) -> tuple[np.ndarray, Any]:
    ndim = draw(st.integers(min_dims, max_dims))
    side = 16 if ndim < 3 else 8
    shape = tuple(draw(st.lists(st.integers(1, side), min_size=ndim, max_size=ndim)))
    dtype = np.dtype(draw(st.sampled_from(DTYPES)))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if dtype.kind == "f":
        x = (rng.standard_normal(shape) * 50).astype(dtype)
    else:
        low = -100 if dtype.kind == "i" else 0
        x = rng.integers(low, low + 200, size=shape).astype(dtype)
    return x, draw(chunkings(shape))


@st.composite
def spline_args(draw: Any) -> dict[str, Any]:
    return dict(
        order=draw(st.integers(0, 5)),
        mode=draw(st.sampled_from(MODES)),
        cval=draw(st.sampled_from([0.0, 1.5, -7.0])),
        prefilter=draw(st.booleans()),
    )


@given(images(), spline_args(), st.data())
def test_affine_transform(case: Any, kw: dict, data: Any) -> None:
    x, chunks = case
    n = x.ndim
    kind = data.draw(st.sampled_from(["matrix", "diagonal", "homogeneous"]))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    matrix = rng.uniform(-1.5, 1.5, (n, n)) + np.eye(n)
    offset = rng.uniform(-6, 6, n)
    if kind == "diagonal":
        matrix = rng.uniform(0.3, 2.0, n) * rng.choice([-1, 1], n)
    elif kind == "homogeneous":
        matrix = np.vstack([np.hstack([matrix, offset[:, None]]), [0] * n + [1]])
    out_shape = tuple(data.draw(st.lists(st.integers(1, 14), min_size=n, max_size=n)))
    out_chunks = tuple(data.draw(st.integers(1, 6)) for _ in range(n))
    expected = ndi.affine_transform(x, matrix, offset, out_shape, **kw)
    with raise_if_dask_computes():
        got = bi.affine_transform(
            da.from_array(x, chunks=chunks),
            matrix,
            offset,
            out_shape,
            output_chunks=out_chunks,
            **kw,
        )
    assert_equal_to_reference(got, expected)


@given(images(), spline_args(), st.data())
def test_shift(case: Any, kw: dict, data: Any) -> None:
    x, chunks = case
    amount = data.draw(st.lists(st.floats(-20, 20), min_size=x.ndim, max_size=x.ndim))
    expected = ndi.shift(x, amount, **kw)
    with raise_if_dask_computes():
        got = bi.shift(da.from_array(x, chunks=chunks), amount, **kw)
    assert got.chunks == da.from_array(x, chunks=chunks).chunks
    assert_equal_to_reference(got, expected)


@given(images(), spline_args(), st.data())
def test_zoom(case: Any, kw: dict, data: Any) -> None:
    x, chunks = case
    factors = data.draw(st.lists(st.floats(0.2, 3.0), min_size=x.ndim, max_size=x.ndim))
    grid_mode = data.draw(st.booleans())
    with (
        pytest.warns(UserWarning)
        if grid_mode and kw["mode"] in ("constant", "wrap")
        else _nothing()
    ):
        expected = ndi.zoom(x, factors, grid_mode=grid_mode, **kw)
    with raise_if_dask_computes():
        got = bi.zoom(da.from_array(x, chunks=chunks), factors, grid_mode=grid_mode, **kw)
    assert_equal_to_reference(got, expected)


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *args: Any) -> None:
        return None


@given(images(min_dims=2), spline_args(), st.data())
def test_rotate(case: Any, kw: dict, data: Any) -> None:
    x, chunks = case
    angle = data.draw(st.sampled_from([0, 15, 30, 45, 90, 180, -33.3, 271.5]))
    axes = tuple(data.draw(st.permutations(range(x.ndim)))[:2])
    reshape = data.draw(st.booleans())
    expected = ndi.rotate(x, angle, axes, reshape, **kw)
    with raise_if_dask_computes():
        got = bi.rotate(da.from_array(x, chunks=chunks), angle, axes, reshape, **kw)
    assert_equal_to_reference(got, expected)


@given(images(), spline_args(), st.data())
def test_map_coordinates(case: Any, kw: dict, data: Any) -> None:
    x, chunks = case
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    out = tuple(data.draw(st.lists(st.integers(1, 9), min_size=1, max_size=2)))
    far = data.draw(st.sampled_from([1.0, 3.0]))
    coords = rng.uniform(-far * 8, far * 8 + 16, (x.ndim, *out))
    if data.draw(st.booleans()):
        coords = np.round(coords)  # integer coordinates: scipy's exact sample points
    coord_chunks = (x.ndim, *(data.draw(st.integers(1, 5)) for _ in out))
    expected = ndi.map_coordinates(x, coords, **kw)
    got = bi.map_coordinates(
        da.from_array(x, chunks=chunks), da.from_array(coords, coord_chunks), **kw
    )
    assert_equal_to_reference(got, expected)


@given(
    images(), st.integers(0, 5), st.sampled_from(MODES), st.sampled_from(["float64", "float32"])
)
def test_spline_filters(case: Any, order: int, mode: str, output: str) -> None:
    x, chunks = case
    for func, args in ((bi.spline_filter, ()), (bi.spline_filter1d, (0,))):
        try:
            expected = getattr(ndi, func.__name__)(x, order, *args, output, mode)
        except RuntimeError:  # scipy refuses the order: bigimg too, at call time
            with raise_if_dask_computes(), pytest.raises(ValueError):
                func(da.from_array(x, chunks=chunks), order, *args, output, mode)
            continue
        with raise_if_dask_computes():
            got = func(da.from_array(x, chunks=chunks), order, *args, output, mode)
        assert_equal_to_reference(got, expected)


@pytest.mark.parametrize("compiled", [True, False])
@given(data=st.data())
def test_compiled_and_plain_paths_equal_scipy(compiled: bool, data: Any) -> None:
    """Larger images than above, so that most output pixels are interior and
    go through the compiled spline sums (or, switched off, scipy alone): both
    equal scipy for affine maps, zoom, shift, a volume turned in the plane of
    axes 0 and 2 (its planes are not contiguous), given coordinates (with
    outputs of other ranks than the image's) and a 4-D shift (more axes than
    the compiled sums take)."""
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    dtype = np.dtype(data.draw(st.sampled_from(DTYPES)))
    x2 = (rng.standard_normal((40, 36)) * 60).astype(dtype)
    x3 = (rng.standard_normal((10, 12, 9)) * 60).astype(dtype)
    x4 = (rng.standard_normal((4, 5, 6, 7)) * 60).astype(dtype)
    kw = data.draw(spline_args())
    matrix = np.eye(2) + rng.uniform(-0.6, 0.6, (2, 2))
    coords = rng.uniform(-3, 40, (2, 30, 20))
    cases = [
        (bi.affine_transform, ndi.affine_transform, x2, (matrix, rng.uniform(-5, 5, 2))),
        (bi.zoom, ndi.zoom, x2, (data.draw(st.sampled_from([0.6, 1.7, (1.3, 0.8)])),)),
        (bi.shift, ndi.shift, x2, (tuple(rng.uniform(-4, 4, 2)),)),
        (bi.rotate, ndi.rotate, x3, (data.draw(st.floats(-90, 90)), (0, 2))),
        (bi.map_coordinates, ndi.map_coordinates, x2, (coords,)),
        # outputs of another rank than the image, away from the origin
        (bi.map_coordinates, ndi.map_coordinates, x3, (rng.uniform(2, 8, (3, 25)),)),
        (bi.map_coordinates, ndi.map_coordinates, x4, (rng.uniform(1.5, 4, (4, 6, 5, 2, 3)),)),
        (bi.shift, ndi.shift, x4, ((0.5, -1.25, 0.75, 2.0),)),
    ]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(numba_jit, "ENABLED", compiled)
        for ours, theirs, x, args in cases:
            # chunks of at least 3 pixels (the small tests above take every chunking)
            chunks = tuple(data.draw(st.integers(min(3, n), n)) for n in x.shape)
            got = ours(da.from_array(x, chunks=chunks), *args, **kw)
            assert_equal_to_reference(got, theirs(x, *args, **kw))


@pytest.mark.skipif(not numba_jit.ENABLED, reason="numba is not installed")
@given(
    st.lists(st.integers(1, 30), min_size=1, max_size=4).filter(lambda s: np.prod(s) <= 4000),
    st.data(),
    st.integers(0, 5),
    st.sampled_from(MODES),
    st.sampled_from(["float64", "float32", "uint8", "int16", "int32", "bool"]),
    st.sampled_from(["float64", "float32"]),
    st.integers(0, 2**32 - 1),
)
def test_chunked_prefilter_equals_scipy(
    shape: list[int], data: Any, order: int, mode: str, dtype: str, output: str, seed: int
) -> None:
    """The prefilter on a line's chunks in place (any axis, any chunking, 1-4-D,
    lines long enough to be split across) gives scipy's spline_filter1d and
    spline_filter bit for bit, lazily, in the input's chunks."""
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(shape) * 80).astype(dtype)
    lazy = da.from_array(x, chunks=data.draw(chunkings(x.shape)))
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1))
    # the output a line of chunks may hold before it is split across the line
    line_bytes = data.draw(st.sampled_from([_prefilter._LINE_BYTES, 8, 8 * 30]))
    kw = dict(order=order, output=np.dtype(output), mode=mode)
    for ours, theirs, args in (
        (bi.spline_filter1d, ndi.spline_filter1d, {"axis": axis}),
        (bi.spline_filter, ndi.spline_filter, {}),
    ):
        try:
            expected = theirs(x, **args, **kw)
        except RuntimeError:  # scipy refuses some orders: so must we, at call time
            with pytest.raises(ValueError, match="order"):
                ours(lazy, **args, **kw)
            continue
        with pytest.MonkeyPatch.context() as patch, raise_if_dask_computes():
            patch.setattr(_prefilter, "_LINE_BYTES", line_bytes)
            got = ours(lazy, **args, **kw)
        assert got.chunks == lazy.chunks
        assert_equal_to_reference(got, expected)


def test_geometric_transform_with_extra_arguments() -> None:
    x = np.random.default_rng(0).standard_normal((9, 11))

    def mapping(o: tuple[int, ...], scale: float, shift: float = 0.0) -> tuple[float, float]:
        return (o[0] * scale + shift, o[1] / scale)

    for order in (0, 1, 3):
        kw = dict(extra_arguments=(0.7,), extra_keywords={"shift": 1.5}, order=order)
        expected = ndi.geometric_transform(x, mapping, (12, 8), **kw)
        assert_equal_to_reference(
            bi.geometric_transform(da.from_array(x, chunks=4), mapping, (12, 8), **kw), expected
        )


def test_complex_input() -> None:
    rng = np.random.default_rng(1)
    x = rng.standard_normal((10, 12)) + 1j * rng.standard_normal((10, 12))
    assert_equal_to_reference(
        bi.shift(da.from_array(x, chunks=4), (1.5, -2.25), cval=1 + 2j),
        ndi.shift(x, (1.5, -2.25), cval=1 + 2j),
    )
    assert_equal_to_reference(bi.rotate(da.from_array(x, chunks=5), 20), ndi.rotate(x, 20))
    assert_equal_to_reference(bi.spline_filter(da.from_array(x, chunks=3)), ndi.spline_filter(x))


def test_output_regions_are_local() -> None:
    """An output chunk reads its own neighbourhood of the input (here the spline
    coefficients), never the whole input: at most its 3 x 3 neighbour blocks."""
    x = da.zeros((400, 400), chunks=50)
    y = bi.shift(x, (2.5, -3.5), order=3)
    graph = dict(y.__dask_graph__())
    outputs = [k for k in graph if isinstance(k, tuple) and k[0] == y.name]
    assert len(outputs) == 64
    for key in outputs:
        reached = set()
        for dep in get_dependencies(graph, key):
            if dep[0].startswith("shift-region"):  # a part of one block
                (dep,) = get_dependencies(graph, dep)
            reached.add(dep[1:3])  # a block of the coefficients
        assert 1 <= len(reached) <= 9
        assert all(abs(i - key[1]) <= 1 and abs(j - key[2]) <= 1 for i, j in reached)


@pytest.mark.parametrize(
    "call, error",
    [
        (lambda x: bi.shift(x, 1, order=6), ValueError),
        (lambda x: bi.zoom(x, 2, mode="bogus"), ValueError),
        (lambda x: bi.affine_transform(x, np.ones((2, 5))), ValueError),
        (lambda x: bi.affine_transform(x, np.eye(2), output_shape=(4, 4, 4)), ValueError),
        (lambda x: bi.map_coordinates(x, np.zeros((3, 4))), ValueError),
        (lambda x: bi.rotate(x, 10, axes=(0, 5)), ValueError),
        (lambda x: bi.shift(x, 1, output=np.zeros((8, 8))), TypeError),
    ],
)
def test_bad_input_fails_at_call_time(call: Any, error: type) -> None:
    x = da.zeros((8, 8), chunks=4)
    with raise_if_dask_computes(), pytest.raises(error):
        call(x)


def test_tutorial_geometry() -> None:
    """Section 2.6.3: rotate(45), rotate(45, reshape=False), crop and flips stay
    lazy and chunk-aligned, and equal numpy/scipy."""
    rng = np.random.default_rng(2)
    face = rng.integers(0, 256, (96, 128)).astype(np.uint8)
    lazy = da.from_array(face, chunks=32)
    with raise_if_dask_computes():
        rotated = bi.rotate(lazy, 45)
        kept = bi.rotate(lazy, 45, reshape=False)
        crop = lazy[24:-24, 32:-32]
        flipped = lazy[::-1]
    assert_equal_to_reference(rotated, ndi.rotate(face, 45))
    assert_equal_to_reference(kept, ndi.rotate(face, 45, reshape=False))
    assert_equal_to_reference(crop, face[24:-24, 32:-32])
    assert_equal_to_reference(flipped, np.flipud(face))
    assert crop.chunks == ((8, 32, 8), (32, 32))  # slicing keeps the chunk grid


def test_tutorial_edge_image() -> None:
    """Section 2.6.5's edge-detection image: a square rotated by 15 degrees."""
    im = np.zeros((256, 256))
    im[64:-64, 64:-64] = 1
    lazy = bi.rotate(da.from_array(im, chunks=64), 15, mode="constant")
    assert_equal_to_reference(lazy, ndi.rotate(im, 15, mode="constant"))
