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
    """The address of the dask scheduler to join, if one is named anywhere.

    The rule :func:`connect` follows: ``address`` itself, else the
    ``BIGIMG_SCHEDULER`` environment variable, else dask's
    ``scheduler-address`` config (``DASK_SCHEDULER_ADDRESS``).

    Parameters
    ----------
    address : str, optional
        A scheduler address (``tcp://host:8786``); None or empty: look it up.

    Returns
    -------
    str or None
        The address, or None when none is set (a local cluster or threads are
        then used).

    Examples
    --------
    >>> scheduler_address("tcp://10.0.0.5:8786")
    'tcp://10.0.0.5:8786'
    >>> import dask
    >>> with dask.config.set({"scheduler-address": "tcp://head:8786"}):
    ...     found = scheduler_address()
    >>> found == (os.environ.get("BIGIMG_SCHEDULER") or "tcp://head:8786")
    True
    """
    if address:
        return address
    return os.environ.get(ENV_VAR) or dask.config.get("scheduler-address", None) or None


#: local workers (processes) and threads per worker a cluster on this machine
#: may have, per core: more only thrashes (and 100000 workers never start)
PER_CORE = {"workers": 4, "threads": 64}


def local_problem(key: str, value: Any) -> str | None:
    """Why ``value`` cannot be the local cluster's ``key``, or None if it can.

    The one rule the command line, job files and :func:`connect` apply:
    worker and thread counts are integers from 1 to 4 workers (64 threads)
    per core of this machine; memory is a size per worker.

    Parameters
    ----------
    key : {'workers', 'threads', 'memory_limit'}
        Which setting ``value`` is for.
    value : object
        The value given: an int for ``workers`` and ``threads``; for
        ``memory_limit`` a number of bytes, a size like ``'2GiB'`` or
        ``'500MB'``, or ``'auto'``.

    Returns
    -------
    str or None
        The problem, phrased to follow the setting's name and value in a
        message (``workers=0 must be ...``), or None for a valid value.

    Examples
    --------
    >>> local_problem("memory_limit", "lots")
    "must be a size per worker like 2GiB or 500MB, a number of bytes, or 'auto'"
    >>> local_problem("workers", 2) is None
    True
    >>> local_problem("threads", 0)
    'must be an integer of at least 1'
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
    machine's memory shared among them. Nothing is started.

    Parameters
    ----------
    n_workers : int, optional
        Worker processes (default: one per core), checked by
        :func:`local_problem`.
    memory_limit : int or str, optional
        Memory per worker: bytes, a size like ``'2GiB'``, or ``'auto'``
        (default: 80 % of the machine's memory divided by ``n_workers``).
        Passed on as given.

    Returns
    -------
    dict
        ``n_workers``, ``threads_per_worker`` (1) and ``memory_limit``: keyword
        arguments of ``distributed.LocalCluster``.

    Raises
    ------
    ValueError
        For an invalid ``n_workers`` or ``memory_limit``, naming it.

    Examples
    --------
    >>> local_defaults(2, "1GiB")
    {'n_workers': 2, 'threads_per_worker': 1, 'memory_limit': '1GiB'}
    >>> local_defaults(1)["memory_limit"] > 0
    True
    >>> local_defaults(0)
    Traceback (most recent call last):
    ...
    ValueError: n_workers=0 must be an integer of at least 1
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
    """A ``distributed.Client`` for a named scheduler, or for a new local cluster.

    The scheduler is :func:`scheduler_address`'s: ``address``, else the
    ``BIGIMG_SCHEDULER`` environment variable, else dask's
    ``scheduler-address`` config. If none is set, a ``LocalCluster`` sized by
    :func:`local_defaults` is started, and closed with the client. The
    client becomes dask's default scheduler, so bigimg's computations run on
    it until it is closed.

    Parameters
    ----------
    address : str, optional
        Scheduler address (``tcp://host:8786``). Without it the
        ``BIGIMG_SCHEDULER`` environment variable, then dask's
        ``scheduler-address`` config are tried; if none is set a local cluster
        is started (and closed with the client).
    n_workers : int, optional, keyword-only
        For a local cluster: worker processes (default: one per core).
    memory_limit : int or str, optional, keyword-only
        For a local cluster: memory per worker, bytes or a size like
        ``'2GiB'`` (default: 80 % of the machine's memory shared).
    processes : bool, optional, keyword-only
        Local workers as processes (default) or threads in this process.
    dashboard : bool, optional, keyword-only
        Serve the dask dashboard of a local cluster on dask's usual port,
        8787 (default: the scheduler's web server takes any free port).
    **kwargs
        Passed to ``distributed.LocalCluster``.

    Returns
    -------
    distributed.Client
        Connected; usable as a context manager (closing it closes a local
        cluster it started).

    Raises
    ------
    TypeError
        Local-cluster options (``n_workers``, ``memory_limit``, ``**kwargs``)
        given with a scheduler to join.
    ValueError
        An invalid ``n_workers`` or ``memory_limit`` (:func:`local_defaults`).

    Examples
    --------
    Local-cluster options do not apply to a scheduler that exists (checked
    before connecting):

    >>> connect("tcp://10.0.0.5:8786", n_workers=2)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    TypeError: n_workers/memory_limit/cluster options apply to a local cluster, not to ...

    A local cluster, closed at the end of the block (not run here: it starts
    worker processes):

    >>> import bigimg
    >>> with connect(n_workers=2) as client:  # doctest: +SKIP
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
    """A context in which dask computations run where a command asks.

    On the scheduler at ``scheduler``, else on a local cluster of ``workers``
    processes (both through :func:`connect`, closed on exit), or else on
    dask's threaded scheduler in this process. What the command line and
    :func:`bigimg.pipeline.run` use.

    Parameters
    ----------
    scheduler : str, optional
        Address of a scheduler to join.
    workers : int, optional, keyword-only
        Start a local cluster of this many worker processes (without
        ``scheduler``).
    memory_limit : int or str, optional, keyword-only
        Memory per worker of the local cluster (see :func:`connect`).
    threads : int, optional, keyword-only
        Threads of the threaded scheduler (default: one per core); used only
        without ``scheduler`` and ``workers``.

    Yields
    ------
    str
        Where the work runs: ``'threads'`` or ``'dask.distributed at <address>'``.

    Examples
    --------
    >>> import dask.array as da
    >>> with compute_context(threads=2) as where:
    ...     total = int(da.ones((8, 8), chunks=4).sum().compute())
    >>> where, total
    ('threads', 64)
    """
    if scheduler or workers:
        with connect(scheduler, n_workers=workers, memory_limit=memory_limit) as client:
            yield f"dask.distributed at {client.scheduler.address}"
    else:
        with dask.config.set(scheduler="threads", num_workers=threads):
            yield "threads"
