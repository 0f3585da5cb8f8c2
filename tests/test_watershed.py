"""watershed across chunks: scikit-image's labels on the whole array, for every chunking.

The tie rule: of two pixels of one value, the earlier in raster order is
flooded first. So the reference for any image is skimage's watershed on the
image's ordinal ranks (``rankdata(method="ordinal")``: ties ranked in order
of appearance), whose values are all distinct and whose flood therefore does
not depend on skimage's queue order; on images without equal values that is
skimage's result on the image itself.
"""

from __future__ import annotations

from typing import Any

import dask.array as da
import numpy as np
import pytest
import scipy.ndimage as ndi
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import rankdata
from skimage.segmentation import watershed as sk_watershed

from bigimg.segmentation.watershed import watershed
from tests.reference import assert_same
from tests.strategies import chunkings


def ranks(image: np.ndarray) -> np.ndarray:
    """The image's values replaced by their order, ties by position."""
    return rankdata(image.ravel(), method="ordinal").reshape(image.shape).astype(np.float64)


def reference(image: np.ndarray, markers: np.ndarray, **kwargs: Any) -> np.ndarray:
    return sk_watershed(ranks(image), markers, **kwargs)


def ours(image: np.ndarray, markers: np.ndarray, chunks: Any, **kwargs: Any) -> np.ndarray:
    mask = kwargs.pop("mask", None)
    x = da.from_array(image, chunks=chunks)
    if mask is not None:
        mask = da.from_array(mask, chunks=x.chunks)
    got = watershed(x, da.from_array(markers, chunks=x.chunks), mask=mask, **kwargs)
    assert got.chunks == x.chunks
    return got.compute(scheduler="sync")


@st.composite
def cases(draw: Any, max_side: int = 14) -> dict[str, Any]:
    ndim = draw(st.integers(1, 3))
    side = max_side if ndim < 3 else max_side // 2
    shape = tuple(draw(st.lists(st.integers(1, side), min_size=ndim, max_size=ndim)))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    kind = draw(st.sampled_from(["float", "few", "uint8", "smooth", "flat"]))
    if kind == "float":
        image = rng.standard_normal(shape)
    elif kind == "few":
        image = rng.integers(0, 4, shape).astype(np.int16)
    elif kind == "uint8":
        image = rng.integers(0, 256, shape).astype(np.uint8)
    elif kind == "smooth":
        image = ndi.gaussian_filter(rng.standard_normal(shape), 1.5).astype(np.float32)
    else:
        image = np.zeros(shape)
    markers = np.zeros(shape, draw(st.sampled_from(["int32", "int64", "uint8", "int16"])))
    for _ in range(draw(st.integers(0, 6))):
        markers[tuple(rng.integers(0, n) for n in shape)] = draw(st.integers(1, 5))
    if markers.dtype.kind == "i" and draw(st.booleans()):
        markers[tuple(rng.integers(0, n) for n in shape)] = -draw(st.integers(1, 3))
    mask = None
    if draw(st.booleans()):
        mask = rng.random(shape) < draw(st.sampled_from([0.5, 0.8, 0.95]))
    how = draw(st.sampled_from(["int", "footprint"]))
    if how == "int":
        connectivity: Any = draw(st.integers(1, ndim))
    else:  # a random footprint symmetric about its centre
        half = rng.random((3,) * ndim) < 0.5
        connectivity = half | half[(slice(None, None, -1),) * ndim]
        connectivity[(1,) * ndim] = True
    return {
        "image": image, "markers": markers, "mask": mask, "connectivity": connectivity,
        "chunks": draw(chunkings(shape)),
    }  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(cases())
def test_equals_skimage_on_ranks(case: dict[str, Any]) -> None:
    image, markers, chunks = case["image"], case["markers"], case["chunks"]
    kwargs = {"mask": case["mask"], "connectivity": case["connectivity"]}
    expected = reference(image, markers, **kwargs)
    assert_same(ours(image, markers, chunks, **kwargs), expected)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 3), st.data())
def test_equals_skimage_without_ties(seed: int, ndim: int, data: Any) -> None:
    """No equal values: skimage's own result, which no queue order decides."""
    rng = np.random.default_rng(seed)
    shape = tuple(rng.integers(2, 16 if ndim < 3 else 8, ndim))
    image = rng.permutation(np.prod(shape)).reshape(shape).astype(np.float64) + rng.random()
    markers = np.zeros(shape, np.int32)
    for k in range(1, rng.integers(1, 8)):
        markers[tuple(rng.integers(0, n) for n in shape)] = k
    mask = rng.random(shape) < 0.9 if data.draw(st.booleans()) else None
    connectivity = data.draw(st.integers(1, ndim))
    expected = sk_watershed(image, markers, connectivity=connectivity, mask=mask)
    got = ours(image, markers, data.draw(chunkings(shape)), connectivity=connectivity, mask=mask)
    assert_same(got, expected)


def test_tie_rule_is_raster_order() -> None:
    """A flat image between two markers: the earlier pixels are flooded first,
    so the first marker in raster order takes every tie it reaches first."""
    image = np.zeros((1, 7))
    markers = np.array([[1, 0, 0, 0, 0, 0, 2]], np.int32)
    for chunks in [(1, 7), (1, 1), (1, 3), (1, 2)]:
        got = ours(image, markers, chunks)
        assert_same(got, reference(image, markers))
    # ties in raster order, not in skimage's queue (age) order
    assert (got == reference(image, markers)).all()


def test_smooth_image_with_many_markers_in_3d() -> None:
    rng = np.random.default_rng(3)
    image = ndi.gaussian_filter(rng.standard_normal((40, 36, 30)), 2)
    markers, _ = ndi.label(image == ndi.minimum_filter(image, 7))
    expected = sk_watershed(image, markers)
    for chunks in [(13, 11, 17), (40, 36, 30), (7, 36, 8)]:
        assert_same(ours(image, markers, chunks), expected)


def test_touching_circles_separated_by_the_distance_transform() -> None:
    """The tutorial's touching circles: EDT, its peaks as markers, watershed."""
    x, y = np.indices((80, 80))
    centres = [(28, 28, 16), (44, 52, 20), (56, 20, 14), (18, 60, 12)]
    disks = [(x - a) ** 2 + (y - b) ** 2 < r**2 for a, b, r in centres]
    mask = np.logical_or.reduce(disks)
    distance = ndi.distance_transform_edt(mask)
    markers = np.zeros(mask.shape, np.int32)
    for k, (a, b, _) in enumerate(centres, 1):
        markers[a, b] = k
    expected = reference(-distance, markers, mask=mask)
    got = ours(-distance, markers, (23, 31), mask=mask)
    assert_same(got, expected)
    for k, disk in enumerate(disks, 1):  # each circle's centre region is its own
        core = ndi.binary_erosion(disk, iterations=6)
        assert (got[core & ~np.logical_or.reduce([d for j, d in enumerate(disks, 1) if j != k])]
                == k).all()  # fmt: skip


@pytest.mark.parametrize("scheduler", ["threads", "processes"])
def test_on_other_schedulers(scheduler: str) -> None:
    rng = np.random.default_rng(5)
    image = rng.standard_normal((30, 40))
    markers = np.zeros(image.shape, np.int32)
    markers[3, 4], markers[25, 33], markers[15, 2] = 1, 2, 3
    x = da.from_array(image, chunks=(7, 9))
    import dask

    with dask.config.set(scheduler=scheduler):
        got = watershed(x, da.from_array(markers, chunks=x.chunks)).compute()
    assert_same(got, sk_watershed(image, markers))


def test_numpy_inputs_bool_markers_and_empty() -> None:
    image = np.random.default_rng(0).random((6, 5))
    markers = np.zeros((6, 5), bool)
    markers[0, 0] = True
    assert_same(watershed(image, markers).compute(), sk_watershed(image, markers))
    empty = watershed(np.zeros((0, 3)), np.zeros((0, 3), np.int32))
    assert empty.shape == (0, 3) and empty.dtype == np.int32


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"markers": None}, NotImplementedError, "markers"),
        ({"markers": 5}, NotImplementedError, "markers"),
        ({"compactness": 0.1}, NotImplementedError, "compactness"),
        ({"watershed_line": True}, NotImplementedError, "watershed_line"),
        ({"offset": (1, 1)}, NotImplementedError, "offset"),
        ({"connectivity": np.ones((5, 5))}, NotImplementedError, "further"),
        ({"connectivity": np.array([[0, 1, 0], [0, 1, 1], [0, 0, 0]])}, NotImplementedError,
         "symmetric"),
        ({"connectivity": np.ones((2, 3))}, ValueError, "center"),
        ({"connectivity": np.array([[0, 1, 0], [1, 0, 1], [0, 1, 0]])}, NotImplementedError,
         "centre"),
        ({"connectivity": np.ones(3)}, ValueError, "dimension"),
        ({"markers": np.zeros((3, 3), np.int32)}, ValueError, "shape"),
        ({"mask": np.ones((4, 3), bool)}, ValueError, "shape"),
        ({"markers": np.zeros((4, 4), np.float64)}, TypeError, "markers"),
    ],
)  # fmt: skip
def test_bad_arguments_are_refused_before_work(kwargs: dict, error: type, match: str) -> None:
    from tests.guards import raise_if_dask_computes

    args = {"markers": np.zeros((4, 4), np.int32), **kwargs}
    with raise_if_dask_computes(), pytest.raises(error, match=match):
        watershed(da.zeros((4, 4), chunks=2), **args)
