"""The pytest plugin's fixtures, and that loading the plugin stays cheap."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from maintainx_resilient import AsyncMaintainXClient, MaintainXClient, ServerError
from maintainx_resilient.testing import FakeClock, RateLimitConfig, Simulator, SimulatorServer


def test_the_simulator_fixture_is_small_and_fresh(maintainx_simulator: Simulator) -> None:
    """maintainx_simulator is a new simulator with small seeded data."""
    assert 0 < len(maintainx_simulator.records("workOrders")) <= 100
    assert maintainx_simulator.stats.requests_total == 0


@pytest.mark.socket
def test_the_server_fixture_serves_the_simulator(maintainx_server: SimulatorServer) -> None:
    """maintainx_server answers on a real socket with the fixture's simulator."""
    headers = {"Authorization": f"Bearer {Simulator.API_KEY}"}
    with httpx.Client(base_url=maintainx_server.base_url, headers=headers) as http:
        assert http.get("/workorders", params={"limit": 1}).status_code == 200
    assert maintainx_server.simulator.stats.requests_total == 1


class TestOptionsOverride:
    """Overriding maintainx_simulator_options customises the simulator."""

    @pytest.fixture
    def maintainx_simulator_options(self) -> dict[str, Any]:
        return {"seed": 9, "work_orders": 3, "assets": 1, "rate_limit": None}

    def test_the_override_is_used(self, maintainx_simulator: Simulator) -> None:
        """The overriding fixture's sizes and options reach the simulator."""
        assert len(maintainx_simulator.records("workOrders")) == 3
        assert maintainx_simulator.rate_limit is None


def test_loading_the_plugin_does_not_import_the_simulator() -> None:
    """Importing the plugin module (fresh) leaves the simulator, server and transport unimported."""
    prefix = "maintainx_resilient.testing"
    saved = {name: module for name, module in sys.modules.items() if name.startswith(prefix)}
    parent = sys.modules["maintainx_resilient"]
    try:
        for name in saved:
            del sys.modules[name]
        importlib.import_module(f"{prefix}.pytest_plugin")
        loaded = sorted(name for name in sys.modules if name.startswith(prefix))
    finally:
        for name in [name for name in sys.modules if name.startswith(prefix)]:
            del sys.modules[name]
        sys.modules.update(saved)
        parent.testing = saved[prefix]  # type: ignore[attr-defined]
    assert loaded == [prefix, f"{prefix}.pytest_plugin"]


# -- the clock, client and async client fixtures -----------------------------------------------


def test_the_clock_is_the_simulators(
    maintainx_simulator: Simulator, maintainx_clock: FakeClock
) -> None:
    """maintainx_clock drives the simulator: moving it moves the simulator's time."""
    before = maintainx_simulator.clock()
    maintainx_clock.advance(90.0)
    assert maintainx_simulator.clock() == before + 90.0 == maintainx_clock.monotonic()


def test_the_client_fixture_talks_to_the_simulator(
    maintainx_client: MaintainXClient, maintainx_simulator: Simulator
) -> None:
    """maintainx_client reads the fixture simulator's data, in process."""
    page = maintainx_client.work_orders.list(limit=5)
    assert [w.id for w in page.items] == [
        r["id"] for r in maintainx_simulator.records("workOrders")[:5]
    ]
    assert maintainx_simulator.stats.route("GET", "/workorders") == 1


def test_faults_on_the_simulator_reach_the_client(
    maintainx_client: MaintainXClient, maintainx_simulator: Simulator, maintainx_clock: FakeClock
) -> None:
    """Two 503s are retried through (on the shared fake clock: the backoff takes no time)."""
    maintainx_simulator.faults.fail_next(2, status=503)
    assert maintainx_client.work_orders.get(1).id == 1
    assert maintainx_simulator.stats.route("GET", "/workorders/{id}") == 3
    assert len(maintainx_clock.sleeps) >= 2


class TestClientOptions:
    """Overriding maintainx_client_options changes the client's policies."""

    @pytest.fixture
    def maintainx_client_options(self) -> dict[str, Any]:
        return {"retry": None, "fallback": None}

    def test_without_retries_a_503_is_raised(
        self, maintainx_client: MaintainXClient, maintainx_simulator: Simulator
    ) -> None:
        maintainx_simulator.faults.fail_next(1, status=503)
        with pytest.raises(ServerError):
            maintainx_client.work_orders.get(1)
        assert maintainx_simulator.stats.route("GET", "/workorders/{id}") == 1


class TestRateLimitOptions:
    """A tight rate limit in the simulator's options is waited out on the fake clock."""

    @pytest.fixture
    def maintainx_simulator_options(self) -> dict[str, Any]:
        return {"work_orders": 30, "rate_limit": RateLimitConfig(per_user=1, window=60.0)}

    def test_requests_past_the_limit_wait_for_the_next_window(
        self, maintainx_client: MaintainXClient, maintainx_clock: FakeClock
    ) -> None:
        start = maintainx_clock.monotonic()
        for work_order_id in (1, 2, 3):
            assert maintainx_client.work_orders.get(work_order_id).id == work_order_id
        assert maintainx_clock.monotonic() - start >= 60.0


@pytest.mark.socket
class TestOverASocket:
    """transport=None and the server's base_url: the client goes over a real socket."""

    @pytest.fixture
    def maintainx_client_options(self, maintainx_server: SimulatorServer) -> dict[str, Any]:
        return {"transport": None, "base_url": maintainx_server.base_url}

    def test_the_client_uses_the_server(
        self, maintainx_client: MaintainXClient, maintainx_server: SimulatorServer
    ) -> None:
        assert maintainx_client.work_orders.get(2).id == 2
        assert maintainx_server.connections_accepted >= 1


async def test_the_async_client_fixture(
    maintainx_async_client: AsyncMaintainXClient, maintainx_simulator: Simulator
) -> None:
    """maintainx_async_client reads the same simulator, and survives a fault too."""
    maintainx_simulator.faults.fail_next(1, status=502)
    page = await maintainx_async_client.assets.list(limit=3)
    assert [a.id for a in page.items] == [
        r["id"] for r in maintainx_simulator.records("assets")[:3]
    ]
    assert maintainx_simulator.stats.route("GET", "/assets") == 2


SANDBOX_TESTS = """
import asyncio
import time

import pytest

CLIENTS = []


def test_keep_the_clients(maintainx_client, maintainx_async_client):
    CLIENTS.extend([maintainx_client, maintainx_async_client])
    assert maintainx_client.work_orders.get(1).id == 1


def test_they_were_closed_at_teardown():
    sync_client, async_client = CLIENTS
    with pytest.raises(RuntimeError):
        sync_client.work_orders.get(1)
    with pytest.raises(RuntimeError):
        asyncio.run(async_client.work_orders.get(1))


@pytest.mark.asyncio
async def test_the_async_fixture_works_in_strict_mode(maintainx_async_client):
    assert (await maintainx_async_client.work_orders.get(1)).id == 1


class TestRealTime:
    @pytest.fixture
    def maintainx_simulator_options(self):
        return {"work_orders": 3, "clock": time.monotonic}

    def test_a_clock_in_the_options_replaces_the_fake(self, maintainx_simulator, maintainx_clock):
        maintainx_clock.advance(1000)
        assert abs(maintainx_simulator.clock() - time.monotonic()) < 5
"""


def test_the_fixtures_in_a_fresh_project(pytester: pytest.Pytester) -> None:
    """In a project with only the package installed (pytest-asyncio in strict mode), the
    fixtures are there; the clients are closed at teardown; options can swap the clock."""
    pytester.makeini(
        "[pytest]\nasyncio_mode = strict\nasyncio_default_fixture_loop_scope = function\n"
    )
    pytester.makepyfile(test_sandbox=SANDBOX_TESTS)
    result = pytester.runpytest_inprocess("-q")
    result.assert_outcomes(passed=4)


def test_the_docs_show_the_example_as_it_runs() -> None:
    """docs/testing.md shows tests/testing/test_plugin_example.py verbatim (so it runs)."""
    root = Path(__file__).resolve().parents[2]
    docs = (root / "docs" / "testing.md").read_text(encoding="utf-8")
    opening = "<!-- example: tests/testing/test_plugin_example.py -->\n```python\n"
    shown = docs.split(opening, 1)[1].split("```\n<!-- end example -->", 1)[0]
    assert shown == (root / "tests" / "testing" / "test_plugin_example.py").read_text()
