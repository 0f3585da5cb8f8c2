"""The ``bigimg`` command line: info, convert, demo, and its errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.ndimage as ndi
import tifffile
import zarr

import bigimg
from bigimg.cli import main


def test_info_for_each_format(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = np.arange(12 * 10, dtype="<u2").reshape(12, 10)
    a.tofile(tmp_path / "a.raw")
    np.save(tmp_path / "a.npy", a)
    zarr.create_array(str(tmp_path / "v2.zarr"), data=a, zarr_format=2, chunks=(4, 5))
    zarr.create_array(str(tmp_path / "v3.zarr"), data=a, zarr_format=3, chunks=(4, 5))
    bigimg.save(a, tmp_path / "a.ome.zarr", min_size=4)
    tifffile.imwrite(tmp_path / "a.tif", a)
    cases = {
        "a.raw": (["--dtype", "<u2", "--shape", "12,10"], "raw"),
        "a.npy": ([], "npy"),
        "v2.zarr": ([], "zarr-v2"),
        "v3.zarr": ([], "zarr-v3"),
        "a.ome.zarr": ([], "ome-zarr"),
        "a.tif": ([], "tiff"),
    }
    for name, (extra, fmt) in cases.items():
        assert main(["info", str(tmp_path / name), *extra]) == 0
        out = capsys.readouterr().out
        assert f"format:   {fmt}" in out, out
        assert "shape:    (12, 10)" in out
        assert "dtype:    uint16" in out
        assert "bytes:    240" in out
        assert "status:   complete" in out
    main(["info", str(tmp_path / "a.ome.zarr")])
    out = capsys.readouterr().out
    assert "levels:   3" in out and "level 2: (3, 3)" in out
    assert "chunks:   (4, 5)" in main_output(["info", str(tmp_path / "v3.zarr")], capsys)


def main_output(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    main(argv)
    return capsys.readouterr().out


def test_convert_raw_to_zarr(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = np.random.default_rng(0).random((300, 200)).astype(">f4")
    a.tofile(tmp_path / "a.raw")
    argv = [
        "convert",
        str(tmp_path / "a.raw"),
        str(tmp_path / "out.zarr"),
        "--dtype",
        ">f4",
        "--shape",
        "300,200",
        "--chunks",
        "128,64",
    ]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "wrote" in out and "peak memory" in out
    np.testing.assert_array_equal(bigimg.open(tmp_path / "out.zarr").compute(), a)
    assert bigimg.info(tmp_path / "out.zarr").chunks == (128, 64)
    # a second run refuses, names the fix, and changes nothing
    mtime = (tmp_path / "out.zarr" / "zarr.json").stat().st_mtime_ns
    assert main(argv) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert (tmp_path / "out.zarr" / "zarr.json").stat().st_mtime_ns == mtime
    assert main([*argv, "--overwrite", "--zarr-format", "2"]) == 0
    assert bigimg.info(tmp_path / "out.zarr").format == "zarr-v2"


def test_convert_on_local_cluster(tmp_path: Path) -> None:
    a = np.arange(64 * 64, dtype="u2").reshape(64, 64)
    np.save(tmp_path / "a.npy", a)
    argv = [
        "convert",
        str(tmp_path / "a.npy"),
        str(tmp_path / "a.ome.zarr"),
        "--chunks",
        "32,32",
        "--workers",
        "2",
        "--memory-limit",
        "1GiB",
    ]
    assert main(argv) == 0
    np.testing.assert_array_equal(bigimg.open(tmp_path / "a.ome.zarr").compute(), a)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["info", "missing.zarr"], "no such file"),
        (["info", "notes.txt"], "supported formats"),
        (["info", "a.raw"], "dtype= and shape="),
        (["info", "a.raw", "--dtype", "u2", "--shape", "7,7"], "needs 98 bytes"),
        (["convert", "a.raw", "out.png", "--dtype", "u1", "--shape", "10,10"], "suffix"),
    ],
)
def test_errors_are_clear(
    argv: list[str],
    message: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.txt").write_text("hi")
    np.zeros(100, "u1").tofile(tmp_path / "a.raw")
    assert main(argv) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out.png").exists()


def test_demo_runs_the_tutorial_job(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_dir = tmp_path / "demo"
    argv = ["demo", "--out", str(out_dir), "--shape", "300,260", "--chunks", "64,64"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    for name in ("sharpened.zarr", "labels.zarr", "regions.csv", "noisy.png", "labels.png"):
        assert str(out_dir / name) in printed
    image = bigimg.datasets.blobs_intensity(
        (300, 260), n_objects=1000, blob_size=0.25, dtype="float32", seed=0
    )
    noisy = bigimg.datasets.noisy(image, sigma=0.2, seed=1).compute()
    blurred = ndi.gaussian_filter(noisy, 3)
    expected = blurred + 30 * (blurred - ndi.gaussian_filter(blurred, 1))
    np.testing.assert_array_equal(bigimg.open(out_dir / "sharpened.zarr").compute(), expected)
    assert main(argv) == 0  # the same job again: everything is found done
    assert "chunks written 0" in capsys.readouterr().out
    assert main([*argv[:3], "--shape", "200,260"]) == 2  # another job: refuses to overwrite


def test_console_script_runs() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bigimg.cli", "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.startswith("bigimg ")
