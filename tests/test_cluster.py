"""bigimg.cluster.connect: local cluster, or an existing scheduler by address / env."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import dask
import dask.array as da
import numpy as np
import pytest
import scipy.ndimage as ndi

import bigimg
from bigimg._execute import run_keys
from bigimg.cluster import ENV_VAR, local_defaults, scheduler_address


def test_local_defaults_fit_the_machine() -> None:
    import os

    import psutil

    d = local_defaults()
    assert d["n_workers"] == os.cpu_count()
    assert d["threads_per_worker"] == 1
    assert d["n_workers"] * d["memory_limit"] <= psutil.virtual_memory().total
    with pytest.raises(ValueError, match="n_workers"):
        local_defaults(0)


def test_address_resolution(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    with dask.config.set({"scheduler-address": None}):
        assert scheduler_address() is None
        assert scheduler_address("tcp://a:1") == "tcp://a:1"
        monkeypatch.setenv(ENV_VAR, "tcp://b:2")
        assert scheduler_address() == "tcp://b:2"
    monkeypatch.delenv(ENV_VAR)
    with dask.config.set({"scheduler-address": "tcp://c:3"}):
        assert scheduler_address() == "tcp://c:3"


def test_local_cluster_computes_and_closes() -> None:
    image = bigimg.datasets.natural((200, 180), chunks=50)
    with bigimg.cluster.connect(n_workers=2, processes=False) as client:
        assert len(client.scheduler_info()["workers"]) == 2
        result = bigimg.ndimage.gaussian_filter(image, 2, mode="wrap").compute()
    assert client.status == "closed"
    np.testing.assert_array_equal(result, ndi.gaussian_filter(image.compute(), 2, mode="wrap"))


def test_connect_to_existing_scheduler_by_env(
    monkeypatch: pytest.MonkeyPatch, local_cluster: object
) -> None:
    address = local_cluster.scheduler.address  # type: ignore[attr-defined]
    monkeypatch.setenv(ENV_VAR, address)
    with bigimg.cluster.connect() as client:
        assert client.scheduler.address == address
        total = bigimg.datasets.square((64, 64), chunks=16).sum().compute()
    assert total == 32 * 32
    with pytest.raises(TypeError, match="local cluster"):
        bigimg.cluster.connect(n_workers=3)


def test_run_keys_gives_a_cluster_bounded_windows(local_cluster: Any) -> None:
    """A graph of 600 chunks goes to the scheduler a window at a time."""
    x = da.arange(6000, chunks=10)
    y = (x + 1) * 2  # three tasks per chunk
    keys = [(y.name, i) for i in range(y.numblocks[0])]
    scheduler = local_cluster.cluster.scheduler
    held: list[int] = []
    values: dict[Any, np.ndarray] = {}

    def on_done(key: Any, value: np.ndarray) -> None:
        held.append(len(scheduler.tasks))
        values[key] = value

    with dask.config.set(scheduler=local_cluster):
        run_keys(y.__dask_graph__(), keys, on_done, window_tasks=60)
    np.testing.assert_array_equal(np.concatenate([values[k] for k in keys]), (x + 1) * 2)
    assert len(held) == len(keys) and max(held) <= 60 + 6


@pytest.mark.parametrize("scheduler", ["threads", "sync"])
def test_run_keys_gives_local_schedulers_bounded_windows(scheduler: str) -> None:
    """Before: dask's local schedulers got the whole graph at once, and their
    state (and dask.order's) grew with the number of chunks."""
    from dask.callbacks import Callback

    x = da.arange(6000, chunks=10)
    y = (x + 1) * 2  # three tasks per chunk
    keys = [(y.name, i) for i in range(y.numblocks[0])]
    held: list[int] = []
    values: dict[Any, np.ndarray] = {}

    def start_state(dsk: Any, state: Any) -> None:
        held.append(len(dsk))

    with dask.config.set(scheduler=scheduler), Callback(start_state=start_state):
        run_keys(y.__dask_graph__(), keys, values.__setitem__, window_tasks=60)
    np.testing.assert_array_equal(np.concatenate([values[k] for k in keys]), (x + 1) * 2)
    assert sum(held) >= 3 * len(keys) and max(held) <= 60


def test_local_windows_hand_each_key_over_once() -> None:
    """Before: a wanted key that a later window's key depends on was done
    again there and handed over a second time (a reduction would count it twice)."""
    import operator

    dsk: dict[Any, Any] = {("a", 0): 1}  # key i depends on key i - 1
    dsk.update({("a", i): (operator.add, ("a", i - 1), 1) for i in range(1, 20)})
    keys = list(dsk)
    seen: dict[Any, list[int]] = {}
    with dask.config.set(scheduler="threads"):
        run_keys(
            dsk, keys, lambda key, value: seen.setdefault(key, []).append(value), window_tasks=3
        )
    assert seen == {("a", i): [i + 1] for i in range(20)}


def test_local_windows_give_halo_chains_exactly() -> None:
    """Windows cut a chain of halo operations between blocks: a neighbour's
    task that two windows need is done again in the second, not lost."""
    import scipy.ndimage as ndi

    import bigimg.ndimage as bnd

    image = np.random.default_rng(3).random((60, 70)).astype(np.float32)
    y = bnd.uniform_filter(bnd.gaussian_filter(da.from_array(image, chunks=(7, 9)), 1.5), 4)
    keys = [(y.name, *i) for i in np.ndindex(*y.numblocks)]
    values: dict[Any, np.ndarray] = {}
    with dask.config.set(scheduler="threads"):
        run_keys(y.__dask_graph__(), keys, values.__setitem__, window_tasks=25)
    got = np.block([[values[(y.name, i, j)] for j in range(y.numblocks[1])]
                    for i in range(y.numblocks[0])])  # fmt: skip
    np.testing.assert_array_equal(got, ndi.uniform_filter(ndi.gaussian_filter(image, 1.5), 4))


def test_run_keys_raises_a_tasks_error(local_cluster: Any) -> None:
    def fail(block: np.ndarray) -> np.ndarray:
        if block[0] == 300:
            raise ZeroDivisionError("block 30")
        return block

    y = da.arange(600, chunks=10).map_blocks(fail)
    keys = [(y.name, i) for i in range(y.numblocks[0])]
    with dask.config.set(scheduler=local_cluster), pytest.raises(ZeroDivisionError, match="30"):
        run_keys(y.__dask_graph__(), keys, lambda key, value: None, window_tasks=20)


def test_a_local_cluster_that_fails_to_start_leaves_no_default_client() -> None:
    """Before: the half-made Client stayed dask's default scheduler and every
    later compute in the process waited for it forever."""
    code = (
        "import bigimg.cluster, dask.array as da\n"
        "try:\n"
        "    bigimg.cluster.connect(n_workers=1, memory_limit='lots')\n"
        "except ValueError:\n"
        "    pass\n"
        "print(float(da.ones(3, chunks=1).sum().compute()))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert done.stdout.strip() == "3.0", done.stderr
