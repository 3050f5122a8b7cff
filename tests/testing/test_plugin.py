"""The pytest plugin's fixtures, and that loading the plugin stays cheap."""

from __future__ import annotations

import importlib
import sys
from typing import Any

import httpx
import pytest

from maintainx_resilient.testing import Simulator, SimulatorServer


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
