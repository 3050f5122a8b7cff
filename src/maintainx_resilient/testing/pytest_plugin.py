"""pytest plugin (entry point ``pytest11``): MaintainX simulator fixtures.

- ``maintainx_simulator``: a fresh ``Simulator`` with small seeded data.
- ``maintainx_server``: that simulator served on a real socket, stopped at teardown.
- ``maintainx_simulator_options``: the keyword arguments of the simulator; override this
  fixture in your ``conftest.py`` to change the seed, the sizes or the rate limits.

Importing this module imports nothing heavy: the simulator is imported when a fixture runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from maintainx_resilient.testing import Simulator, SimulatorServer

__all__ = ["maintainx_server", "maintainx_simulator", "maintainx_simulator_options"]

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


@pytest.fixture
def maintainx_simulator_options() -> dict[str, Any]:
    """Keyword arguments for ``maintainx_simulator``; override to customise."""
    return dict(SMALL_DATA)


@pytest.fixture
def maintainx_simulator(maintainx_simulator_options: dict[str, Any]) -> Simulator:
    """A fresh MaintainX simulator (small seeded data, default key ``Simulator.API_KEY``)."""
    from maintainx_resilient.testing import Simulator

    return Simulator(**maintainx_simulator_options)


@pytest.fixture
def maintainx_server(maintainx_simulator: Simulator) -> Iterator[SimulatorServer]:
    """``maintainx_simulator`` served on 127.0.0.1 (``.base_url`` ends with ``/v1``)."""
    with maintainx_simulator.serve() as server:
        yield server
