"""A checked job -> a plan: which steps fuse into one overlap pass, what is stored.

* **Local steps** (filters, local morphology, expressions: anything that
  :func:`bigimg.ndimage.fused` can trace) are never stored on their own: each
  value that leaves them (to a non-local step or an output) is computed by one
  fused overlap pass over the steps it needs, with the summed reach.
* **Non-local steps** (labelling, distance transforms, geometric transforms,
  measurements, histogram thresholds) read their inputs several times or
  reduce over the whole image. Their array inputs that cost work (fused
  passes) and their array results are stored as checkpoints in the job's work
  directory, chunk by chunk, so each is computed once and a rerun after a
  crash starts from them. Their small results (tables, numbers, label counts)
  are stored as JSON.

:meth:`Plan.describe` is the ``--dry-run`` text.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from bigimg._budget import halo_need
from bigimg._halo import Tracer, trace
from bigimg.monitor import size_text
from bigimg.pipeline import grids
from bigimg.pipeline.checks import call
from bigimg.pipeline.config import Job, Output, Step

__all__ = ["Pass", "Plan", "pass_bytes", "plan"]


@dataclass(frozen=True)
class Pass:
    """One fused overlap pass computing ``name`` from ``externals``."""

    name: str
    steps: tuple[str, ...]  # local steps evaluated in it, in order
    externals: tuple[str, ...]  # images it reads (inputs, stored results)
    constants: tuple[str, ...]  # numbers it reads (scalar results)
    depth: Any  # per axis (before, after) halo, or None: separate passes


@dataclass(frozen=True)
class Plan:
    job: Job
    local: frozenset[str]
    stored: tuple[str, ...]  # array values kept as checkpoints, in order
    passes: dict[str, Pass]
    stored_in: dict[str, Output]  # stored values whose checkpoint is a Zarr output

    def target(self, name: str) -> Output | None:
        """The Zarr output that also serves as ``name``'s checkpoint, if any
        (so the value is written once)."""
        return self.stored_in.get(name)

    def pass_for(self, name: str) -> Pass | None:
        return self.passes.get(name)

    def chunk_writes(self) -> int:
        """Chunks written by the whole job (checkpoints and array outputs)."""
        res = self.job.results
        n = sum(res[s].lazy.npartitions for s in self.stored)
        direct = [o for o in self.job.outputs if o.kind == "array" and o.format == "zarr"]
        served = set(map(id, self.stored_in.values()))
        return n + sum(res[o.source].lazy.npartitions for o in direct if id(o) not in served)

    def describe(self) -> str:
        """The ``--dry-run`` text: steps, passes, storage, sizes."""
        job, res = self.job, self.job.results
        lines = [f"job {job.name!r} ({job.file}); outputs under {str(job.output_dir)!r}"]
        lines.append(f"runs on: {_where(job.cluster)}")
        for s in job.sources:
            v = res[s.name].lazy
            what = f"synthetic {s.synthetic}" if s.synthetic else str(s.path)
            lines.append(f"input {s.name}: {what}, {_array(v)}")
        lines.append("steps:")
        for st in job.steps:
            v = res[st.name]
            kind = "local" if st.name in self.local else (
                "reduces when run" if v.eager else "global")  # fmt: skip
            desc = st.expr.text if st.expr else f"{st.op}({', '.join(st.uses)})"
            extra = f"{_array(v.lazy)}" if v.kind == "array" else v.kind
            where = self.target(st.name)
            stored = (
                ""
                if st.name not in self.stored
                else (f", stored in {where.path.name}" if where is not None else ", stored")
            )
            lines.append(f"  {st.name} = {desc}  [{kind}{stored}] {extra}")
        if self.passes:
            lines.append("fused overlap passes:")
        for p in self.passes.values():
            reach = "separate passes (mixed modes or whole-line steps)" if p.depth is None else (
                "reach " + " x ".join(f"{a}+{b}" for a, b in p.depth))  # fmt: skip
            lines.append(
                f"  {p.name}: {' -> '.join(p.steps)} from {', '.join(p.externals)}; {reach}"
            )
        lines.append(f"chunk writes: {self.chunk_writes()}; tasks about {self._tasks()}")
        lines.append("outputs:")
        known = grids.grids(job)
        for o in job.outputs:
            v = res[o.source]
            size = f"{_array(v.lazy)}, {size_text(v.lazy.nbytes)}" if v.kind == "array" else v.kind
            if v.kind == "array" and o.format in ("ome-zarr", "tiff"):
                size += "; " + grids.describe(known.get(o.source), job.step(o.source))
            lines.append(f"  {o.path}  <- {o.source} ({o.format}; {size})")
        return "\n".join(lines)

    def task_memory(self) -> dict[str, int]:
        """Projected peak bytes of one task of each input and array step,
        computed from chunk grids (nothing is built or run): a chunk of the
        result; for a fused pass, its halo-extended block in doubles for each
        step and the result (scipy works in doubles); for a global step
        (labels, distances, measurements) its input, result and working
        copies, four chunks of 8-byte values."""
        res = self.job.results
        out: dict[str, int] = {}
        for s in self.job.sources:
            a = res[s.name].lazy
            out[s.name] = math.prod(max(c) for c in a.chunks) * a.dtype.itemsize
        for st in self.job.steps:
            v = res[st.name]
            if v.kind != "array":
                continue
            a = v.lazy
            pixels = math.prod(max(c) for c in a.chunks)
            p = self.passes.get(st.name)
            if p is not None and p.depth is not None:
                out[st.name] = pass_bytes([max(c) for c in a.chunks], p.depth, len(p.steps))
            elif st.name in self.local:
                out[st.name] = pixels * a.dtype.itemsize
            else:
                out[st.name] = 4 * pixels * max(8, a.dtype.itemsize)
        return out

    def _tasks(self) -> int:
        res = self.job.results
        tasks = 0
        for st in self.job.steps:
            v = res[st.name]
            if v.kind == "array":
                tasks += v.lazy.npartitions * (1 if st.name in self.local else 3)
        return tasks + self.chunk_writes()


def pass_bytes(chunk: list[int], depth: Any, steps: int) -> int:
    """Projected bytes of a fused pass's task: the halo-extended block in
    doubles, for each of its ``steps`` and the result."""
    return halo_need(depth, 8 * (steps + 1))(chunk)


def _where(cluster: Any) -> str:
    if cluster.get("scheduler"):
        return f"dask.distributed scheduler at {cluster['scheduler']}"
    if cluster.get("workers"):
        mem = cluster.get("memory_limit", "default memory")
        return f"local dask.distributed cluster, {cluster['workers']} workers, {mem} each"
    return "threads in this process"


def _array(a: Any) -> str:
    chunks = tuple(max(c) for c in a.chunks)
    return f"{tuple(a.shape)} {a.dtype}, chunks {chunks} x {a.npartitions}"


def _is_local(step: Step, job: Job) -> bool:
    res = job.results
    if any(res[n].kind == "table" for n in step.uses):
        return False
    if step.expr is not None:
        return True
    arrays = [n for n in step.uses if res[n].kind == "array"]
    if not arrays:
        return False

    def probe(*tracers: Any) -> Any:
        env: dict[str, Any] = dict(zip(arrays, tracers))
        env.update({n: res[n].lazy for n in step.uses if n not in env})
        return call(step, env)

    try:
        out, _, _ = trace(probe, [res[n].lazy for n in arrays])
    except Exception:
        return False
    return isinstance(out, Tracer) and out.shape == res[step.name].shape


def plan(job: Job) -> Plan:
    r"""Decide which steps of ``job`` fuse into overlap passes and what is stored.

    Nothing is computed. Local steps (filters, local morphology, expressions)
    are never stored on their own: each value that leaves them is computed by
    one fused overlap pass. The array inputs and results of non-local steps
    (labelling, distance transforms, measurements, ...) are stored as
    checkpoints, unless a Zarr output of the same value serves as one.

    Parameters
    ----------
    job : Job
        A checked job, from :func:`bigimg.pipeline.load` or
        :func:`bigimg.pipeline.loads`.

    Returns
    -------
    Plan
        ``local`` (the fused steps), ``stored`` (the values kept as
        checkpoints, in order), ``passes`` (value -> its fused
        :class:`Pass`), ``stored_in`` (stored values whose checkpoint is a
        Zarr output); :meth:`Plan.describe` is the ``--dry-run`` text and
        :meth:`Plan.chunk_writes` the number of chunks the run writes.

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
    >>> the_plan = plan(job)
    >>> sorted(the_plan.local), the_plan.stored, the_plan.chunk_writes()
    (['mask'], ('mask', 'labels'), 8)
    >>> print(the_plan.describe().splitlines()[1])
    runs on: threads in this process
    """
    res = job.results
    local = frozenset(st.name for st in job.steps if _is_local(st, job))
    stored: list[str] = []
    for st in job.steps:
        if st.name in local:
            continue
        for n in st.uses:
            if n in local and res[n].kind == "array" and n not in stored:
                stored.append(n)
        used_later = any(st.name in other.uses for other in job.steps) or any(
            o.source == st.name for o in job.outputs
        )
        if res[st.name].kind == "array" and used_later:
            stored.append(st.name)
    passes: dict[str, Pass] = {}
    needed = [n for n in stored if n in local] + [
        o.source for o in job.outputs if o.source in local
    ]
    for n in needed:
        if n not in passes:
            passes[n] = _pass(n, job, local)
    stored_in: dict[str, Output] = {}
    for o in job.outputs:
        if o.kind == "array" and o.format == "zarr" and o.source in stored:
            stored_in.setdefault(o.source, o)
    return Plan(job, local, tuple(stored), passes, stored_in)


def _pass(name: str, job: Job, local: frozenset[str]) -> Pass:
    res = job.results
    order: list[str] = []
    externals: list[str] = []
    constants: list[str] = []
    seen: set[str] = set()

    def visit(n: str) -> None:
        if n in seen:
            return
        seen.add(n)
        step = job.step(n)
        if step is not None and n in local:
            for u in step.uses:
                visit(u)
            order.append(n)
        elif res[n].kind == "array":
            externals.append(n)
        else:
            constants.append(n)

    visit(name)
    images = [res[n].lazy for n in externals]
    stand_ins = {c: res[c].lazy for c in constants}
    _, _, depth = trace(program(name, tuple(order), tuple(externals), stand_ins, job), images)
    return Pass(name, tuple(order), tuple(externals), tuple(constants), depth)


def program(
    name: str,
    order: tuple[str, ...],
    externals: tuple[str, ...],
    constants: dict[str, Any],
    job: Job,
) -> Any:
    """The function a fused pass runs: the local steps in order, on its images."""

    def run(*images: Any) -> Any:
        env: dict[str, Any] = dict(zip(externals, images))
        env.update(constants)
        for n in order:
            step = job.step(n)
            assert step is not None
            env[n] = call(step, {u: env[u] for u in step.uses})
        return env[name]

    run.__name__ = name
    return run
