"""The receiver answers 2xx only once an event is stored, refuses with reason codes, serves its
health, reports RB-003's health, and never logs a body or a secret."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from maintainx_resilient._clock import FakeClock
from maintainx_resilient.webhooks import (
    Envelope,
    SqliteQueue,
    WebhookReceiver,
    WebhookRoute,
)

from ._support import BODY, CANARY_SECRET, URI, payload, signed_headers

BASE = "https://app.example.com"
PATH = "/webhooks/maintainx/wo"
URL = BASE + PATH


@pytest.fixture
def queue(tmp_path: Path, clock: FakeClock) -> Iterator[SqliteQueue]:
    q = SqliteQueue(tmp_path / "q.db", synchronous="NORMAL", clock=clock)
    yield q
    q.close()


@pytest.fixture
def receiver(queue: SqliteQueue, clock: FakeClock) -> Iterator[WebhookReceiver]:
    routes = [
        WebhookRoute.create("wo", "NEW_WORK_ORDER", [CANARY_SECRET], subscription_id=7, url=URL),
        WebhookRoute.create("", "WORK_ORDER_STATUS_CHANGE", ["bare-secret"]),
    ]
    r = WebhookReceiver(queue, routes, clock=clock)
    yield r
    r.close()


def post(
    receiver: WebhookReceiver, body: bytes, headers: dict[str, str], url: str = URL
) -> tuple[int, object]:
    response = receiver.handle("POST", url, headers, body)
    return response.status, response.json()


def good_headers(clock: FakeClock, body: bytes, url: str = URL) -> dict[str, str]:
    return signed_headers(CANARY_SECRET, body, url, int(clock.time()))


def test_accepts_stores_and_dedupes(
    receiver: WebhookReceiver, queue: SqliteQueue, clock: FakeClock
) -> None:
    body = payload(1)
    assert post(receiver, body, good_headers(clock, body)) == (200, {"status": "accepted"})
    clock.advance(30)  # a redelivery: new timestamp, same content
    assert post(receiver, body, good_headers(clock, body)) == (200, {"status": "duplicate"})
    (delivery,) = queue.claim("w", 10)
    assert delivery.envelope.body == body
    assert delivery.envelope.route == "wo"
    assert delivery.envelope.event_type == "NEW_WORK_ORDER"
    assert delivery.envelope.subscription_id == 7
    snap = receiver.metrics.snapshot()
    assert (snap["received"], snap["stored"], snap["duplicates"]) == (2, 1, 1)


def test_bare_prefix_route(receiver: WebhookReceiver, clock: FakeClock) -> None:
    body = payload(2)
    url = BASE + "/webhooks/maintainx"
    headers = signed_headers("bare-secret", body, url, int(clock.time()))
    assert post(receiver, body, headers, url)[0] == 200
    assert post(receiver, payload(3), {}, url + "/")[1] == {
        "error": "signature verification failed",
        "reason": "missing_header",
    }


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda h, b, c: ({}, b), "missing_header"),
        (lambda h, b, c: ({BODY: "t=nope"}, b), "malformed_header"),
        (lambda h, b, c: (h, b + b" "), "bad_signature"),
        (
            lambda h, b, c: (signed_headers("wrong", b, URL, int(c.time())), b),
            "bad_signature",
        ),
        (
            lambda h, b, c: (signed_headers(CANARY_SECRET, b, URL, int(c.time()) - 301), b),
            "too_old",
        ),
        (
            lambda h, b, c: (signed_headers(CANARY_SECRET, b, URL, int(c.time()) + 301), b),
            "from_future",
        ),
        (
            lambda h, b, c: (signed_headers(CANARY_SECRET, b, URL + "x", int(c.time())), b),
            "bad_signature",
        ),
    ],
)
def test_rejections_have_reason_codes(
    receiver: WebhookReceiver,
    queue: SqliteQueue,
    clock: FakeClock,
    mutate: object,
    reason: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    body = payload(1, note="BODY-MARKER-do-not-log")
    headers, sent = mutate(good_headers(clock, body), body, clock)  # type: ignore[operator]
    with caplog.at_level(logging.DEBUG, logger="maintainx_resilient"):
        status, answer = post(receiver, sent, headers)
    assert status == 401
    assert answer == {"error": "signature verification failed", "reason": reason}
    assert queue.stats().depth == 0
    snap = receiver.metrics.snapshot()
    assert snap["rejected_by_reason"] == {reason: 1}
    assert snap["webhook_failures"] == 1
    assert reason in caplog.text
    assert "BODY-MARKER" not in caplog.text
    assert CANARY_SECRET not in caplog.text


def test_unknown_route_method_size_and_paths(receiver: WebhookReceiver, clock: FakeClock) -> None:
    body = payload(1)
    assert receiver.handle("POST", BASE + "/webhooks/maintainx/nope", {}, body).status == 404
    assert receiver.handle("POST", BASE + "/webhooks/maintainx/a/b", {}, body).status == 404
    assert receiver.handle("POST", BASE + "/elsewhere", {}, body).status == 404
    answer = receiver.handle("GET", URL, {}, b"")
    assert answer.status == 405
    assert ("allow", "POST") in answer.headers
    assert receiver.handle("POST", BASE + "/webhooks/maintainx/health", {}, b"").status == 405
    receiver.max_body = 10
    assert receiver.handle("POST", URL, good_headers(clock, body), body).status == 413
    snap = receiver.metrics.snapshot()
    assert snap["rejected_by_reason"] == {"body_too_large": 1, "unknown_route": 2}


def test_health_endpoint(receiver: WebhookReceiver, queue: SqliteQueue) -> None:
    answer = receiver.handle("GET", BASE + "/webhooks/maintainx/health", {}, b"")
    assert (answer.status, answer.json()) == (200, {"status": "ok", "queue": "sqlite"})
    head = receiver.handle("HEAD", BASE + "/webhooks/maintainx/health", {}, b"")
    assert (head.status, head.body) == (200, b"")
    queue.close()
    assert receiver.handle("GET", BASE + "/webhooks/maintainx/health", {}, b"").status == 503


class FailingQueue(SqliteQueue):
    def enqueue(self, envelopes: Sequence[Envelope]) -> list[bool]:
        raise OSError("disk full")


class BlockingQueue(SqliteQueue):
    release = threading.Event()

    def enqueue(self, envelopes: Sequence[Envelope]) -> list[bool]:
        self.release.wait(10)
        return super().enqueue(envelopes)


def test_store_failure_is_503_never_2xx(tmp_path: Path, clock: FakeClock) -> None:
    queue = FailingQueue(tmp_path / "q.db", clock=clock)
    route = WebhookRoute.create("wo", "NEW_WORK_ORDER", [CANARY_SECRET], url=URL)
    with WebhookReceiver(queue, [route], clock=clock) as receiver:
        body = payload(1)
        answer = receiver.handle("POST", URL, good_headers(clock, body), body)
        assert answer.status == 503
        assert answer.outcome == "store_failed"
        snap = receiver.metrics.snapshot()
        assert (snap["store_errors"], snap["webhook_failures"]) == (1, 1)
    queue.close()


def test_store_timeout_is_503(tmp_path: Path, clock: FakeClock) -> None:
    queue = BlockingQueue(tmp_path / "q.db", clock=clock)
    route = WebhookRoute.create("wo", "NEW_WORK_ORDER", [CANARY_SECRET], url=URL)
    receiver = WebhookReceiver(queue, [route], clock=clock, store_timeout=0.05)
    BlockingQueue.release.clear()
    body = payload(1)
    try:
        assert receiver.handle("POST", URL, good_headers(clock, body), body).status == 503
    finally:
        BlockingQueue.release.set()
        receiver.close()
        queue.close()


async def test_async_store_timeout_is_503(tmp_path: Path, clock: FakeClock) -> None:
    queue = BlockingQueue(tmp_path / "q.db", clock=clock)
    route = WebhookRoute.create("wo", "NEW_WORK_ORDER", [CANARY_SECRET], url=URL)
    receiver = WebhookReceiver(queue, [route], clock=clock, store_timeout=0.05)
    BlockingQueue.release.clear()
    body = payload(1)
    try:
        answer = await receiver.ahandle("POST", URL, good_headers(clock, body), body)
        assert (answer.status, answer.outcome) == (503, "store_failed")
    finally:
        BlockingQueue.release.set()
        receiver.close()
        queue.close()


async def test_async_handle(
    receiver: WebhookReceiver, queue: SqliteQueue, clock: FakeClock
) -> None:
    body = payload(9)
    answer = await receiver.ahandle("POST", URL, good_headers(clock, body), body)
    assert answer.status == 200
    again = await receiver.ahandle("POST", URL, good_headers(clock, body), body)
    assert again.json() == {"status": "duplicate"}
    assert (await receiver.ahandle("POST", URL, {}, body)).status == 401
    assert queue.stats().ready == 1


def test_closed_receiver_answers_503(receiver: WebhookReceiver, clock: FakeClock) -> None:
    receiver.close()
    body = payload(1)
    assert receiver.handle("POST", URL, good_headers(clock, body), body).status == 503


def test_uri_signature_behind_a_proxy(queue: SqliteQueue, clock: FakeClock) -> None:
    public = "https://hooks.example.com"
    route = WebhookRoute.create("r", "NEW_WORK_ORDER", ["s"])  # URL not registered
    internal = "http://10.0.0.5:8000/webhooks/maintainx/r?x=1"
    body = payload(1)
    headers = signed_headers("s", body, public + "/webhooks/maintainx/r?x=1", int(clock.time()))
    with WebhookReceiver(queue, [route], clock=clock) as plain:
        assert plain.handle("POST", internal, headers, body).json()["reason"] == "bad_signature"
    with WebhookReceiver(queue, [route], clock=clock, public_url=public + "/") as proxied:
        assert proxied.handle("POST", internal, headers, body).status == 200
    with WebhookReceiver(queue, [route], clock=clock, uri_check="ignore") as lenient:
        other = payload(2)
        bad_uri = signed_headers("s", other, "https://nowhere", int(clock.time()))
        assert lenient.handle("POST", internal, bad_uri, other).status == 200


def test_webhook_health_for_rb003(
    receiver: WebhookReceiver, queue: SqliteQueue, clock: FakeClock
) -> None:
    body = payload(1)
    receiver.handle("POST", URL, good_headers(clock, body), body)
    receiver.handle("POST", URL, {}, body)
    clock.advance(12)
    health = receiver.webhook_health()
    for key in ("queue_depth", "failed", "oldest_pending_age", "paused", "endpoint_ok"):
        assert key in health
    assert health["queue_depth"] == 1
    assert health["failed"] == 0
    assert health["oldest_pending_age"] == pytest.approx(12)
    assert health["paused"] is False
    assert health["endpoint_ok"] is True
    assert health["signature_self_test"] is True
    assert health["secret_matches_api"] is None
    assert health["metrics"]["webhook_failures"] == 1
    assert health["routes"] == ["", "wo"]
    assert CANARY_SECRET not in repr(health)
    queue.pause()
    assert receiver.webhook_health()["paused"] is True


def test_self_test_without_routes(queue: SqliteQueue) -> None:
    with WebhookReceiver(queue, []) as receiver:
        assert receiver.self_test() is None
        assert receiver.webhook_health()["signature_self_test"] is None


def test_bad_configuration_fails_at_construction(queue: SqliteQueue) -> None:
    with pytest.raises(ValueError, match="tolerance"):
        WebhookReceiver(queue, [], tolerance=-1)
    with pytest.raises(ValueError, match="uri_check"):
        WebhookReceiver(queue, [], uri_check="sometimes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="store_timeout"):
        WebhookReceiver(queue, [], store_timeout=0)


def test_uri_header_name_constant() -> None:
    assert URI == "x-maintainx-webhook-uri-signature"


def test_rb003_mitigations(receiver: WebhookReceiver, queue: SqliteQueue, clock: FakeClock) -> None:
    for n in range(3):
        body = payload(n)
        receiver.handle("POST", URL, good_headers(clock, body), body)
    receiver.pause()
    assert queue.claim("w", 10) == []
    receiver.resume()
    for delivery in queue.claim("w", 10):
        queue.dead_letter(delivery, error="boom")
    clock.advance(100)
    assert receiver.replay_failed(newer_than=50).matched == 0
    first = queue.dead_letters()[0].id
    assert receiver.replay_failed(ids=[first]).requeued == 1
    assert receiver.replay_failed().requeued == 2
    assert queue.stats().dead == 0
