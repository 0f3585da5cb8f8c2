"""Ordered, windowed execution of chunk tasks on any scheduler.

Every engine's chunk work goes through :func:`run_keys` (chunk writes,
the label merge, the reduction tree's leaves): keys in :func:`tile_order`
(Z order: compact patches of blocks), and on a ``distributed`` client in
bounded windows, so the scheduler's memory does not grow with the image.
On dask's local schedulers the graph runs at once (issue 20 extends the
windows to them).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["WINDOW_TASKS", "compute_keys", "run_keys", "tile_order"]


def tile_order(indices: list[tuple[int, ...]]) -> list[tuple[int, ...]]:
    """Block indices in Z order (bits of the coordinates interleaved): any run of
    consecutive indices is a compact patch of blocks, not a strip as wide as
    the image, so a window of them holds few neighbours' halos at a time."""

    def code(index: tuple[int, ...]) -> int:
        out, bit, coords = 0, 0, list(index)
        while any(coords):
            for c in range(len(coords)):
                out |= (coords[c] & 1) << bit
                coords[c] >>= 1
                bit += 1
        return out

    return sorted(indices, key=code)


#: Tasks a distributed scheduler is given at once by :func:`run_keys`: its
#: memory (some kB per task) stays bounded whatever the number of chunks.
WINDOW_TASKS = 4000


def run_keys(
    dsk: Any,
    keys: list[Any],
    on_done: Callable[[Any, Any], None],
    *,
    window_tasks: int = WINDOW_TASKS,
) -> None:
    """Compute ``keys`` of the graph ``dsk`` on the active scheduler, calling
    ``on_done(key, value)`` in this process as each one finishes.

    On a ``distributed`` client the keys go to the scheduler in windows of
    consecutive keys (in the order given: chunks in :func:`tile_order`) with about
    ``window_tasks`` tasks in all, two windows at a time; the next window is
    submitted as soon as an earlier one is done. The scheduler's memory (a
    few kB per task) therefore stays bounded whatever the size of the image,
    and the window in flight beside the current one keeps the inputs they
    share (halos) in memory, so those are mostly read once. Otherwise the
    scheduler ``dask.compute`` would use (dask's threads by default) runs the
    graph at once. A task's error is raised here.
    """
    from dask.base import get_scheduler
    from dask.threaded import get as threaded_get
    from distributed import Client

    dsk = dict(dsk)
    get = get_scheduler()  # what dask.compute would use (config, default client)
    client = getattr(get, "__self__", None)
    if not isinstance(client, Client):
        from dask.callbacks import Callback

        wanted = set(keys)

        def posttask(key: Any, result: Any, dsk: Any, state: Any, worker_id: Any) -> None:
            if key in wanted:
                on_done(key, result)

        with Callback(posttask=posttask):
            (get or threaded_get)(dsk, keys)
        return
    _run_windows(client, dsk, keys, on_done, window_tasks)


def compute_keys(dsk: Any, keys: list[Any]) -> list[Any]:
    """The values of ``keys`` (in order), computed by :func:`run_keys`."""
    values: dict[Any, Any] = {}
    run_keys(dsk, keys, values.__setitem__)
    return [values[k] for k in keys]


def _run_windows(
    client: Any,
    dsk: dict[Any, Any],
    keys: list[Any],
    on_done: Callable[[Any, Any], None],
    window_tasks: int,
) -> None:
    from dask.optimization import cull
    from distributed import as_completed

    per_key = max(1, len(dsk) // max(len(keys), 1))
    size = max(1, window_tasks // (2 * per_key))
    windows = [keys[i : i + size] for i in range(0, len(keys), size)]
    left: list[int] = []
    window_of: dict[Any, int] = {}

    def submit(w: int) -> list[Any]:
        graph, _ = cull(dsk, windows[w])
        futures = client.get(graph, windows[w], sync=False)
        left.append(len(futures))
        window_of.update((future.key, w) for future in futures)
        return futures

    submitted = min(2, len(windows))
    running = as_completed(
        [f for w in range(submitted) for f in submit(w)], loop=client.loop, with_results=True
    )
    for future, value in running:  # raises a task's error
        on_done(future.key, value)
        w = window_of.pop(future.key)
        left[w] -= 1
        if left[w] == 0 and submitted < len(windows):
            running.update(submit(submitted))
            submitted += 1
