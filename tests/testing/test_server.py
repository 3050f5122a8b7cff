"""The simulator over a real socket: keep-alive, dropped connections, prompt stop."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from maintainx_resilient.testing import Simulator, SimulatorServer

from ._support import FakeClock, make_sim

pytestmark = pytest.mark.socket


def http_client(server: SimulatorServer, **kwargs: object) -> httpx.Client:
    headers = {"Authorization": f"Bearer {Simulator.API_KEY}"}
    return httpx.Client(base_url=server.base_url, headers=headers, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def server() -> Iterator[SimulatorServer]:
    with make_sim().serve() as running:
        yield running


def test_serves_the_api_on_a_free_loopback_port(server: SimulatorServer) -> None:
    """url and base_url point at 127.0.0.1:<port>, and the API answers there."""
    assert server.url == f"http://127.0.0.1:{server.port}"
    assert server.base_url == server.url + "/v1"
    with http_client(server) as http:
        answer = http.get("/workorders", params={"limit": 3})
        versions = http.get(server.url + "/versions")
    assert answer.status_code == 200 and len(answer.json()["workOrders"]) == 3
    assert answer.headers["x-request-id"].startswith("sim-")
    assert versions.json() == [{"version": "1"}]


def test_keep_alive_reuses_one_connection(server: SimulatorServer) -> None:
    """Twenty requests from one client travel over a single TCP connection."""
    with http_client(server) as http:
        statuses = {http.get("/teams").status_code for _ in range(20)}
        assert http.delete("/workorders/999999").status_code == 404
        assert (
            http.delete(
                f"/workorders/{server.simulator.records('workOrders')[0]['id']}"
            ).status_code
            == 204
        )
        assert http.get("/teams").status_code == 200
    assert statuses == {200}
    assert server.connections_accepted == 1


def test_a_dropped_connection_is_a_client_side_error(server: SimulatorServer) -> None:
    """drop_connections: the socket closes without an answer; the next request reconnects."""
    server.simulator.faults.drop_connections(1)
    with http_client(server) as http:
        with pytest.raises(httpx.TransportError):
            http.get("/teams")
        assert http.get("/teams").status_code == 200


def test_refused_connections_during_an_outage(server: SimulatorServer) -> None:
    """outage(mode="refuse") closes every connection unanswered until heal()."""
    server.simulator.faults.outage(mode="refuse")
    with http_client(server) as http:
        with pytest.raises(httpx.TransportError):
            http.get("/teams")
        server.simulator.faults.heal()
        assert http.get("/teams").status_code == 200


def test_stop_is_prompt_with_idle_and_silent_connections_open() -> None:
    """stop() returns quickly although keep-alive and never-speaking clients hold connections."""
    sim = make_sim()
    server = sim.serve()
    http = http_client(server)
    assert http.get("/teams").status_code == 200  # leaves an idle keep-alive connection
    silent = socket.create_connection(("127.0.0.1", server.port))
    started = time.monotonic()
    server.stop()
    elapsed = time.monotonic() - started
    silent.close()
    http.close()
    assert elapsed < 1.0
    server.stop()  # idempotent
    with pytest.raises(httpx.TransportError), http_client(server) as again:
        again.get("/teams", timeout=1.0)


def test_stop_is_prompt_while_a_request_hangs() -> None:
    """A connection held open by the hang fault does not delay stop()."""
    sim = make_sim()
    sim.faults.hang(1)
    server = sim.serve()
    with http_client(server, timeout=0.2) as http, pytest.raises(httpx.ReadTimeout):
        http.get("/teams")
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 1.0


def test_survives_clients_that_disconnect(server: SimulatorServer) -> None:
    """Clients closing mid-request or before reading the answer do not break the server."""
    request = (
        b"GET /v1/workorders?limit=200 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sim-key\r\n\r\n"
    )
    for payload in (
        request[:20],
        request,
        b"POST /v1/workorders HTTP/1.1\r\nContent-Length: 50\r\n\r\n{",
    ):
        raw = socket.create_connection(("127.0.0.1", server.port))
        raw.sendall(payload)
        raw.close()
    with http_client(server) as http:
        assert http.get("/teams").status_code == 200


def test_latency_uses_the_injected_sleep_on_the_socket_too() -> None:
    """latency() on a served simulator waits through the simulator's sleep, not the wall clock."""
    clock = FakeClock()
    sim = make_sim(clock)
    sim.faults.latency(5.0)
    with sim.serve() as server, http_client(server) as http:
        assert http.get("/teams").status_code == 200
    assert clock.slept == [5.0]


def test_truncated_bodies_arrive_as_complete_http_messages(server: SimulatorServer) -> None:
    """malformed(kind="truncated"): a well-framed 200 whose JSON is cut."""
    server.simulator.faults.malformed(1, kind="truncated")
    with http_client(server) as http:
        broken = http.get("/workorders")
        assert http.get("/teams").status_code == 200  # the connection is still usable
    assert broken.status_code == 200
    assert int(broken.headers["content-length"]) == len(broken.content)
    with pytest.raises(ValueError):
        broken.json()


def test_chunked_request_bodies_are_read(server: SimulatorServer) -> None:
    """A streamed (chunked) POST body is decoded like a sized one."""

    def body() -> Iterator[bytes]:
        yield b'{"title": '
        yield b'"chunked"}'

    with http_client(server) as http:
        answer = http.post(
            "/workorders", content=body(), headers={"Content-Type": "application/json"}
        )
    assert answer.status_code == 200
    assert server.simulator.records("workOrders")[-1]["title"] == "chunked"


async def test_async_clients_work_over_the_socket(server: SimulatorServer) -> None:
    """An httpx.AsyncClient talks to the served simulator like the sync one."""
    headers = {"Authorization": f"Bearer {Simulator.API_KEY}"}
    async with httpx.AsyncClient(base_url=server.base_url, headers=headers) as http:
        answers = [await http.get("/users", params={"limit": 2}) for _ in range(3)]
    assert {a.status_code for a in answers} == {200}
