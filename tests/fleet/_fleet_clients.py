"""Fixtures of the fleet-wide mitigation tests (import them explicitly): clients in the
test's fleet (``redis_url``/``fleet_name`` from ``tests/_redis.py``) over the simulator."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from maintainx_resilient import MaintainXClient
from maintainx_resilient.fleet import FleetConfig
from maintainx_resilient.testing import Simulator

#: A heartbeat that never fires by itself during a test: the test drives ``beat()``.
MANUAL = 3600.0

Clients = Callable[..., MaintainXClient]


@pytest.fixture
def sim() -> Simulator:
    return Simulator(seed=1, work_orders=30, rate_limit=None)


@pytest.fixture
def clients(redis_url: str, fleet_name: str, sim: Simulator) -> Iterator[Clients]:
    """``clients(**options)``: a client in the test's fleet over ``sim`` (closed after the
    test); ``heartbeat=`` sets its heartbeat (default: driven by hand), ``url=`` its Redis."""
    made: list[MaintainXClient] = []

    def make(
        *, heartbeat: float = MANUAL, url: str | None = None, **options: Any
    ) -> MaintainXClient:
        config = FleetConfig(url=url or redis_url, name=fleet_name, heartbeat=heartbeat)
        options.setdefault("api_key", Simulator.API_KEY)
        client = MaintainXClient(transport=sim.transport(), fleet=config, **options)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


def beat(*clients: MaintainXClient) -> None:
    """One heartbeat of each client, now."""
    for client in clients:
        fleet = client.policies.fleet
        assert fleet is not None and fleet.heartbeat is not None
        fleet.heartbeat.beat()


def wait_for(check: Callable[[], bool], within: float) -> float:
    """Poll ``check`` (a real thread's work) until it holds; the seconds it took, or fail
    after ``within`` seconds."""
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > within:
            pytest.fail(f"not within {within} s")
        time.sleep(0.005)
    return time.monotonic() - start
