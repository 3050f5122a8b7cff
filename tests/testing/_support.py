"""Helpers shared by the simulator tests: a fake clock and ready-made clients."""

from __future__ import annotations

from typing import Any

import httpx

from maintainx_resilient.testing import Simulator

SMALL: dict[str, Any] = {
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


class FakeClock:
    """A monotonic clock that only moves when told to; ``sleep`` advances it."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def make_sim(clock: FakeClock | None = None, **overrides: Any) -> Simulator:
    """A small simulator; rate limits off unless ``rate_limit`` is given."""
    clock = clock or FakeClock()
    options: dict[str, Any] = {
        "seed": 1,
        "rate_limit": None,
        "clock": clock,
        "sleep": clock.sleep,
        **SMALL,
        **overrides,
    }
    return Simulator(**options)


def client(sim: Simulator, key: str | None = Simulator.API_KEY, **kwargs: Any) -> httpx.Client:
    """A plain httpx client on the in-process transport, base URL ending in ``/v1``."""
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.Client(
        transport=sim.transport(), base_url="https://sim.test/v1", headers=headers, **kwargs
    )


def collect(http: httpx.Client, path: str, key: str, params: list[tuple[str, str]]) -> list[Any]:
    """Every record of a list, following ``nextCursor`` until it is null."""
    records: list[Any] = []
    cursor: str | None = None
    while True:
        query = params + ([("cursor", cursor)] if cursor else [])
        response = http.get(path, params=httpx.QueryParams(tuple(query)))
        assert response.status_code == 200, response.text
        body = response.json()
        records.extend(body[key])
        cursor = body["nextCursor"]
        if cursor is None:
            return records
