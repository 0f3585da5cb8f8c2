"""Memory per task, checked before any work: projected from chunk grids,
against what one task may use where the job runs.

A task of each step needs about :meth:`bigimg.pipeline.plan.Plan.task_memory`
bytes. One task runs per thread: on a local cluster a worker's
``memory_limit`` is shared by its threads; on threads in this process the
memory available now is shared by dask's threads. A job whose projection
exceeds that is refused before anything is computed, naming the step, with
input chunks that fit.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from typing import Any

import dask
from dask.utils import parse_bytes

from bigimg._budget import threads_allowance
from bigimg.cluster import local_defaults
from bigimg.monitor import size_text
from bigimg.pipeline.config import ConfigError
from bigimg.pipeline.plan import Plan, pass_bytes

__all__ = ["allowed", "check", "describe"]


def allowed(cluster: Mapping[str, Any]) -> tuple[int | None, str]:
    """Bytes one task may use where the job runs (None: not known here, a
    remote scheduler's workers), and how that figure was reached."""
    if cluster.get("scheduler"):
        return None, "not known (the workers of a remote scheduler)"
    if cluster.get("workers"):
        d = local_defaults(int(cluster["workers"]), cluster.get("memory_limit"))
        limit = d["memory_limit"]
        limit = parse_bytes(limit) if isinstance(limit, str) else int(limit)
        threads = int(d["threads_per_worker"])
        return limit // threads, f"{size_text(limit)} per worker / {threads} thread(s)"
    # threads in this process: the job's own count (compute_context), else dask's
    threads = int(
        cluster.get("threads") or dask.config.get("num_workers", None) or os.cpu_count() or 1
    )
    return threads_allowance(threads)


def describe(plan: Plan) -> str:
    """The ``--dry-run`` line: the largest projection and what is allowed."""
    memory = plan.task_memory()
    limit, how = allowed(plan.job.cluster)
    name = max(memory, key=memory.__getitem__) if memory else None
    top = f"{size_text(memory[name])} ({name})" if name else "nothing"
    shown = size_text(limit) if limit is not None else "?"
    return f"memory per task: projected {top}; allowed {shown}: {how}"


def check(plan: Plan) -> None:
    """Raise :class:`~bigimg.pipeline.ConfigError` naming every step whose task
    would need more memory than one task may use, with input chunks that fit."""
    limit, how = allowed(plan.job.cluster)
    if limit is None:
        return
    memory = plan.task_memory()
    over = [name for name, need in memory.items() if need > limit]
    if not over:
        return
    problems = [
        f"step {name!r}: a task needs about {size_text(memory[name])}, more than the "
        f"{size_text(limit)} one task may use ({how})"
        for name in over
    ]
    fit = _chunks_that_fit(plan, over, limit)
    problems.append(
        f"input chunks of {list(fit)} fit (--set input.chunks=[{','.join(map(str, fit))}])"
        if fit
        else "no chunking fits: the halo of a step alone is larger; give the job more memory"
    )
    raise ConfigError(problems)


def _chunks_that_fit(plan: Plan, names: list[str], limit: int) -> tuple[int, ...] | None:
    """The largest input chunks, halved on every axis at a time, at which the
    tasks of every step in ``names`` fit ``limit`` (the steps' chunks follow
    their input's)."""
    res = plan.job.results
    memory = plan.task_memory()
    first = res[plan.job.sources[0].name].lazy if plan.job.sources else res[names[0]].lazy
    base = [max(c) for c in first.chunks]
    for halvings in range(1, 40):
        sizes = [max(1, c >> halvings) for c in base]
        scale = [s / c for s, c in zip(sizes, base)]
        if all(_need(plan, name, memory[name], scale) <= limit for name in names):
            return tuple(sizes)
        if all(s == 1 for s in sizes):
            break
    return None


def _need(plan: Plan, name: str, now: int, scale: list[float]) -> float:
    """``name``'s projection with its chunks scaled by ``scale`` per axis."""
    a = plan.job.results[name].lazy
    chunk = [max(c) for c in a.chunks]
    p = plan.passes.get(name)
    if p is not None and p.depth is not None:
        sized = [max(1, int(c * f)) for c, f in zip(chunk, scale)]
        return pass_bytes(sized, p.depth, len(p.steps))
    return now * math.prod(scale[: a.ndim])
