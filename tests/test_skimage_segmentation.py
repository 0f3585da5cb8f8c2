"""bigimg.segmentation: scikit-image's find_boundaries, clear_border, expand_labels and
relabel_sequential (with its ArrayMap maps) on dask arrays, equal to scikit-image on
the whole numpy array for every chunking; and bigimg's own relabel."""

from __future__ import annotations

import inspect
from collections import Counter
from typing import Any

import dask.array as da
import numpy as np
import pytest
import scipy.ndimage as ndi
from hypothesis import given, settings
from hypothesis import strategies as st
from skimage import measure as skmeasure
from skimage import segmentation as sks
from skimage.util._map_array import ArrayMap as SkArrayMap

import bigimg.segmentation as bseg
from bigimg import _labels, pipeline
from bigimg._kernels import numba_jit
from tests.guards import raise_if_dask_computes
from tests.reference import assert_equal_to_reference, assert_same, check_against
from tests.strategies import chunkings
from tests.test_labels import masks


@st.composite
def label_images(draw: Any, dtypes: tuple[str, ...] = ("int32",)) -> tuple[np.ndarray, Any]:
    """Labels that touch each other (several values side by side), on background."""
    ndim = draw(st.integers(1, 3))
    side = 12 if ndim < 3 else 6
    shape = tuple(draw(st.lists(st.integers(1, side), min_size=ndim, max_size=ndim)))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    dtype = np.dtype(draw(st.sampled_from(dtypes)))
    kind = draw(st.sampled_from(["few", "blocks", "sparse", "mask"]))
    if kind == "few":  # small values, touching everywhere
        x = rng.integers(0, 4, shape)
    elif kind == "blocks":  # regions of one value, grown from seeds
        seeds = rng.integers(0, 5, shape) * (rng.random(shape) < 0.3)
        x = ndi.grey_dilation(seeds, size=(2,) * ndim) * (rng.random(shape) < 0.8)
    elif kind == "sparse":  # few label pixels: many equal distances between them
        x = rng.integers(1, 9, shape) * (rng.random(shape) < 0.1)
    else:
        x = rng.random(shape) < 0.5
    if dtype.kind != "b" and x.dtype == bool:
        x = x.astype(dtype)
    elif dtype.kind != "b":
        top = np.iinfo(dtype).max if dtype.kind in "iu" else 0
        if dtype.kind in "iu" and draw(st.booleans()):  # scikit-image's 'between pixels' value
            x = np.where(x == 3, top, x)
        x = x.astype(dtype)
    return x, draw(chunkings(shape))


# ---------------------------------------------------------------- find_boundaries


@pytest.mark.parametrize("mode", ["thick", "inner", "outer", "subpixel"])
@settings(max_examples=50, deadline=None)
@given(
    label_images(("bool", "uint8", "int32", "uint64", "float64")),
    st.sampled_from([1, 2, 3, 0, 1.5]),
    st.sampled_from([0, 1, 3]),
)
def test_find_boundaries_equals_skimage(mode: str, case: Any, connectivity: Any, bg: int) -> None:
    x, chunks = case
    same = mode != "subpixel"
    check_against(
        sks.find_boundaries, bseg.find_boundaries, x, chunks, connectivity, mode, bg,
        same_chunks=same,
    )  # fmt: skip


def test_find_boundaries_refuses_an_unknown_mode_and_fuses() -> None:
    x = da.from_array(np.array([[0, 1], [1, 1]]), chunks=1)
    with pytest.raises(ValueError, match="mode"):
        bseg.find_boundaries(x, mode="thin")
    with pytest.raises(ValueError, match="integer"):
        bseg.find_boundaries(x.astype(float), mode="outer")
    import bigimg.ndimage as bnd

    fused = bnd.fused(lambda a: bseg.find_boundaries(bnd.uniform_filter(a, 3) > 0.5))
    want = sks.find_boundaries(ndi.uniform_filter(x.compute(), 3) > 0.5)
    with raise_if_dask_computes():
        lazy = fused(x)
    assert_equal_to_reference(lazy, want)


# ---------------------------------------------------------------- clear_border


@settings(max_examples=80, deadline=None)
@given(
    label_images(("int32", "uint8", "bool", "int64")),
    st.integers(-2, 3),
    st.sampled_from([0, 1, 7, 2.5]),
    st.booleans(),
)
def test_clear_border_equals_skimage(
    case: Any, buffer_size: int, bgval: Any, masked: bool
) -> None:
    x, chunks = case
    arrays = {}
    if masked:
        rng = np.random.default_rng(x.size)
        arrays["mask"] = rng.random(x.shape) < 0.8
    check_against(
        sks.clear_border, bseg.clear_border, x, chunks, buffer_size, bgval,
        lazy=False, same_chunks=True, arrays=arrays,
    )  # fmt: skip


def test_clear_border_reads_the_interior_once() -> None:
    """The objects are labelled (every block read once); the labels in the border
    region are then read from the border blocks only."""
    x = np.zeros((40, 40), np.int32)
    x[0:3, 5:9] = 1  # touches the border: cleared
    x[10:30, 10:30] = 2  # inside: kept
    x[30:32, 10:12] = 3  # beside 2, another value: an object of its own, kept
    read: Counter[tuple[int, ...]] = Counter()

    def block(b: np.ndarray, block_id: Any = None) -> np.ndarray:
        if isinstance(block_id, tuple):
            read[block_id] += 1
        return b

    lazy = da.from_array(x, chunks=8).map_blocks(block, dtype=x.dtype)
    read.clear()
    got = bseg.clear_border(lazy)
    border = {b for b in np.ndindex(5, 5) if 0 in b or 4 in b}
    assert set(read) == set(np.ndindex(5, 5))
    assert {b for b, n in read.items() if n > 1} == border
    assert_same(got.compute(scheduler="sync"), sks.clear_border(x))


def test_clear_border_refuses_bad_arguments_when_called() -> None:
    x = da.ones((4, 5), chunks=2, dtype=int)
    for kwargs, error in [
        ({"buffer_size": 4}, ValueError),
        ({"buffer_size": 1.0}, TypeError),
        ({"mask": np.ones((4, 4), bool)}, ValueError),
        ({"mask": np.ones((4, 5), int)}, TypeError),
        ({"out": np.zeros((4, 5), int)}, TypeError),
        ({"bgval": -1}, None),  # fine for int64
    ]:
        if error is None:
            bseg.clear_border(x, **kwargs)
            continue
        with raise_if_dask_computes(), pytest.raises(error):
            bseg.clear_border(x, **kwargs)
    with raise_if_dask_computes(), pytest.raises(TypeError, match="integer or boolean"):
        bseg.clear_border(x.astype(float))
    with pytest.raises(OverflowError):  # numpy's assignment of -1 to uint8
        sks.clear_border(np.ones((4, 5), np.uint8), bgval=-1)
    with raise_if_dask_computes(), pytest.raises(OverflowError):
        bseg.clear_border(x.astype(np.uint8), bgval=-1)


@settings(max_examples=60, deadline=None)
@given(label_images(("int32", "uint8", "uint64", "bool")), st.integers(1, 3), st.booleans())
def test_regions_of_one_value_are_skimages_label(case: Any, connectivity: int, jit: bool) -> None:
    """The label engine's ``by_value`` (behind clear_border): the partition of
    ``skimage.measure.label``, ids in raster order of first pixels, compiled or not."""
    x, chunks = case
    connectivity = min(connectivity, x.ndim)
    structure = ndi.generate_binary_structure(x.ndim, connectivity)
    want = skmeasure.label(x, background=0, connectivity=connectivity)
    before = numba_jit.ENABLED
    numba_jit.ENABLED = jit and before
    try:
        lazy = da.from_array(x, chunks=chunks)
        table = _labels.merge_labels(lazy, structure, by_value=True)
        got = _labels.relabelled(lazy, structure, table, np.int32, by_value=True).compute()
    finally:
        numba_jit.ENABLED = before
    assert table.count == want.max()
    pairs = np.unique(np.stack([got.ravel(), want.ravel()]), axis=1)
    assert len(np.unique(pairs[0])) == pairs.shape[1] == len(np.unique(pairs[1]))
    assert ((got == 0) == (want == 0)).all()
    flat = got.ravel()
    nonzero = np.flatnonzero(flat)
    ids, first = np.unique(flat[nonzero], return_index=True)
    assert (ids == np.arange(1, len(ids) + 1)).all() and (np.diff(nonzero[first]) > 0).all()


# ---------------------------------------------------------------- expand_labels


@settings(max_examples=80, deadline=None)
@given(
    label_images(("int32", "uint8", "int64")),
    st.sampled_from([1, 0, 0.5, 1.5, 2, 3.7, 10, -1]),
    st.data(),
)
def test_expand_labels_equals_skimage(case: Any, distance: float, data: Any) -> None:
    x, chunks = case
    spacing = data.draw(
        st.sampled_from([1, 0.5, 2.0])
        | st.lists(st.sampled_from([0.5, 1.0, 1.5, 3.0]), min_size=x.ndim, max_size=x.ndim)
    )
    check_against(
        sks.expand_labels, bseg.expand_labels, x, chunks, distance, spacing, same_chunks=True
    )


@pytest.mark.parametrize("chunks", [1, 2, 3, 5, (4, 1), (1, 7)])
def test_expand_labels_ties_are_scipys_whatever_the_chunking(chunks: Any) -> None:
    x = np.zeros((9, 11), np.int32)
    x[::4, ::4] = np.arange(1, 10).reshape(3, 3)
    expected = sks.expand_labels(x, distance=3)
    assert (expected > 0).all()  # every label grew; (2, 2) is as near to four of them
    check_against(sks.expand_labels, bseg.expand_labels, x, chunks, 3, same_chunks=True)


# ---------------------------------------------------------------- relabel_sequential


@st.composite
def sequential_cases(draw: Any) -> tuple[np.ndarray, Any, int]:
    mask, chunks, structure = draw(masks())
    labels, _ = ndi.label(mask, structure)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    dtype = draw(st.sampled_from(["int32", "uint8", "int8", "uint16", "int64", "uint64"]))
    top = min(np.iinfo(dtype).max, 10**12)
    ids = np.concatenate([[0], rng.integers(1, top, labels.max() + 1, endpoint=True)])
    values = ids[labels] if draw(st.booleans()) else labels  # gaps between ids, or none
    if draw(st.booleans()):
        values = values + 1  # no background
    values = np.clip(values, 0, np.iinfo(dtype).max).astype(dtype)
    offset = draw(st.sampled_from([1, 1, 2, 5, 200, 2**15, 2**31 - 3]))
    return values, chunks, offset


@settings(max_examples=80, deadline=None)
@given(sequential_cases())
def test_relabel_sequential_equals_skimage(case: Any) -> None:
    values, chunks, offset = case
    want, want_fw, want_inv = sks.relabel_sequential(values, offset)
    got, fw, inv = bseg.relabel_sequential(da.from_array(values, chunks=chunks), offset)
    assert_equal_to_reference(got, want, chunks=da.from_array(values, chunks=chunks).chunks)
    for ours, theirs in [(fw, want_fw), (inv, want_inv)]:
        assert isinstance(ours, bseg.ArrayMap)
        assert_same(ours.in_values, theirs.in_values)
        assert_same(ours.out_values, theirs.out_values)
        assert ours.dtype == theirs.dtype and len(ours) == len(theirs)
        assert str(ours) == str(theirs)
    if len(fw) < 10**6:
        assert_same(np.asarray(fw), np.asarray(want_fw))
    assert_same(fw[values], want_fw[values])
    assert_equal_to_reference(fw[da.from_array(values, chunks=chunks)], want_fw[values])


def test_relabel_sequential_refuses_what_skimage_refuses() -> None:
    good = np.array([[0, 3], [3, 9]])
    for x, offset, error in [
        (good, 0, ValueError),
        (good, -2, ValueError),
        (good.astype(float), 1, TypeError),
        (good > 0, 1, TypeError),
    ]:
        with pytest.raises(error):
            sks.relabel_sequential(x, offset)
        with raise_if_dask_computes(), pytest.raises(error):
            bseg.relabel_sequential(da.from_array(x, chunks=1), offset)
    negative = np.array([[0, -3], [3, 9]])
    with pytest.raises(ValueError, match="negative"):
        sks.relabel_sequential(negative)
    with pytest.raises(ValueError, match="negative"):
        bseg.relabel_sequential(da.from_array(negative, chunks=1))


def test_arraymap_indexes_as_skimages() -> None:
    for n in (3, 5, 6, 12):
        ins, outs = np.arange(n) * 7 + 1, np.arange(n, dtype=np.uint8)
        ours, theirs = bseg.ArrayMap(ins, outs), SkArrayMap(ins, outs)
        assert str(ours) == str(theirs) and repr(ours) == repr(theirs)
        for index in [np.array([[1, 8], [2, 0]]), 8, 3, slice(None), slice(2, 20, 3)]:
            assert_same(ours[index], theirs[index])
        mask = np.arange(len(theirs)) % 3 == 0
        assert_same(ours[mask], theirs[mask])
        assert_same(ours(np.array([15, 1])), theirs(np.array([15, 1])))
        ours[8], theirs[8] = 40, 40
        assert_same(ours.in_values, theirs.in_values)
        assert_same(ours.out_values, theirs.out_values)
    lazy = da.from_array(np.array([1, 8, 9, 15]), chunks=2)
    with raise_if_dask_computes():
        mapped = bseg.ArrayMap(np.array([1, 15]), np.array([2, 3]))[lazy]
    assert_same(mapped.compute(), np.array([2, 0, 0, 3]))


# ---------------------------------------------------------------- relabel (bigimg's own)


@given(masks(), st.integers(0, 2**32 - 1))
def test_relabel_equals_numpy_fancy_indexing(case: Any, seed: int) -> None:
    mask, chunks, structure = case
    labels, n = ndi.label(mask, structure)
    table = np.random.default_rng(seed).integers(0, 5, n + 1).astype(np.uint8)
    with raise_if_dask_computes():
        lazy = bseg.relabel(da.from_array(labels, chunks=chunks), table)
    np.testing.assert_array_equal(lazy.compute(), table[labels], strict=True)


def test_relabel_names_a_label_outside_the_table() -> None:
    lazy = bseg.relabel(da.from_array(np.array([0, 1, 5]), chunks=2), np.arange(3))
    with pytest.raises(IndexError, match="label 5"):
        lazy.compute()
    with pytest.raises(TypeError, match="integer"):
        bseg.relabel(da.ones(3, chunks=2), np.arange(3))
    with pytest.raises(ValueError, match="1-D"):
        bseg.relabel(da.ones(3, chunks=2, dtype=int), np.ones((2, 2)))


# ---------------------------------------------------------------- signatures, laziness, jobs


@pytest.mark.parametrize(
    "name", ["find_boundaries", "clear_border", "expand_labels", "relabel_sequential"]
)
def test_signatures_are_skimages(name: str) -> None:
    ours = inspect.signature(getattr(bseg, name))
    bare = ours.replace(
        parameters=[p.replace(annotation=p.empty) for p in ours.parameters.values()],
        return_annotation=ours.empty,
    )
    assert str(bare) == str(inspect.signature(getattr(sks, name)))


def test_local_functions_are_lazy() -> None:
    x = da.from_array(np.eye(6, dtype=np.int32) * 3, chunks=2)
    with raise_if_dask_computes():
        for mode in ["thick", "inner", "outer", "subpixel"]:
            bseg.find_boundaries(x, mode=mode)
        bseg.expand_labels(x, 2)


def test_job_steps() -> None:
    job = """\
input: {synthetic: natural, shape: [32, 32], chunks: [16, 16]}
steps:
  mask: {op: threshold, input: image, method: mean}
  labels: {op: label, input: mask}
  inner: {op: clear_border, input: labels, buffer_size: 1}
  grown: {op: expand_labels, label_image: inner, distance: 2}
  numbered: {op: relabel_sequential, input: grown}
  edges: {op: find_boundaries, input: numbered, mode: inner}
outputs:
  - {from: numbered, path: labels.zarr}
  - {from: edges, path: edges.zarr}
"""
    pipeline.loads(job)
    with pytest.raises(pipeline.ConfigError, match="buffer size"):
        pipeline.loads(job.replace("buffer_size: 1", "buffer_size: 100"))
