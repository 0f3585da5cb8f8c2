"""Processes dying in the middle of a job on a 2-worker LocalCluster.

* A **worker** killed (``SIGKILL``) mid-job: the nanny starts a new one, the
  scheduler recomputes what the dead worker held, and the job finishes with
  outputs identical to an undisturbed run's (and to scipy's).
* The **client** (``bigimg run --scheduler``) killed mid-job: the scheduler
  drops the dead client's work and stays usable; the same command run again
  resumes from the journal and finishes with identical outputs.

The job: gaussian filter -> threshold -> label -> region table, saved to Zarr
and CSV (filter -> label -> measure -> save).
"""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import scipy.ndimage as ndi

import bigimg
from bigimg import datasets, pipeline

SHAPE, CHUNK = (512, 512), 64
IMAGE = {"n_objects": 40, "blob_size": 0.2, "dtype": "float32", "seed": 5}
JOB = f"""\
job: workers
output_dir: out
input: {{synthetic: blobs_intensity, shape: {list(SHAPE)}, chunks: [{CHUNK}, {CHUNK}],
         n_objects: {IMAGE["n_objects"]}, blob_size: {IMAGE["blob_size"]},
         dtype: {IMAGE["dtype"]}, seed: {IMAGE["seed"]}}}
steps:
  smoothed: {{op: gaussian_filter, input: image, sigma: 2}}
  mask: {{op: threshold, input: smoothed, value: 0.5}}
  labels: {{op: label, input: mask}}
  regions: {{op: region_table, labels: labels, image: image}}
outputs:
  - {{from: smoothed, path: smoothed.zarr}}
  - {{from: labels, path: labels.zarr}}
  - {{from: regions, path: regions.csv}}
"""
TIMEOUT_S = 300


@pytest.fixture(scope="module")
def cluster() -> Iterator[tuple[object, object]]:
    """A LocalCluster of 2 single-threaded worker processes (with nannies), and a client."""
    from distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as local,
        Client(local, set_as_default=False) as client,
    ):
        yield local, client


@pytest.fixture(scope="module")
def job_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("job") / "job.yaml"
    path.write_text(textwrap.dedent(JOB))
    return path


@pytest.fixture(scope="module")
def undisturbed(job_file: Path, cluster: tuple[object, object]) -> Path:
    """Outputs of the job run to the end on the cluster, nothing killed."""
    out = job_file.parent / "undisturbed"
    subprocess.run(_command(job_file, out, cluster), check=True, capture_output=True)
    return out


def _command(job_file: Path, out: Path, cluster: tuple[object, object]) -> list[str]:
    address = cluster[0].scheduler_address  # type: ignore[attr-defined]
    return [sys.executable, "-m", "bigimg.cli", "run", str(job_file), "--quiet",
            "--out", str(out), "--scheduler", address]  # fmt: skip


def _journal_lines(out: Path) -> int:
    return sum(p.read_text().count(";\n") for p in out.glob(".bigimg-job/journal/*.log"))


def _total_writes(job_file: Path, out: Path) -> int:
    return pipeline.plan(pipeline.load(job_file, output_dir=out)).chunk_writes()


def _when_journal_reaches(proc: subprocess.Popen[str], out: Path, count: int) -> int:
    """Wait until ``count`` chunks are recorded (or the job ends); the count seen."""
    deadline = time.time() + TIMEOUT_S
    while proc.poll() is None and time.time() < deadline:
        seen = _journal_lines(out)
        if seen >= count:
            return seen
        time.sleep(0.005)
    raise AssertionError(f"the job ended or hung before recording {count} chunks")


def _assert_same_outputs(out: Path, reference: Path) -> None:
    for name in ("smoothed.zarr", "labels.zarr"):
        a, b = bigimg.open(reference / name).compute(), bigimg.open(out / name).compute()
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(b, a)
    assert (out / "regions.csv").read_bytes() == (reference / "regions.csv").read_bytes()


def test_undisturbed_run_equals_scipy(undisturbed: Path) -> None:
    image = datasets.blobs_intensity(SHAPE, **IMAGE).compute()
    smoothed = ndi.gaussian_filter(image, 2)
    labels, n = ndi.label(smoothed > 0.5)
    assert n > 20
    np.testing.assert_array_equal(bigimg.open(undisturbed / "smoothed.zarr").compute(), smoothed)
    np.testing.assert_array_equal(bigimg.open(undisturbed / "labels.zarr").compute(), labels)
    with open(undisturbed / "regions.csv") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["area"]) for r in rows] == np.bincount(labels.ravel())[1:].tolist()
    sums = ndi.sum_labels(image, labels, np.arange(1, n + 1))
    np.testing.assert_allclose([float(r["intensity_sum"]) for r in rows], sums, rtol=1e-12)


@pytest.mark.parametrize("fraction", [0.15, 0.6])
def test_job_survives_a_killed_worker(
    fraction: float,
    job_file: Path,
    cluster: tuple[object, object],
    undisturbed: Path,
    tmp_path: Path,
) -> None:
    """Killed while the mask is stored (0.15) and while labels are written (0.6)."""
    client = cluster[1]
    out = tmp_path / "out"
    total = _total_writes(job_file, out)
    before = client.run(os.getpid)  # type: ignore[attr-defined]
    proc = subprocess.Popen(
        _command(job_file, out, cluster),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        at_kill = _when_journal_reaches(proc, out, int(total * fraction))
        victim = min(before.values())
        os.kill(victim, signal.SIGKILL)
        output, _ = proc.communicate(timeout=TIMEOUT_S)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, output
    assert 0 < at_kill < total
    # the job went on without the killed worker: all chunks written by this one run
    assert f"chunks written {total}, skipped 0" in output, output
    # the nanny replaced the worker; the cluster has 2 workers again
    deadline = time.time() + 60
    while len(after := client.run(os.getpid)) < 2 and time.time() < deadline:  # type: ignore[attr-defined]
        time.sleep(0.1)
    assert victim not in after.values() and len(after) == 2
    _assert_same_outputs(out, undisturbed)


def test_killed_client_leaves_the_cluster_usable_and_a_rerun_resumes(
    job_file: Path, cluster: tuple[object, object], undisturbed: Path, tmp_path: Path
) -> None:
    local, client = cluster
    out = tmp_path / "out"
    total = _total_writes(job_file, out)
    command = _command(job_file, out, cluster)
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _when_journal_reaches(proc, out, total // 2)  # type: ignore[arg-type]
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    done_before = _journal_lines(out)
    assert 0 < done_before < total
    # the scheduler forgets the dead client's tasks; the workers live on
    scheduler = local.scheduler  # type: ignore[attr-defined]
    deadline = time.time() + 60
    while scheduler.tasks and time.time() < deadline:
        time.sleep(0.1)
    assert not scheduler.tasks, f"{len(scheduler.tasks)} tasks of the dead client remain"
    assert client.submit(sum, [1, 2]).result() == 3  # type: ignore[attr-defined]
    resumed = subprocess.run(command, check=True, capture_output=True, text=True)
    written = int(resumed.stdout.split("chunks written ")[1].split(",")[0])
    skipped = int(resumed.stdout.split("skipped ")[1].split()[0].rstrip(","))
    assert skipped >= done_before and written + skipped == total, resumed.stdout
    _assert_same_outputs(out, undisturbed)
