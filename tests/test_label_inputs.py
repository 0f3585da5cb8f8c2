"""Label images of every dtype: scikit-image's rules where bigimg follows scikit-image,
scipy's where it mirrors scipy.ndimage.

* ``region_table``, ``relabel`` and ``clear_border`` follow scikit-image:
  labels are integer or boolean; float and complex labels are refused when
  called, before any compute (``relabel_sequential`` and the
  ``bigimg.morphology`` functions too, with scikit-image's messages: see
  tests/test_skimage_segmentation.py and tests/test_skimage_morphology.py).
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

import bigimg.ndimage as bnd
import bigimg.segmentation as bseg
from bigimg import pipeline
from tests.guards import raise_if_dask_computes

# ---------------------------------------------------------------- refused label dtypes

FLOAT_LIKE = ["float64", "float32", "float16", "complex128"]


def _skimage_like_calls() -> dict[str, Any]:
    return {
        "region_table": lambda lab: bnd.region_table(lab),
        "region_table with image": lambda lab: bnd.region_table(lab, lab.real),
        "region_table with index": lambda lab: bnd.region_table(lab, index=[1, 2]),
        "relabel": lambda lab: bseg.relabel(lab, np.arange(4)),
        "clear_border": lambda lab: bseg.clear_border(lab),
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
