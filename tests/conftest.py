from __future__ import annotations

import os
from collections.abc import Iterator

import dask
import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "default",
    deadline=None,
    max_examples=40,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.register_profile("ci", parent=settings.get_profile("default"), max_examples=60)
settings.register_profile("stress", parent=settings.get_profile("default"), max_examples=500)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture(scope="session")
def local_cluster() -> Iterator[object]:
    """A 2-worker LocalCluster (processes), shared by the whole session."""
    from distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
        Client(cluster, set_as_default=False) as client,
    ):
        yield client


@pytest.fixture(params=["threads", "distributed"])
def scheduler(request: pytest.FixtureRequest) -> Iterator[str]:
    """Run the test on dask's threaded scheduler and on a 2-worker LocalCluster."""
    if request.param == "distributed":
        client = request.getfixturevalue("local_cluster")
        with dask.config.set(scheduler=client):
            yield "distributed"
    else:
        with dask.config.set(scheduler="threads"):
            yield "threads"
