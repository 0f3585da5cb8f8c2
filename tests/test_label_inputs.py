"""Label images of every dtype: scikit-image's rules where bigimg follows scikit-image,
scipy's where it mirrors scipy.ndimage.

* ``region_table``, ``relabel``, ``relabel_sequential`` and
  ``remove_small_objects`` follow scikit-image: labels are integer or boolean;
  float and complex labels are refused when called, before any compute.
* ``remove_small_objects`` of a boolean mask labels the mask first, as
  ``skimage.morphology.remove_small_objects`` does.
* The measurements mirror scipy.ndimage: float labels work there (compared
  with ``index``), and ``find_objects`` / ``value_indices`` refuse float
  labels with scipy's exception type.
"""

from __future__ import annotations

import warnings
from typing import Any

import dask.array as da
import numpy as np
import pytest
import scipy.ndimage as ndi
from hypothesis import given
from hypothesis import strategies as st
from skimage.morphology import remove_small_objects as sk_remove_small_objects

import bigimg.ndimage as bnd
from bigimg import pipeline
from tests.guards import raise_if_dask_computes
from tests.strategies import chunkings

# ---------------------------------------------------------------- refused label dtypes

FLOAT_LIKE = ["float64", "float32", "float16", "complex128"]


def _skimage_like_calls() -> dict[str, Any]:
    return {
        "region_table": lambda lab: bnd.region_table(lab),
        "region_table with image": lambda lab: bnd.region_table(lab, lab.real),
        "region_table with index": lambda lab: bnd.region_table(lab, index=[1, 2]),
        "relabel": lambda lab: bnd.relabel(lab, np.arange(4)),
        "relabel_sequential": lambda lab: bnd.relabel_sequential(lab),
        "remove_small_objects": lambda lab: bnd.remove_small_objects(lab, 2),
        "remove_small_objects max_size": lambda lab: bnd.remove_small_objects(lab, max_size=1),
    }


@pytest.mark.parametrize("dtype", FLOAT_LIKE)
@pytest.mark.parametrize("call", sorted(_skimage_like_calls()))
@pytest.mark.parametrize("kind", ["dask", "numpy"])
def test_float_and_complex_labels_are_refused_when_called(
    dtype: str, call: str, kind: str
) -> None:
    values = np.array([[0, 1, 1, 2], [0, 2, 3, 3]]).astype(dtype)  # integral values too
    lab = da.from_array(values, chunks=1) if kind == "dask" else values
    with raise_if_dask_computes(), pytest.raises(TypeError) as info:
        _skimage_like_calls()[call](lab)
    message = str(info.value)
    assert "labels must be an integer or boolean image" in message, message
    assert f"got {np.dtype(dtype)}" in message, message
    assert "bigimg.ndimage.label" in message and ".astype(int)" in message, message


def test_the_fix_the_message_suggests_works() -> None:
    values = np.array([[0, 1, 1, 2], [0, 2, 3, 3]])
    lab = da.from_array(values.astype(float), chunks=1)
    table = bnd.region_table(lab.astype(int))
    np.testing.assert_array_equal(table["label"], [1, 2, 3])
    np.testing.assert_array_equal(table["area"], [2, 2, 2])


def test_a_job_region_table_of_float_labels_is_refused_when_checked() -> None:
    job = """\
input: {synthetic: natural, shape: [16, 16], chunks: [8, 8]}
steps:
  blurred: {op: gaussian_filter, input: image, sigma: 1}
  whole: {expr: "astype(blurred > 0.5, 'int32')"}
  regions: {op: region_table, labels: LABELS, image: image}
outputs:
  - {from: regions, path: regions.csv}
"""
    with pytest.raises(pipeline.ConfigError) as info:
        pipeline.loads(job.replace("LABELS", "blurred"))
    message = str(info.value)
    assert "step 'regions': region_table: labels must be an integer or boolean image" in message
    assert "got float" in message, message
    pipeline.loads(job.replace("LABELS", "whole"))  # integer labels are accepted


# ---------------------------------------------------------------- scipy mirrors keep float labels


def test_measurements_of_float_labels_equal_scipy() -> None:
    rng = np.random.default_rng(5)
    x = rng.standard_normal((9, 7))
    lab = rng.choice(np.array([0.0, 1.0, 1.5, 2.0, -1.0, np.nan]), (9, 7))
    index = [1.0, 1.5, 2, -1, 7.25]
    X, L = da.from_array(x, chunks=(4, 3)), da.from_array(lab, chunks=(2, 5))
    for name in ["sum_labels", "mean", "variance", "standard_deviation", "minimum", "maximum"]:
        for idx in (index, 1.5, None):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                want = getattr(ndi, name)(x, lab, idx)
            got = getattr(bnd, name)(X, L, idx)
            np.testing.assert_allclose(got, want, rtol=1e-12, err_msg=f"{name}, {idx}")
    for name in ["median", "center_of_mass", "minimum_position", "maximum_position"]:
        want = getattr(ndi, name)(x, lab, index[:4])
        got = getattr(bnd, name)(X, L, index[:4])
        np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-12, err_msg=name)
    for got_part, want_part in zip(bnd.extrema(X, L, 1.5), ndi.extrema(x, lab, 1.5)):
        assert got_part == want_part
    want = ndi.labeled_comprehension(x, lab, index, np.sum, float, -9.0)
    got = bnd.labeled_comprehension(X, L, index, np.sum, float, -9.0)
    np.testing.assert_allclose(got, want, rtol=1e-12)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("func", ["find_objects", "value_indices"])
def test_find_objects_and_value_indices_refuse_float_labels_as_scipy(
    func: str, dtype: str
) -> None:
    lab = np.array([[0.0, 1.0], [2.0, 2.0]], dtype)
    with pytest.raises(Exception) as scipy_error:
        getattr(ndi, func)(lab)
    with raise_if_dask_computes(), pytest.raises(scipy_error.type):
        getattr(bnd, func)(da.from_array(lab, chunks=1))


# ---------------------------------------------------------------- remove_small_objects


def skimage_reference(image: np.ndarray, threshold: dict[str, int], connectivity: int) -> Any:
    """scikit-image's result; ``min_size=n`` (size < n removed, as documented) is asked
    as ``max_size=n - 1``: scikit-image 0.26.0 passes its deprecated ``min_size`` on as
    ``max_size`` (size <= n removed; scikit-image issue #8001)."""
    if "min_size" in threshold:
        threshold = {"max_size": threshold["min_size"] - 1}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "only one label was provided"
        return sk_remove_small_objects(image, connectivity=connectivity, **threshold)


@st.composite
def small_object_cases(draw: Any) -> tuple[np.ndarray, Any, int, dict[str, int]]:
    ndim = draw(st.integers(2, 3))
    side = 12 if ndim == 2 else 6
    shape = tuple(draw(st.lists(st.integers(1, side), min_size=ndim, max_size=ndim)))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    mask = rng.random(shape) < draw(st.sampled_from([0.2, 0.45, 0.6, 0.9]))
    kind = draw(st.sampled_from(["bool", "components", "values", "uint8", "int64"]))
    if kind == "bool":
        image = mask
    elif kind == "components":  # the labels of some other connectivity
        image = ndi.label(mask, ndi.generate_binary_structure(ndim, draw(st.integers(1, ndim))))[0]
    elif kind == "values":  # labels that are not connected: each is one object for skimage
        image = rng.integers(0, 6, shape) * mask
    else:
        image = (ndi.label(mask)[0] % 7).astype(kind)
    connectivity = draw(st.integers(1, ndim))
    keyword = draw(st.sampled_from(["min_size", "max_size"]))
    threshold = {keyword: draw(st.integers(0, 9))}
    return image, draw(chunkings(shape)), connectivity, threshold


@given(small_object_cases())
def test_remove_small_objects_equals_skimage(case: Any) -> None:
    image, chunks, connectivity, threshold = case
    expected = skimage_reference(image, threshold, connectivity)
    lazy = da.from_array(image, chunks=chunks)
    got = bnd.remove_small_objects(lazy, connectivity=connectivity, **threshold)
    assert isinstance(got, da.Array) and got.chunks == lazy.chunks
    np.testing.assert_array_equal(got.compute(), expected, strict=True)
    if "min_size" in threshold:  # the tutorial's positional form
        size = threshold["min_size"]
        positional = bnd.remove_small_objects(lazy, size, connectivity=connectivity)
        np.testing.assert_array_equal(positional.compute(), expected, strict=True)


def test_remove_small_objects_of_a_mask_drops_small_components() -> None:
    mask = np.zeros((6, 8), bool)
    mask[0:3, 0:3] = True  # 9 pixels
    mask[4, 4] = mask[5, 5] = True  # two pixels, joined only diagonally
    mask[0, 7] = True
    lazy = da.from_array(mask, chunks=(2, 3))
    faces = bnd.remove_small_objects(lazy, 2).compute()
    square = np.zeros_like(mask)
    square[0:3, 0:3] = True
    np.testing.assert_array_equal(faces, square)
    corners = bnd.remove_small_objects(lazy, 2, connectivity=2).compute()
    np.testing.assert_array_equal(corners, faces | (mask & (np.arange(6)[:, None] >= 4)))
    assert corners.dtype == bool
    assert not bnd.remove_small_objects(lazy, 10).compute().any()


def test_remove_small_objects_of_an_empty_mask() -> None:
    for shape in [(0, 4), (3, 0, 2)]:
        mask = np.zeros(shape, bool)
        got = bnd.remove_small_objects(da.from_array(mask, chunks=2), 3)
        np.testing.assert_array_equal(got.compute(), skimage_reference(mask, {"min_size": 3}, 1))


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "match"),
    [
        ((), {}, TypeError, "min_size or max_size"),
        ((3,), {"max_size": 2}, TypeError, "not both"),
        ((2.5,), {}, TypeError, "min_size must be an integer"),
        ((True,), {}, TypeError, "min_size must be an integer"),
        ((), {"max_size": "4"}, TypeError, "max_size must be an integer"),
        ((3,), {"connectivity": 0}, ValueError, "connectivity"),
        ((3,), {"connectivity": 3}, ValueError, "connectivity"),
        ((3,), {"connectivity": 1.0}, TypeError, "connectivity"),
    ],
)
@pytest.mark.parametrize("dtype", ["bool", "int32"])
def test_remove_small_objects_refuses_bad_parameters_when_called(
    args: tuple, kwargs: dict, error: type, match: str, dtype: str
) -> None:
    lab = da.ones((4, 4), chunks=2, dtype=dtype)
    with raise_if_dask_computes(), pytest.raises(error, match=match):
        bnd.remove_small_objects(lab, *args, **kwargs)


def test_remove_small_objects_options_are_keyword_only() -> None:
    lab = da.ones((4, 4), chunks=2, dtype=bool)
    with pytest.raises(TypeError):
        bnd.remove_small_objects(lab, 3, 2)  # type: ignore[misc]


def test_a_job_removes_small_objects_of_a_mask() -> None:
    job = """\
input: {synthetic: natural, shape: [32, 32], chunks: [16, 16]}
steps:
  mask: {op: threshold, input: image, method: mean}
  big: {op: remove_small_objects, labels: mask, max_size: 5, connectivity: 2}
outputs:
  - {from: big, path: big.zarr}
"""
    pipeline.loads(job)
    with pytest.raises(pipeline.ConfigError, match="connectivity"):
        pipeline.loads(job.replace("connectivity: 2", "connectivity: 5"))


def test_min_size_removes_only_smaller_objects() -> None:
    """The tutorial's ``sizes < min_size`` (scikit-image <= 0.25; 0.26.0 removes
    ``size <= min_size``, scikit-image issue #8001)."""
    lab = da.from_array(np.array([[1, 2, 2]]), chunks=1)
    np.testing.assert_array_equal(bnd.remove_small_objects(lab, 2).compute(), [[0, 2, 2]])
    np.testing.assert_array_equal(bnd.remove_small_objects(lab, max_size=2).compute(), [[0, 0, 0]])
    mask = lab > 0
    np.testing.assert_array_equal(bnd.remove_small_objects(mask, 3).compute(), [[1, 1, 1]])
    np.testing.assert_array_equal(bnd.remove_small_objects(mask, 4).compute(), [[0, 0, 0]])
