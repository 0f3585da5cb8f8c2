"""bigimg.feature.peak_local_max against skimage.feature.peak_local_max on the
whole numpy array: the same coordinates in the same order, for every chunking."""

from __future__ import annotations

import warnings
from typing import Any

import dask.array as da
import numpy as np
import pytest
import scipy.ndimage as ndi
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from skimage.feature import peak_local_max as reference

from bigimg.feature import peak_local_max
from tests.reference import assert_same
from tests.strategies import chunkings


def _run(func: Any, image: Any, kwargs: dict[str, Any]) -> tuple[Any, list[str]]:
    """``func``'s result (or the type of its error) and its warnings."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            out: Any = func(image, **kwargs)
        except Exception as error:  # the reference's errors are matched
            out = type(error)
    return out, [f"{w.category.__name__}: {w.message}" for w in caught]


def _check(image: np.ndarray, chunks: Any, **kwargs: Any) -> np.ndarray | None:
    expected, expected_warnings = _run(reference, image, kwargs)
    lazy_kwargs = dict(kwargs)
    if kwargs.get("labels") is not None:
        lazy_kwargs["labels"] = da.from_array(kwargs["labels"], chunks=chunks)
    got, got_warnings = _run(peak_local_max, da.from_array(image, chunks=chunks), lazy_kwargs)
    assert got_warnings == expected_warnings
    if isinstance(expected, type):
        assert got is expected, (got, expected)
        return None
    assert_same(got, expected)
    return expected


@st.composite
def images(draw: Any) -> tuple[np.ndarray, Any]:
    ndim = draw(st.integers(1, 3))
    side = {1: 24, 2: 11, 3: 6}[ndim]
    shape = tuple(draw(st.lists(st.integers(1, side), min_size=ndim, max_size=ndim)))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    kind = draw(st.sampled_from(["float", "float-ties", "uint8", "int16", "plateaus"]))
    if kind == "float":
        x = ndi.gaussian_filter(rng.standard_normal(shape), 1.0)
    elif kind == "float-ties":
        x = np.round(rng.standard_normal(shape) * 2) / 2
    elif kind == "uint8":
        x = rng.integers(0, 4, shape).astype(np.uint8)
    elif kind == "int16":
        x = rng.integers(-2, 2, shape).astype(np.int16)
    else:  # piecewise constant: blocks of 1-4 pixels per axis share a value
        step = tuple(int(s) for s in rng.integers(1, 5, ndim))
        coarse = rng.integers(0, 3, tuple(-(-n // s) for n, s in zip(shape, step)))
        for axis, s in enumerate(step):
            coarse = np.repeat(coarse, s, axis=axis)
        x = coarse[tuple(slice(0, n) for n in shape)].astype(np.float32)
    return x, draw(chunkings(shape))


@st.composite
def options(draw: Any, image: np.ndarray) -> dict[str, Any]:
    ndim = image.ndim
    kw: dict[str, Any] = {"min_distance": draw(st.integers(0, 3))}
    values = np.unique(image)
    if draw(st.booleans()):
        kw["threshold_abs"] = draw(st.sampled_from(values.tolist()))
    if draw(st.booleans()):
        kw["threshold_rel"] = draw(st.sampled_from([0.0, 0.3, 0.8]))
    kw["exclude_border"] = draw(
        st.one_of(
            st.just(False),
            st.booleans(),
            st.integers(0, 2),
            st.tuples(*[st.integers(0, 1)] * ndim),
        )
    )
    kw["num_peaks"] = draw(st.sampled_from([np.inf, np.inf, 0, 1, 3]))
    if draw(st.booleans()):
        shape = tuple(draw(st.lists(st.integers(1, 4), min_size=ndim, max_size=ndim)))
        fp = np.asarray(
            draw(
                st.lists(st.booleans(), min_size=int(np.prod(shape)), max_size=int(np.prod(shape)))
            )
        )
        fp = fp.reshape(shape)
        if not fp.any():
            fp.flat[fp.size // 2] = True
        kw["footprint"] = fp
    kw["p_norm"] = draw(st.sampled_from([1, 2, np.inf]))
    if draw(st.booleans()):
        rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
        how = draw(st.sampled_from(["random", "components", "one"]))
        if how == "random":
            lab = rng.integers(0, 4, image.shape)
        elif how == "components":
            lab = ndi.label(rng.random(image.shape) > 0.4)[0]
        else:
            lab = np.ones(image.shape, dtype=np.uint8)
        kw["labels"] = lab
        kw["num_peaks_per_label"] = draw(st.sampled_from([np.inf, np.inf, 1, 2]))
    return kw


@settings(
    max_examples=500,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.data())
def test_equals_skimage(data: Any) -> None:
    image, chunks = data.draw(images())
    _check(image, chunks, **data.draw(options(image)))


def test_docstring_example_and_order() -> None:
    img = np.zeros((7, 7))
    img[3, 4] = 1
    img[3, 2] = 1.5
    assert _check(img, 3, min_distance=1).tolist() == [[3, 2], [3, 4]]
    assert _check(img, 2, min_distance=2).tolist() == [[3, 2]]
    img3 = np.zeros((20, 20, 20))
    img3[10, 10, 10] = 1
    img3[15, 15, 15] = 1
    assert _check(img3, 6, exclude_border=0).tolist() == [[10, 10, 10], [15, 15, 15]]


def test_flat_image_has_no_peak() -> None:
    assert _check(np.full((12, 9), 3.0), (5, 4), threshold_abs=0).shape == (0, 2)


def test_flat_blocks_of_a_non_flat_image_are_candidates() -> None:
    # a plateau above the threshold fills whole blocks: their pixels are peaks too
    img = np.ones((24, 24))
    img[20, 20] = 2.0
    out = _check(img, 4, threshold_abs=0, min_distance=3, exclude_border=False)
    assert out is not None and len(out) > 10


def test_flat_label_keeps_its_isolated_pixels() -> None:
    img = np.zeros((16, 16))
    lab = np.zeros((16, 16), dtype=int)
    lab[2:12, 2:12] = 1  # flat and thick: no isolated pixel
    lab[3, 13] = 2  # flat, one pixel wide: every pixel isolated
    lab[4:10, 14] = 2
    lab[13, 1:15] = 3  # a line with a bump
    img[13, 1:15] = 1.0
    img[13, 7] = 2.0
    out = _check(img, (5, 3), labels=lab, threshold_abs=-1, exclude_border=False)
    # label 1: the square's four corners (a cross opening drops them); label 2: all 7
    # pixels; label 3 is not flat: its local maxima
    assert out is not None and out[:11].tolist() == [
        [2, 2],
        [2, 11],
        [11, 2],
        [11, 11],
        [3, 13],
        *([r, 14] for r in range(4, 10)),
    ]


def test_unsigned_values_wrap_in_the_sort_as_in_skimage() -> None:
    img = np.zeros((9, 9), dtype=np.uint8)
    img[2, 2], img[6, 6] = 1, 200
    lab = (np.arange(81).reshape(9, 9) % 2 + 1).astype(np.int32)
    _check(img, 4, exclude_border=False, num_peaks=2)
    _check(img, 4, labels=lab, exclude_border=False, num_peaks=3)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"exclude_border": -1},
        {"exclude_border": (1,)},
        {"exclude_border": (1, 1.5)},
        {"exclude_border": 1.5},
        {"min_distance": 1.5},
        {"min_distance": -2},
        {"footprint": np.ones((3, 3, 3), dtype=bool)},
        {"footprint": np.zeros((3, 3), dtype=bool)},
        {"min_distance": 2, "p_norm": 0.5},
        {"min_distance": 0},
        {"labels": np.ones((10, 12), dtype=np.uint64)},
        {"labels": np.ones((10, 12), dtype=float)},
        {"labels": np.ones((10, 12), dtype=int), "footprint": np.ones((3,), dtype=bool)},
    ],
)
def test_errors_and_warnings_as_skimage(kwargs: dict[str, Any]) -> None:
    image = ndi.gaussian_filter(np.random.default_rng(1).random((10, 12)), 1)
    _check(image, 4, **kwargs)


def test_boolean_image_refused_as_skimage() -> None:
    image = np.random.default_rng(2).random((8, 8)) > 0.5
    _check(image, 3)
    _check(image, 3, labels=np.ones((8, 8), dtype=int))


def test_numpy_input() -> None:
    image = ndi.gaussian_filter(np.random.default_rng(3).random((30, 30)), 2)
    assert_same(peak_local_max(image, min_distance=2), reference(image, min_distance=2))


def test_unsupported_cases_are_refused() -> None:
    image = np.zeros((6, 6), dtype=np.uint8)
    labels = np.ones((6, 6), dtype=int)
    with pytest.raises(NotImplementedError, match="below the minimum"):
        peak_local_max(image, labels=labels, threshold_abs=-1)
    with pytest.raises(ValueError, match="shape"):
        peak_local_max(image, labels=labels[:5])
    nan = np.zeros((6, 6))
    nan[2, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        peak_local_max(da.from_array(nan, chunks=3), labels=labels, threshold_abs=0)
