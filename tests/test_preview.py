"""bigimg.preview: views, PNG pictures and histograms of images too big to show.

Every expected value is computed by numpy / scipy on the whole array, or read
back from the PNG, never taken from bigimg itself.
"""

from __future__ import annotations

import tracemalloc
import warnings
from pathlib import Path
from typing import Any

import dask
import dask.array as da
import matplotlib.image as mpimg
import numpy as np
import pytest
import scipy.ndimage as ndi
from dask.callbacks import Callback
from hypothesis import given
from hypothesis import strategies as st

import bigimg
from bigimg.cli import main
from bigimg.errors import TargetExistsError
from bigimg.preview import _label_colors, histogram, preview, save_histogram, save_image, view
from tests.guards import raise_if_dask_computes
from tests.strategies import chunked_arrays

PNG = b"\x89PNG\r\n\x1a\n"


def reference_view(x: np.ndarray, max_size: int, method: str | None) -> np.ndarray:
    """The view by its definition, window by window, on the whole array."""
    if x.ndim == 3:
        x = x[x.shape[0] // 2]
    f = -(-max(x.shape) // max_size)
    method = method or ("mean" if x.dtype.kind == "f" else "nearest")
    if method == "nearest":
        return x[::f, ::f]
    out = np.empty((-(-x.shape[0] // f), -(-x.shape[1] // f)))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            w = x[i * f : (i + 1) * f, j * f : (j + 1) * f].astype(np.float64)
            out[i, j] = {"mean": w.mean, "max": w.max, "min": w.min}[method]()
    return out


@given(
    data=chunked_arrays(max_ndim=3, dtypes=("float64", "float32", "int32", "uint8", "bool")),
    max_size=st.integers(1, 6),
    method=st.sampled_from([None, "nearest", "mean", "max", "min"]),
)
def test_view_is_the_block_reduction(data: Any, max_size: int, method: str | None) -> None:
    x, chunks = data
    if method == "mean" and x.dtype.kind != "f":
        method = None  # integer means are rounded: checked for floats only
    image = da.from_array(x, chunks=chunks)
    if x.ndim < 2:
        with raise_if_dask_computes(), pytest.raises(ValueError, match="2-D"):
            view(image, max_size=max_size, method=method)
        return
    got = view(image, max_size=max_size, method=method)
    expected = reference_view(x, max_size, method)
    assert isinstance(got, np.ndarray) and got.dtype == x.dtype
    assert got.shape == expected.shape and max(got.shape) <= max_size
    if got.dtype.kind == "f" and method in (None, "mean"):
        np.testing.assert_allclose(got, expected, rtol=1e-6 if x.dtype == np.float32 else 1e-12)
    else:
        np.testing.assert_array_equal(got, expected.astype(x.dtype))


def test_view_keeps_label_ids_and_chooses_planes() -> None:
    rng = np.random.default_rng(1)
    labels, n = ndi.label(ndi.gaussian_filter(rng.random((200, 333)), 4) > 0.5)
    assert n > 5
    got = view(da.from_array(labels, chunks=(37, 51)), max_size=50)
    f = -(-333 // 50)
    np.testing.assert_array_equal(got, labels[::f, ::f])
    assert set(np.unique(got)) <= set(range(n + 1))
    stack = np.arange(5)[:, None, None] * np.ones((5, 6, 7))
    assert (view(stack) == 2).all()  # the middle plane
    assert (view(da.from_array(stack, chunks=2), plane=-1) == 4).all()
    assert (view(stack, plane=0, max_size=3) == 0).all()


def test_bad_parameters_raise_before_computing(tmp_path: Path) -> None:
    image = bigimg.datasets.natural((4000, 3000), chunks=500)  # lazy
    existing = tmp_path / "there.png"
    existing.write_bytes(b"keep me")
    cases: list[tuple[Any, type[Exception], str]] = [
        (lambda: view(image, max_size=0), ValueError, "max_size"),
        (lambda: view(image, max_size=2.5), TypeError, "max_size"),
        (lambda: view(image, method="median"), ValueError, "method"),
        (lambda: view(image[0]), ValueError, "2-D"),
        (lambda: view(image[None, None]), ValueError, "4 axes"),
        (lambda: view(image, plane=0), ValueError, "plane"),
        (lambda: view(image[None], plane=1), ValueError, "plane"),
        (lambda: view(image[None], plane="0"), TypeError, "plane"),
        (lambda: view(image.astype(complex)), TypeError, "complex"),
        (lambda: histogram(image, bins=0), ValueError, "bins"),
        (lambda: histogram(image, bins="auto"), TypeError, "bins"),
        (lambda: histogram(image, bins=[0, 2, 1]), ValueError, "bins"),
        (lambda: histogram(image, range=(2, 1)), ValueError, "range"),
        (lambda: histogram(image, range=(0, np.inf)), ValueError, "range"),
        (lambda: histogram(image, range=3), TypeError, "range"),
        (lambda: save_image(image, existing), TargetExistsError, "overwrite"),
        (lambda: save_image(image, tmp_path / "a.jpg"), ValueError, "png"),
        (lambda: save_image(image, tmp_path / "a.png", vmin=2, vmax=1), ValueError, "vmin"),
        (lambda: save_image(image, tmp_path / "a.png", vmin="low"), TypeError, "vmin"),
        (lambda: save_image(image, tmp_path / "a.png", cmap="nope"), ValueError, "cmap"),
        (lambda: save_image(image, tmp_path / "a.png", labels=True), TypeError, "labels"),
        (lambda: save_image(image, tmp_path / "a.png", labels=1), TypeError, "labels"),
        (lambda: save_image(image, tmp_path / "a.png", max_size=-1), ValueError, "max_size"),
        (lambda: save_image(image, tmp_path / "a.png", title=3), TypeError, "title"),
        (lambda: save_image(image, tmp_path / "a.png", contour=image.T), ValueError, "shape"),
        (
            lambda: save_image(image, tmp_path / "a.png", contour=image, levels=(0.8, 0.2)),
            ValueError,
            "levels",
        ),
        (
            lambda: save_image(image, tmp_path / "a.png", contour=image, contour_color="nah"),
            ValueError,
            "contour_color",
        ),
        (lambda: save_histogram(image, existing), TargetExistsError, "overwrite"),
        (lambda: save_histogram(image, tmp_path / "h.png", thresholds="x"), TypeError, "thresh"),
        (lambda: save_histogram(image, tmp_path / "h.png", bins=-3), ValueError, "bins"),
        (lambda: save_histogram(image, tmp_path / "h.png", log="yes"), TypeError, "log"),
        (lambda: preview(image, tmp_path / "p.png", kind="movie"), ValueError, "kind"),
        (lambda: preview(image, tmp_path / "p.png", dtype="u2"), TypeError, "dtype"),
    ]
    for call, error, words in cases:
        with raise_if_dask_computes(), pytest.raises(error, match=words):
            call()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["there.png"]
    assert existing.read_bytes() == b"keep me"


def _numpy_histogram(x: np.ndarray, **kwargs: Any) -> tuple[np.ndarray, np.ndarray]:
    with warnings.catch_warnings():  # numpy's note that it counts bools as uint8
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.histogram(x, **kwargs)


def assert_same_histogram(got: tuple, expected: tuple) -> None:
    assert got[0].dtype == expected[0].dtype and got[1].dtype == expected[1].dtype
    np.testing.assert_array_equal(got[0], expected[0])
    np.testing.assert_array_equal(got[1], expected[1])


@given(
    data=chunked_arrays(dtypes=("float64", "float32", "int16", "uint8", "bool")),
    bins=st.integers(1, 40),
    range_=st.none() | st.tuples(st.floats(-25, 5), st.floats(0, 30)),
)
def test_histogram_equals_numpy(data: Any, bins: int, range_: Any) -> None:
    x, chunks = data
    if range_ is not None:
        range_ = (range_[0], range_[0] + range_[1])  # width 0 included: numpy widens it
    image = da.from_array(x, chunks=chunks)
    try:
        expected = _numpy_histogram(x, bins=bins, range=range_)
    except ValueError:  # e.g. a range too narrow for the bins in float32: refused alike
        with pytest.raises(ValueError):
            histogram(image, bins=bins, range=range_)
        return
    assert_same_histogram(histogram(image, bins=bins, range=range_), expected)


def test_histogram_edge_cases_equal_numpy() -> None:
    rng = np.random.default_rng(2)
    on_edges = np.linspace(0, 1, 1001).reshape(7, 143)  # values exactly on bin edges
    x32 = (rng.standard_normal((60, 50)) * 3).astype(np.float32)
    u8 = rng.integers(0, 256, (99, 101), dtype=np.uint8)
    cases = [
        (on_edges, {"bins": 10}),
        (on_edges, {"bins": 7, "range": (0.1, 0.9)}),
        (x32, {"bins": 33}),
        (x32, {"bins": 20, "range": (-2, 3)}),
        (x32, {"bins": 20, "range": (np.float64(-2.1), np.float64(3.3))}),  # float64 edges
        (x32, {"bins": 20, "range": (np.float32(-2.1), np.float32(3.3))}),
        (x32, {"bins": [-5, -1, 0, 0.5, 7]}),
        (u8, {}),  # 256 bins, default range
        (u8, {"bins": 256, "range": (0, 255)}),
        (u8.astype(np.int64) * 10**12, {"bins": 17}),
        (np.full((5, 5), 3.0), {"bins": 4}),  # one value: range widened by numpy's rule
        (np.zeros((0, 4)), {"bins": 3}),
    ]
    for x, kwargs in cases:
        expected = _numpy_histogram(x, **{"bins": 256, **kwargs})  # bigimg's default bins
        for chunks in ((1, 13), (3, 40), x.shape):
            got = histogram(da.from_array(x, chunks=chunks), **kwargs)
            assert_same_histogram(got, expected)
    with pytest.raises(ValueError, match="not finite"):
        histogram(np.array([[1.0, np.nan]]))


def test_histogram_reads_once_with_a_range_twice_without() -> None:
    runs = []

    def counting(dsk: Any, keys: Any, **kwargs: Any) -> Any:
        runs.append(keys)
        return dask.get(dsk, keys, **kwargs)

    image = da.from_array(np.arange(120.0).reshape(10, 12), chunks=4)
    with dask.config.set(scheduler=counting):
        histogram(image, bins=5, range=(0, 100))
        assert len(runs) == 1
        histogram(image, bins=5)
        assert len(runs) == 3


class _Largest(Callback):
    """Records the largest result of any task the local schedulers run."""

    def __init__(self) -> None:
        super().__init__()
        self.nbytes = 0

    def _posttask(self, key: Any, result: Any, dsk: Any, state: Any, worker_id: Any) -> None:
        self.nbytes = max(self.nbytes, getattr(result, "nbytes", 0))


@pytest.mark.parametrize("dtype", [np.float32, np.int32])  # 'mean', and 'nearest' (labels)
def test_view_and_histogram_never_hold_the_image(dtype: Any) -> None:
    def ramp(block_info: Any = None) -> np.ndarray:
        (r0, r1), (c0, c1) = block_info[None]["array-location"]
        return np.add.outer(np.arange(r0, r1, dtype=dtype), np.arange(c0, c1, dtype=dtype))

    n, c = 16384, 1024
    image = da.map_blocks(ramp, chunks=((c,) * (n // c),) * 2, dtype=dtype)  # 1 GiB
    chunk = c * c * 4
    with dask.config.set(scheduler="sync"), _Largest() as largest:
        tracemalloc.start()
        try:
            got = view(image, max_size=512)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        counts, _ = histogram(image, bins=64, range=(0, 2 * n))
    assert 0 < largest.nbytes <= chunk  # no task result bigger than a chunk
    assert peak < image.nbytes / 16
    f = n // 512  # window means of a ramp: the ramp at the window centres
    centres = np.arange(512) * f + ((f - 1) / 2 if dtype == np.float32 else 0)  # or firsts
    np.testing.assert_allclose(got, np.add.outer(centres, centres))
    assert counts.sum() == n * n


def png(path: Path) -> np.ndarray:
    assert path.read_bytes()[:8] == PNG
    return mpimg.imread(path)


def test_save_image_gray_with_vmin_vmax(tmp_path: Path) -> None:
    x = np.zeros((64, 64))
    x[:, 32:] = 1.0
    rgba = png(save_image(x, tmp_path / "default.png"))
    assert rgba.shape[:2] == (512, 512)  # small views scale up by whole pixels (8 here)
    assert np.allclose(rgba[260, 4, :3], 0) and np.allclose(rgba[260, 508, :3], 1)
    rgba = png(save_image(da.from_array(x, chunks=10), tmp_path / "v.png", vmin=-1, vmax=3))
    assert np.allclose(rgba[260, 4, :3], 0.25, atol=0.01)  # (0 - -1) / 4
    assert np.allclose(rgba[260, 508, :3], 0.5, atol=0.01)  # (1 - -1) / 4
    stack = np.arange(5.0)[:, None, None] * np.ones((5, 64, 64))
    rgba = png(save_image(stack, tmp_path / "plane.png", plane=1, vmin=0, vmax=4))
    assert np.allclose(rgba[..., :3], 0.25, atol=0.01)


@pytest.mark.parametrize(
    ("shape", "max_size", "title"),
    [((300, 600), 1024, None), ((1000, 3000), 100, None), ((2000, 700), 300, "tall")],
)
def test_picture_aspect_follows_the_image(
    tmp_path: Path, shape: tuple[int, int], max_size: int, title: str | None
) -> None:
    image = bigimg.datasets.natural(shape, chunks=256)
    rgba = png(save_image(image, tmp_path / "a" / "b.png", max_size=max_size, title=title))
    height = rgba.shape[0] - (32 if title else 0)  # a title adds a band on top
    assert abs(height / rgba.shape[1] - shape[0] / shape[1]) < 0.02
    assert max(rgba.shape[:2]) <= max(max_size, 512) + 32


def test_existing_file_is_refused_and_left_untouched(tmp_path: Path) -> None:
    x = np.random.default_rng(3).random((40, 50))
    for save in (save_image, save_histogram):
        target = tmp_path / f"{save.__name__}.png"
        target.write_bytes(b"precious")
        with pytest.raises(TargetExistsError):
            save(x, target)
        assert target.read_bytes() == b"precious"
        assert save(x, target, overwrite=True) == target
        assert png(target).ndim == 3


def test_label_colours_depend_on_the_id_only() -> None:
    ids = np.arange(1, 301)
    colours = _label_colors(ids)
    assert colours.shape == (300, 3) and len(np.unique(colours, axis=0)) == 300
    assert (colours.max(axis=1) >= 0.7).all()  # never mistaken for the black background
    assert (_label_colors(np.array([0, 0])) == 0).all()
    np.testing.assert_array_equal(_label_colors(np.array([7])), colours[[6]])
    np.testing.assert_array_equal(_label_colors(np.array([7, 3], np.uint16)), colours[[6, 2]])
    np.testing.assert_array_equal(_label_colors(np.array([[300]], np.int32))[0], colours[[299]])


def test_label_pictures_use_the_same_colour_for_an_id(tmp_path: Path) -> None:
    a = np.zeros((64, 64), np.int32)
    b = np.zeros((64, 64), np.int64)
    a[8:24, 8:24], a[40:60, 40:60] = 5, 2
    b[8:24, 8:24], b[40:60, 40:60], b[0:4, 50:64] = 5, 900, 901
    rgba_a = png(save_image(a, tmp_path / "a.png", labels=True))
    rgba_b = png(save_image(da.from_array(b, chunks=7), tmp_path / "b.png", labels=True))
    five = _label_colors(np.array([5]))[0]
    np.testing.assert_allclose(rgba_a[16 * 8 + 4, 16 * 8 + 4, :3], five, atol=1 / 255)
    np.testing.assert_array_equal(rgba_a[16 * 8 + 4, 16 * 8 + 4], rgba_b[16 * 8 + 4, 16 * 8 + 4])
    assert not np.allclose(rgba_a[50 * 8, 50 * 8, :3], rgba_b[50 * 8, 50 * 8, :3])
    assert np.allclose(rgba_a[4, 4, :3], 0) and np.allclose(rgba_b[4, 4, :3], 0)


def _red(rgba: np.ndarray) -> np.ndarray:
    return (rgba[..., 0] > 0.4) & (rgba[..., 1] < 0.2) & (rgba[..., 2] < 0.2)


def test_contour_follows_the_mask_edge(tmp_path: Path) -> None:
    yy, xx = np.mgrid[:64, :64]
    mask = (yy - 30) ** 2 + (xx - 34) ** 2 < 18**2
    rgba = png(save_image(np.zeros((64, 64)), tmp_path / "c.png", vmin=0, vmax=1, contour=mask))
    red = _red(rgba)
    big = np.kron(mask, np.ones((8, 8), bool))  # the mask in PNG pixels
    distance = ndi.distance_transform_edt(big) + ndi.distance_transform_edt(~big)  # to the edge
    assert red.sum() > 2 * np.pi * 18 * 8  # a line all round
    assert distance[red].max() <= 4  # within half an image pixel of the mask's edge
    nothing = png(save_image(np.zeros((64, 64)), tmp_path / "n.png", vmin=0, vmax=1))
    assert not _red(nothing).any()
    # downsampled 10x, a float contour, several levels: still lines
    image = bigimg.datasets.natural((1000, 1200), chunks=300)
    rgba = png(save_image(image, tmp_path / "d.png", max_size=120, contour=image, levels=0.5))
    assert _red(rgba).sum() > 100


def test_save_histogram_marks_thresholds(tmp_path: Path) -> None:
    image = bigimg.datasets.natural((300, 300), chunks=100)
    plain = png(save_histogram(image, tmp_path / "h.png", bins=64))
    marked = png(save_histogram(image, tmp_path / "t.png", thresholds=[0.3, 0.6], log=True))
    assert plain.shape == marked.shape and plain.shape[1] > plain.shape[0]
    assert not _red(plain).any()
    columns = np.flatnonzero(_red(marked).sum(axis=0) > 0.3 * marked.shape[0])
    assert len(columns) >= 2 and np.ptp(columns) > 50  # two vertical lines, apart


def test_preview_opens_paths(tmp_path: Path) -> None:
    x = np.random.default_rng(4).random((30, 90)).astype(">f4")
    x.tofile(tmp_path / "x.raw")
    out = preview(tmp_path / "x.raw", tmp_path / "x.png", dtype=">f4", shape=(30, 90))
    assert abs(png(out).shape[0] / png(out).shape[1] - 1 / 3) < 0.02
    np.save(tmp_path / "m.npy", x > 0.5)
    mask = str(tmp_path / "m.npy")
    out = preview(
        tmp_path / "x.raw", tmp_path / "y.png", dtype=">f4", shape=(30, 90), contour=mask
    )
    assert _red(png(out)).any()
    out = preview(x, tmp_path / "h.png", kind="histogram", bins=8, thresholds=0.5)
    assert png(out).shape[1] > png(out).shape[0]


def test_cli_preview(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = (np.arange(40 * 60).reshape(40, 60) % 251).astype("<u2")
    a.tofile(tmp_path / "a.raw")
    np.save(tmp_path / "mask.npy", a > 100)
    raw = [str(tmp_path / "a.raw"), "--dtype", "<u2", "--shape", "40,60"]
    out = tmp_path / "pics" / "a.png"
    assert main(["preview", *raw, "-o", str(out), "--vmin", "0", "--vmax", "250"]) == 0
    assert str(out) in capsys.readouterr().out
    assert abs(png(out).shape[0] / png(out).shape[1] - 40 / 60) < 0.02
    argv = [
        "preview",
        *raw,
        "-o",
        str(tmp_path / "c.png"),
        "--contour",
        str(tmp_path / "mask.npy"),
    ]
    assert main([*argv, "--levels", "0.5,0.8", "--max-size", "30"]) == 0
    assert _red(png(tmp_path / "c.png")).any()
    hist = ["preview", *raw, "-o", str(tmp_path / "h.png"), "--histogram", "--bins", "16"]
    assert main([*hist, "--threshold", "50", "120", "--log"]) == 0
    assert png(tmp_path / "h.png").shape[1] > png(tmp_path / "h.png").shape[0]
    capsys.readouterr()

    before = out.read_bytes()
    bad = {
        "max_size": ["-o", str(tmp_path / "z.png"), "--max-size", "0"],
        "--bins": ["-o", str(tmp_path / "z.png"), "--bins", "8"],
        "--labels": ["-o", str(tmp_path / "z.png"), "--histogram", "--labels"],
        "--levels": ["-o", str(tmp_path / "z.png"), "--contour", "m.npy", "--levels", "a,b"],
        "overwrite": ["-o", str(out)],
    }
    for words, extra in bad.items():
        assert main(["preview", *raw, *extra]) == 2
        err = capsys.readouterr().err
        assert err.startswith("bigimg preview: error:") and words in err, err
    assert not (tmp_path / "z.png").exists() and out.read_bytes() == before
    assert main(["preview", *raw, "-o", str(out), "--overwrite", "--labels"]) == 0
