"""A 200 whose body is not the API's JSON (an HTML login page from a proxy, truncated JSON,
the wrong shape) fails every call with DecodeError: the statistics, RB-002 and health() must
say so instead of "healthy, 0 % errors" (QA finding 1)."""

from __future__ import annotations

import pytest

from maintainx_resilient import AsyncMaintainXClient, DecodeError, MaintainXClient
from maintainx_resilient.diagnostics import DiagnosticsConfig
from maintainx_resilient.diagnostics import rb002_errors as rb002
from maintainx_resilient.testing import Simulator

PROXY_PAGE = "<html><body>Please log in to the corporate proxy</body></html>"


def _proxy(sim: Simulator) -> None:
    sim.faults.fail_next(1000, status=200, headers={"Content-Type": "text/html"}, body=PROXY_PAGE)


def _client(sim: Simulator) -> MaintainXClient:
    return MaintainXClient(
        api_key=Simulator.API_KEY,
        transport=sim.transport(),
        diagnostics=DiagnosticsConfig(status_page_url=None),
    )


def test_decode_errors_count_as_failed_calls_in_rb002() -> None:
    sim = Simulator(seed=1, work_orders=30)
    client = _client(sim)
    _proxy(sim)
    for i in range(12):
        with pytest.raises(DecodeError):
            client.work_orders.get(i + 1)
    snap = client.stats.snapshot()
    assert (snap.requests, snap.errors) == (12, 12)
    assert dict(snap.error_distribution) == {"DecodeError:GET /workorders/{id}": 12}
    report = client.diagnose(only=["RB-002"])
    codes = {f.code for f in report.findings}
    assert {rb002.CODE_ERROR_RATE, rb002.CODE_UNREADABLE_ANSWERS} <= codes
    assert "100.0% of 12 calls failed" in report.results[0].detail
    client.close()


@pytest.mark.parametrize("kind", ["truncated", "wrong_type"])
def test_malformed_json_counts_as_failed(kind: str) -> None:
    sim = Simulator(seed=1, work_orders=30)
    client = _client(sim)
    sim.faults.malformed(n=1000, kind=kind)
    for _ in range(3):
        with pytest.raises(DecodeError):
            client.work_orders.list(limit=5)
    snap = client.stats.snapshot()
    assert (snap.requests, snap.errors) == (3, 3)
    client.close()


async def test_async_client_counts_decode_errors_too() -> None:
    sim = Simulator(seed=1, work_orders=30)
    client = AsyncMaintainXClient(
        api_key=Simulator.API_KEY,
        transport=sim.transport(),
        diagnostics=DiagnosticsConfig(status_page_url=None),
    )
    _proxy(sim)
    for i in range(3):
        with pytest.raises(DecodeError):
            await client.work_orders.get(i + 1)
    snap = client.stats.snapshot()
    assert (snap.requests, snap.errors) == (3, 3)
    await client.aclose()
