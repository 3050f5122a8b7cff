"""The in-process transport: httpx requests in, httpx responses out, sync and async."""

from __future__ import annotations

import httpx
import pytest

from maintainx_resilient.testing import Simulator

from ._support import FakeClock, client, make_sim


def test_query_headers_and_body_reach_the_simulator() -> None:
    """Repeated query keys, header case and JSON bodies survive the trip."""
    sim = make_sim()
    with client(sim) as http:
        answer = http.get(
            "/workorders", params=[("statuses", "OPEN"), ("statuses", "DONE"), ("limit", "200")]
        )
        created = http.post(
            "/workorders", json={"title": "via transport"}, headers={"X-Organization-Id": "1"}
        )
    assert {w["status"] for w in answer.json()["workOrders"]} == {"OPEN", "DONE"}
    assert created.status_code == 200


def test_one_transport_serves_sync_and_async_clients() -> None:
    """The same transport object is an httpx.BaseTransport and an AsyncBaseTransport."""
    transport = make_sim().transport()
    assert isinstance(transport, httpx.BaseTransport)
    assert isinstance(transport, httpx.AsyncBaseTransport)


async def test_async_clients_get_the_same_answers() -> None:
    """An AsyncClient lists, creates and reads back like the sync client."""
    sim = make_sim()
    headers = {"Authorization": f"Bearer {Simulator.API_KEY}"}
    async with httpx.AsyncClient(
        transport=sim.transport(), base_url="https://sim.test/v1", headers=headers
    ) as http:
        page = await http.get("/workorders", params={"limit": 5})
        created = await http.post("/workorders", json={"title": "async"})
        got = await http.get(f"/workorders/{created.json()['id']}")
    assert len(page.json()["workOrders"]) == 5
    assert got.json()["workOrder"]["title"] == "async"


def test_a_per_request_timeout_is_honoured() -> None:
    """The read timeout of the request (not only the client's) bounds simulated latency."""
    clock = FakeClock()
    sim = make_sim(clock)
    sim.faults.latency(3.0)
    with client(sim, timeout=10.0) as http:
        assert http.get("/teams").status_code == 200
        with pytest.raises(httpx.ReadTimeout):
            http.get("/teams", timeout=1.0)
    assert clock.slept == [3.0, 1.0]


def test_responses_carry_their_request() -> None:
    """httpx.Response.request is set, so raise_for_status and event hooks work."""
    sim = make_sim()
    with client(sim) as http:
        answer = http.get("/workorders/999999")
    assert answer.request.url.path == "/v1/workorders/999999"
    with pytest.raises(httpx.HTTPStatusError):
        answer.raise_for_status()
