"""Tests of bigimg.datasets: chunk invariance, determinism, laziness, content, errors."""

from __future__ import annotations

import itertools

import dask
import dask.array as da
import numpy as np
import pytest
from dask.callbacks import Callback
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage

from bigimg import datasets
from bigimg._random_bits import GAMMA, mix
from bigimg.datasets import blobs, blobs_intensity, natural, noisy, random_field, square
from tests.reference import assert_same

MAKERS = {
    "natural": lambda shape, chunks, seed=0: natural(shape, chunks=chunks, seed=seed),
    "natural-uint8": lambda shape, chunks, seed=0: natural(
        shape, chunks=chunks, seed=seed, dtype="uint8"
    ),
    "blobs": lambda shape, chunks, seed=0: blobs(shape, chunks=chunks, seed=seed, n_objects=25),
    "blobs-intensity": lambda shape, chunks, seed=0: blobs_intensity(
        shape, chunks=chunks, seed=seed, n_objects=25, blob_size=0.3
    ),
    "square": lambda shape, chunks, seed=0: square(shape, chunks=chunks, angle=10.0 + seed),
    "uniform": lambda shape, chunks, seed=0: random_field(shape, chunks=chunks, seed=seed),
    "normal": lambda shape, chunks, seed=0: random_field(
        shape, chunks=chunks, seed=seed, distribution="normal", dtype="float32"
    ),
    "noisy": lambda shape, chunks, seed=0: noisy(
        natural(shape, chunks=chunks), sigma=0.2, seed=seed, kind="gaussian"
    ),
    "noisy-uniform": lambda shape, chunks, seed=0: noisy(
        square(shape, chunks=chunks), sigma=0.2, seed=seed, kind="uniform"
    ),
}


class _NoCompute(Callback):
    def _start(self, dsk):
        raise AssertionError("something was computed")


def _refuse(*args, **kwargs):
    raise AssertionError("a scheduler was called")


# --------------------------------------------------------------------------- chunk invariance


@pytest.mark.parametrize("name", sorted(MAKERS))
@pytest.mark.parametrize(
    ("shape", "chunkings"),
    [
        ((61, 83), [7, (20, 83), ((1, 30, 30), (50, 3, 30)), (64, 5)]),
        ((17, 23, 19), [7, (5, 23, 4), ((17,), (1, 1, 21), (9, 10))]),
    ],
)
def test_identical_bits_whatever_the_chunking(name, shape, chunkings):
    make = MAKERS[name]
    whole = make(shape, tuple(shape)).compute()
    for chunks in chunkings:
        x = make(shape, chunks)
        assert x.chunks != (tuple((s,) for s in shape))
        assert_same(x.compute(), whole)


@st.composite
def shapes_and_chunks(draw):
    shape = draw(st.lists(st.integers(1, 40), min_size=1, max_size=3))
    chunks = []
    for n in shape:
        cuts = sorted(draw(st.sets(st.integers(1, n - 1), max_size=4))) if n > 1 else []
        bounds = [0, *cuts, n]
        chunks.append(tuple(b - a for a, b in itertools.pairwise(bounds)))
    return tuple(shape), tuple(chunks)


@settings(max_examples=15, deadline=None)
@given(case=shapes_and_chunks(), seed=st.integers(0, 2**64 - 1))
def test_chunk_invariance_property(case, seed):
    shape, chunks = case
    for make in (MAKERS["natural"], MAKERS["blobs-intensity"], MAKERS["normal"]):
        assert_same(make(shape, chunks, seed).compute(), make(shape, -1, seed).compute())
    if len(shape) >= 2:
        assert_same(
            MAKERS["square"](shape, chunks).compute(), MAKERS["square"](shape, -1).compute()
        )


@pytest.mark.parametrize("name", ["natural", "blobs-intensity", "uniform", "square"])
def test_crop_of_huge_image_depends_only_on_global_coordinates(name):
    shape, window = (100_000, 100_000), (slice(49_995, 50_007), slice(69_990, 70_013))
    a = MAKERS[name](shape, 1000)[window].compute()
    b = MAKERS[name](shape, (4096, 777))[window].compute()
    assert a.shape == (12, 23)
    assert_same(a, b)


# --------------------------------------------------------------------------- determinism


@pytest.mark.parametrize("name", sorted(set(MAKERS) - {"square"}))
def test_seed_determines_the_image(name):
    make = MAKERS[name]
    a, b, c = (make((48, 40), 16, seed=s).compute() for s in (5, 5, 6))
    assert_same(a, b)
    assert not np.array_equal(a, c)


def test_splitmix64_matches_reference_output():
    # first output of the reference SplitMix64 seeded with 0
    z = mix(np.array([GAMMA], dtype=np.uint64))
    assert int(z[0]) == 0xE220A8397B1DCDAF


# --------------------------------------------------------------------------- laziness


@pytest.mark.parametrize("name", sorted(MAKERS))
def test_defining_a_huge_image_computes_nothing(name):
    with _NoCompute(), dask.config.set(scheduler=_refuse):
        x = MAKERS[name]((100_000, 100_000), "auto")
        n = len(x.__dask_graph__())
    assert isinstance(x, da.Array) and x.shape == (100_000, 100_000)
    assert x.npartitions >= 100
    assert n <= 4 * x.npartitions + 4  # O(chunks): a few layers of one task per chunk


def test_auto_chunks_are_about_32_mib():
    for x in (
        natural((100_000, 100_000)),
        random_field((20_000, 20_000)),
        square((5000, 5000, 5000), dtype="uint8"),
    ):
        assert 16 * 2**20 <= np.prod(x.chunksize) * x.dtype.itemsize <= 32 * 2**20


# --------------------------------------------------------------------------- content


def test_natural_values_and_dtypes():
    f64 = natural((96, 128), dtype="float64").compute()
    assert 0.0 <= f64.min() < 0.4 and 0.6 < f64.max() <= 1.0 and f64.std() > 0.05
    assert_same(natural((96, 128)).compute(), f64.astype(np.float32))
    assert np.array_equal(
        natural((96, 128), dtype="uint8").compute(), np.rint(f64 * 255).astype(np.uint8)
    )
    for dtype in ("int16", "uint64", "int64", "float16"):
        x = natural((96, 128), dtype=dtype).compute()
        top = 1.0 if dtype == "float16" else np.iinfo(dtype).max
        assert x.dtype == dtype and x.min() >= 0 and x.max() <= top
        assert np.allclose(x / np.float64(top), f64, atol=1e-3)


def test_natural_any_ndim():
    for shape in [(300,), (20, 30, 40), (6, 7, 8, 9)]:
        x = natural(shape, chunks=5).compute()
        assert x.shape == shape and x.std() > 0.01


@pytest.mark.parametrize("n", [10, 30, 200])
def test_blobs_count_near_n_objects(n):
    counts = [ndimage.label(blobs((512, 512), n_objects=n, seed=s).compute())[1] for s in (0, 1)]
    assert all(0.65 * n <= c <= n for c in counts), counts


def test_blobs_defaults_and_edge_cases():
    mask = blobs().compute()
    assert mask.dtype == bool and mask.shape == (512, 512)
    assert 10 <= ndimage.label(mask)[1] <= 40
    assert not blobs((64, 64), n_objects=0).compute().any()
    assert blobs((0, 5)).compute().shape == (0, 5)
    field = blobs_intensity((64, 64), n_objects=5, seed=2).compute()
    assert_same(field > 0.5, blobs((64, 64), n_objects=5, seed=2).compute())
    assert field.min() >= 0.0 and field.max() >= 0.75
    assert blobs_intensity((64, 64), dtype="float32").dtype == np.float32
    bigger = blobs((256, 256), n_objects=50, blob_size=0.3).compute()
    assert ndimage.label(bigger)[1] < ndimage.label(blobs((256, 256), n_objects=50).compute())[1]


def test_square_matches_tutorial():
    expected = np.zeros((256, 256), dtype=np.float32)
    expected[64:-64, 64:-64] = 1
    assert_same(square().compute(), expected)
    assert square((32, 32, 32), dtype=bool).compute().sum() == 16**3
    assert square((10, 20), dtype="uint8").compute().max() == 255
    rotated = square((256, 256), angle=30, dtype=bool).compute()
    assert abs(int(rotated.sum()) - 128**2) < 4 * 128
    assert not rotated[64, 64] and rotated[128, 128]
    assert_same(square(angle=360).compute(), square().compute())


def test_random_field_statistics():
    u = random_field((256, 256), seed=3).compute()
    assert u.dtype == np.float64 and 0.0 <= u.min() and u.max() < 1.0
    assert abs(u.mean() - 0.5) < 0.01 and abs(u.std() - 12**-0.5) < 0.01
    z = random_field((256, 256), seed=3, distribution="normal").compute()
    assert abs(z.mean()) < 0.02 and abs(z.std() - 1.0) < 0.02
    assert abs(np.corrcoef(z[:, :-1].ravel(), z[:, 1:].ravel())[0, 1]) < 0.02
    for dtype in ("float32", "float16"):
        assert random_field((256, 256), dtype=dtype).max().compute() < 1.0


@pytest.mark.parametrize("kind", ["gaussian", "uniform"])
def test_noisy_statistics(kind):
    base = da.zeros((256, 256), chunks=100, dtype=np.float32)
    x = noisy(base, sigma=0.3, seed=1, kind=kind).compute()
    assert x.dtype == np.float32
    assert abs(x.mean()) < 0.01 and abs(x.std() - 0.3) < 0.01
    if kind == "uniform":
        assert np.abs(x).max() <= 0.3 * 3**0.5
    ints = noisy(np.full((8, 8), 100, dtype=np.uint8), sigma=0.0).compute()
    assert ints.dtype == np.float64 and (ints == 100).all()


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: natural((-1, 5)), ValueError, "shape"),
        (lambda: natural(()), ValueError, "shape"),
        (lambda: natural((5.0, 5)), TypeError, "shape"),
        (lambda: natural(dtype="complex64"), TypeError, "dtype"),
        (lambda: natural(dtype="not-a-dtype"), TypeError, "dtype"),
        (lambda: natural(dtype=bool), TypeError, "dtype"),
        (lambda: natural(seed=-1), ValueError, "seed"),
        (lambda: natural(seed=1.5), TypeError, "seed"),
        (lambda: natural((10, 10), chunks=((5, 4), 10)), ValueError, "chunks"),
        (lambda: natural((10, 10), chunks="lots"), ValueError, "chunks"),
        (lambda: blobs(n_objects=-1), ValueError, "n_objects"),
        (lambda: blobs(n_objects=2.5), TypeError, "n_objects"),
        (lambda: blobs(blob_size=0), ValueError, "blob_size"),
        (lambda: blobs_intensity(dtype="int8"), TypeError, "dtype"),
        (lambda: square(size=-0.5), ValueError, "size"),
        (lambda: square(angle=float("nan")), ValueError, "angle"),
        (lambda: square((10,), angle=30), ValueError, "angle"),
        (lambda: random_field((4, 4), distribution="poisson"), ValueError, "distribution"),
        (lambda: random_field((4, 4), dtype="int32"), TypeError, "dtype"),
        (lambda: noisy(square(), sigma=-1), ValueError, "sigma"),
        (lambda: noisy(square(), kind="salt"), ValueError, "kind"),
    ],
)
def test_bad_parameters_raise_at_call_time(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_all_is_public_api():
    assert sorted(datasets.__all__) == sorted(
        ["blobs", "blobs_intensity", "natural", "noisy", "random_field", "square"]
    )
    assert all(callable(getattr(datasets, name)) for name in datasets.__all__)
