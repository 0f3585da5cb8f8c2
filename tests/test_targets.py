"""What bigimg may write (bigimg.io.targets, bigimg.pipeline.writes, the job lock).

Every target is resolved (absolute, normalised, symlinks resolved) before the
check, so a relative path through ``..`` or a symlink finds what exists; an
existing target is refused without overwrite; a target is claimed atomically
when created (one that appears meanwhile is refused, never adopted); a job
owns only what it created (its identity, not its name); two runs of one job
never run at once.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import dask.array as da
import numpy as np
import pytest
import scipy.ndimage as ndi
import zarr

import bigimg
from bigimg import pipeline
from bigimg.cli import main
from bigimg.errors import TargetExistsError
from bigimg.io import targets
from bigimg.ndimage.regions import write_table
from bigimg.pipeline.lock import JobRunningError, job_lock
from tests.guards import tree_digest


def cli(*argv: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``bigimg ARGV`` run in ``cwd`` (in this process: an exception escaping
    ``main`` fails the test as a traceback would)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.chdir(cwd), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return subprocess.CompletedProcess(list(argv), code, out.getvalue(), err.getvalue())


JOB = """\
output_dir: {out}
input: {{synthetic: blobs_intensity, shape: [64, 64], chunks: [32, 32]}}
steps:
  smooth: {{op: gaussian_filter, input: image, sigma: 1}}
outputs:
  - {{from: smooth, path: {path}}}
"""


def victim(where: Path) -> dict[str, str]:
    """A store written by bigimg.save: the data a careless job must not touch."""
    bigimg.save(np.arange(64.0).reshape(8, 8), where)
    return tree_digest(where)


# --- the case 1: data loss through a relative path ----------------------------


@pytest.mark.parametrize("suffix", ["zarr", "ome.zarr", "tif", "csv", "png"])
def test_relative_output_path_through_dotdot_never_replaces_existing_data(
    tmp_path: Path, suffix: str
) -> None:
    """``output_dir: o1`` and ``path: ../victim/v.<suffix>``, ``o1`` not existing:
    the existing target is refused by --dry-run and by every run, and its
    bytes never change (the old check looked at ``o1/../victim`` literally,
    which does not exist while ``o1`` does not; a second run then replaced it)."""
    target = tmp_path / "victim" / f"v.{suffix}"
    if suffix.endswith("zarr"):
        before = victim(target)
    else:
        target.parent.mkdir()
        target.write_bytes(b"somebody's data")
        before = tree_digest(target)
    job = JOB.format(out="o1", path=f"../victim/v.{suffix}")
    if suffix == "csv":  # a table output: the region table of labelled blobs
        job = job.replace(
            "outputs:",
            "  mask: {expr: 'image > 0.5'}\n  labels: {op: label, input: mask}\n"
            "  table: {op: region_table, labels: labels, image: image}\noutputs:",
        ).replace("from: smooth", "from: table")
    (tmp_path / "job.yaml").write_text(job)
    dry = cli("run", "job.yaml", "--dry-run", cwd=tmp_path)
    assert dry.returncode == 2, dry.stdout + dry.stderr
    assert f"{target}' already exists" in dry.stderr
    for _ in range(2):
        run = cli("run", "job.yaml", "--quiet", cwd=tmp_path)
        assert run.returncode == 2, run.stdout + run.stderr
        assert "already exists; pass --overwrite" in run.stderr
        assert "Traceback" not in run.stderr
    assert tree_digest(target) == before
    assert not (tmp_path / "o1").exists()  # refused before any work: nothing created


def test_output_through_a_symlink_is_the_target_it_points_to(tmp_path: Path) -> None:
    before = victim(tmp_path / "data" / "v.zarr")
    (tmp_path / "link").symlink_to(tmp_path / "data")
    (tmp_path / "job.yaml").write_text(JOB.format(out="o", path="../link/v.zarr"))
    with pytest.raises(pipeline.ConfigError, match=r"data/v\.zarr' already exists"):
        pipeline.load(tmp_path / "job.yaml", output_dir=tmp_path / "o")
    assert tree_digest(tmp_path / "data" / "v.zarr") == before


def test_home_relative_output_is_expanded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    before = victim(tmp_path / "v.zarr")
    with pytest.raises(pipeline.ConfigError, match=f"'{tmp_path}/v.zarr' already exists"):
        pipeline.loads(JOB.format(out=tmp_path / "o", path="~/v.zarr"))
    assert tree_digest(tmp_path / "v.zarr") == before


def test_save_convert_table_and_preview_resolve_dotdot(tmp_path: Path) -> None:
    """The same hole in every writer: ``missing/../x`` where ``x`` exists is
    refused with TargetExistsError (before: zarr's own error, or a replaced file)."""
    before = victim(tmp_path / "v.zarr")
    x = np.ones((4, 4))
    with pytest.raises(TargetExistsError):
        bigimg.save(x, tmp_path / "missing" / ".." / "v.zarr")
    (tmp_path / "t.csv").write_text("theirs")
    with pytest.raises(TargetExistsError):
        write_table({"a": [1]}, tmp_path / "missing" / ".." / "t.csv")
    (tmp_path / "p.png").write_bytes(b"theirs")
    with pytest.raises(TargetExistsError):
        bigimg.preview.save_image(x, tmp_path / "missing" / ".." / "p.png")
    np.save(tmp_path / "src.npy", x)
    run = cli("convert", "src.npy", "missing/../v.zarr", cwd=tmp_path)
    assert run.returncode == 2 and "already exists" in run.stderr, run.stderr
    run = cli("preview", "src.npy", "-o", "missing/../p.png", cwd=tmp_path)
    assert run.returncode == 2 and "already exists" in run.stderr, run.stderr
    assert tree_digest(tmp_path / "v.zarr") == before
    assert (tmp_path / "t.csv").read_text() == "theirs"
    assert (tmp_path / "p.png").read_bytes() == b"theirs"
    assert not (tmp_path / "missing").exists()


# --- atomic claims: a target that appears between the check and the write -----------


def test_claims_refuse_what_appeared(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "theirs").write_text("x")
    with pytest.raises(TargetExistsError, match="appeared"):
        targets.claim_directory(tmp_path / "d")
    (tmp_path / "empty").mkdir()  # even an empty directory is not adopted
    with pytest.raises(TargetExistsError, match="appeared"):
        targets.claim_directory(tmp_path / "empty")
    (tmp_path / "f").write_text("theirs")
    partial = tmp_path / "f.partial"
    partial.write_text("mine")
    with pytest.raises(TargetExistsError, match="appeared"):
        targets.publish(partial, tmp_path / "f")
    assert (tmp_path / "f").read_text() == "theirs" and not partial.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d", "empty", "f"]  # no leftovers


def test_zarr_target_appearing_after_the_check_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "out.zarr"
    clear = targets.clear

    def racing_clear(path: Path) -> None:  # another writer, right after the check
        clear(path)
        zarr.create_array(str(target), data=np.arange(64.0).reshape(8, 8))

    monkeypatch.setattr(targets, "clear", racing_clear)
    with pytest.raises(TargetExistsError, match="appeared"):
        bigimg.save(da.ones((8, 8), chunks=4), target)
    np.testing.assert_array_equal(zarr.open_array(str(target))[:], np.arange(64.0).reshape(8, 8))


def test_tiff_target_appearing_during_the_write_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "out.tif"

    def appear(block: np.ndarray) -> np.ndarray:
        if not target.exists():
            target.write_bytes(b"another writer's file")
        return block

    array = da.ones((64, 64), chunks=32, dtype="u1").map_blocks(appear, meta=np.ones((), "u1"))
    with pytest.raises(TargetExistsError, match="appeared"):
        bigimg.save(array, target, tile=(32, 32))
    assert target.read_bytes() == b"another writer's file"
    assert not Path(f"{target}.partial").exists()


# --- a job owns only what it created ---------------------------------------------------


def test_job_owns_its_target_by_identity_not_name(tmp_path: Path) -> None:
    """A job wrote ``s.zarr``; the user replaced it with their own store of the
    same name: the job's next run (same or changed) refuses it without
    --overwrite, where the old journal, keyed by name, treated it as the job's."""
    job_file = tmp_path / "job.yaml"
    job_file.write_text(JOB.format(out=tmp_path / "o", path="s.zarr"))
    pipeline.run(pipeline.load(job_file), progress=False)
    out = tmp_path / "o" / "s.zarr"
    assert pipeline.load(job_file).outputs  # a rerun of the finished job is accepted
    shutil.rmtree(out)
    before = victim(out)
    with pytest.raises(pipeline.ConfigError, match="already exists; pass --overwrite"):
        pipeline.load(job_file)
    job_file.write_text(job_file.read_text().replace("sigma: 1", "sigma: 2"))
    with pytest.raises(pipeline.ConfigError, match="already exists; pass --overwrite"):
        pipeline.load(job_file)
    assert tree_digest(out) == before
    summary = pipeline.run(pipeline.load(job_file, overwrite=True), progress=False)
    assert summary.written == 4
    image = bigimg.datasets.blobs_intensity(shape=(64, 64), chunks=(32, 32)).compute()
    np.testing.assert_array_equal(bigimg.open(out), ndi.gaussian_filter(image, 2))


def test_target_appearing_between_check_and_run_is_refused(tmp_path: Path) -> None:
    job = pipeline.loads(JOB.format(out=tmp_path / "o", path="s.zarr"))
    before = victim(tmp_path / "o" / "s.zarr")  # another program, after the check
    with pytest.raises(pipeline.ConfigError, match="already exists"):
        pipeline.run(job, progress=False)
    assert tree_digest(tmp_path / "o" / "s.zarr") == before


def test_overwrite_never_deletes_a_directory_that_is_not_a_store(tmp_path: Path) -> None:
    (tmp_path / "o" / "s.zarr").mkdir(parents=True)
    (tmp_path / "o" / "s.zarr" / "notes.txt").write_text("mine")
    with pytest.raises(pipeline.ConfigError, match="not a Zarr store"):
        pipeline.loads(JOB.format(out=tmp_path / "o", path="s.zarr"), overwrite=True)
    assert (tmp_path / "o" / "s.zarr" / "notes.txt").read_text() == "mine"


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("../in.zarr", "would write over the job's input 'image'"),
        ("../in.zarr/x.png", "would write over the job's input 'image'"),
        (".bigimg-job/x.zarr", "would write over the job's work directory"),
    ],
)
def test_outputs_over_inputs_or_the_work_dir_are_refused_even_with_overwrite(
    tmp_path: Path, path: str, message: str
) -> None:
    before = victim(tmp_path / "in.zarr")
    text = JOB.format(out=tmp_path / "o", path=path).replace(
        "{synthetic: blobs_intensity, shape: [64, 64], chunks: [32, 32]}",
        f"{{path: {tmp_path / 'in.zarr'}}}",
    )
    with pytest.raises(pipeline.ConfigError, match=message):
        pipeline.loads(text, overwrite=True)
    assert tree_digest(tmp_path / "in.zarr") == before
    assert not (tmp_path / "o").exists()


def test_nested_and_repeated_outputs_and_a_file_as_output_dir_are_refused(
    tmp_path: Path,
) -> None:
    text = JOB.format(out=tmp_path / "o", path="a.zarr") + (
        "  - {from: smooth, path: a.zarr/b.png}\n  - {from: smooth, path: ./x/../a.zarr}\n"
    )
    with pytest.raises(pipeline.ConfigError) as info:
        pipeline.loads(text)
    assert "lies inside output" in str(info.value)
    assert "written twice" in str(info.value)
    (tmp_path / "file").write_text("x")
    with pytest.raises(pipeline.ConfigError, match="is not a directory"):
        pipeline.loads(JOB.format(out=tmp_path / "file", path="a.zarr"))
    assert (tmp_path / "file").read_text() == "x"


# --- one run of a job at a time ----------------------------------------------------------


def test_second_run_is_refused_naming_the_running_one(tmp_path: Path) -> None:
    (tmp_path / "job.yaml").write_text(JOB.format(out="o", path="s.zarr"))
    job = pipeline.load(tmp_path / "job.yaml", output_dir=tmp_path / "o")
    with job_lock(job.work_dir):
        run = cli("run", "job.yaml", "--quiet", cwd=tmp_path)
        assert run.returncode == 2, run.stderr
        assert f"already running (process {os.getpid()} on" in run.stderr
        assert not (tmp_path / "o" / "s.zarr").exists()
        with pytest.raises(JobRunningError):
            pipeline.run(job, progress=False)
    assert cli("run", "job.yaml", "--quiet", cwd=tmp_path).returncode == 0


def test_a_killed_run_does_not_leave_the_lock_stuck(tmp_path: Path) -> None:
    work = tmp_path / "o" / ".bigimg-job"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(f"""
                import sys, time
                from pathlib import Path
                from bigimg.pipeline.lock import job_lock
                with job_lock(Path({str(work)!r})):
                    print("locked", flush=True)
                    time.sleep(60)
            """),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    with pytest.raises(JobRunningError, match=f"process {holder.pid}"), job_lock(work):
        pass
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    with job_lock(work):  # free again at once
        pass


def test_two_runs_started_together_give_correct_outputs(tmp_path: Path) -> None:
    text = JOB.format(out="o", path="s.zarr").replace("[64, 64]", "[1024, 1024]")
    text = text.replace("[32, 32]", "[128, 128]")
    (tmp_path / "job.yaml").write_text(text)
    command = [sys.executable, "-m", "bigimg.cli", "run", "job.yaml", "--quiet"]
    runs = [subprocess.Popen(command, cwd=tmp_path, stderr=subprocess.PIPE, text=True)]
    time.sleep(0.05)
    runs.append(subprocess.Popen(command, cwd=tmp_path, stderr=subprocess.PIPE, text=True))
    results = [(r.wait(timeout=300), r.communicate()[1]) for r in runs]
    codes = sorted(code for code, _ in results)
    assert codes in ([0, 0], [0, 2]), results
    for code, err in results:
        assert code == 0 or "this job is already running (process" in err, err
    image = bigimg.datasets.blobs_intensity(shape=(1024, 1024), chunks=(128, 128)).compute()
    np.testing.assert_array_equal(
        bigimg.open(tmp_path / "o" / "s.zarr"), ndi.gaussian_filter(image, 1)
    )


def test_input_path_through_dotdot_is_found(tmp_path: Path) -> None:
    victim(tmp_path / "in.zarr")
    text = JOB.format(out=tmp_path / "o", path="s.zarr").replace(
        "{synthetic: blobs_intensity, shape: [64, 64], chunks: [32, 32]}",
        f"{{path: {tmp_path / 'missing' / '..' / 'in.zarr'}}}",
    )
    job = pipeline.loads(text)
    assert job.sources[0].path == tmp_path / "in.zarr"


def test_output_folder_below_a_file_is_refused_before_work(tmp_path: Path) -> None:
    (tmp_path / "file.txt").write_text("x")
    (tmp_path / "job.yaml").write_text(JOB.format(out="file.txt/x", path="s.zarr"))
    run = cli("run", "job.yaml", "--dry-run", cwd=tmp_path)
    assert run.returncode == 2, run.stdout + run.stderr
    assert "file.txt' is not a directory" in run.stderr
    assert (tmp_path / "file.txt").read_text() == "x"
