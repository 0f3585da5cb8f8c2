"""Damaged inputs and failing outputs: every error names the file and the chunk,
nothing hangs, and nothing half-written ever looks finished (issue 8, part 3).

Read-only directories and full disks are real: as root (these tests' usual
case) a read-only bind mount and a 256 KiB tmpfs; otherwise ``chmod 0o555``
and a file-size limit (``RLIMIT_FSIZE``; Python ignores ``SIGXFSZ``, so writes
fail with ``EFBIG``).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import resource
import subprocess
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace

import dask
import dask.array as da
import numpy as np
import pytest
import tifffile
import zarr

import bigimg
from bigimg import pipeline
from bigimg.cli import main
from bigimg.errors import (
    CorruptDataError,
    IncompleteDataError,
    MetadataError,
    MissingChunkError,
    WriteError,
)
from bigimg.pipeline.checkpoint import ChunkWriter, Journal
from tests.guards import raise_if_dask_computes


def _sample(shape: tuple[int, ...], dtype: str = "uint16", seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(1, 60000, shape).astype(dtype)


def _mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True, capture_output=True)


def _unmount(path: Path) -> None:
    if subprocess.run(["umount", str(path)], capture_output=True).returncode != 0:
        subprocess.run(["umount", "-l", str(path)], check=True, capture_output=True)


@pytest.fixture
def readonly_dir(tmp_path: Path) -> Iterator[Path]:
    """An existing, empty directory nobody (not even root) can write in."""
    ro = tmp_path / "readonly"
    ro.mkdir()
    if os.geteuid() == 0:  # root ignores permission bits: a read-only bind mount
        _mount("--bind", str(ro), str(ro))
        try:
            _mount("-o", "remount,bind,ro", str(ro))
            yield ro
        finally:
            _unmount(ro)
    else:
        ro.chmod(0o555)
        try:
            yield ro
        finally:
            ro.chmod(0o755)


class SmallDisk:
    """A directory whose writes run out of space inside ``filled()``, until ``grow()``."""

    def __init__(self, path: Path, kind: str) -> None:
        self.path, self.kind = path, kind

    @contextlib.contextmanager
    def filled(self) -> Iterator[None]:
        if self.kind == "tmpfs":  # 256 KiB from the start
            yield
            return
        soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
        resource.setrlimit(resource.RLIMIT_FSIZE, (8192, hard))
        try:
            yield
        finally:
            resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))

    def grow(self) -> None:
        """Free space: later writes succeed."""
        if self.kind == "tmpfs":
            _mount("-o", "remount,size=64m", str(self.path))


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[SmallDisk]:
    path = tmp_path / "disk"
    path.mkdir()
    if os.geteuid() != 0:
        yield SmallDisk(path, "rlimit")
        return
    _mount("-t", "tmpfs", "-o", "size=256k", "tmpfs", str(path))
    try:
        yield SmallDisk(path, "tmpfs")
    finally:
        _unmount(path)


def _no_file_created_in(directory: Path) -> None:
    with pytest.raises(OSError):
        (directory / "probe").write_text("x")
    assert list(directory.iterdir()) == []


# --- 1. raw files -----------------------------------------------------------------


def test_raw_size_mismatch_is_refused_at_open(tmp_path: Path) -> None:
    path = tmp_path / "scan.raw"
    _sample((10, 10)).tofile(path)
    with pytest.raises(ValueError) as info:
        bigimg.open(path, dtype="<u2", shape=(10, 20))
    message = str(info.value)
    assert str(path) in message and "has 200 bytes" in message and "needs 400 bytes" in message
    assert "the file is truncated" in message
    np.save(tmp_path / "a.npy", _sample((10, 10)))
    with open(tmp_path / "a.npy", "r+b") as f:
        f.truncate(150)
    expected = r"a\.npy' has 150 bytes but its header .* needs 328 bytes: the file is truncated"
    with pytest.raises(ValueError, match=expected):
        bigimg.info(tmp_path / "a.npy")


@pytest.mark.parametrize("order", ["C", "F"])
def test_raw_truncated_after_open_names_bytes_and_region(order: str, tmp_path: Path) -> None:
    path = tmp_path / "scan.raw"
    data = _sample((40, 30))
    data.ravel(order=order).tofile(path)
    image = bigimg.open(path, dtype="<u2", shape=(40, 30), order=order, chunks=10)
    np.testing.assert_array_equal(image[:10, :10].compute(), data[:10, :10])
    os.truncate(path, 1200)  # 600 of 1200 pixels left
    with pytest.raises(CorruptDataError) as info:
        image.compute(scheduler="synchronous")
    message = str(info.value)
    match = re.search(r"bytes (\d+)-(\d+) \(array region \[(\d+):(\d+), (\d+):(\d+)\]\)", message)
    assert str(path) in message and match is not None, message
    assert "truncated or changed after it was opened" in message
    first, last, y0, y1, x0, x1 = (int(v) for v in match.groups())
    assert (y1 - y0, x1 - x0) == (10, 10) and last >= 1200 > 0 <= first
    assert isinstance(info.value.__cause__, EOFError)
    # the chunks still inside the file read fine; the error is per chunk
    np.testing.assert_array_equal(image[:10, :10].compute(), data[:10, :10])


# --- 2. missing Zarr chunks --------------------------------------------------------


def _chunk_files(store: Path) -> list[Path]:
    names = {"zarr.json", ".zarray", ".zattrs", ".zgroup"}
    return [p for p in store.rglob("*") if p.is_file() and p.name not in names]


@pytest.mark.parametrize("name, zarr_format", [("a.zarr", 3), ("a.zarr", 2), ("a.ome.zarr", 3)])
def test_missing_chunk_of_a_bigimg_store_is_an_error(
    name: str, zarr_format: int, tmp_path: Path
) -> None:
    data = _sample((40, 40))
    data[:20, :20] = 0  # four chunks equal to the fill value: stored all the same
    options = {"min_size": 40} if "ome" in name else {}
    out = bigimg.save(
        da.from_array(data, chunks=10), tmp_path / name, zarr_format=zarr_format, **options
    )
    array_dir = out / "0" if "ome" in name else out
    marker = zarr.open_array(str(array_dir), mode="r").attrs["bigimg"]
    assert {k: marker[k] for k in ("complete", "every_chunk")} == {
        "complete": True,
        "every_chunk": True,
    }
    files = _chunk_files(array_dir)
    assert len(files) == 16  # every chunk, the zero ones too
    key = "c/0/1" if zarr_format == 3 else "0.1"
    (array_dir / key).unlink()
    image = bigimg.open(out, chunks=20)  # one dask chunk spans four stored chunks
    with pytest.raises(MissingChunkError) as info:
        image.compute()
    message = str(info.value)
    assert f"{str(array_dir)!r}: chunk {key!r} (array region [0:10, 10:20]) is missing" in message
    assert "bigimg wrote this store with every chunk" in message
    assert "missing_chunks='fill'" in message
    np.testing.assert_array_equal(image[20:, :].compute(), data[20:, :])  # other chunks read
    filled = bigimg.open(out, missing_chunks="fill").compute()
    assert (filled[0:10, 10:20] == 0).all()
    np.testing.assert_array_equal(filled[20:], data[20:])


def test_missing_chunk_of_a_foreign_store_reads_the_fill_value(tmp_path: Path) -> None:
    data = _sample((40, 40))
    data[:10, :10] = 7
    z = zarr.create_array(str(tmp_path / "f.zarr"), shape=(40, 40), chunks=(10, 10),
                          dtype="u2", fill_value=7)  # fmt: skip
    z[...] = data  # zarr skips the chunk equal to the fill value
    assert not (tmp_path / "f.zarr" / "c" / "0" / "0").exists()
    np.testing.assert_array_equal(bigimg.open(tmp_path / "f.zarr").compute(), data)
    strict = bigimg.open(tmp_path / "f.zarr", missing_chunks="error")
    with pytest.raises(MissingChunkError) as info:
        strict.compute()
    message = str(info.value)
    assert f"{str(tmp_path / 'f.zarr')!r}: chunk 'c/0/0' (array region [0:10, 0:10])" in message
    assert "missing_chunks='error' was given" in message and "fill value 7" in message
    # an old bigimg marker (no "every_chunk") keeps the Zarr rule and stays complete
    z.attrs["bigimg"] = {"complete": True}
    assert bigimg.info(tmp_path / "f.zarr").complete
    np.testing.assert_array_equal(bigimg.open(tmp_path / "f.zarr").compute(), data)
    with pytest.raises(ValueError, match="missing_chunks='sometimes' must be 'error', 'fill'"):
        bigimg.open(tmp_path / "f.zarr", missing_chunks="sometimes")
    np.save(tmp_path / "a.npy", data)
    with pytest.raises(TypeError, match="missing_chunks"):
        bigimg.open(tmp_path / "a.npy", missing_chunks="error")


def test_incomplete_bigimg_store_read_on_purpose_fills_unwritten_chunks(tmp_path: Path) -> None:
    out = bigimg.save(_sample((20, 20)), tmp_path / "a.zarr")
    z = zarr.open_array(str(out), mode="r+")
    z.attrs["bigimg"] = {"complete": False, "every_chunk": True}
    for f in _chunk_files(out):
        f.unlink()
    with pytest.raises(IncompleteDataError):
        bigimg.open(out)
    assert (bigimg.open(out, allow_incomplete=True).compute() == 0).all()


# --- 3. corrupt Zarr chunks --------------------------------------------------------


@pytest.mark.parametrize("zarr_format", [3, 2])
def test_corrupt_chunk_names_store_and_key(zarr_format: int, tmp_path: Path) -> None:
    data = _sample((40, 40))
    out = bigimg.save(da.from_array(data, chunks=10), tmp_path / "a.zarr",
                      zarr_format=zarr_format)  # fmt: skip
    key = "c/2/3" if zarr_format == 3 else "2.3"
    (out / key).write_bytes(b"\x28\xb5\x2f\xfd garbage, not a Zstandard frame" * 3)
    image = bigimg.open(out, chunks=40)  # one dask chunk over all 16 stored chunks
    with pytest.raises(CorruptDataError) as info:
        image.sum().compute()
    message = str(info.value)
    assert f"{str(out)!r}: chunk {key!r} (array region [20:30, 30:40]) cannot be read" in message
    assert "damaged" in message
    cause = info.value.__cause__
    assert cause is not None and not isinstance(cause, CorruptDataError)
    assert type(cause).__name__ in message and str(cause) in message
    assert not isinstance(info.value, MissingChunkError)


# --- 4. truncated and damaged TIFF -------------------------------------------------


def _tiff(path: Path, layout: str) -> np.ndarray:
    data = _sample((4, 64, 64))
    options = {
        "tiled zlib": {"tile": (16, 16), "compression": "zlib"},
        "tiled raw": {"tile": (16, 16)},
        "strips": {"rowsperstrip": 8},
    }[layout]
    tifffile.imwrite(path, data, photometric="minisblack", **options)
    return data


def _page_data(path: Path, page: int) -> tuple[int, int]:
    with tifffile.TiffFile(path) as tif:
        p = tif.pages[page]
        return min(p.dataoffsets), max(o + c for o, c in zip(p.dataoffsets, p.databytecounts))


@pytest.mark.parametrize(
    "layout, page, expected",
    [
        ("tiled zlib", 2, r"page 2, tile \d+ of 16 \(bytes \d+-\d+\) lies past the end"),
        ("tiled zlib", 3, r"page 3, tile \d+ of 16 \(bytes \d+-\d+\) lies past the end"),
        ("tiled raw", 1, r"page 1, tile \d+ of 16 \(bytes \d+-\d+\) lies past the end"),
        ("strips", 2, r"page 2 \(bytes \d+-\d+\) and the pages after it lie past the end"),
    ],
)
def test_truncated_tiff_is_refused_at_open(
    layout: str, page: int, expected: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "stack.tif"
    _tiff(path, layout)
    start, end = _page_data(path, page)
    os.truncate(path, (start + end) // 2)  # cut in the middle of the page's pixels
    for call in (bigimg.info, bigimg.open):
        with raise_if_dask_computes(), pytest.raises(CorruptDataError) as info:
            call(path)
        message = str(info.value)
        assert str(path) in message and "is truncated" in message, message
        assert re.search(expected, message), message
    assert main(["info", str(path)]) == 1  # damaged data (2: a wrong command)
    assert "stack.tif" in capsys.readouterr().err


def test_damaged_tiff_tile_is_named_when_read(tmp_path: Path) -> None:
    path = tmp_path / "stack.tif"
    data = _tiff(path, "tiled zlib")
    with tifffile.TiffFile(path) as tif:
        offset, count = tif.pages[2].dataoffsets[5], tif.pages[2].databytecounts[5]
    with open(path, "r+b") as f:
        f.seek(offset)
        f.write(b"\0" * count)  # tile 5 of page 2 no longer decodes
    image = bigimg.open(path, chunks=(2, 64, 64))
    np.testing.assert_array_equal(image[:2].compute(), data[:2])
    with pytest.raises(CorruptDataError) as info:
        image.compute()
    message = str(info.value)
    assert f"{str(path)!r}: page 2, tile 5 (array region [2:3, 16:32, 16:32])" in message
    assert "cannot be decoded" in message
    assert info.value.__cause__ is not None and str(info.value.__cause__) in message


# --- 5. broken OME-Zarr metadata ---------------------------------------------------


def _edit_json(file: Path, edit: Callable[[dict], None]) -> None:
    meta = json.loads(file.read_text())
    edit(meta)
    file.write_text(json.dumps(meta))


def _ome(meta: dict) -> dict:
    """The mapping holding ``multiscales`` (NGFF 0.5 in zarr.json, 0.4 in .zattrs)."""
    attrs = meta.get("attributes", meta)
    return attrs["ome"] if "ome" in attrs else attrs


def _dataset(meta: dict, i: int) -> dict:
    return _ome(meta)["multiscales"][0]["datasets"][i]


OME_BREAKAGES: dict[str, tuple[Callable[[dict], None], str]] = {
    "multiscales not a list": (lambda m: _ome(m).update(multiscales={"datasets": []}),
                               r"multiscales must be a list, not dict"),
    "no datasets": (lambda m: _ome(m)["multiscales"][0].pop("datasets"),
                    r"multiscales\[0\] has no 'datasets'"),
    "dataset without path": (lambda m: _dataset(m, 1).pop("path"),
                             r"multiscales\[0\]\.datasets\[1\] has no 'path'"),
    "path to nothing": (lambda m: _dataset(m, 1).update(path="9"),
                        r"multiscales\[0\]\.datasets\[1\]\.path names '9', which is not in"),
    "axes count": (lambda m: _ome(m)["multiscales"][0]["axes"].insert(0, {"name": "c"}),
                   r"multiscales\[0\]\.axes lists 3 axes .* the arrays have 2 dimensions"),
    "scale length": (
        lambda m: _dataset(m, 0)["coordinateTransformations"][0].update(scale=[1.0, 1.0, 1.0]),
        r"multiscales\[0\]\.datasets\[0\]\.coordinateTransformations scale has 3 values"),
    "scale not numbers": (
        lambda m: _dataset(m, 0)["coordinateTransformations"][0].update(scale="big"),
        r"datasets\[0\]\.coordinateTransformations\[0\]\.scale must be a list of numbers"),
}  # fmt: skip


@pytest.mark.parametrize("zarr_format", [3, 2])
@pytest.mark.parametrize("case", sorted(OME_BREAKAGES))
def test_broken_ome_metadata_names_store_and_key(
    case: str, zarr_format: int, tmp_path: Path
) -> None:
    out = bigimg.save(_sample((64, 64)), tmp_path / "p.ome.zarr", zarr_format=zarr_format,
                      min_size=16)  # fmt: skip
    attrs_file = out / ("zarr.json" if zarr_format == 3 else ".zattrs")
    edit, expected = OME_BREAKAGES[case]
    _edit_json(attrs_file, edit)
    for call in (bigimg.info, bigimg.open):
        with raise_if_dask_computes(), pytest.raises(MetadataError) as info:
            call(out)
        message = str(info.value)
        assert message.startswith(f"{str(attrs_file)!r}: malformed OME-Zarr metadata"), message
        assert re.search(expected, message), message
        if zarr_format == 3:
            assert "ome.multiscales" in message


@pytest.mark.parametrize("zarr_format", [3, 2])
@pytest.mark.parametrize("where", ["group", "level"])
def test_invalid_json_names_the_file(zarr_format: int, where: str, tmp_path: Path) -> None:
    out = bigimg.save(_sample((32, 32)), tmp_path / "p.ome.zarr", zarr_format=zarr_format,
                      min_size=16)  # fmt: skip
    name = "zarr.json" if zarr_format == 3 else (".zattrs" if where == "group" else ".zarray")
    bad = (out if where == "group" else out / "0") / name
    bad.write_text(bad.read_text()[:-5])  # cut short: not JSON any more
    with raise_if_dask_computes(), pytest.raises(MetadataError) as info:
        bigimg.info(out)
    assert str(info.value).startswith(f"{str(bad)!r} is not valid JSON"), str(info.value)
    job = tmp_path / "job.yaml"
    job.write_text(f"input: {{path: {out}}}\nsteps:\n  b: {{op: gaussian_filter, input: "
                   "image, sigma: 1}\noutputs:\n  - {from: b, path: b.zarr}\n")  # fmt: skip
    with pytest.raises(pipeline.ConfigError) as config:
        pipeline.load(job, output_dir=tmp_path / "out")
    assert f"input 'image': {str(bad)!r} is not valid JSON" in str(config.value)


# --- 6. read-only output directory -------------------------------------------------


@pytest.mark.parametrize("name", ["out.zarr", "out.ome.zarr", "out.tif", "sub/out.zarr"])
def test_save_into_readonly_directory_fails_before_computing(
    name: str, readonly_dir: Path
) -> None:
    with raise_if_dask_computes(), pytest.raises(WriteError) as info:
        bigimg.save(da.ones((64, 64), chunks=16), readonly_dir / name)
    message = str(info.value)
    where = "parent directory" if "/" in name else "directory"
    assert f"cannot write to {where} {str(readonly_dir)!r} (nothing was computed)" in message
    assert info.value.errno in (errno.EROFS, errno.EACCES)
    _no_file_created_in(readonly_dir)


def test_job_with_output_in_readonly_directory_is_refused(
    readonly_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    job = tmp_path / "job.yaml"
    job.write_text(
        textwrap.dedent("""\
        input: {synthetic: natural, shape: [64, 64], chunks: [32, 32]}
        steps:
          blurred: {op: gaussian_filter, input: image, sigma: 2}
          bad: {op: gaussian_filtr, input: image, sigma: 2}
        outputs:
          - {from: blurred, path: blurred.zarr}
          - {from: blurred, path: blurred.tif}
        """)
    )
    with raise_if_dask_computes(), pytest.raises(pipeline.ConfigError) as info:
        pipeline.load(job, output_dir=readonly_dir)
    problems = info.value.problems
    assert any("unknown op 'gaussian_filtr'" in p for p in problems)  # listed together
    refused = [p for p in problems if "cannot write to directory" in p]
    assert len(refused) == 2, problems
    for p, (line, name) in zip(refused, [(6, "blurred.zarr"), (7, "blurred.tif")]):
        assert p.startswith(f"{job}:{line}: output {str(readonly_dir / name)!r}: cannot write "
                            f"to directory {str(readonly_dir)!r}"), p  # fmt: skip
    # the job alone (no other problem): still refused, exit status 2, nothing computed
    job.write_text(job.read_text().replace("  bad: {op: gaussian_filtr, input: image, sigma: 2}\n",
                                           ""))  # fmt: skip
    with raise_if_dask_computes():
        assert main(["run", str(job), "--out", str(readonly_dir), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert f"cannot write to directory {str(readonly_dir)!r}" in err and "blurred.zarr" in err
    _no_file_created_in(readonly_dir)


# --- 7. full disk ------------------------------------------------------------------


def _noise(shape: tuple[int, int] = (384, 384), chunks: int = 64) -> da.Array:
    return bigimg.datasets.random_field(shape, seed=3, chunks=chunks, dtype="float32")


def test_zarr_save_on_full_disk(small_disk: SmallDisk) -> None:
    target = small_disk.path / "out.zarr"
    with small_disk.filled(), dask.config.set(scheduler="threads"):
        with pytest.raises(WriteError) as info:
            bigimg.save(_noise(), target)
    message = str(info.value)
    match = re.search(r"cannot write chunk 'c/(\d+)/(\d+)' \(array region \[(\d+):", message)
    assert match is not None and f"of {str(target)!r}" in message, message
    assert info.value.errno in (errno.ENOSPC, errno.EFBIG)
    assert int(match.group(3)) == 64 * int(match.group(1))
    with pytest.raises(IncompleteDataError, match=str(target)):
        bigimg.open(target)
    assert not bigimg.info(target).complete
    small_disk.grow()
    bigimg.save(_noise(), target, overwrite=True)
    np.testing.assert_array_equal(bigimg.open(target).compute(), _noise().compute())


def test_tiff_save_on_full_disk(small_disk: SmallDisk) -> None:
    target = small_disk.path / "out.tif"
    with small_disk.filled(), pytest.raises(WriteError) as info:
        bigimg.save(_noise(), target, tile=(64, 64))
    message = str(info.value)
    assert f"of {str(target)!r}" in message and "now removed" in message, message
    assert re.search(r"cannot write page 0, tile \d+ \(array region \[\d+:\d+, \d+:\d+\]\)",
                     message), message  # fmt: skip
    assert info.value.errno in (errno.ENOSPC, errno.EFBIG)
    assert os.listdir(small_disk.path) == []  # neither the TIFF nor its .partial
    with pytest.raises(FileNotFoundError):
        bigimg.open(target)


JOB = """\
input: {synthetic: random_field, shape: [384, 384], chunks: [64, 64], dtype: float32, seed: 3}
steps:
  smooth: {op: gaussian_filter, input: image, sigma: 1}
outputs:
  - {from: smooth, path: smooth.zarr}
"""


def test_job_on_full_disk_fails_then_resumes_to_identical_output(
    small_disk: SmallDisk, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    job = tmp_path / "job.yaml"
    job.write_text(JOB)
    reference = tmp_path / "reference"
    assert main(["run", str(job), "--out", str(reference), "--quiet"]) == 0
    out = small_disk.path / "job"
    target = out / "smooth.zarr"
    capsys.readouterr()
    with small_disk.filled():
        assert main(["run", str(job), "--out", str(out), "--quiet"]) == 1  # 1: failed writing
    err = capsys.readouterr().err
    match = re.search(r"cannot write chunk 'c/(\d+)/(\d+)' \(array region \[", err)
    assert match is not None and f"of {str(target)!r}" in err, err
    assert "No space left on device" in err or "File too large" in err
    with pytest.raises(IncompleteDataError):
        bigimg.open(target)
    journal = Journal(out / ".bigimg-job")
    done = journal.done(target)
    failed = (int(match.group(1)), int(match.group(2)))
    assert failed not in done and len(done) < 36
    if small_disk.kind == "tmpfs":
        assert done  # some chunks fitted before the disk was full
    small_disk.grow()
    assert main(["run", str(job), "--out", str(out), "--quiet"]) == 0
    summary = capsys.readouterr().out
    assert f"chunks written {36 - len(done)}, skipped {len(done)}" in summary, summary
    np.testing.assert_array_equal(
        bigimg.open(target).compute(), bigimg.open(reference / "smooth.zarr").compute()
    )
    marker = zarr.open_array(str(target), mode="r").attrs["bigimg"]
    assert marker["complete"] is True and marker["every_chunk"] is True
    assert len(_chunk_files(target)) == 36


def test_journal_line_cut_short_is_never_extended(tmp_path: Path) -> None:
    """A journal line cut by a full disk (or a kill) is not read together with
    the next one appended, which would record a chunk that was never written."""
    journal, target = Journal(tmp_path / "work"), tmp_path / "a.zarr"
    writer = ChunkWriter(journal, SimpleNamespace(advance=lambda: None))
    array = da.from_array(_sample((20, 20)), chunks=10)
    writer.write(array, target, "job")
    journal.log(target).write_text("0,0;\n1")  # the write of "1,1;\n" was cut short
    writer.write(array, target, "job")  # resumes: the three other chunks again
    assert journal.done(target) == set(np.ndindex(2, 2))
    assert journal.log(target).read_text().startswith("0,0;\n1\n")
    np.testing.assert_array_equal(bigimg.open(target).compute(), array.compute())


def test_table_and_picture_on_a_full_disk_name_the_file(small_disk: SmallDisk) -> None:
    """Small outputs fail like chunks: WriteError naming the file, nothing left behind."""
    from bigimg.ndimage.regions import write_table
    from bigimg.preview import save_image

    table = {"label": np.arange(200_000), "area": np.arange(200_000) * 1.5}  # ~3 MB of CSV
    picture = np.random.default_rng(0).random((1024, 1024))  # noise: a PNG of ~1 MB
    with small_disk.filled():
        with pytest.raises(WriteError, match=r"cannot write the table .*regions\.csv"):
            write_table(table, small_disk.path / "regions.csv")
        with pytest.raises(WriteError, match=r"cannot write the picture .*noise\.png"):
            save_image(picture, small_disk.path / "noise.png", max_size=1024)
    assert list(small_disk.path.iterdir()) == []
