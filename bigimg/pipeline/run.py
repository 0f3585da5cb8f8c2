"""Running a plan: values built in order, stored results written chunk by chunk
(resumable), outputs written, progress shown, a summary at the end.

Every array write goes through :class:`~bigimg.pipeline.checkpoint.ChunkWriter`,
so a run killed at any moment (``kill -9`` included) and started again with
the same command skips the chunks already written and the stored results
already complete, and ends with the same bytes as an uninterrupted run.
A run of a *changed* job never reuses a stored result or an output of the old
one: stored results are keyed by the fingerprint of everything they depend on
(a changed step gets new ones), and an output written by the old job is
refused when the job is checked unless ``--overwrite`` is given.
"""

from __future__ import annotations

import contextlib
import functools
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import dask
import dask.array as da
import numpy as np
import psutil
import zarr

import bigimg
import bigimg.ndimage as bnd
from bigimg._budget import CHECK
from bigimg.io import targets
from bigimg.monitor import PeakMemory
from bigimg.ndimage.regions import write_table
from bigimg.pipeline import budget, grids, ops, writes
from bigimg.pipeline.checkpoint import ChunkWriter, Journal
from bigimg.pipeline.checks import Problems, call_with_extra
from bigimg.pipeline.config import ConfigError, Job, Output
from bigimg.pipeline.lock import job_lock
from bigimg.pipeline.plan import Plan, plan, program
from bigimg.pipeline.sections import draws_labels
from bigimg.pipeline.writes import check_targets

__all__ = ["Progress", "Summary", "run"]


class Progress:
    """A one-line progress bar of chunk writes on ``stream`` (stderr)."""

    def __init__(self, total: int, stream: TextIO | None = None, enabled: bool = True) -> None:
        self.total, self.done = max(total, 1), 0
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.start = time.perf_counter()
        self._last = 0.0
        self.label = ""

    def stage(self, text: str) -> None:
        self.label = text
        self._draw(force=True)

    def advance(self, n: int = 1) -> None:
        self.done += n
        self._draw()

    def _draw(self, force: bool = False) -> None:
        now = time.perf_counter()
        if not self.enabled or (not force and now - self._last < 0.25):
            return
        self._last = now
        frac = min(self.done / self.total, 1.0)
        if not self.stream.isatty():  # a log: one line per stage
            if force:
                self.stream.write(f"{frac:4.0%} {now - self.start:6.1f} s  {self.label}\n")
            return
        bar = "#" * int(frac * 30)
        self.stream.write(
            f"\r[{bar:<30}] {frac:4.0%} {self.done}/{self.total} chunks "
            f"{now - self.start:6.1f} s  {self.label[:40]:<40}"
        )
        self.stream.flush()

    def close(self) -> None:
        if self.enabled and self.stream.isatty():
            self._draw(force=True)
            self.stream.write("\n")


@dataclass
class Summary:
    """What a run did."""

    seconds: float = 0.0
    where: str = ""
    written: int = 0
    skipped: int = 0
    read_bytes: int = 0
    written_bytes: int = 0
    peak_memory: int = 0
    objects: dict[str, int] = field(default_factory=dict)
    outputs: list[str] = field(default_factory=list)

    def text(self) -> str:
        lines = [
            f"done in {self.seconds:.1f} s on {self.where}",
            f"  chunks written {self.written}, skipped {self.skipped} (already written)",
            f"  read {_gib(self.read_bytes)}, wrote {_gib(self.written_bytes)}",
            f"  peak memory of all processes: {_gib(self.peak_memory)}",
        ]
        for name, n in self.objects.items():
            lines.append(f"  objects found by {name}: {n}")
        lines.append("  outputs:")
        lines.extend(f"    {o}" for o in self.outputs)
        return "\n".join(lines)


def _gib(n: int) -> str:
    return f"{n / 2**30:.2f} GiB"


def _io() -> tuple[int, int]:
    me = psutil.Process()
    read = written = 0
    for proc in [me, *me.children(recursive=True)]:
        with contextlib.suppress(psutil.Error, AttributeError):
            io = proc.io_counters()
            read += io.read_chars
            written += io.write_chars
    return read, written


class _Runner:
    def __init__(self, plan: Plan, writer: ChunkWriter, progress: Progress) -> None:
        self.plan, self.job = plan, plan.job
        self.writer, self.progress = writer, progress
        self.journal = writer.journal
        self.values: dict[str, Any] = {}
        self.objects: dict[str, int] = {}

    @functools.cached_property
    def grids(self) -> dict[str, Any]:
        """Each value's physical grid (:mod:`bigimg.pipeline.grids`)."""
        return grids.grids(self.job)

    def value(self, name: str) -> Any:
        if name not in self.values:
            self.values[name] = self._compute(name)
        return self.values[name]

    def _compute(self, name: str) -> Any:
        job, fp = self.job, self.job.fingerprint(name)
        source = next((s for s in job.sources if s.name == name), None)
        if source is not None:
            return source.open()
        stored = name in self.plan.stored
        output = self.plan.target(name)
        target, target_fp = self.journal.checkpoint(name, fp), fp
        if output is not None:
            target, target_fp = output.path, job.output_fingerprint(output)
        if stored and self.writer.is_complete(target, target_fp):
            self.writer.skipped += len(self.journal.done(target))
            extra = self.journal.load_value(name, fp)
            if isinstance(extra, int):
                self.objects[name] = extra
            return _reopen(target)
        p = self.plan.pass_for(name)
        if p is not None:
            images = [self.value(e) for e in p.externals]
            constants = {c: self.value(c) for c in p.constants}
            value = bnd.fused(program(name, p.steps, p.externals, constants, job))(*images)
        else:
            step = job.step(name)
            assert step is not None
            if job.results[name].kind != "array":
                saved = self.journal.load_value(name, fp)
                if saved is not None:
                    return _decode(saved)
            self.progress.stage(f"{name}: {step.op}")
            step = grids.with_spacing(step, self.grids)
            value, extra = call_with_extra(step, {u: self.value(u) for u in step.uses})
            if job.results[name].kind != "array":
                self.journal.save_value(name, fp, _encode(value))
                return _decode(_encode(value))
            if isinstance(extra, int | np.integer):
                self.objects[name] = int(extra)
                self.journal.save_value(name, fp, int(extra))
        if stored:
            self.progress.stage(f"storing {name}")
            options = _zarr_options(output) if output is not None else {}
            self.writer.write(value, target, target_fp, **options)
            return _reopen(target)
        return value

    def output(self, out: Output) -> str:
        fp = self.job.output_fingerprint(out)
        if self.plan.target(out.source) is out:  # written as the value's checkpoint
            return _describe(out, self.value(out.source))
        direct = out.kind == "array" and out.format == "zarr"
        if direct and self.writer.is_complete(out.path, fp):
            self.writer.skipped += len(self.journal.done(out.path))
            return _describe(out, bigimg.open(out.path))
        if not direct and self._done(out, fp):
            return str(out.path)
        value = self.value(out.source)
        self.progress.stage(f"writing {out.path.name}")
        if direct:
            self.writer.write(value, out.path, fp, **_zarr_options(out))
            return _describe(out, value)
        mine = self.journal.owner(out.path) is not None
        targets.refuse_existing(out.path, overwrite=mine or self.job.overwrite)
        targets.clear(out.path)
        out.path.parent.mkdir(parents=True, exist_ok=True)
        with self.journal.claiming(fp):  # what the writer creates is recorded as ours
            if out.kind == "array" and "labels" in out.options:  # beside its image
                image = writes.label_image_of(out)
                bigimg.save(value, image, labels=out.options["labels"], overwrite=True)
            elif out.kind == "array":
                options = grids.write_options(out.options, self.grids[out.source], out.format)
                bigimg.save(value, out.path, format=out.format, **options)
            elif out.kind == "table":
                table = value if isinstance(value, dict) else ops.as_table(value, out.source)
                write_table(table, out.path)
            else:
                self._picture(out, value)
        return _describe(out, value)

    def _done(self, out: Output, fp: str) -> bool:
        """Written by this job, whole: tables, pictures and TIFFs are renamed
        into place when finished; Zarr stores are marked complete."""
        if self.journal.owner(out.path) != fp or not out.path.exists():
            return False
        return out.kind != "array" or bigimg.info(out.path).complete

    def _picture(self, out: Output, value: Any) -> None:
        from bigimg import preview

        options = dict(out.options)
        kind = options.pop("kind", None)
        if kind == "histogram":
            options.pop("contour", None)
            preview.save_histogram(value, out.path, **options)
            return
        if "contour" in options:
            options["contour"] = self.value(options["contour"])
        step, stand_in = self.job.step(out.source), self.job.results[out.source]
        labels = draws_labels(kind, step, stand_in)
        preview.save_image(value, out.path, labels=labels, **options)


def _describe(out: Output, value: Any) -> str:
    if isinstance(value, da.Array) and out.kind == "array":
        return f"{out.path}  {tuple(value.shape)} {value.dtype}"
    return str(out.path)


def _reopen(target: Path) -> da.Array:
    """A stored result, chunked as it was written (one stored chunk per task)."""
    return bigimg.open(target, chunks=zarr.open_array(str(target), mode="r").chunks)


def _zarr_options(out: Output) -> dict[str, Any]:
    return {"zarr_format": out.options["zarr_format"]} if "zarr_format" in out.options else {}


def _encode(value: Any) -> Any:
    if isinstance(value, dict):
        return {"table": {k: np.asarray(v).tolist() for k, v in value.items()}}
    if isinstance(value, list | tuple):
        return {"table": {k: v.tolist() for k, v in ops.as_table(value, "value").items()}}
    array = np.asarray(value)
    if array.ndim == 0:
        return {"scalar": array.item()}
    return {"table": {k: v.tolist() for k, v in ops.as_table(array, "value").items()}}


def _decode(saved: Any) -> Any:
    if "scalar" in saved:
        return saved["scalar"]
    return {k: np.asarray(v) for k, v in saved["table"].items()}


def run(
    job: Job,
    *,
    keep_work: bool = False,
    progress: bool = True,
    stream: TextIO | None = None,
) -> Summary:
    r"""Run a checked job to the end, resuming an interrupted run of it.

    The job's :func:`~bigimg.pipeline.plan` is executed where the job's
    ``cluster`` says (:func:`bigimg.cluster.compute_context`), chunk by
    chunk: every chunk written is recorded in a journal in the job's work
    directory, so a rerun after a crash (or of a finished job) skips what is
    already written.

    Parameters
    ----------
    job : Job
        From :func:`bigimg.pipeline.load` or :func:`bigimg.pipeline.loads`.
    keep_work : bool, optional, keyword-only
        Keep the stored intermediate results after success (default: removed;
        the journal of outputs stays, so a rerun finds everything done).
    progress : bool, optional, keyword-only
        Show a progress bar on ``stream`` (default True).
    stream : file-like, optional, keyword-only
        Where the progress bar goes (default: ``sys.stderr``).

    Returns
    -------
    Summary
        Time taken, where it ran, chunks written and skipped, bytes read and
        written, peak memory, objects found by labelling steps and the
        outputs; :meth:`Summary.text` is what ``bigimg run`` prints.

    Raises
    ------
    bigimg.pipeline.lock.JobRunningError
        Another run of this job (same output folder) is running.
    bigimg.pipeline.ConfigError
        An output appeared since the job was checked and is not this job's.

    Examples
    --------
    >>> import tempfile
    >>> from bigimg.pipeline import loads
    >>> job = loads(
    ...     "input: {synthetic: square, shape: [32, 32], chunks: 16}\n"
    ...     "steps:\n"
    ...     "  mask: {expr: image > 0.5}\n"
    ...     "  labels: {op: label, input: mask}\n"
    ...     "outputs:\n"
    ...     "  - {from: labels, path: labels.zarr}\n",
    ...     output_dir=tempfile.mkdtemp(),
    ... )
    >>> summary = run(job, progress=False)
    >>> summary.objects, summary.written, summary.skipped
    ({'labels': 1}, 8, 0)
    >>> run(job, progress=False).skipped  # done already: every chunk is skipped
    4
    """
    with job_lock(job.work_dir):  # one run of a job at a time
        return _run_locked(job, keep_work=keep_work, progress=progress, stream=stream)


def _run_locked(job: Job, *, keep_work: bool, progress: bool, stream: TextIO | None) -> Summary:
    problems = Problems(job.file)
    check_targets(job, problems)  # again: another run may have written since the check
    if problems.items:
        raise ConfigError(problems.items)
    the_plan = plan(job)
    budget.check(the_plan)  # before any work: every step's task must fit
    start = time.perf_counter()
    journal = Journal(job.work_dir)
    bar = Progress(the_plan.chunk_writes(), stream, enabled=progress)
    writer = ChunkWriter(journal, bar, overwrite=job.overwrite)
    summary = Summary()
    cluster = dict(job.cluster)
    where_to = bigimg.cluster.compute_context(
        cluster.get("scheduler"),
        workers=cluster.get("workers"),
        memory_limit=cluster.get("memory_limit"),
        threads=cluster.get("threads"),
    )
    # the plan's budget was checked (above); calls inside the job are not checked again
    with PeakMemory() as memory, where_to as where, dask.config.set({CHECK: False}):
        read0, wrote0 = _io()
        runner = _Runner(the_plan, writer, bar)
        for out in job.outputs:
            summary.outputs.append(runner.output(out))
        read1, wrote1 = _io()
    bar.close()
    if not keep_work:
        shutil.rmtree(job.work_dir / "checkpoints", ignore_errors=True)
    summary.seconds = time.perf_counter() - start
    summary.where = where
    summary.written, summary.skipped = writer.written, writer.skipped
    summary.read_bytes, summary.written_bytes = read1 - read0, wrote1 - wrote0
    summary.peak_memory = memory.peak
    summary.objects = runner.objects
    return summary


def output_arrays(job: Job) -> dict[str, da.Array]:
    """The array outputs of a finished job, opened (for checks)."""
    return {str(o.path): bigimg.open(o.path) for o in job.outputs if o.kind == "array"}
