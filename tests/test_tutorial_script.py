"""scripts/tutorial_distributed.py runs end to end, and its saved results are scipy's.

The script is run in a subprocess on a small image (on its own LocalCluster,
then on a cluster this test starts); its outputs are compared with
scipy.ndimage applied to the whole in-memory image, recomputed here from
``bigimg.datasets`` with the script's own parameters.
"""

from __future__ import annotations

import csv
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import scipy.ndimage as ndi

import bigimg
from bigimg import datasets

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "tutorial_distributed.py"
TIMEOUT_S = 240
SECTIONS = ("2.6.1", "2.6.2", "2.6.3", "2.6.4", "2.6.5", "2.6.6")


@pytest.fixture(scope="module")
def tutorial() -> ModuleType:
    """The script as a module, for its parameters (running it needs ``main``)."""
    spec = importlib.util.spec_from_file_location("tutorial_distributed", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    return module


def run_script(*args: str) -> subprocess.CompletedProcess[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("BIGIMG_SCHEDULER", "DASK_SCHEDULER_ADDRESS", "DASK_SCHEDULER__ADDRESS")
    }
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        cwd=REPO,
        env=env,
    )


def succeeded(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    assert "self-check failed" not in result.stderr
    for section in SECTIONS:
        assert f"== {section} " in result.stdout, section
    assert re.search(r"^total wall time: \d+\.\d s$", result.stdout, re.MULTILINE)
    return result.stdout


def stored(out: Path, name: str) -> np.ndarray:
    return np.asarray(bigimg.open(out / name).compute())


def test_script_matches_scipy_on_a_local_cluster(tmp_path: Path, tutorial: ModuleType) -> None:
    t = tutorial
    size, out = 256, tmp_path / "out"
    stdout = succeeded(
        run_script("--size", str(size), "--chunks", "64", "--workers", "1", "--out", str(out))
    )
    assert "cluster: 1 worker(s), scheduler tcp://" in stdout
    assert "images: 256 x 256, chunks (64, 64)" in stdout
    for name in t.OUTPUTS:
        assert (out / name).exists(), name
    shape = (size, size)

    # 2.6.1: the image, and the raw file written chunk by chunk
    lena = datasets.natural(shape, seed=t.SEED).compute()
    np.testing.assert_array_equal(stored(out, "natural.zarr"), lena, strict=True)
    raw = np.fromfile(out / "natural_u2.raw", dtype="<u2").reshape(shape)
    np.testing.assert_array_equal(
        raw, datasets.natural(shape, seed=t.SEED, dtype="uint16").compute()
    )

    # 2.6.4: blurring, sharpening, denoising
    np.testing.assert_array_equal(stored(out, "gaussian_3.zarr"), ndi.gaussian_filter(lena, 3))
    blurred = ndi.gaussian_filter(lena, 3)
    sharpened = blurred + t.ALPHA * (blurred - ndi.gaussian_filter(blurred, 1))
    np.testing.assert_array_equal(stored(out, "sharpened.zarr"), sharpened, strict=True)
    noisy = datasets.noisy(lena, sigma=t.DENOISE_SIGMA, seed=t.DENOISE_SEED, kind="uniform")
    noisy = noisy.compute()
    np.testing.assert_array_equal(stored(out, "noisy.zarr"), noisy)
    np.testing.assert_array_equal(
        stored(out, "median_denoised.zarr"), ndi.median_filter(noisy, 3), strict=True
    )

    # 2.6.5: edges of the rotated square
    im = datasets.square(shape, angle=t.EDGE_ANGLE).compute()
    im = ndi.gaussian_filter(im, t.EDGE_SIGMA)
    im = datasets.noisy(im, sigma=t.EDGE_NOISE, seed=t.EDGE_SEED, kind="uniform").compute()
    sob = np.hypot(ndi.sobel(im, axis=0, mode="constant"), ndi.sobel(im, axis=1, mode="constant"))
    np.testing.assert_array_equal(stored(out, "sobel.zarr"), sob, strict=True)

    # 2.6.5: segmentation of the noisy blobs, as the tutorial writes it
    params = {"n_objects": t.BLOB_OBJECTS, "blob_size": t.BLOB_SIZE, "seed": t.BLOB_SEED}
    im = datasets.blobs_intensity(shape, **params).compute()
    mask = datasets.blobs(shape, **params).compute()
    noisy_mask = mask.astype(float) + 0.1 * im
    img = datasets.noisy(noisy_mask, sigma=t.SEGMENT_NOISE, seed=t.SEGMENT_SEED).compute()
    np.testing.assert_array_equal(stored(out, "blobs_noisy.zarr"), img)
    binary_img = img > 0.5
    close_img = ndi.binary_closing(ndi.binary_opening(binary_img))
    np.testing.assert_array_equal(stored(out, "segmentation.zarr"), close_img, strict=True)

    # 2.6.6: measuring objects, as the tutorial writes it
    label_im, nb_labels = ndi.label(mask)
    assert f"label: {nb_labels} objects" in stdout
    sizes = ndi.sum(mask, label_im, range(nb_labels + 1))
    mask_size = sizes < t.min_object_size(size)
    remove_pixel = mask_size[label_im]
    label_im[remove_pixel] = 0
    labels = np.unique(label_im)
    label_im = np.searchsorted(labels, label_im)
    np.testing.assert_array_equal(stored(out, "labels.zarr"), label_im)
    n_kept = len(labels) - 1
    assert 4 <= n_kept < nb_labels  # objects were removed, and label 4 exists
    assert f"relabelled 1..{n_kept} " in stdout
    slice_x, slice_y = ndi.find_objects((label_im == 4) * 1)[0]
    assert f"rows {slice_x.start}:{slice_x.stop}, columns {slice_y.start}:{slice_y.stop}" in stdout
    with open(out / "regions.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["label"]) for r in rows] == list(range(1, n_kept + 1))
    np.testing.assert_array_equal(
        [int(r["area"]) for r in rows], ndi.sum(mask, label_im, range(1, n_kept + 1))
    )
    np.testing.assert_allclose(
        [float(r["intensity_mean"]) for r in rows],
        ndi.mean(im, label_im, range(1, n_kept + 1)),
        rtol=1e-12,
    )

    # a second run refuses to overwrite, before starting a cluster
    again = run_script("--size", str(size), "--out", str(out))
    assert again.returncode == 2
    assert "--overwrite" in again.stderr


def test_script_joins_a_given_scheduler(tmp_path: Path) -> None:
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=1,
        threads_per_worker=1,
        processes=False,
        protocol="tcp",  # not inproc://: the script runs in another process
        host="127.0.0.1",
        dashboard_address=":0",
    ) as cluster:
        address = cluster.scheduler_address
        stdout = succeeded(
            run_script(
                "--scheduler", address, "--size", "128", "--chunks", "64", "--out", str(tmp_path)
            )
        )
        assert f"cluster: 1 worker(s), scheduler {address}" in stdout
        # the work ran here: the scheduler saw the script's tasks
        prefixes = set(cluster.scheduler.task_prefixes)
        assert {"label", "rotate", "sobel"} <= prefixes
        assert any(p.startswith("fused-sharpen") for p in prefixes)
    assert (tmp_path / "labels.zarr").exists()
