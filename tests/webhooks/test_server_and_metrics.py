"""The small ASGI server speaks enough HTTP/1.1 for MaintainX deliveries (keep-alive, chunked
bodies, bad requests); the health probe of RB-003 uses it; metrics reach OpenTelemetry under the
runbook's ``webhook_failures`` name; the ledger applies each key once."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from maintainx_resilient._clock import FakeClock
from maintainx_resilient.webhooks import (
    LocalServer,
    SqliteLedger,
    SqliteQueue,
    WebhookApp,
    WebhookMetrics,
    WebhookReceiver,
    WebhookRoute,
)

from ._support import payload, signed_headers


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[LocalServer, WebhookReceiver]]:
    queue = SqliteQueue(tmp_path / "q.db", synchronous="NORMAL")
    receiver = WebhookReceiver(queue, [WebhookRoute.create("wo", "NEW_WORK_ORDER", ["s"])])
    with LocalServer(WebhookApp(receiver)) as server:
        yield server, receiver
    receiver.close()
    queue.close()


@pytest.mark.socket
def test_keep_alive_and_chunked_bodies(served: tuple[LocalServer, WebhookReceiver]) -> None:
    server, receiver = served
    url = f"{server.url}/webhooks/maintainx/wo"
    with httpx.Client() as client:
        for n in range(3):
            body = payload(n)
            stamp = int(receiver.clock.time())
            answer = client.post(url, content=body, headers=signed_headers("s", body, url, stamp))
            assert answer.status_code == 200
        body = payload(9)
        stamp = int(receiver.clock.time())

        def chunks() -> Iterator[bytes]:
            yield body[:10]
            yield body[10:]

        answer = client.post(url, content=chunks(), headers=signed_headers("s", body, url, stamp))
        assert answer.status_code == 200
        assert client.head(f"{server.url}/webhooks/maintainx/health").status_code == 200
    assert server.requests == 5
    assert "LocalServer" in repr(server)


@pytest.mark.socket
def test_an_oversized_chunked_delivery_over_a_socket_is_413(
    served: tuple[LocalServer, WebhookReceiver],
) -> None:
    server, receiver = served
    url = f"{server.url}/webhooks/maintainx/wo"
    body = payload(7, note="z" * (2 << 20))
    headers = signed_headers("s", body, url, int(receiver.clock.time()))

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(body), 1 << 16):
            yield body[start : start + (1 << 16)]

    with httpx.Client(timeout=10) as client:
        answer = client.post(url, content=chunks(), headers=headers)
    assert (answer.status_code, answer.json()) == (413, {"error": "payload too large"})
    assert receiver.queue.stats().depth == 0


@pytest.mark.socket
def test_a_body_past_the_servers_own_limit_is_413_too(
    served: tuple[LocalServer, WebhookReceiver],
) -> None:
    server, _ = served
    with socket.create_connection((server.host, server.port), timeout=10) as conn:
        conn.sendall(b"POST /webhooks/maintainx/wo HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n")
        assert conn.recv(100).startswith(b"HTTP/1.1 413")


@pytest.mark.socket
def test_bad_requests_are_refused(served: tuple[LocalServer, WebhookReceiver]) -> None:
    server, _ = served
    for raw in (
        b"NONSENSE\r\n\r\n",
        b"POST /webhooks/maintainx/wo HTTP/1.1\r\nContent-Length: x\r\n\r\n",
        b"POST /x HTTP/1.1\r\nbroken header\r\n\r\n",
        b"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    ):
        with socket.create_connection((server.host, server.port), timeout=10) as conn:
            conn.sendall(raw)
            assert conn.recv(100).startswith(b"HTTP/1.1 400")
    with socket.create_connection((server.host, server.port), timeout=10) as conn:
        conn.sendall(b"GET /webhooks/maintainx/health HTTP/1.0\r\n\r\n")
        reply = conn.recv(1000)
        assert reply.startswith(b"HTTP/1.1 200") and b"connection: close" in reply


@pytest.mark.socket
def test_health_url_probe_for_rb003(
    served: tuple[LocalServer, WebhookReceiver], tmp_path: Path
) -> None:
    server, receiver = served
    receiver.health_url = f"{server.url}/webhooks/maintainx/health"
    assert receiver.webhook_health()["endpoint_ok"] is True
    receiver.health_url = f"{server.url}/nowhere"
    health = receiver.webhook_health()
    assert health["endpoint_ok"] is False
    assert "health endpoint: HTTP 404" in health["errors"]
    receiver.health_url = "http://127.0.0.1:9/webhooks/maintainx/health"  # nothing listens
    assert receiver.webhook_health()["endpoint_ok"] is False


def test_server_stop_is_idempotent() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:  # pragma: no cover - unused
        return None

    server = LocalServer(app)
    server.stop()
    with server:
        assert server.port > 0
    server.stop()
    with pytest.raises(RuntimeError, match="did not start"):
        LocalServer(app, host="256.0.0.1").start()


def test_metrics_reach_opentelemetry(tmp_path: Path) -> None:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    metrics = WebhookMetrics(meter_provider=provider)
    clock = FakeClock()
    queue = SqliteQueue(tmp_path / "q.db", synchronous="NORMAL", clock=clock)
    url = "https://h/webhooks/maintainx/wo"
    route = WebhookRoute.create("wo", "NEW_WORK_ORDER", ["s"])
    with WebhookReceiver(queue, [route], clock=clock, metrics=metrics) as receiver:
        body = payload(1)
        receiver.handle("POST", url, signed_headers("s", body, url, int(clock.time())), body)
        receiver.handle("POST", url, signed_headers("x", body, url, int(clock.time())), body)
    data = reader.get_metrics_data()
    assert data is not None
    points: dict[str, Any] = {}
    for resource in data.resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                points[metric.name] = list(metric.data.data_points)
    assert points["webhook_failures"][0].value == 1
    assert dict(points["webhook_failures"][0].attributes) == {
        "maintainx.webhook.stage": "receive",
        "maintainx.reason": "bad_signature",
    }
    assert points["maintainx.webhook.stored"][0].value == 1
    assert points["maintainx.webhook.queue.depth"][0].value == 1
    assert points["maintainx.webhook.queue.oldest_pending_age"][0].value == 0
    assert points["maintainx.webhook.queue.dead"][0].value == 0
    provider.shutdown()
    queue.close()


def test_ledger_applies_each_key_once(tmp_path: Path) -> None:
    with SqliteLedger(tmp_path / "app.db") as ledger:
        ledger.connection().execute("CREATE TABLE counts (n INTEGER)")
        ledger.connection().execute("INSERT INTO counts VALUES (0)")

        def bump(db: Any) -> None:
            db.execute("UPDATE counts SET n = n + 1")

        assert ledger.apply_once("k1", bump)
        assert not ledger.apply_once("k1", bump)
        assert ledger.apply_once("k2", bump)

        def broken(db: Any) -> None:
            bump(db)
            raise RuntimeError("half-way")

        with pytest.raises(RuntimeError):
            ledger.apply_once("k3", broken)
        assert not ledger.applied("k3")  # rolled back with its effect
        assert ledger.count() == 2
        assert ledger.connection().execute("SELECT n FROM counts").fetchone()[0] == 2
    with pytest.raises(ValueError, match="identifier"):
        SqliteLedger(tmp_path / "x.db", table="x; DROP TABLE y")
