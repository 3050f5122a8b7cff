"""The ASGI app answers like the receiver, mounted at its prefix, at the root or below another
path; it checks the URI signature against the URL the request really came to."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, MutableMapping
from pathlib import Path
from typing import Any

import httpx
import pytest

from maintainx_resilient._clock import FakeClock
from maintainx_resilient.webhooks import SqliteQueue, WebhookApp, WebhookReceiver, WebhookRoute

from ._support import payload, signed_headers

SECRET = "asgi-secret"


@pytest.fixture
def queue(tmp_path: Path, clock: FakeClock) -> Iterator[SqliteQueue]:
    q = SqliteQueue(tmp_path / "q.db", synchronous="NORMAL", clock=clock)
    yield q
    q.close()


@pytest.fixture
def receiver(queue: SqliteQueue, clock: FakeClock) -> Iterator[WebhookReceiver]:
    route = WebhookRoute.create("wo", "NEW_WORK_ORDER", [SECRET])  # no registered URL
    r = WebhookReceiver(queue, [route], clock=clock)
    yield r
    r.close()


@pytest.fixture
async def client(receiver: WebhookReceiver) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=WebhookApp(receiver))
    async with httpx.AsyncClient(transport=transport, base_url="https://hooks.example") as c:
        yield c


async def test_post_through_httpx_asgi_transport(
    client: httpx.AsyncClient, clock: FakeClock, queue: SqliteQueue
) -> None:
    body = payload(1)
    url = "https://hooks.example/webhooks/maintainx/wo?tenant=3"
    headers = signed_headers(SECRET, body, url, int(clock.time()))
    answer = await client.post("/webhooks/maintainx/wo?tenant=3", content=body, headers=headers)
    assert (answer.status_code, answer.json()) == (200, {"status": "accepted"})
    again = await client.post("/webhooks/maintainx/wo?tenant=3", content=body, headers=headers)
    assert again.json() == {"status": "duplicate"}
    assert queue.stats().ready == 1


async def test_uri_signature_uses_host_and_query(
    client: httpx.AsyncClient, clock: FakeClock
) -> None:
    body = payload(2)
    wrong = signed_headers(
        SECRET, body, "https://hooks.example/webhooks/maintainx/wo", int(clock.time())
    )
    answer = await client.post("/webhooks/maintainx/wo?tenant=3", content=body, headers=wrong)
    assert answer.status_code == 401
    assert answer.json()["reason"] == "bad_signature"


async def test_health_and_errors(client: httpx.AsyncClient) -> None:
    health = await client.get("/webhooks/maintainx/health")
    assert (health.status_code, health.json()["status"]) == (200, "ok")
    assert (await client.get("/webhooks/maintainx/wo")).status_code == 405
    assert (await client.post("/other", content=b"{}")).status_code == 404
    big = await client.post(
        "/webhooks/maintainx/wo", content=b"x" * (2 << 20), headers={"content-type": "x"}
    )
    assert big.status_code == 413


class Driver:
    """A hand-written ASGI driver: one request, the messages the app sent back."""

    def __init__(self, app: Any) -> None:
        self.app = app
        #: messages the app took with ``receive()`` in the last request
        self.received = 0

    async def request(
        self,
        method: str,
        path: str,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
        *,
        root_path: str = "",
        chunks: int = 1,
        disconnect: bool = False,
    ) -> list[dict[str, Any]]:
        raw = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
        scope = {
            "type": "http",
            "method": method,
            "path": path,
            "root_path": root_path,
            "scheme": "https",
            "query_string": b"",
            "headers": [(b"host", b"hooks.example"), *raw],
            "server": ("hooks.example", 443),
        }
        size = max(1, len(body) // chunks + 1)
        parts = [body[i : i + size] for i in range(0, len(body), size)] or [b""]
        messages: list[dict[str, Any]] = [
            {"type": "http.request", "body": part, "more_body": i < len(parts) - 1}
            for i, part in enumerate(parts)
        ]
        if disconnect:
            messages = [{"type": "http.disconnect"}]
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            self.received += 1
            return messages.pop(0) if messages else {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await self.app(scope, receive, send)
        return sent


@pytest.mark.parametrize(
    ("root_path", "path"),
    [
        ("", "/webhooks/maintainx/wo"),  # at the root
        ("/webhooks/maintainx", "/webhooks/maintainx/wo"),  # Starlette Mount at the prefix
        ("/webhooks/maintainx", "/wo"),  # older servers: path relative to root_path
        ("/integrations/mx", "/integrations/mx/wo"),  # mounted somewhere else
    ],
)
async def test_mountable_anywhere(
    receiver: WebhookReceiver, clock: FakeClock, root_path: str, path: str
) -> None:
    body = payload(5)
    full = root_path + path if not path.startswith(root_path) or not root_path else path
    url = f"https://hooks.example{full}"
    headers = signed_headers(SECRET, body, url, int(clock.time()))
    sent = await Driver(WebhookApp(receiver)).request(
        "POST", path, body, headers, root_path=root_path, chunks=3
    )
    assert sent[0]["status"] == 200, sent
    assert sent[1]["body"] in (b'{"status":"accepted"}', b'{"status":"duplicate"}')


async def test_an_oversized_chunked_body_is_413_and_the_rest_is_not_read(
    receiver: WebhookReceiver, clock: FakeClock, queue: SqliteQueue
) -> None:
    body = payload(6, note="y" * (3 << 20))  # 3 MiB, correctly signed, no Content-Length
    url = "https://hooks.example/webhooks/maintainx/wo"
    headers = signed_headers(SECRET, body, url, int(clock.time()))
    driver = Driver(WebhookApp(receiver))
    sent = await driver.request("POST", "/webhooks/maintainx/wo", body, headers, chunks=48)
    assert sent[0]["status"] == 413, sent
    assert sent[1]["body"] == b'{"error":"payload too large"}'
    chunk = len(body) // 48 + 1
    assert driver.received == (1 << 20) // chunk + 1  # read up to 1 MiB, the rest left unread
    assert queue.stats().depth == 0
    one_chunk = await driver.request("POST", "/webhooks/maintainx/wo", body, headers)
    assert one_chunk[0]["status"] == 413  # not an empty body that fails verification (401)


async def test_lifespan_websocket_and_disconnect(receiver: WebhookReceiver) -> None:
    app = WebhookApp(receiver)
    lifespan = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent: list[dict[str, Any]] = []

    async def receive() -> MutableMapping[str, Any]:
        return lifespan.pop(0)

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(dict(message))

    await app({"type": "lifespan"}, receive, send)
    assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    sent.clear()
    await app({"type": "websocket"}, receive, send)
    assert sent == [{"type": "websocket.close", "code": 1000}]
    assert await Driver(app).request("POST", "/webhooks/maintainx/wo", disconnect=True) == []
    huge = await Driver(app).request(
        "POST", "/webhooks/maintainx/wo", headers={"content-length": str(10 << 20)}
    )
    assert huge[0]["status"] == 413
    assert "WebhookApp" in repr(app)
