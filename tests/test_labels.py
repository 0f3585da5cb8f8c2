"""label: ids identical to scipy.ndimage.label on the whole array, for every chunking.

(``relabel`` and ``relabel_sequential`` moved to bigimg.segmentation: their tests
are in tests/test_skimage_segmentation.py.)"""

from __future__ import annotations

from typing import Any

import dask.array as da
import numpy as np
import pytest
import scipy.ndimage as ndi
from hypothesis import given
from hypothesis import strategies as st

from bigimg.ndimage import label
from tests.strategies import chunkings


def check(mask: np.ndarray, chunks: Any, structure: Any = None, **kwargs: Any) -> None:
    expected, n_expected = ndi.label(mask, structure, **kwargs)
    got, n = label(da.from_array(mask, chunks=chunks), structure, **kwargs)
    assert isinstance(n, int)
    assert n == n_expected
    assert got.chunks == da.from_array(mask, chunks=chunks).chunks
    np.testing.assert_array_equal(got.compute(), expected, strict=True)


@st.composite
def masks(draw: Any, max_side: int = 14) -> tuple[np.ndarray, Any, np.ndarray]:
    ndim = draw(st.integers(1, 3))
    side = max_side if ndim < 3 else max_side // 2
    shape = tuple(draw(st.lists(st.integers(1, side), min_size=ndim, max_size=ndim)))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    density = draw(st.sampled_from([0.1, 0.4, 0.6, 0.9]))
    mask = rng.random(shape) < density
    kind = draw(st.sampled_from(["connectivity", "random"]))
    if kind == "connectivity":
        structure = ndi.generate_binary_structure(ndim, draw(st.integers(1, ndim)))
    else:  # any structure symmetric about its centre
        half = rng.random((3,) * ndim) < 0.5
        structure = half | half[(slice(None, None, -1),) * ndim]
    return mask, draw(chunkings(shape)), structure


@given(masks())
def test_label_ids_equal_scipy(case: tuple[np.ndarray, Any, np.ndarray]) -> None:
    mask, chunks, structure = case
    check(mask, chunks, structure)


@given(masks(), st.sampled_from(["uint8", "int16", "float32", "int64"]))
def test_label_of_any_dtype_and_output(case: Any, dtype: str) -> None:
    mask, chunks, structure = case
    values = (mask * np.arange(1, mask.size + 1).reshape(mask.shape) % 3).astype(dtype)
    check(values, chunks, structure)
    check(mask, chunks, structure, output=np.int64)


def serpentine(n: int) -> np.ndarray:
    """One object winding through every chunk: rows 0, 2, 4, ... joined at
    alternating ends."""
    out = np.zeros((n, n), bool)
    out[::2] = True
    out[1::4, -1] = True
    out[3::4, 0] = True
    return out


@pytest.mark.parametrize("chunks", [1, 3, 7, (5, 9), 64])
def test_object_through_many_chunks(chunks: Any) -> None:
    mask = serpentine(41)
    assert ndi.label(mask)[1] == 1
    check(mask, chunks)
    check(mask, chunks, np.ones((3, 3)))


@pytest.mark.parametrize("connectivity", [1, 2, 3])
def test_objects_touching_only_across_a_chunk_corner(connectivity: int) -> None:
    mask = np.zeros((6, 6, 6), bool)
    mask[2, 2, 2] = mask[3, 3, 3] = True  # a corner-only contact across 8 chunks
    mask[2, 3, 3] = mask[3, 2, 2] = True  # and edge-only contacts
    structure = ndi.generate_binary_structure(3, connectivity)
    check(mask, 3, structure)
    check(mask, (3, 2, 4), structure)


def test_ids_do_not_depend_on_chunking() -> None:
    rng = np.random.default_rng(7)
    mask = ndi.gaussian_filter(rng.random((120, 90)), 2) > 0.5
    reference = None
    for chunks in [(120, 90), (7, 11), (64, 1), (1, 90), (33, 45)]:
        got, _ = label(da.from_array(mask, chunks=chunks))
        result = got.compute()
        if reference is not None:
            np.testing.assert_array_equal(result, reference)
        reference = result


def test_label_on_a_cluster(scheduler: str) -> None:
    rng = np.random.default_rng(3)
    mask = rng.random((40, 50)) < 0.55
    check(mask, (9, 13), np.ones((3, 3)))


def test_graph_is_linear_in_chunks() -> None:
    mask = np.random.default_rng(0).random((64, 64)) < 0.5
    small, _ = label(da.from_array(mask, chunks=32))
    large, _ = label(da.from_array(mask, chunks=8))
    per_block_small = len(small.__dask_graph__()) / small.npartitions
    per_block_large = len(large.__dask_graph__()) / large.npartitions
    assert per_block_large <= per_block_small + 1


def test_numpy_input_and_empty_and_scalar() -> None:
    mask = np.eye(5, dtype=bool)
    got, n = label(mask, np.ones((3, 3)))
    assert n == 1 and got.compute().tolist() == ndi.label(mask, np.ones((3, 3)))[0].tolist()
    empty, n = label(da.zeros((0, 4), chunks=2))
    assert n == 0 and empty.shape == (0, 4)
    none, n = label(da.zeros((5, 4), chunks=2))
    assert n == 0 and not none.compute().any()


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"structure": np.ones((3, 3, 3))}, ValueError, "structure"),
        ({"structure": np.ones((3, 4))}, ValueError, "structure"),
        ({"structure": [[0, 1, 0], [0, 1, 1], [0, 0, 0]]}, ValueError, "symmetric"),
        ({"output": np.zeros((4, 4), np.int32)}, TypeError, "output"),
        ({"output": np.float64}, TypeError, "output"),
    ],
)
def test_bad_input_is_refused_at_call_time(kwargs: dict, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        label(da.ones((4, 4), chunks=2), **kwargs)


def test_complex_input_is_refused() -> None:
    with pytest.raises(TypeError, match="complex"):
        label(da.ones((4, 4), chunks=2, dtype=complex))


def test_output_too_narrow_for_the_count() -> None:
    mask = np.zeros((2, 600), bool)
    mask[0, ::2] = True  # 300 single-pixel objects
    with pytest.raises(ValueError, match="output"):
        label(da.from_array(mask, chunks=(2, 100)), output=np.int8)
