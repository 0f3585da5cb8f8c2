"""bigimg.morphology: scikit-image's remove_small_objects and remove_small_holes on
dask arrays, equal to scikit-image on the whole numpy array for every chunking:
values, dtypes, warnings and errors (raised when called, before any compute)."""

from __future__ import annotations

import inspect
import warnings
from typing import Any

import dask.array as da
import numpy as np
import pytest
import scipy.ndimage as ndi
from hypothesis import given, settings
from hypothesis import strategies as st
from skimage import morphology as skm

import bigimg.morphology as bmorph
from bigimg import pipeline
from tests.guards import raise_if_dask_computes
from tests.reference import assert_equal_to_reference
from tests.strategies import chunkings

NAMES = ["remove_small_objects", "remove_small_holes"]


def run(func: Any, *args: Any, **kwargs: Any) -> tuple[Any, list[tuple[type, str]]]:
    """``func``'s result (or exception type) and the warnings it gave."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result: Any = func(*args, **kwargs)
        except Exception as exc:  # compared with bigimg's
            result = type(exc)
    return result, [(w.category, str(w.message)) for w in caught]


@st.composite
def cases(draw: Any) -> tuple[np.ndarray, Any, Any]:
    ndim = draw(st.integers(1, 3))
    side = 12 if ndim < 3 else 6
    shape = tuple(draw(st.lists(st.integers(1, side), min_size=ndim, max_size=ndim)))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    mask = rng.random(shape) < draw(st.sampled_from([0.2, 0.45, 0.6, 0.9]))
    kind = draw(st.sampled_from(["bool", "components", "values", "one", "uint8", "uint64"]))
    if kind == "bool":
        image = mask
    elif kind == "components":  # the labels of some other connectivity
        image = ndi.label(mask, ndi.generate_binary_structure(ndim, draw(st.integers(1, ndim))))[0]
    elif kind == "values":  # labels that are not connected: each is one object
        image = rng.integers(0, 6, shape) * mask
    elif kind == "one":  # 0 and 1 only: scikit-image's "only one label" warning
        image = mask.astype(np.int16)
    else:
        image = (ndi.label(mask)[0] % 7).astype(kind)
    connectivity = draw(st.sampled_from([1, 1, 2, 3, 0, 1.5, 5]))
    return image, draw(chunkings(shape)), connectivity


def check(name: str, image: np.ndarray, chunks: Any, *args: Any, **kwargs: Any) -> None:
    expected, expected_warnings = run(getattr(skm, name), image.copy(), *args, **kwargs)
    lazy = da.from_array(image, chunks=chunks)
    if isinstance(expected, type):
        with raise_if_dask_computes(), pytest.raises(expected):
            getattr(bmorph, name)(lazy, *args, **kwargs)
        return
    got, got_warnings = run(getattr(bmorph, name), lazy, *args, **kwargs)
    assert got_warnings == expected_warnings
    assert_equal_to_reference(got, expected, chunks=lazy.chunks)


@settings(max_examples=120, deadline=None)
@given(cases(), st.integers(0, 9))
def test_remove_small_objects_equals_skimage(case: Any, size: int) -> None:
    image, chunks, connectivity = case
    check("remove_small_objects", image, chunks, connectivity=connectivity, max_size=size)
    check("remove_small_objects", image, chunks, max_size=size)
    if size == 3:
        check("remove_small_objects", image, chunks)  # the default max_size=64


@settings(max_examples=100, deadline=None)
@given(cases(), st.integers(0, 9))
def test_remove_small_holes_equals_skimage(case: Any, size: int) -> None:
    image, chunks, connectivity = case
    check("remove_small_holes", image, chunks, connectivity=connectivity, max_size=size)
    check("remove_small_holes", image, chunks, max_size=size)


@pytest.mark.parametrize(("name", "old"), [(NAMES[0], "min_size"), (NAMES[1], "area_threshold")])
def test_the_deprecated_size_warns_as_skimage_and_removes_less(name: str, old: str) -> None:
    """scikit-image's FutureWarning, word for word; the old parameter keeps its
    documented meaning (size < n; scikit-image 0.26.0 removes size <= n, issue #8001)."""
    image = np.array([[1, 1, 0, 0, 1, 0, 1, 1, 1]], bool)
    if name == "remove_small_holes":
        image = ~image
    lazy = da.from_array(image, chunks=2)
    for given_as in ("positional", "keyword"):
        args, kwargs = ((2,), {}) if given_as == "positional" else ((), {old: 2})
        got, got_warnings = run(getattr(bmorph, name), lazy, *args, **kwargs)
        _, expected_warnings = run(getattr(skm, name), image.copy(), *args, **kwargs)
        assert got_warnings == expected_warnings
        assert len(got_warnings) == 1 and got_warnings[0][0] is FutureWarning
        expected = getattr(skm, name)(image, max_size=1)  # size < 2
        assert_equal_to_reference(got, expected)
        assert not (expected == getattr(skm, name)(image, max_size=2)).all()  # not <= 2
    with pytest.raises(ValueError, match="Both deprecated"):
        run_strict = getattr(bmorph, name)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            run_strict(lazy, 2, max_size=3)
    with pytest.raises(ValueError, match="Both deprecated"), pytest.warns(FutureWarning):
        getattr(skm, name)(image, 2, max_size=3)


@pytest.mark.parametrize("name", NAMES)
def test_signatures_are_skimages(name: str) -> None:
    ours = inspect.signature(getattr(bmorph, name))
    theirs = inspect.signature(getattr(skm, name))
    bare = ours.replace(
        parameters=[p.replace(annotation=p.empty) for p in ours.parameters.values()],
        return_annotation=ours.empty,
    )
    assert str(bare) == str(theirs)
    assert [p.kind for p in ours.parameters.values()] == [
        p.kind for p in theirs.parameters.values()
    ]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", ["float64", "float32", "complex128"])
def test_float_images_are_refused_when_called(name: str, dtype: str) -> None:
    x = np.array([[0, 1, 1], [2, 0, 2]]).astype(dtype)
    with pytest.raises(TypeError, match="Only bool or integer"):
        getattr(skm, name)(x)
    with raise_if_dask_computes(), pytest.raises(TypeError, match="Only bool or integer"):
        getattr(bmorph, name)(da.from_array(x, chunks=1))


def test_negative_labels_raise_as_skimage() -> None:
    """Found when the sizes are computed (when called), as scikit-image's bincount."""
    x = np.array([[0, -1, 1], [2, 2, 0]])
    check("remove_small_objects", x, 2, max_size=0)  # max_size=0 returns the input
    with pytest.raises(ValueError, match="Negative"):
        skm.remove_small_objects(x, max_size=1)
    with pytest.raises(ValueError, match="Negative"):
        bmorph.remove_small_objects(da.from_array(x, chunks=2), max_size=1)


@pytest.mark.parametrize("name", NAMES)
def test_out_arrays_are_refused(name: str) -> None:
    x = da.ones((4, 4), chunks=2, dtype=bool)
    with raise_if_dask_computes(), pytest.raises(TypeError, match="out="):
        getattr(bmorph, name)(x, max_size=2, out=np.zeros((4, 4), bool))


def test_bad_sizes_are_refused_when_called() -> None:
    x = da.ones((4, 4), chunks=2, dtype=bool)
    for bad in ("4", None, [3]):
        with raise_if_dask_computes(), pytest.raises(TypeError, match="max_size"):
            bmorph.remove_small_objects(x, max_size=bad)
    with raise_if_dask_computes(), pytest.raises(TypeError, match="connectivity"):
        bmorph.remove_small_holes(x, max_size=2, connectivity="full")


def test_the_result_is_lazy_after_the_sizes() -> None:
    mask = np.zeros((12, 12), bool)
    mask[1:4, 1:4] = mask[8, 8] = True
    lazy = da.from_array(mask, chunks=5)
    got = bmorph.remove_small_objects(lazy, max_size=1)
    assert isinstance(got, da.Array) and got.chunks == lazy.chunks
    expected = mask.copy()
    expected[8, 8] = False
    np.testing.assert_array_equal(got.compute(), expected)
    holes = bmorph.remove_small_holes(~lazy, max_size=1)
    np.testing.assert_array_equal(holes.compute(), ~expected)


def test_empty_images() -> None:
    for shape in [(0, 4), (3, 0, 2)]:
        for dtype in (bool, np.int32):
            x = np.zeros(shape, dtype)
            check("remove_small_objects", x, 2, max_size=3)
            check("remove_small_holes", x.astype(bool), 2, max_size=3)


def test_job_steps() -> None:
    job = """\
input: {synthetic: natural, shape: [32, 32], chunks: [16, 16]}
steps:
  mask: {op: threshold, input: image, method: mean}
  big: {op: remove_small_objects, input: mask, max_size: 5, connectivity: 2}
  filled: {op: remove_small_holes, ar: big, max_size: 5}
outputs:
  - {from: filled, path: filled.zarr}
"""
    pipeline.loads(job)
    with pytest.raises(pipeline.ConfigError, match="max_size"):
        pipeline.loads(job.replace("max_size: 5, connectivity", "max_size: five, connectivity"))
    with pytest.raises(pipeline.ConfigError, match="labels"):
        pipeline.loads(job.replace("input: mask", "labels: mask"))  # scikit-image's name: ar
