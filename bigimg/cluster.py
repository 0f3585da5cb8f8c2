"""One obvious way to get a ``distributed.Client``.

``connect()`` joins an existing scheduler when one is named (argument,
``BIGIMG_SCHEDULER`` / ``DASK_SCHEDULER_ADDRESS`` environment variables, or
dask's ``scheduler-address`` config) and otherwise starts a ``LocalCluster``
sized for this machine. Every bigimg function also works with no cluster at
all, on dask's default threaded scheduler.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

import dask
import psutil

__all__ = [
    "compute_context",
    "connect",
    "local_defaults",
    "local_problem",
    "scheduler_address",
]

ENV_VAR = "BIGIMG_SCHEDULER"


def scheduler_address(address: str | None = None) -> str | None:
    """The scheduler to join: ``address``, else the environment or dask config."""
    if address:
        return address
    return os.environ.get(ENV_VAR) or dask.config.get("scheduler-address", None) or None


#: local workers (processes) and threads per worker a cluster on this machine
#: may have, per core: more only thrashes (and 100000 workers never start)
PER_CORE = {"workers": 4, "threads": 64}


def local_problem(key: str, value: Any) -> str | None:
    """Why ``value`` cannot be the local cluster's ``key`` (``workers``,
    ``threads`` or ``memory_limit``), or None: the one rule the command line,
    job files and :func:`connect` apply.

    Examples
    --------
    >>> local_problem("memory_limit", "lots")
    "must be a size per worker like 2GiB or 500MB, a number of bytes, or 'auto'"
    >>> local_problem("workers", 2) is None
    True
    """
    if key == "memory_limit":
        size = value
        if isinstance(value, str):
            if value.strip() == "auto":
                return None
            from dask.utils import parse_bytes

            try:
                size = parse_bytes(value) if value.strip() else 0
            except (ValueError, TypeError):
                size = 0
        if not isinstance(size, int) or isinstance(size, bool) or size < 1:
            return "must be a size per worker like 2GiB or 500MB, a number of bytes, or 'auto'"
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        return "must be an integer of at least 1"
    most = PER_CORE[key] * (os.cpu_count() or 1)
    if value > most:
        return f"is more than this machine can use (at most {most}: {PER_CORE[key]} per core)"
    return None


def local_defaults(
    n_workers: int | None = None, memory_limit: int | str | None = None
) -> dict[str, Any]:
    """Worker count and per-worker memory for a local cluster on this machine.

    One single-threaded worker process per core (scipy.ndimage releases the
    GIL, but processes also keep Python-level work parallel) and 80 % of the
    machine's memory shared among them.
    """
    cores = os.cpu_count() or 1
    n = n_workers if n_workers is not None else cores
    for key, value in (("workers", n), ("memory_limit", memory_limit)):
        problem = local_problem(key, value) if value is not None else None
        if problem is not None:
            name = "n_workers" if key == "workers" else key
            raise ValueError(f"{name}={value!r} {problem}")
    if memory_limit is None:
        memory_limit = int(psutil.virtual_memory().total * 0.8 / n)
    return {"n_workers": n, "threads_per_worker": 1, "memory_limit": memory_limit}


def connect(
    address: str | None = None,
    *,
    n_workers: int | None = None,
    memory_limit: int | str | None = None,
    processes: bool = True,
    dashboard: bool = False,
    **kwargs: Any,
) -> Any:
    """Return a ``distributed.Client``, usable as a context manager.

    Parameters
    ----------
    address : str, optional
        Scheduler address (``tcp://host:8786``). Without it the
        ``BIGIMG_SCHEDULER`` environment variable, then dask's
        ``scheduler-address`` config are tried; if none is set a local cluster
        is started (and closed with the client).
    n_workers, memory_limit : optional, keyword-only
        For a local cluster: worker processes (default: one per core) and
        memory per worker (bytes or '2GiB'; default 80 % of RAM shared).
    processes : bool, keyword-only
        Local workers as processes (default) or threads in this process.
    dashboard : bool, keyword-only
        Serve the dask dashboard of a local cluster on a free port.
    **kwargs
        Passed to ``distributed.LocalCluster``.

    Examples
    --------
    >>> import bigimg
    >>> with bigimg.cluster.connect(n_workers=1, processes=False) as client:
    ...     total = bigimg.datasets.square((64, 64), chunks=32).sum().compute()
    """
    from distributed import Client

    target = scheduler_address(address)
    if target is not None:
        if n_workers is not None or memory_limit is not None or kwargs:
            raise TypeError(
                f"n_workers/memory_limit/cluster options apply to a local cluster, "
                f"not to the scheduler at {target}"
            )
        return Client(target)
    options = local_defaults(n_workers, memory_limit)
    options.update(kwargs)
    # a Client given no address starts its own LocalCluster and closes it on close()
    # (":0": the scheduler always serves HTTP; a free port avoids clashing with others)
    try:
        return Client(
            processes=processes, dashboard_address=":8787" if dashboard else ":0", **options
        )
    except BaseException:
        _drop_unstarted_client()
        raise


def _drop_unstarted_client() -> None:
    """A Client that failed to start its cluster has already made itself dask's
    default scheduler: close it, or every later compute in this process waits
    for a scheduler that never comes."""
    from distributed.client import default_client

    try:
        client = default_client()
    except ValueError:  # no default client
        return
    if client.status != "running":
        with contextlib.suppress(Exception):
            client.close(timeout=5)


@contextlib.contextmanager
def compute_context(
    scheduler: str | None = None,
    *,
    workers: int | None = None,
    memory_limit: int | str | None = None,
    threads: int | None = None,
) -> Iterator[str]:
    """Where a command's work runs: a scheduler at ``scheduler``, a local
    cluster of ``workers`` processes, or else dask's threads in this process
    (``threads`` of them; default: one per core). Yields a description.
    """
    if scheduler or workers:
        with connect(scheduler, n_workers=workers, memory_limit=memory_limit) as client:
            yield f"dask.distributed at {client.scheduler.address}"
    else:
        with dask.config.set(scheduler="threads", num_workers=threads):
            yield "threads"
