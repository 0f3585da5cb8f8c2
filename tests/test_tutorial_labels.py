"""The tutorial's section 2.6.6 (measuring objects' properties), all through bigimg.

Every step runs on a chunked dask array and is compared with the tutorial's
own numpy / scipy code on the whole image.
"""

from __future__ import annotations

from typing import Any

import dask.array as da
import numpy as np
import scipy.ndimage as ndi
from hypothesis import given
from hypothesis import strategies as st

import bigimg.morphology as bmorph
import bigimg.ndimage as bnd
import bigimg.segmentation as bseg
from tests.strategies import chunkings
from tests.test_labels import masks


def tutorial_image(n: int = 10, side: int = 256) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    im = np.zeros((side, side))
    points = side * rng.random((2, n**2))
    im[(points[0]).astype(int), (points[1]).astype(int)] = 1
    im = ndi.gaussian_filter(im, sigma=side / (4.0 * n))
    mask = (im > im.mean()).astype(float)
    mask += 0.1 * im
    img = mask + 0.2 * rng.standard_normal(mask.shape)
    return im, img > 0.5


def test_section_2_6_6_through_bigimg() -> None:
    im, mask = tutorial_image()
    # the tutorial, on the whole image
    label_im, nb_labels = ndi.label(mask)
    sizes = ndi.sum(mask, label_im, range(nb_labels + 1))
    mean_vals = ndi.sum(im, label_im, range(1, nb_labels + 1))
    expected = label_im.copy()
    expected[(sizes < 1000)[expected]] = 0
    expected = np.searchsorted(np.unique(expected), expected)
    roi = ndi.find_objects((expected == 4) * 1)[0]

    # bigimg, chunked
    chunks = (70, 90)
    lazy_im, lazy_mask = da.from_array(im, chunks=chunks), da.from_array(mask, chunks=chunks)
    lab, n = bnd.label(lazy_mask)
    assert n == nb_labels
    np.testing.assert_array_equal(lab.compute(), label_im, strict=True)
    np.testing.assert_array_equal(bnd.sum(lazy_mask, lab, range(n + 1)), sizes)
    np.testing.assert_allclose(bnd.sum(lazy_im, lab, range(1, n + 1)), mean_vals, rtol=1e-12)
    cleaned = bseg.relabel(lab, np.where(sizes < 1000, 0, np.arange(n + 1)))
    same_cleaned = bmorph.remove_small_objects(lab, max_size=999)  # sizes < 1000 removed
    np.testing.assert_array_equal(cleaned.compute(), same_cleaned.compute())
    sequential, _, _ = bseg.relabel_sequential(cleaned)
    assert sequential.dtype == cleaned.dtype  # scikit-image keeps the labels' dtype
    np.testing.assert_array_equal(
        sequential.compute(), expected.astype(cleaned.dtype), strict=True
    )
    assert bnd.find_objects(sequential == 4)[0] == roi
    np.testing.assert_array_equal(lazy_im[roi].compute(), im[roi])


@given(masks(), st.integers(1, 8))
def test_remove_small_objects_equals_the_tutorials_numpy(case: Any, min_size: int) -> None:
    mask, chunks, structure = case
    labels, n = ndi.label(mask, structure)
    sizes = ndi.sum(mask, labels, range(n + 1))
    expected = labels.copy()
    expected[(sizes < min_size)[labels]] = 0
    got = bmorph.remove_small_objects(da.from_array(labels, chunks=chunks), max_size=min_size - 1)
    np.testing.assert_array_equal(got.compute(), expected, strict=True)
    sparse = labels.astype(np.int64) * 10**9  # huge ids take the search path
    got = bmorph.remove_small_objects(da.from_array(sparse, chunks=chunks), max_size=min_size - 1)
    np.testing.assert_array_equal(got.compute(), expected.astype(np.int64) * 10**9)


@st.composite
def labelled(draw: Any) -> tuple[np.ndarray, np.ndarray, Any]:
    mask, _, structure = draw(masks())
    labels, _ = ndi.label(mask, structure)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    values = rng.standard_normal(mask.shape)
    return values, labels, draw(chunkings(mask.shape))


@given(labelled(), st.sampled_from(["all", "some", "none"]))
def test_measure_equals_each_scipy_function(case: Any, which: str) -> None:
    values, labels, chunks = case
    n = int(labels.max())
    index = {"all": np.arange(1, n + 1), "some": [0, 2, n + 3], "none": None}[which]
    names = ["sum", "mean", "variance", "center_of_mass", "maximum_position", "extrema"]
    if which == "none" and n == 0:
        names = ["sum", "mean"]  # scipy's extrema of an empty region raise
    got = bnd.measure(
        da.from_array(values, chunks=chunks), da.from_array(labels, chunks=chunks), index, names
    )
    for name in names:
        expected = getattr(ndi, name)(values, labels, index)
        if name in ("maximum_position",):
            assert got[name] == expected
        elif name == "extrema":
            for g, e in zip(got[name], expected):
                np.testing.assert_allclose(np.asarray(g, float), np.asarray(e, float))
        else:
            np.testing.assert_allclose(
                np.asarray(got[name], float), np.asarray(expected, float), rtol=1e-9, atol=1e-12
            )
