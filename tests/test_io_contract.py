"""One contract every source and sink passes: round trips, laziness, errors."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dask.array as da
import numpy as np
import pytest
import tifffile
import zarr

import bigimg
import bigimg.cli
from bigimg.errors import IncompleteDataError, TargetExistsError, UnknownFormatError
from tests.guards import count_bytes_read, raise_if_dask_computes

ALL_DTYPES = [
    "bool",
    "uint8",
    "int16",
    "uint16",
    "int32",
    "int64",
    "float32",
    "float64",
    "complex64",
]
TIFF_DTYPES = ["uint8", "int16", "uint16", "int32", "float32", "float64"]


def sample(shape: tuple[int, ...], dtype: str, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if dtype == "bool":
        return rng.random(shape) > 0.5
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return rng.integers(info.min, info.max, size=shape, endpoint=True, dtype=dtype)
    if np.issubdtype(dtype, np.complexfloating):
        return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(dtype)
    return (rng.standard_normal(shape) * 1000).astype(dtype)


# --- sources, each written by an independent writer --------------------------------


@dataclass(frozen=True)
class Source:
    name: str
    write: Callable[[np.ndarray, Path], tuple[Path, dict[str, Any]]]
    dtypes: tuple[str, ...]


def _raw_c(a: np.ndarray, d: Path) -> tuple[Path, dict[str, Any]]:
    a.tofile(d / "img.raw")
    return d / "img.raw", {"dtype": a.dtype.str, "shape": a.shape}


def _raw_f(a: np.ndarray, d: Path) -> tuple[Path, dict[str, Any]]:
    a.ravel(order="F").tofile(d / "img.bin")
    return d / "img.bin", {"dtype": a.dtype.str, "shape": a.shape, "order": "F"}


def _raw_big_endian_offset(a: np.ndarray, d: Path) -> tuple[Path, dict[str, Any]]:
    big = a.astype(a.dtype.newbyteorder(">"))
    with open(d / "img.dat", "wb") as f:
        f.write(b"HEADER-17-BYTES!!")
        big.tofile(f)
    return d / "img.dat", {"dtype": big.dtype.str, "shape": a.shape, "offset": 17}


def _npy_c(a: np.ndarray, d: Path) -> tuple[Path, dict[str, Any]]:
    np.save(d / "img.npy", a)
    return d / "img.npy", {}


def _npy_f(a: np.ndarray, d: Path) -> tuple[Path, dict[str, Any]]:
    np.save(d / "img.npy", np.asfortranarray(a))
    return d / "img.npy", {}


def _zarr(fmt: int) -> Callable[[np.ndarray, Path], tuple[Path, dict[str, Any]]]:
    def write(a: np.ndarray, d: Path) -> tuple[Path, dict[str, Any]]:
        z = zarr.create_array(
            str(d / "img.zarr"),
            shape=a.shape,
            dtype=a.dtype,
            chunks=tuple(max(1, s // 3) for s in a.shape),
            zarr_format=fmt,
        )
        z[...] = a
        return d / "img.zarr", {}

    return write


def _zarr_group(a: np.ndarray, d: Path) -> tuple[Path, dict[str, Any]]:
    g = zarr.open_group(str(d / "grp.zarr"), mode="w")
    g.create_array("raw", shape=a.shape, dtype=a.dtype, chunks=a.shape)[...] = a
    g.create_array("other", shape=(2,), dtype="u1", chunks=(2,))
    return d / "grp.zarr", {"component": "raw"}


def _tiff_tiled(a: np.ndarray, d: Path) -> tuple[Path, dict[str, Any]]:
    tifffile.imwrite(d / "img.tif", a, tile=(16, 16), bigtiff=True)
    return d / "img.tif", {}


def _tiff_strips(a: np.ndarray, d: Path) -> tuple[Path, dict[str, Any]]:
    tifffile.imwrite(d / "img.tiff", a, rowsperstrip=7)
    return d / "img.tiff", {}


SOURCES = [
    Source("raw-C", _raw_c, tuple(ALL_DTYPES)),
    Source("raw-F", _raw_f, tuple(ALL_DTYPES)),
    Source("raw-big-endian-offset", _raw_big_endian_offset, tuple(ALL_DTYPES)),
    Source("npy-C", _npy_c, tuple(ALL_DTYPES)),
    Source("npy-F", _npy_f, tuple(ALL_DTYPES)),
    Source("zarr-v2", _zarr(2), tuple(ALL_DTYPES)),
    Source("zarr-v3", _zarr(3), tuple(ALL_DTYPES)),
    Source("zarr-group", _zarr_group, tuple(ALL_DTYPES)),
    Source("tiff-tiled", _tiff_tiled, tuple(TIFF_DTYPES)),
    Source("tiff-strips", _tiff_strips, tuple(TIFF_DTYPES)),
]
SOURCE_CASES = [pytest.param(s, dt, id=f"{s.name}-{dt}") for s in SOURCES for dt in s.dtypes]


@pytest.mark.parametrize(("source", "dtype"), SOURCE_CASES)
@pytest.mark.parametrize("shape", [(37, 53), (5, 33, 20)], ids=["2d", "3d"])
def test_source_round_trip(
    source: Source, dtype: str, shape: tuple[int, ...], tmp_path: Path
) -> None:
    expected = sample(shape, dtype)
    path, options = source.write(expected, tmp_path)
    image = bigimg.open(path, **options)
    assert isinstance(image, da.Array)
    assert image.shape == expected.shape
    assert image.dtype == expected.dtype.newbyteorder("=")
    np.testing.assert_array_equal(image.compute(), expected)
    # user chunks, uneven ones included, and slicing of the lazy array
    uneven = tuple((s - 3, 3) if s > 3 else (s,) for s in shape)
    rechunked = bigimg.open(path, chunks=uneven, **options)
    assert rechunked.chunks == uneven
    np.testing.assert_array_equal(rechunked[1:, ::-2].compute(), expected[1:, ::-2])
    np.testing.assert_array_equal(rechunked[2].compute(), expected[2])


@pytest.mark.parametrize("source", SOURCES[:8] + SOURCES[8:9], ids=lambda s: s.name)
def test_source_on_schedulers(source: Source, scheduler: str, tmp_path: Path) -> None:
    expected = sample((64, 48), "uint16")
    path, options = source.write(expected, tmp_path)
    image = bigimg.open(path, chunks=(20, 17), **options)
    np.testing.assert_array_equal(image.compute(), expected)


def test_info_for_every_format(tmp_path: Path) -> None:
    a = sample((40, 30), "uint16")
    for source in SOURCES:
        d = tmp_path / source.name
        d.mkdir()
        path, options = source.write(a, d)
        info = bigimg.info(path, **options)
        assert info.shape == a.shape, source.name
        assert info.dtype == a.dtype, source.name
        assert info.nbytes == a.nbytes, source.name
        assert info.complete, source.name
        expected_format = {"raw": "raw", "npy": "npy", "zarr": "zarr-v", "tiff": "tiff"}
        kind = source.name.split("-")[0]
        assert info.format.startswith(expected_format[kind]) or (
            kind == "tiff" and info.format == "bigtiff"
        ), (source.name, info.format)


# --- sinks ------------------------------------------------------------------------

SINKS = [
    pytest.param(
        "out.zarr",
        {},
        lambda p: zarr.open_array(str(p), mode="r")[...],
        tuple(ALL_DTYPES),
        id="zarr-v3",
    ),
    pytest.param(
        "out.zarr",
        {"zarr_format": 2},
        lambda p: zarr.open_array(str(p), mode="r")[...],
        tuple(ALL_DTYPES),
        id="zarr-v2",
    ),
    pytest.param(
        "out.ome.zarr",
        {"min_size": 8},
        lambda p: zarr.open_group(str(p), mode="r")["0"][...],
        tuple(ALL_DTYPES),
        id="ome-zarr-v3",
    ),
    pytest.param(
        "out.ome.zarr",
        {"zarr_format": 2, "min_size": 8},
        lambda p: zarr.open_group(str(p), mode="r")["0"][...],
        tuple(ALL_DTYPES),
        id="ome-zarr-v2",
    ),
    pytest.param("out.tif", {"tile": (16, 16)}, tifffile.imread, tuple(TIFF_DTYPES), id="tiff"),
]


@pytest.mark.parametrize(("name", "options", "reader", "dtypes"), SINKS)
@pytest.mark.parametrize("shape", [(37, 53), (4, 33, 20)], ids=["2d", "3d"])
def test_sink_round_trip(
    name: str,
    options: dict[str, Any],
    reader: Callable[[Path], Any],
    dtypes: tuple[str, ...],
    shape: tuple[int, ...],
    tmp_path: Path,
) -> None:
    for dtype in dtypes:
        expected = sample(shape, dtype)
        array = da.from_array(expected, chunks=tuple((s // 2 + 1, s - s // 2 - 1) for s in shape))
        out = bigimg.save(array, tmp_path / dtype / name, **options)
        np.testing.assert_array_equal(reader(out), expected, err_msg=dtype)
        np.testing.assert_array_equal(bigimg.open(out).compute(), expected, err_msg=dtype)
        assert bigimg.info(out).complete


@pytest.mark.parametrize("name", ["out.zarr", "out.ome.zarr", "out.tif"])
def test_sink_on_schedulers(name: str, scheduler: str, tmp_path: Path) -> None:
    expected = sample((300, 290), "float32")
    out = bigimg.save(da.from_array(expected, chunks=(64, 100)), tmp_path / name)
    np.testing.assert_array_equal(bigimg.open(out).compute(), expected)


def test_ome_zarr_pyramid_and_metadata(tmp_path: Path) -> None:
    image = sample((100, 70), "float32")
    out = bigimg.save(image, tmp_path / "p.ome.zarr", min_size=20, scale=(0.5, 0.25))
    info = bigimg.info(out)
    assert info.levels == ((100, 70), (50, 35), (25, 18), (13, 9))
    assert info.axes == ("y", "x")
    assert info.scale == (0.5, 0.25)
    assert bigimg.info(out, level=2).scale == (2.0, 1.0)
    level1 = bigimg.open(out, level=1).compute()
    np.testing.assert_allclose(
        level1[:2, :2],
        [
            [image[0:2, 0:2].mean(), image[0:2, 2:4].mean()],
            [image[2:4, 0:2].mean(), image[2:4, 2:4].mean()],
        ],
        rtol=1e-6,
    )
    with pytest.raises(ValueError, match="level=9 is out of range"):
        bigimg.open(out, level=9)


def test_ome_zarr_written_by_others_is_read(tmp_path: Path) -> None:
    """NGFF 0.4 metadata as other tools write it (zarr v2, version in multiscales)."""
    g = zarr.open_group(str(tmp_path / "o.zarr"), mode="w", zarr_format=2)
    a = sample((3, 16, 16), "uint8")
    g.create_array("s0", shape=a.shape, dtype=a.dtype, chunks=(1, 16, 16))[...] = a
    g.create_array("s1", shape=(3, 8, 8), dtype=a.dtype, chunks=(1, 8, 8))[...] = a[:, ::2, ::2]
    g.attrs["multiscales"] = [
        {
            "version": "0.4",
            "axes": [
                {"name": "c", "type": "channel"},
                {"name": "y", "type": "space"},
                {"name": "x", "type": "space"},
            ],
            "datasets": [
                {
                    "path": "s0",
                    "coordinateTransformations": [{"type": "scale", "scale": [1, 1, 1]}],
                },
                {
                    "path": "s1",
                    "coordinateTransformations": [{"type": "scale", "scale": [1, 2, 2]}],
                },
            ],
        }
    ]
    np.testing.assert_array_equal(bigimg.open(tmp_path / "o.zarr").compute(), a)
    np.testing.assert_array_equal(
        bigimg.open(tmp_path / "o.zarr", level=1).compute(), a[:, ::2, ::2]
    )
    assert bigimg.info(tmp_path / "o.zarr").axes == ("c", "y", "x")


# --- laziness ---------------------------------------------------------------------


def test_window_of_4gib_raw_reads_under_one_percent(tmp_path: Path) -> None:
    path = tmp_path / "huge.raw"
    with open(path, "wb") as f:  # sparse: 4 GiB on paper, nothing on disk
        f.truncate(32768 * 32768 * 4)
    with count_bytes_read() as opened:
        image = bigimg.open(path, dtype="float32", shape=(32768, 32768))
    with count_bytes_read() as n:
        window = image[20000:20100, 5000:5100].compute(scheduler="sync")
    assert window.shape == (100, 100)
    assert opened[0] < 2**16
    assert n[0] < 0.01 * 4 * 2**30
    assert n[0] <= 100 * 100 * 4 * 2  # essentially the window itself


@pytest.mark.parametrize("kind", ["npy", "zarr", "tiff"])
def test_window_reads_a_small_fraction(kind: str, tmp_path: Path) -> None:
    data = sample((2048, 2048), "uint8")
    if kind == "npy":
        path = tmp_path / "a.npy"
        np.save(path, data)
    elif kind == "zarr":
        path = tmp_path / "a.zarr"
        zarr.create_array(str(path), shape=data.shape, dtype=data.dtype, chunks=(256, 256))[
            ...
        ] = data
    else:
        path = tmp_path / "a.tif"
        tifffile.imwrite(path, data, tile=(256, 256))
    stored = sum(f.stat().st_size for f in [path, *path.rglob("*")] if f.is_file())
    image = bigimg.open(path)
    with count_bytes_read() as n:
        window = image[1000:1100, 600:700].compute(scheduler="sync")
    np.testing.assert_array_equal(window, data[1000:1100, 600:700])
    assert n[0] < 0.05 * stored, (n[0], stored)


def test_open_and_slice_compute_nothing(tmp_path: Path) -> None:
    np.save(tmp_path / "a.npy", sample((64, 64), "float32"))
    with raise_if_dask_computes():
        image = bigimg.open(tmp_path / "a.npy", chunks=16)
        part = image[3:40, ::2] * 2
    assert part.shape == (37, 32)


def test_default_chunks_group_storage_chunks(tmp_path: Path) -> None:
    z = zarr.create_array(
        str(tmp_path / "a.zarr"), shape=(8192, 8192), dtype="float32", chunks=(512, 512)
    )
    image = bigimg.open(tmp_path / "a.zarr")
    sizes = {c for axis in image.chunks for c in axis[:-1]}
    assert all(s % 512 == 0 for s in sizes)  # whole storage chunks
    assert 8 * 2**20 <= image.nbytes / image.npartitions <= 64 * 2**20
    assert z.nchunks_initialized == 0


def test_numpy_and_dask_pass_through() -> None:
    a = sample((300, 200), "int32")
    image = bigimg.open(a)
    assert isinstance(image, da.Array)
    np.testing.assert_array_equal(image.compute(), a)
    d = da.from_array(a, chunks=50)
    assert bigimg.open(d) is d
    assert bigimg.open(d, chunks=100).chunksize == (100, 100)
    with pytest.raises(TypeError, match="do not apply"):
        bigimg.open(a, dtype="u1")


# --- errors -----------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"nope\.npy"):
        bigimg.open(tmp_path / "nope.npy")
    with pytest.raises(FileNotFoundError):
        bigimg.info(tmp_path / "nope.zarr")


def test_unknown_format_lists_supported(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(UnknownFormatError, match=r"raw, npy, tiff, zarr"):
        bigimg.open(tmp_path / "notes.txt")
    with pytest.raises(UnknownFormatError, match="supported"):
        bigimg.open(tmp_path / "notes.txt", format="hdf5")


def test_raw_errors(tmp_path: Path) -> None:
    path = tmp_path / "a.raw"
    np.zeros(100, "u2").tofile(path)
    with pytest.raises(TypeError, match="dtype= and shape="):
        bigimg.open(path)
    with pytest.raises(ValueError, match=r"has 200 bytes but .* needs 400 bytes"):
        bigimg.open(path, dtype="u4", shape=(10, 10))
    with pytest.raises(ValueError, match="order='X'"):
        bigimg.open(path, dtype="u2", shape=(10, 10), order="X")
    with pytest.raises(ValueError, match="offset"):
        bigimg.open(path, dtype="u2", shape=(10, 10), offset=-1)
    with pytest.raises(TypeError, match="not a numpy dtype"):
        bigimg.open(path, dtype="pixels", shape=(10, 10))
    with pytest.raises(TypeError, match="colour"):
        bigimg.open(path, dtype="u2", shape=(10, 10), colour="red")


def test_bad_options_for_each_format(tmp_path: Path) -> None:
    a = sample((8, 8), "uint8")
    np.save(tmp_path / "a.npy", a)
    with pytest.raises(TypeError, match="level"):
        bigimg.open(tmp_path / "a.npy", level=1)
    path, _ = _zarr_group(a, tmp_path)
    with pytest.raises(ValueError, match=r"arrays \['other', 'raw'\]"):
        bigimg.open(path)
    with pytest.raises(ValueError, match="no array 'missing'"):
        bigimg.open(path, component="missing")
    with pytest.raises(TypeError):
        bigimg.open(path, component="raw", dtype="u1")
    with pytest.raises(ValueError, match="chunks"):
        bigimg.open(tmp_path / "a.npy", chunks=(1, 2, 3))
    (tmp_path / "bad.npy").write_bytes(b"\x93NUMPY garbage")
    with pytest.raises(ValueError, match=r"bad\.npy"):
        bigimg.open(tmp_path / "bad.npy")


def _tree_digest(path: Path) -> str:
    h = hashlib.sha256()
    for f in sorted([path, *path.rglob("*")] if path.is_dir() else [path]):
        h.update(str(f.relative_to(path.parent)).encode())
        if f.is_file():
            h.update(f.read_bytes())
    return h.hexdigest()


@pytest.mark.parametrize("name", ["out.zarr", "out.ome.zarr", "out.tif"])
def test_refused_save_leaves_disk_untouched(name: str, tmp_path: Path) -> None:
    first = bigimg.save(sample((20, 20), "uint8", seed=1), tmp_path / name)
    before = _tree_digest(first)
    with raise_if_dask_computes(), pytest.raises(TargetExistsError, match="overwrite=True"):
        bigimg.save(da.zeros((20, 20), dtype="uint8", chunks=10), tmp_path / name)
    assert _tree_digest(first) == before
    bigimg.save(sample((20, 20), "uint8", seed=2), tmp_path / name, overwrite=True)
    np.testing.assert_array_equal(bigimg.open(first).compute(), sample((20, 20), "uint8", seed=2))


def test_overwrite_never_deletes_foreign_data(tmp_path: Path) -> None:
    folder = tmp_path / "precious.zarr"
    folder.mkdir()
    (folder / "thesis.txt").write_text("years of work")
    with pytest.raises(TargetExistsError, match="not a Zarr store"):
        bigimg.save(sample((4, 4), "uint8"), folder, overwrite=True)
    assert (folder / "thesis.txt").read_text() == "years of work"


@pytest.mark.parametrize("name", ["src.zarr", "src.ome.zarr", "src.tif"])
def test_overwriting_the_arrays_own_source_is_refused(name: str, tmp_path: Path) -> None:
    data = sample((40, 30), "float32")
    target = bigimg.save(data, tmp_path / name)
    before = _tree_digest(target)
    derived = bigimg.open(target, chunks=10) + 1
    with raise_if_dask_computes(), pytest.raises(ValueError, match="reads from"):
        bigimg.save(derived, target, overwrite=True)
    assert _tree_digest(target) == before
    np.testing.assert_array_equal(bigimg.open(target).compute(), data)
    # raw and npy sources too, and saving elsewhere still works
    np.save(tmp_path / "a.npy", data)
    with pytest.raises(ValueError, match="reads from"):
        bigimg.save(
            bigimg.open(tmp_path / "a.npy"), tmp_path / "a.npy", format="zarr", overwrite=True
        )
    out = bigimg.save(derived, tmp_path / "elsewhere.zarr")
    np.testing.assert_array_equal(bigimg.open(out).compute(), data + 1)


def test_unknown_target_format(tmp_path: Path) -> None:
    with pytest.raises(UnknownFormatError, match=r"\.zarr"):
        bigimg.save(sample((4, 4), "uint8"), tmp_path / "out.png")
    assert not (tmp_path / "out.png").exists()


def _failing(shape: tuple[int, ...]) -> da.Array:
    def boom(block: np.ndarray, block_info: Any = None) -> np.ndarray:
        if block_info[0]["chunk-location"] == (1, 1):
            raise OSError("disk on fire")
        return block

    return da.ones(shape, chunks=10, dtype="float32").map_blocks(boom, dtype="float32")


@pytest.mark.parametrize("name", ["out.zarr", "out.ome.zarr", "out.tif"])
def test_failed_save_never_looks_finished(name: str, tmp_path: Path) -> None:
    with pytest.raises(OSError, match="disk on fire"):
        bigimg.save(
            _failing((30, 30)), tmp_path / name, **({"min_size": 8} if "ome" in name else {})
        )
    with pytest.raises((IncompleteDataError, FileNotFoundError)):
        bigimg.open(tmp_path / name)
    if (tmp_path / name).exists():
        assert not bigimg.info(tmp_path / name).complete
    assert bigimg.cli.main(["info", str(tmp_path / name)]) != 0


@pytest.mark.parametrize("name", ["out.zarr", "out.tif"])
def test_killed_save_is_recognised_as_incomplete(name: str, tmp_path: Path) -> None:
    target = tmp_path / name
    script = textwrap.dedent(f"""
        import time, dask, dask.array as da, numpy as np, bigimg
        def slow(b):
            time.sleep(0.05)
            return b
        x = da.ones((400, 400), chunks=20, dtype='f4').map_blocks(slow, dtype='f4')
        with dask.config.set(scheduler='threads', num_workers=1):
            bigimg.save(x, {str(target)!r})
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], env={**os.environ})
    deadline = time.time() + 60
    partial = Path(str(target) + ".partial")
    while time.time() < deadline:
        if name.endswith(".zarr") and len(list(target.rglob("c/*"))) > 3:
            break
        if name.endswith(".tif") and partial.exists() and partial.stat().st_size > 0:
            break
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    with pytest.raises(IncompleteDataError):
        bigimg.open(target)
    with pytest.raises(IncompleteDataError):
        bigimg.info(target) if not target.exists() else _raise_if_incomplete(target)


def _raise_if_incomplete(target: Path) -> None:
    if not bigimg.info(target).complete:
        raise IncompleteDataError("incomplete")


@pytest.mark.parametrize("name", ["a.npy", "a.raw", "a.zarr", "a.tif"])
def test_relative_sources_read_the_same_file_from_another_directory(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A task run in another working directory (a worker elsewhere) reads the
    file the path named when it was opened (before: the path stayed relative)."""
    data = np.arange(48, dtype="<u2").reshape(6, 8)
    (tmp_path / "data").mkdir()
    (tmp_path / "elsewhere").mkdir()
    options: dict[str, Any] = {}
    if name == "a.npy":
        np.save(tmp_path / "data" / name, data)
    elif name == "a.raw":
        data.tofile(tmp_path / "data" / name)
        options = {"dtype": "<u2", "shape": (6, 8)}
    elif name == "a.zarr":
        zarr.create_array(str(tmp_path / "data" / name), data=data, chunks=(3, 4))
    else:
        tifffile.imwrite(tmp_path / "data" / name, data)
    monkeypatch.chdir(tmp_path / "data")
    image = bigimg.open(name, **options)
    monkeypatch.chdir(tmp_path / "elsewhere")
    np.testing.assert_array_equal(image.compute(scheduler="sync"), data)
