"""pytest plugin (entry point ``pytest11``): MaintainX simulator and client fixtures.

- ``maintainx_clock``: a ``FakeClock`` shared by the simulator and the clients, so rate-limit
  windows, retry backoffs, throttle waits and latency faults take no real time.
- ``maintainx_simulator``: a fresh ``Simulator`` with small seeded data, on that clock.
- ``maintainx_server``: that simulator served on a real socket, stopped at teardown.
- ``maintainx_client`` / ``maintainx_async_client``: a ``MaintainXClient`` /
  ``AsyncMaintainXClient`` on that simulator (in process), closed at teardown.
- ``maintainx_simulator_options`` / ``maintainx_client_options``: the keyword arguments the
  simulator and the clients are built with; override them in your ``conftest.py`` to change
  the seed, the sizes, the rate limits or the client's policies.

Faults are switched on the simulator (``maintainx_simulator.faults.outage()``), time is moved
on the clock (``maintainx_clock.advance(60)``). Importing this module imports nothing heavy:
the simulator and the client are imported when a fixture runs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar, cast

import pytest

if TYPE_CHECKING:
    from maintainx_resilient import AsyncMaintainXClient, MaintainXClient
    from maintainx_resilient._clock import FakeClock
    from maintainx_resilient.testing import Simulator, SimulatorServer

__all__ = [
    "maintainx_async_client",
    "maintainx_client",
    "maintainx_client_options",
    "maintainx_clock",
    "maintainx_server",
    "maintainx_simulator",
    "maintainx_simulator_options",
]

F = TypeVar("F", bound=Callable[..., Any])

#: Small data: fast to generate, enough for a couple of pages at small ``limit`` values.
SMALL_DATA: dict[str, Any] = {
    "seed": 1,
    "work_orders": 60,
    "assets": 12,
    "locations": 5,
    "parts": 10,
    "users": 6,
    "teams": 2,
    "vendors": 4,
    "categories": 4,
    "meters": 4,
    "purchase_orders": 5,
    "work_requests": 8,
}


def _async_fixture(fn: F) -> F:
    """An async fixture, with pytest-asyncio's decorator when it is installed (which any
    mode of it accepts); without pytest-asyncio no async test can use it anyway."""
    try:
        import pytest_asyncio
    except ImportError:  # pragma: no cover - pytest-asyncio is a test dependency here
        decorate: Callable[[F], Any] = pytest.fixture
    else:
        decorate = pytest_asyncio.fixture
    return cast(F, decorate(fn))


@pytest.fixture
def maintainx_clock() -> FakeClock:
    """The fake clock of the simulator and the clients (``advance``, ``sleeps``)."""
    from maintainx_resilient._clock import FakeClock

    return FakeClock()


@pytest.fixture
def maintainx_simulator_options() -> dict[str, Any]:
    """Keyword arguments for ``maintainx_simulator``; override to customise (a ``clock`` in
    them replaces ``maintainx_clock``: ``time.monotonic`` for real time)."""
    return dict(SMALL_DATA)


@pytest.fixture
def maintainx_simulator(
    maintainx_simulator_options: dict[str, Any], maintainx_clock: FakeClock
) -> Iterator[Simulator]:
    """A fresh MaintainX simulator (small seeded data, default key ``Simulator.API_KEY``)
    on ``maintainx_clock``; its webhook delivery threads are stopped at teardown."""
    from maintainx_resilient.testing import Simulator

    options = dict(maintainx_simulator_options)
    if "clock" not in options and "sleep" not in options:
        options["clock"] = maintainx_clock
    simulator = Simulator(**options)
    yield simulator
    simulator.webhooks.close()


@pytest.fixture
def maintainx_server(maintainx_simulator: Simulator) -> Iterator[SimulatorServer]:
    """``maintainx_simulator`` served on 127.0.0.1 (``.base_url`` ends with ``/v1``)."""
    with maintainx_simulator.serve() as server:
        yield server


@pytest.fixture
def maintainx_client_options() -> dict[str, Any]:
    """Extra keyword arguments for ``maintainx_client`` and ``maintainx_async_client`` (any
    ``MaintainXClient`` option: ``retry=``, ``fallback=None``...; ``transport=None`` with
    ``base_url=maintainx_server.base_url`` goes over a real socket). Override to customise."""
    return {}


def _client_options(
    simulator: Simulator, clock: FakeClock, extra: dict[str, Any], transport: Any
) -> dict[str, Any]:
    return {"api_key": simulator.API_KEY, "clock": clock, "transport": transport, **extra}


@pytest.fixture
def maintainx_client(
    maintainx_simulator: Simulator,
    maintainx_clock: FakeClock,
    maintainx_client_options: dict[str, Any],
) -> Iterator[MaintainXClient]:
    """A ``MaintainXClient`` on ``maintainx_simulator`` (every policy on, as in production,
    on ``maintainx_clock``), closed at teardown."""
    from maintainx_resilient import MaintainXClient

    transport = maintainx_simulator.transport()
    options = _client_options(
        maintainx_simulator, maintainx_clock, maintainx_client_options, transport
    )
    with MaintainXClient(**options) as client:
        yield client


@_async_fixture
async def maintainx_async_client(
    maintainx_simulator: Simulator,
    maintainx_clock: FakeClock,
    maintainx_client_options: dict[str, Any],
) -> AsyncIterator[AsyncMaintainXClient]:
    """An ``AsyncMaintainXClient`` on ``maintainx_simulator`` (needs pytest-asyncio), closed
    at teardown."""
    from maintainx_resilient import AsyncMaintainXClient

    transport = maintainx_simulator.transport()
    options = _client_options(
        maintainx_simulator, maintainx_clock, maintainx_client_options, transport
    )
    async with AsyncMaintainXClient(**options) as client:
        yield client
