"""Testing your own integration with the plugin's fixtures: the example docs/testing.md shows.

The first part is the code under test (in your project it lives in your package); the tests
below it use ``maintainx_client`` (a real ``MaintainXClient``, every policy on, on the
simulator), ``maintainx_simulator`` (its data, faults and counters) and ``maintainx_clock``
(the fake clock both share: no test here sleeps).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from maintainx_resilient import MaintainXClient
from maintainx_resilient.testing import FakeClock, RateLimitConfig, Simulator

# -- the code under test -----------------------------------------------------------------------


@dataclass
class OpenWork:
    titles: list[str]
    stale: bool  # some page came from the fallback cache


def open_work(client: MaintainXClient, priority: str | None = None) -> OpenWork:
    """The titles of the open work orders (of one priority), page by page."""
    filters: dict[str, Any] = {"statuses": ["OPEN"], "limit": 20}
    if priority is not None:
        filters["priorities"] = [priority]
    titles: list[str] = []
    stale = False
    for page in client.work_orders.iter(**filters).pages():
        titles += [work_order.title or "" for work_order in page.items]
        stale = stale or page.response_meta.stale
    return OpenWork(titles, stale)


# -- its tests -------------------------------------------------------------------------------


def expected(sim: Simulator, priority: str | None = None) -> list[str]:
    return [
        record["title"]
        for record in sim.records("workorders")
        if record["status"] == "OPEN" and priority in (None, record["priority"])
    ]


def test_lists_the_open_work(
    maintainx_client: MaintainXClient, maintainx_simulator: Simulator
) -> None:
    report = open_work(maintainx_client, "HIGH")
    assert report.titles == expected(maintainx_simulator, "HIGH")
    assert not report.stale


def test_an_outage_is_answered_from_the_fallback_cache(
    maintainx_client: MaintainXClient, maintainx_simulator: Simulator, maintainx_clock: FakeClock
) -> None:
    before = open_work(maintainx_client)
    maintainx_simulator.faults.outage(status=503)  # every request answers 503 from now on
    maintainx_clock.advance(600)  # ten minutes later
    during = open_work(maintainx_client)
    assert during.titles == before.titles
    assert during.stale


def test_a_429_is_waited_out(
    maintainx_client: MaintainXClient, maintainx_simulator: Simulator, maintainx_clock: FakeClock
) -> None:
    maintainx_simulator.faults.fail_next(1, status=429, headers={"Retry-After": "7"})
    report = open_work(maintainx_client, "LOW")
    assert report.titles == expected(maintainx_simulator, "LOW")
    assert maintainx_simulator.stats.by_status[429] == 1
    assert 7 in maintainx_clock.sleeps  # waited as told, on the fake clock


class TestATightRateLimit:
    @pytest.fixture
    def maintainx_simulator_options(self) -> dict[str, Any]:
        return {"seed": 5, "work_orders": 200, "rate_limit": RateLimitConfig(per_user=1)}

    def test_a_long_report_takes_minutes_of_fake_time(
        self,
        maintainx_client: MaintainXClient,
        maintainx_simulator: Simulator,
        maintainx_clock: FakeClock,
    ) -> None:
        start = maintainx_clock.monotonic()
        report = open_work(maintainx_client)
        assert report.titles == expected(maintainx_simulator)
        assert len(report.titles) > 40  # three pages, at one request a minute
        assert maintainx_clock.monotonic() - start >= 60
