"""Distance transforms equal scipy.ndimage on the whole array, for every chunking."""

from __future__ import annotations

from typing import Any

import dask.array as da
import numpy as np
import pytest
import scipy.ndimage as ndi
from hypothesis import given
from hypothesis import strategies as st

from bigimg.ndimage import distance as bnd
from tests.guards import raise_if_dask_computes
from tests.reference import assert_equal_to_reference
from tests.strategies import chunked_arrays

#: includes spacings whose squares round (0.3, 0.1, 0.7): scipy's rounding is replayed
SPACINGS = [0.3, 0.1, 0.7, 1.0, 1.3, 2.0, 0.5]


@st.composite
def images(draw: Any, max_side: int = 12) -> tuple[np.ndarray, Any]:
    """Chunked images from empty to full, of several dtypes."""
    x, chunks = draw(chunked_arrays(max_side=max_side, dtypes=("bool", "uint8", "float64")))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    density = draw(st.sampled_from([0.0, 0.3, 0.7, 0.95, 1.0]))
    objects = rng.random(x.shape) < density
    return (objects * rng.integers(1, 5, x.shape)).astype(x.dtype), chunks


def lazily(func: Any, x: np.ndarray, chunks: Any, **kw: Any) -> Any:
    with raise_if_dask_computes():
        return func(da.from_array(x, chunks=chunks), **kw)


def is_nearest(indices: np.ndarray, x: np.ndarray, distances: np.ndarray, norm: str) -> None:
    """``indices`` name background pixels at the reported distance (ties may differ)."""
    if x.all():
        return
    assert indices.shape == (x.ndim, *x.shape) and indices.dtype == np.int32
    assert not x[tuple(indices)].any()
    step = np.abs(indices - np.indices(x.shape))
    found = step.sum(axis=0) if norm == "taxicab" else step.max(axis=0)
    np.testing.assert_array_equal(found, distances)


@given(data=images(), params=st.data())
def test_edt(data: Any, params: Any) -> None:
    x, chunks = data
    kind = params.draw(st.sampled_from(["none", "scalar", "per axis"]))
    sampling = {
        "none": None,
        "scalar": params.draw(st.sampled_from(SPACINGS)),
        "per axis": tuple(
            params.draw(st.lists(st.sampled_from(SPACINGS), min_size=x.ndim, max_size=x.ndim))
        ),
    }[kind]
    dist, ind = ndi.distance_transform_edt(x, sampling=sampling, return_indices=True)
    got = lazily(bnd.distance_transform_edt, x, chunks, sampling=sampling, return_indices=True)
    assert_equal_to_reference(got[0], dist)
    assert_equal_to_reference(got[1], ind)  # scipy's own choices are replayed: indices too
    assert_equal_to_reference(
        lazily(bnd.distance_transform_edt, x, chunks, sampling=sampling), dist
    )
    only = lazily(
        bnd.distance_transform_edt, x, chunks, return_distances=False, return_indices=True
    )
    assert_equal_to_reference(
        only, ndi.distance_transform_edt(x, return_distances=False, return_indices=True)
    )


@given(data=images(), params=st.data())
def test_cdt(data: Any, params: Any) -> None:
    x, chunks = data
    rng = np.random.default_rng(params.draw(st.integers(0, 2**32 - 1)))
    metric = params.draw(
        st.sampled_from(["chessboard", "taxicab", "cityblock", "manhattan", "ones", "random"])
    )
    if metric == "ones":
        metric = np.ones((3,) * x.ndim, params.draw(st.sampled_from([bool, int])))
    elif metric == "random":
        metric = rng.random((3,) * x.ndim) > 0.5
    dist, ind = ndi.distance_transform_cdt(x, metric=metric, return_indices=True)
    got_dist, got_ind = lazily(
        bnd.distance_transform_cdt, x, chunks, metric=metric, return_indices=True
    )
    assert_equal_to_reference(got_dist, dist)
    route, _ = bnd._cdt_metric(metric, x.ndim)
    if route == "custom" or x.all():
        assert_equal_to_reference(got_ind, ind)  # scipy's own chamfer, or no background at all
    else:
        is_nearest(got_ind.compute(), x, dist, route)
    assert_equal_to_reference(lazily(bnd.distance_transform_cdt, x, chunks, metric=metric), dist)


@given(data=images(max_side=10), params=st.data())
def test_bf(data: Any, params: Any) -> None:
    x, chunks = data
    metric = params.draw(st.sampled_from(["euclidean", "taxicab", "chessboard", "Cityblock"]))
    # spacings whose products are exact: brute force and EDT agree to the last bit
    sampling = params.draw(st.sampled_from([None, 2.0, (0.5,) * x.ndim]))
    dist, ind = ndi.distance_transform_bf(x, metric, sampling, return_indices=True)
    got_dist, got_ind = lazily(
        bnd.distance_transform_bf, x, chunks, metric=metric, sampling=sampling, return_indices=True
    )
    assert_equal_to_reference(got_dist, dist)
    if x.all():
        assert_equal_to_reference(got_ind, ind)
    elif metric != "euclidean":
        norm = "chessboard" if metric == "chessboard" else "taxicab"
        is_nearest(got_ind.compute(), x, dist, norm)
    else:
        d = (got_ind.compute() - np.indices(x.shape)).astype(float)
        if sampling is not None:
            d *= np.reshape(np.broadcast_to(sampling, (x.ndim,)), (-1,) + (1,) * x.ndim)
        np.testing.assert_array_equal(np.sqrt((d * d).sum(axis=0)), dist)


def test_objects_larger_than_chunks() -> None:
    """A disk and a long bar across many chunks, anisotropic spacing."""
    yy, xx = np.mgrid[:90, :110]
    x = (yy - 45) ** 2 + (xx - 50) ** 2 < 35**2
    x[5:8, :] = True
    for chunks in [(7, 9), (90, 1), (1, 110), (30, 110)]:
        for sampling in [None, (0.3, 1.7)]:
            assert_equal_to_reference(
                lazily(bnd.distance_transform_edt, x, chunks, sampling=sampling),
                ndi.distance_transform_edt(x, sampling=sampling),
            )
        assert_equal_to_reference(
            lazily(bnd.distance_transform_cdt, x, chunks, metric="taxicab"),
            ndi.distance_transform_cdt(x, metric="taxicab"),
        )


def test_3d_volume_in_pencils() -> None:
    rng = np.random.default_rng(0)
    x = ndi.binary_dilation(rng.random((30, 26, 22)) > 0.995, iterations=4) == 0
    chunks = (8, 7, 6)
    dist, ind = ndi.distance_transform_edt(x, sampling=(2.0, 0.7, 0.3), return_indices=True)
    got = lazily(
        bnd.distance_transform_edt, x, chunks, sampling=(2.0, 0.7, 0.3), return_indices=True
    )
    assert_equal_to_reference(got[0], dist)
    assert_equal_to_reference(got[1], ind)
    assert got[1].chunks == ((3,), *da.from_array(x, chunks=chunks).chunks)
    assert_equal_to_reference(
        lazily(bnd.distance_transform_cdt, x, chunks, metric=ndi.generate_binary_structure(3, 2)),
        ndi.distance_transform_cdt(x, metric=ndi.generate_binary_structure(3, 2)),
    )


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda x: bnd.distance_transform_edt(x, distances=np.zeros((8, 8))), TypeError, "dist"),
        (lambda x: bnd.distance_transform_cdt(x, indices=np.zeros((2, 8, 8))), TypeError, "ind"),
        (lambda x: bnd.distance_transform_edt(x, return_distances=False), ValueError, "at least"),
        (lambda x: bnd.distance_transform_edt(x, sampling=(1, 2, 3)), ValueError, "rank"),
        (lambda x: bnd.distance_transform_cdt(x, metric="euclid"), ValueError, "invalid metric"),
        (lambda x: bnd.distance_transform_cdt(x, metric=np.ones((3, 4))), ValueError, "equal"),
        (lambda x: bnd.distance_transform_cdt(x, metric=np.ones((3,) * 3)), ValueError, "dimen"),
        (lambda x: bnd.distance_transform_bf(x, metric="euclid"), ValueError, "not supported"),
        (lambda x: bnd.distance_transform_bf(x, metric=1), TypeError, "metric"),
    ],
)
def test_bad_input_fails_at_call_time(call: Any, error: type, message: str) -> None:
    x = da.ones((8, 8), chunks=3, dtype=bool)
    with raise_if_dask_computes(), pytest.raises(error, match=message):
        call(x)


def test_tiny_and_empty_images() -> None:
    for x in [np.zeros((0, 3), bool), np.array(True), np.array([1, 1, 0, 1], bool)]:
        for func in ("distance_transform_edt", "distance_transform_cdt", "distance_transform_bf"):
            try:
                expected = getattr(ndi, func)(x, return_indices=True)
            except Exception as exc:  # scipy refuses some 0-d inputs: so does bigimg
                with pytest.raises(type(exc)):
                    getattr(bnd, func)(da.from_array(x), return_indices=True)
                continue
            got = getattr(bnd, func)(da.from_array(x), return_indices=True)
            for g, e in zip(got, expected):
                np.testing.assert_array_equal(np.asarray(g), e, strict=True)


def test_graph_is_o_chunks() -> None:
    for shape, chunks in [((600, 800), 100), ((120, 100, 80), 40)]:
        x = da.zeros(shape, chunks=chunks, dtype=bool)
        with raise_if_dask_computes():
            graphs = [
                bnd.distance_transform_edt(x, return_indices=True)[1],
                bnd.distance_transform_cdt(x),
                bnd.distance_transform_cdt(x, metric=np.zeros((3,) * x.ndim)),
                bnd.distance_transform_bf(x, metric="taxicab"),
            ]
        for y in graphs:
            assert len(y.__dask_graph__()) <= 10 * x.npartitions
