"""The compiled line kernels reproduce scipy.ndimage's arithmetic bit for bit.

These call :mod:`bigimg._kernels` on plain numpy arrays (the filter tests run
them inside the halo engine); every case is checked with the compiled kernels
and with the scipy/numpy fallback that runs where numba is missing.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import scipy.ndimage as ndi
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from bigimg import _kernels, _labels
from bigimg._halo.lines import _running_step
from bigimg._kernels import numba_jit
from tests.reference import assert_same
from tests.strategies import MODES

pytestmark = pytest.mark.skipif(not numba_jit.ENABLED, reason="numba is not installed")


@pytest.fixture(params=[True, False], ids=["compiled", "fallback"])
def compiled(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[bool]:
    monkeypatch.setattr(numba_jit, "ENABLED", request.param)
    yield request.param


def float_arrays(max_dims: int = 3, max_side: int = 40) -> st.SearchStrategy[np.ndarray]:
    """Real float arrays with values over many magnitudes, infinities and NaN too."""
    big = float(np.float32(1e30))
    elements = st.floats(-big, big, allow_subnormal=False, width=32) | st.sampled_from(
        [0.0, -0.0, np.inf, -np.inf, np.nan, 1e-30]
    )
    shapes = hnp.array_shapes(min_dims=1, max_dims=max_dims, min_side=1, max_side=max_side)
    return st.sampled_from(["float32", "float64"]).flatmap(
        lambda dt: hnp.arrays(dt, shapes, elements=elements)
    )


def weights(draw: Any) -> np.ndarray:
    """General, symmetric (exactly or within DBL_EPSILON) and antisymmetric weights."""
    size = draw(st.integers(1, 27))
    w = np.asarray(draw(st.lists(st.floats(-4, 4), min_size=size, max_size=size)))
    kind = draw(st.sampled_from(["general", "symmetric", "antisymmetric", "nearly"]))
    if kind == "symmetric":
        w = (w + w[::-1]) / 2
    elif kind == "antisymmetric":
        w = (w - w[::-1]) / 2
    elif kind == "nearly":  # scipy calls these symmetric too
        w = (w + w[::-1]) / 2
        w[0] += np.finfo(float).eps / 2
    return w


@given(x=float_arrays(), data=st.data())
def test_correlate1d(compiled: bool, x: np.ndarray, data: Any) -> None:
    w = weights(data.draw)
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1))
    mode = data.draw(st.sampled_from(MODES))
    origin = data.draw(st.integers(-(len(w) // 2), (len(w) - 1) // 2))
    output = data.draw(st.sampled_from([None, np.float32, np.float64]))
    cval = data.draw(st.floats(-10, 10))
    for ours, theirs in (
        (_kernels.correlate1d, ndi.correlate1d),
        (_kernels.convolve1d, ndi.convolve1d),
    ):
        assert_same(
            np.asarray(ours(x, w, axis, output, mode, cval, origin)),
            np.asarray(theirs(x, w, axis, output, mode, cval, origin)),
        )


@given(x=float_arrays(), data=st.data())
def test_gaussian_filter1d(compiled: bool, x: np.ndarray, data: Any) -> None:
    sigma = data.draw(st.floats(0.05, 6))
    order = data.draw(st.integers(0, 3))
    truncate = data.draw(st.floats(0.5, 5))
    radius = data.draw(st.none() | st.integers(0, 12))
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1))
    mode = data.draw(st.sampled_from(MODES))
    args = (sigma, axis, order, None, mode, 1.5, truncate)
    assert_same(
        np.asarray(_kernels.gaussian_filter1d(x, *args, radius=radius)),
        np.asarray(ndi.gaussian_filter1d(x, *args, radius=radius)),
    )


def test_larger_blocks_and_strided_input(compiled: bool) -> None:
    """Tiles longer than one vector tile, and non-contiguous input."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((70, 1300)).astype(np.float32)
    w = ndi.gaussian_filter1d(np.eye(1, 25, 12)[0], 3)[::-1]
    for a in (x, x.T, x[:, ::3]):
        for axis in (0, 1):
            assert_same(
                np.asarray(_kernels.correlate1d(a, w, axis)),
                np.asarray(ndi.correlate1d(a, w, axis)),
            )


def test_other_dtypes_go_to_scipy() -> None:
    """Integer and complex data and complex weights take scipy's own route."""
    rng = np.random.default_rng(1)
    x = rng.integers(0, 200, (20, 30)).astype(np.uint8)
    z = rng.standard_normal((20, 30)) + 1j * rng.standard_normal((20, 30))
    assert_same(
        np.asarray(_kernels.correlate1d(x, [1, 2, 1], 0)),
        np.asarray(ndi.correlate1d(x, [1, 2, 1], 0)),
    )
    assert_same(
        np.asarray(_kernels.correlate1d(z, [1, 2, 1], 1)),
        np.asarray(ndi.correlate1d(z, [1, 2, 1], 1)),
    )
    cw = np.array([1, 1j, 2])
    assert_same(
        np.asarray(_kernels.convolve1d(x.astype(float), cw, 1)),
        np.asarray(ndi.convolve1d(x.astype(float), cw, 1)),
    )


@given(data=st.data())
def test_running_sum_matches_numpy_route(data: Any) -> None:
    """One chunk of the carried uniform running sum: compiled == numpy's cumsum replay."""
    ndim = data.draw(st.integers(1, 3))
    shape = data.draw(hnp.array_shapes(min_dims=ndim, max_dims=ndim, max_side=12))
    axis = data.draw(st.integers(0, ndim - 1))
    size = data.draw(st.integers(1, 9))
    h = data.draw(st.integers(1, size))
    dtype = data.draw(st.sampled_from(["float32", "float64"]))
    values = st.floats(-1e6, 1e6, width=32, allow_subnormal=False)

    def along(length: int) -> np.ndarray:
        return data.draw(
            hnp.arrays(dtype, (*shape[:axis], length, *shape[axis + 1 :]), elements=values)
        )

    head, block, tail = along(h), along(shape[axis]), along(size - h)
    lead = (*shape[:axis], *shape[axis + 1 :])
    carry = data.draw(st.none() | hnp.arrays("float64", lead, elements=st.floats(-1e6, 1e6)))

    def run() -> Any:
        c = None if carry is None else carry.copy()
        return _running_step(head, block, tail, c, axis, size, np.dtype(dtype))

    got = run()
    try:
        numba_jit.ENABLED = False
        expected = run()
    finally:
        numba_jit.ENABLED = True
    for e, g in zip(expected, got):
        assert_same(np.asarray(g), np.asarray(e))


@pytest.mark.parametrize("size", range(1, 14))
def test_selection_network_zero_one_principle(size: int) -> None:
    """A compare-exchange network selects correctly iff it does on every 0/1 input."""
    bits = (np.arange(2**size)[:, None] >> np.arange(size)) & 1
    for rank in range(size):
        first, second = _kernels.selection_network(size, rank)
        v = bits.copy()
        for a, b in zip(first, second):
            lo, hi = np.minimum(v[:, a], v[:, b]), np.maximum(v[:, a], v[:, b])
            v[:, a], v[:, b] = lo, hi
        np.testing.assert_array_equal(v[:, rank], np.sort(bits, axis=1)[:, rank])


@given(data=st.data())
def test_rank_filter(data: Any) -> None:
    """Compiled order statistics equal scipy's rank_filter wherever they apply,
    and hand NaN, signed zeros and unholdable ``cval`` back to scipy."""
    ndim = data.draw(st.integers(2, 3))
    dtype = data.draw(st.sampled_from(["float32", "float64", "uint8", "int16", "int64"]))
    fshape = data.draw(hnp.array_shapes(min_dims=ndim, max_dims=ndim, max_side=4))
    shape = data.draw(hnp.array_shapes(min_dims=ndim, max_dims=ndim, max_side=16))
    special = [0.0, -0.0, np.nan, 5.0] if dtype.startswith("float") else [0, 5, 7]
    x = data.draw(
        hnp.arrays(dtype, shape, elements=st.integers(0, 100) | st.sampled_from(special))
    )
    footprint = data.draw(hnp.arrays(bool, fshape)) | (np.arange(np.prod(fshape)) == 0).reshape(
        fshape
    )
    rank = data.draw(st.integers(0, int(footprint.sum()) - 1))
    origins = tuple(data.draw(st.integers(-(f // 2), (f - 1) // 2)) for f in fshape)
    mode = data.draw(st.sampled_from(["reflect", "constant", "nearest", "mirror", "wrap"]))
    cval = data.draw(st.sampled_from([0.0, 3.0, -2.0, 0.5]))
    got = _kernels.rank_filter(x, rank, footprint, mode, cval, origins)
    ambiguous = x.dtype.kind == "f" and (np.isnan(x).any() or (np.signbit(x) & (x == 0)).any())
    too_small = any(n < f for n, f in zip(shape, fshape))
    unholdable = mode == "constant" and not (cval == int(cval) or x.dtype.kind == "f")
    unholdable |= mode == "constant" and x.dtype.kind == "u" and cval < 0
    if ambiguous or too_small or unholdable:
        assert got is None
        return
    assert got is not None
    expected = ndi.rank_filter(x, rank, footprint=footprint, mode=mode, cval=cval, origin=origins)
    assert_same(np.asarray(got), np.asarray(expected))


@given(data=st.data())
def test_block_components(compiled: bool, data: Any) -> None:
    """One block's components: scipy's ids, each id's first pixel, and the fused
    lookup, for any dtype, memory layout and symmetric structure."""
    ndim = data.draw(st.integers(1, 4))
    shape = data.draw(hnp.array_shapes(min_dims=ndim, max_dims=ndim, max_side=9))
    dtype = data.draw(st.sampled_from(["bool", "uint8", "int64", "float32"]))
    special = {"bool": [False, True], "float32": [0.0, -0.0, np.nan, 1.5]}.get(dtype, [0, 1, 2])
    x = data.draw(hnp.arrays(dtype, shape, elements=st.sampled_from(special)))
    if data.draw(st.booleans()):  # a view of another layout: transposed, reversed
        x = x.T[(slice(None, None, -1),) * ndim]
    half = data.draw(hnp.arrays(bool, (3,) * ndim))
    structure = half | half[(slice(None, None, -1),) * ndim]
    expected, n = ndi.label(x, structure)
    found = _labels.label_block(x, structure)
    np.testing.assert_array_equal(found.labels(), expected)
    firsts = [np.flatnonzero(expected == k)[0] for k in range(1, n + 1)]
    np.testing.assert_array_equal(found.starts, firsts)
    table = data.draw(hnp.arrays("int16", n + 1, elements=st.integers(-99, 99)))
    mapped = _labels.label_block_mapped(x, structure, table)
    assert mapped.dtype == table.dtype
    np.testing.assert_array_equal(mapped, table[expected])
