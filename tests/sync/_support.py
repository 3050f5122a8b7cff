"""Helpers of the sync tests: simulators, clients on them, and views of both sides."""

from __future__ import annotations

from typing import Any

import httpx

from maintainx_resilient import MaintainXClient
from maintainx_resilient._iso8601 import parse_timestamp
from maintainx_resilient.sync import SyncStore
from maintainx_resilient.sync._fetch import Fetcher, RawPage
from maintainx_resilient.testing import Simulator

#: Other resources kept small: only work orders matter in most tests.
SMALL_OTHERS: dict[str, int] = {
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


def make_sim(work_orders: int = 1000, **options: Any) -> Simulator:
    settings: dict[str, Any] = {"seed": 11, "rate_limit": None, **SMALL_OTHERS}
    settings.update(options)
    return Simulator(work_orders=work_orders, **settings)


#: Client keywords that switch every resilience policy off: a failure shows at once and
#: nothing waits for a real rate-limit slot (the simulators here have no rate limit).
BARE: dict[str, Any] = {"throttle": None, "retry": None, "breaker": None, "fallback": None}


def client_for(
    sim: Simulator, transport: httpx.BaseTransport | None = None, **options: Any
) -> MaintainXClient:
    """A client on the in-process transport with the policies of ``BARE`` unless told."""
    return MaintainXClient(
        api_key=Simulator.API_KEY,
        base_url="https://sim.test/v1",
        transport=transport or sim.transport(),
        **{**BARE, **options},
    )


def served_client(base_url: str, **options: Any) -> MaintainXClient:
    """A client over a real socket: default policies except the throttle (the simulator
    here has no rate limit to keep to)."""
    return MaintainXClient(
        api_key=Simulator.API_KEY, base_url=base_url, **{"throttle": None, **options}
    )


def remote_view(sim: Simulator, resource: str = "workOrders") -> dict[int, int | None]:
    """MaintainX's side: ``{id: updatedAt microseconds}``."""
    return {
        r["id"]: parse_timestamp(r["updatedAt"]) if r.get("updatedAt") else None
        for r in sim.records(resource)
    }


def local_view(store: SyncStore, resource: str = "workOrders") -> dict[int, int | None]:
    """The store's side: ``{id: updatedAt microseconds}``."""
    return {e.id: e.updated_us for e in store.entries(resource)}


def remote_iso(sim: Simulator, resource: str = "workOrders") -> dict[int, str]:
    return {r["id"]: r["updatedAt"] for r in sim.records(resource)}


class Crash(Exception):
    """Stands for the process dying (SIGKILL, power cut) in the middle of a sync."""


class CrashingFetcher(Fetcher):
    """A fetcher that dies while requesting its ``crash_at``-th page (counted from 1)."""

    def __init__(self, *args: Any, crash_at: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.crash_at = crash_at
        self.calls = 0

    def page(self, params: Any, cursor: str | None = None) -> RawPage:
        self.calls += 1
        if self.calls == self.crash_at:
            raise Crash(f"killed while fetching page {self.calls}")
        return super().page(params, cursor)


class RecordingTransport(httpx.BaseTransport):
    """Passes requests to ``inner`` and keeps each request's query (multi-valued)."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.queries: list[list[tuple[str, str]]] = []
        self.paths: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(request.url.path)
        self.queries.append(list(request.url.params.multi_items()))
        return self.inner.handle_request(request)
