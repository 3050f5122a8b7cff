"""A local MaintainX API for tests, benchmarks and demos.

>>> from maintainx_resilient.testing import Simulator
>>> sim = Simulator(seed=1, work_orders=50)
>>> import httpx
>>> client = httpx.Client(transport=sim.transport(), base_url="https://sim/v1",
...                       headers={"Authorization": f"Bearer {sim.API_KEY}"})
>>> client.get("/workorders", params={"limit": 2}).json()["workOrders"][0]["id"]
1

It serves every operation of MaintainX's OpenAPI document (shipped in ``spec/``, read once
per process). ``sim.serve()`` serves the same simulator on a real socket; ``sim.faults``
injects failures; ``sim.stats`` counts what reached it. ``FakeClock`` (the library's
injectable clock) drives its time in tests: ``Simulator(clock=FakeClock())``. The pytest
plugin provides the ``maintainx_client``, ``maintainx_async_client``, ``maintainx_simulator``,
``maintainx_clock`` and ``maintainx_server`` fixtures.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_names as _lazy_names

if TYPE_CHECKING:
    from .._clock import FakeClock
    from ._data import SeedSizes
    from ._faults import FaultControls
    from ._messages import SimRequest, SimResponse
    from ._process import simulator_process
    from ._ratelimit import RateLimitConfig
    from ._server import SimulatorServer
    from ._simulator import ApiKey, Simulator
    from ._stats import RequestRecord, SimStats
    from ._transport import SimulatorTransport

__all__ = [
    "ApiKey",
    "FakeClock",
    "FaultControls",
    "RateLimitConfig",
    "RequestRecord",
    "SeedSizes",
    "SimRequest",
    "SimResponse",
    "SimStats",
    "Simulator",
    "SimulatorServer",
    "SimulatorTransport",
    "simulator_process",
]

# Imported on first use, so that loading the pytest plugin (which imports this package) stays
# cheap for test sessions that never use the simulator.
_HOMES = {
    "ApiKey": "._simulator",
    "FakeClock": "maintainx_resilient._clock",
    "FaultControls": "._faults",
    "RateLimitConfig": "._ratelimit",
    "RequestRecord": "._stats",
    "SeedSizes": "._data",
    "SimRequest": "._messages",
    "SimResponse": "._messages",
    "SimStats": "._stats",
    "Simulator": "._simulator",
    "SimulatorServer": "._server",
    "SimulatorTransport": "._transport",
    "simulator_process": "._process",
}


__getattr__, __dir__ = _lazy_names(__name__, _HOMES, __all__)
