"""Ordered, windowed execution of chunk tasks on any scheduler.

Every engine's chunk work goes through :func:`run_keys` (chunk writes,
the label merge, the reduction tree's leaves): keys in :func:`tile_order`
(Z order: compact patches of blocks), given to the scheduler in bounded
windows of consecutive keys, so neither a ``distributed`` scheduler's
memory nor that of dask's local schedulers (their state, and
``dask.order``'s) grows with the image.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

__all__ = ["WINDOW_TASKS", "run_blocks", "run_keys", "tile_order"]


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


#: Tasks a scheduler is given at once by :func:`run_keys`: its memory (some
#: kB per task) stays bounded whatever the number of chunks.
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

    The keys go to the scheduler ``dask.compute`` would use (dask's threads
    by default) in windows of consecutive keys (in the order given: chunks
    in :func:`tile_order`) with about ``window_tasks`` tasks in all. On a
    ``distributed`` client two windows are in flight; the next is submitted
    as soon as an earlier one is done, and the window beside the current one
    keeps the inputs they share (halos) in memory, so those are mostly read
    once. A local scheduler runs one window after another, each with every
    thread; a task two windows need (a neighbour's halo) is done in each.
    The scheduler's memory (a few kB per task) therefore stays bounded
    whatever the size of the image. A task's error is raised here.
    """
    from dask.base import get_scheduler
    from dask.highlevelgraph import HighLevelGraph
    from dask.threaded import get as threaded_get
    from distributed import Client

    if not isinstance(dsk, HighLevelGraph):
        dsk = dict(dsk)
    get = get_scheduler()  # what dask.compute would use (config, default client)
    client = getattr(get, "__self__", None)
    if isinstance(client, Client):
        _run_windows(client, dsk, keys, on_done, window_tasks)
    else:
        _run_local(get or threaded_get, dsk, keys, on_done, window_tasks)


def run_blocks(
    array: Any,
    on_done: Callable[[tuple[int, ...], Any], None],
    *,
    skip: Collection[tuple[int, ...]] = (),
) -> None:
    """Compute every block of the dask array ``array`` (but those whose index
    is in ``skip``) by :func:`run_keys`, blocks in :func:`tile_order`, after
    dask's high-level array optimisation (culling, blockwise fusion);
    ``on_done(index, value)`` as each one finishes.

    The way to fold small per-block results (counts, partial statistics,
    write receipts) in this process with bounded memory: each is dropped by
    the scheduler once handed over.
    """
    import numpy as np
    from dask.array.optimization import fuse_roots, optimize_blockwise

    indices = tile_order(list(np.ndindex(*array.numblocks)))
    keys = [(array.name, *i) for i in indices if i not in skip]
    if keys:
        # dask's high-level array optimisation only, each window's tasks built when it
        # runs; no low-level fusion: a fused task runs its inner graph through
        # dask.order each time, which cost more than the tasks it saves (0.65 ms a chunk)
        graph = fuse_roots(optimize_blockwise(array.__dask_graph__(), keys=keys), keys=keys)
        run_keys(graph, keys, lambda key, value: on_done(tuple(key[1:]), value))


def _run_windows(
    client: Any,
    dsk: Any,
    keys: list[Any],
    on_done: Callable[[Any, Any], None],
    window_tasks: int,
) -> None:
    from distributed import as_completed

    windows = _windows(dsk, keys, window_tasks // 2)
    left: list[int] = []
    window_of: dict[Any, int] = {}

    def submit(w: int) -> list[Any]:
        graph = _window_graph(dsk, windows[w])
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


def _window_graph(dsk: Any, keys: list[Any]) -> dict[Any, Any]:
    """The tasks of ``dsk`` (a dict, or a high-level graph: then only the
    tasks of ``keys`` are ever built) that ``keys`` need."""
    from dask.highlevelgraph import HighLevelGraph
    from dask.optimization import cull

    if isinstance(dsk, HighLevelGraph):
        return dict(dsk.cull(set(keys)).to_dict())
    return cull(dsk, keys)[0]


def _windows(dsk: Any, keys: list[Any], tasks: int) -> list[list[Any]]:
    """``keys`` cut in runs of consecutive keys of about ``tasks`` tasks each
    (the tasks of ``dsk`` shared out evenly among the keys)."""
    per_key = max(1, len(dsk) // max(len(keys), 1))
    size = max(1, tasks // per_key)
    return [keys[i : i + size] for i in range(0, len(keys), size)]


def _run_local(
    get: Callable[..., Any],
    dsk: Any,
    keys: list[Any],
    on_done: Callable[[Any, Any], None],
    window_tasks: int,
) -> None:
    """:func:`run_keys` on a local scheduler's ``get``: a window at a time."""
    from dask.callbacks import Callback

    # the keys of the window running not yet handed over: a key that another
    # window's keys depend on is done again there, and is not handed over twice
    left: set[Any] = set()

    def posttask(key: Any, result: Any, dsk: Any, state: Any, worker_id: Any) -> None:
        if key in left:
            left.discard(key)
            on_done(key, result)

    with Callback(posttask=posttask):
        for window in _windows(dsk, keys, window_tasks):
            left.update(window)
            values = get(_window_graph(dsk, window), window)
            for key, value in zip(window, values):
                if key in left:  # data, not a task: no posttask for it
                    left.discard(key)
                    on_done(key, value)
