"""Memory one task may use on the active scheduler, checked when a call
builds its graph (issue 20): a call whose tasks cannot fit is refused
before any work, naming the function and chunks that fit.

One task runs per thread. On a ``distributed`` client a task may use its
worker's memory limit shared by the worker's threads (the smallest over the
workers); on dask's threads, the memory available now shared by the
threads; synchronously, all of it. Jobs check their plan the same way
(:mod:`bigimg.pipeline.budget`) and switch this check off while they are
checked (:data:`CHECK`), since they run where their own cluster says.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence

import dask
import psutil

from bigimg.errors import TaskMemoryError
from bigimg.monitor import size_text

__all__ = ["CHECK", "allowance", "check_task", "halo_need", "threads_allowance"]

#: dask config key: False switches the check of calls off
CHECK = "bigimg.check-task-memory"


def threads_allowance(threads: int) -> tuple[int, str]:
    """Bytes one of ``threads`` threads in this process may use, and how."""
    free = psutil.virtual_memory().available
    return free // threads, f"{size_text(free)} available / {_threads(threads)}"


def _threads(n: int) -> str:
    return f"{n} thread" if n == 1 else f"{n} threads"


def allowance() -> tuple[int | None, str]:
    """Bytes one task may use on the scheduler ``dask.compute`` would use now
    (None: not known, as for a custom scheduler), and how that was reached."""
    from dask.base import get_scheduler
    from dask.local import get_sync
    from dask.threaded import get as threaded_get
    from distributed import Client

    get = get_scheduler()
    client = getattr(get, "__self__", None)
    if isinstance(client, Client):
        workers = client.scheduler_info().get("workers", {}).values()
        limits = [
            (int(w["memory_limit"]) // max(1, int(w["nthreads"])), w)
            for w in workers
            if w.get("memory_limit")
        ]
        if not limits:
            return None, "not known (workers without a memory limit)"
        limit, w = min(limits, key=lambda lw: lw[0])
        per = f"{size_text(int(w['memory_limit']))} per worker / {_threads(int(w['nthreads']))}"
        return limit, per
    if get is get_sync:
        return threads_allowance(1)
    if get is None or get is threaded_get:
        return threads_allowance(int(dask.config.get("num_workers", None) or os.cpu_count() or 1))
    return None, "not known (a custom scheduler)"


def check_task(need: Callable[[Sequence[int]], int], chunk: Sequence[int], what: str) -> None:
    """Raise :class:`~bigimg.errors.TaskMemoryError` if a task of ``what``
    on chunks of shape ``chunk`` needs (``need(chunk)`` bytes) more than one
    task may use, with the largest chunks, halved on every axis at a time,
    that fit."""
    if not dask.config.get(CHECK, True):
        return
    needed = need(chunk)
    limit, how = allowance()
    if limit is None or needed <= limit:
        return
    fit = None
    for halvings in range(1, 64):
        sizes = [max(1, c >> halvings) for c in chunk]
        if need(sizes) <= limit:
            fit = sizes
            break
        if all(s == 1 for s in sizes):
            break
    hint = (
        f"rechunk to {fit} or smaller (image.rechunk({tuple(fit)}))"
        if fit
        else "no chunking fits: the halo alone is larger; give it more memory"
    )
    raise TaskMemoryError(
        f"{what}: a task on chunks of {list(chunk)} needs about {size_text(needed)}, more "
        f"than the {size_text(limit)} one task may use ({how}); {hint}"
    )


def halo_need(depth: Sequence[tuple[int, int]], per_pixel: int) -> Callable[[Sequence[int]], int]:
    """The bytes of a halo task: its extended block, ``per_pixel`` bytes a pixel."""

    def need(chunk: Sequence[int]) -> int:
        return math.prod(c + a + b for c, (a, b) in zip(chunk, depth)) * per_pixel

    return need
