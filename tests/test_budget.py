"""The memory budget of a job, checked before work (bigimg.pipeline.budget)."""

from __future__ import annotations

import os
import re
import textwrap
from pathlib import Path

import dask
import dask.array as da
import numpy as np
import pytest

import bigimg.ndimage as bnd
from bigimg import _budget, pipeline
from bigimg.cli import main
from bigimg.errors import TaskMemoryError
from bigimg.pipeline import budget

JOB = textwrap.dedent(
    """\
    input: {{synthetic: blobs_intensity, shape: [4096, 4096], chunks: {chunks}, dtype: float32}}
    steps:
      blurred: {{op: gaussian_filter, input: image, sigma: 4}}
      mask: {{expr: "blurred > 0.5"}}
      labels: {{op: label, input: mask}}
    outputs:
      - {{from: blurred, path: blurred.zarr}}
      - {{from: labels, path: labels.zarr}}
    cluster: {{workers: 1, memory_limit: 256MiB}}
    """
)


def _job(tmp_path: Path, chunks: list[int]) -> pipeline.Job:
    return pipeline.loads(JOB.format(chunks=chunks), output_dir=tmp_path / "out")


def test_a_job_whose_tasks_cannot_fit_is_refused_before_work(tmp_path: Path) -> None:
    job = _job(tmp_path, [4096, 4096])
    with pytest.raises(pipeline.ConfigError) as refused:
        pipeline.run(job, progress=False)
    text = str(refused.value)
    assert "step 'blurred'" in text and "256.0 MiB per worker" in text
    assert "step 'labels'" in text
    fit = re.search(
        r"input chunks of \[(\d+), (\d+)\] fit \(--set input.chunks=\[\d+,\d+\]\)", text
    )
    assert fit is not None, text
    assert not (tmp_path / "out" / "blurred.zarr").exists()  # nothing was computed
    # the suggested chunks do fit: the same job with them passes the check
    budget.check(pipeline.plan(_job(tmp_path, [int(fit[1]), int(fit[2])])))


def test_projection_follows_the_chunks_and_the_halo(tmp_path: Path) -> None:
    small = pipeline.plan(_job(tmp_path, [512, 512])).task_memory()
    large = pipeline.plan(_job(tmp_path, [1024, 1024])).task_memory()
    # a fused gaussian pass: the block extended by the halo (4 * 4 + 1 each side),
    # in doubles, for the step and its result
    assert small["blurred"] == (512 + 34) ** 2 * 8 * 2
    assert large["blurred"] == (1024 + 34) ** 2 * 8 * 2
    assert large["labels"] == 4 * small["labels"]
    assert large["image"] == 1024 * 1024 * 4


def test_dry_run_prints_projected_and_allowed_memory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "job.yaml"
    path.write_text(JOB.format(chunks=[512, 512]))
    assert main(["run", str(path), "--dry-run", "--out", str(tmp_path / "o")]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("memory per"))
    assert "projected" in line and "allowed 256.0 MiB: 256.0 MiB per worker / 1 thread(s)" in line
    path.write_text(JOB.format(chunks=[4096, 4096]))
    assert main(["run", str(path), "--dry-run", "--out", str(tmp_path / "o")]) == 2
    assert "more than the 256.0 MiB one task may use" in capsys.readouterr().err


def test_threads_share_the_memory_available(tmp_path: Path) -> None:
    limit, how = budget.allowed({})
    assert limit is not None and limit > 0 and "available" in how
    # a job's ``threads`` is the threaded scheduler's count (bigimg.cluster.compute_context)
    four, how = budget.allowed({"threads": 4})
    assert four is not None and how.endswith("/ 4 threads"), how
    assert four < limit or os.cpu_count() == 4
    # a local cluster's workers have one thread each, whatever ``threads`` says
    per_worker, how = budget.allowed({"workers": 2, "memory_limit": "1GiB", "threads": 4})
    assert per_worker == 2**30 and how == "1.0 GiB per worker / 1 thread(s)"
    remote, how = budget.allowed({"scheduler": "tcp://127.0.0.1:1"})
    assert remote is None and "remote" in how


# --- calls of the Python API (bigimg._budget) -----------------------------------------------


def test_a_call_whose_tasks_cannot_fit_is_refused_when_called() -> None:
    huge = da.zeros((60_000, 60_000), chunks=(60_000, 60_000), dtype=np.float32)  # 13 GiB
    for call, name in [
        (lambda: bnd.gaussian_filter(huge, 2), "gaussian_filter"),
        (lambda: bnd.median_filter(huge, 3), "median_filter"),
        (lambda: bnd.binary_opening(huge > 0), "binary"),
        (lambda: bnd.label(huge > 0)[0], "label"),
    ]:
        with pytest.raises(TaskMemoryError) as refused:  # on threads: refused when called
            call()
        text = str(refused.value)
        assert text.startswith(name) and "one task may use" in text, text
        fit = [int(n) for n in re.search(r"rechunk to \[(\d+), (\d+)\]", text).groups()]  # type: ignore[union-attr]
        assert fit[0] < 60_000 and fit == sorted(fit)
    # the suggested chunks are accepted (and nothing runs: the call is lazy)
    bnd.gaussian_filter(huge.rechunk((4096, 4096)), 2)


def test_a_call_on_a_cluster_is_held_to_its_workers_memory_limit() -> None:
    from distributed import Client, LocalCluster

    image = da.zeros((8192, 8192), chunks=(8192, 8192), dtype=np.float32)  # 256 MiB a chunk
    with (
        LocalCluster(
            n_workers=1,
            threads_per_worker=2,
            memory_limit="256MiB",
            processes=False,
            dashboard_address=":0",
        ) as cluster,
        Client(cluster),
    ):
        with pytest.raises(TaskMemoryError, match=r"256\.0 MiB per worker / 2 threads"):
            bnd.gaussian_filter(image, 2)
        bnd.gaussian_filter(image.rechunk(1024), 2)  # 1024^2 chunks fit in 128 MiB
    bnd.gaussian_filter(image, 2)  # on threads again: the memory of this machine


def test_jobs_check_their_plan_not_each_call(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # with every call's allowance 1 byte, a job whose plan fits still runs:
    # its calls are not checked again (the plan was, by bigimg.pipeline.budget)
    monkeypatch.setattr(_budget, "allowance", lambda: (1, "1 byte, for the test"))
    with pytest.raises(TaskMemoryError):
        bnd.gaussian_filter(da.zeros((64, 64), chunks=32), 2)
    job = pipeline.loads(
        JOB.format(chunks=[1024, 1024]).replace("cluster: {workers: 1, memory_limit: 256MiB}", ""),
        output_dir=tmp_path / "out",
    )
    pipeline.run(job, progress=False)
    assert (tmp_path / "out" / "labels.zarr").exists()
    with dask.config.set({_budget.CHECK: False}):  # the switch, for any call
        bnd.gaussian_filter(da.zeros((64, 64), chunks=32), 2)
