"""A canary secret goes through the whole webhook path and shows up nowhere but the registry
file (mode 0600): not in logs, reprs, exceptions, health reports, the queue's storage, or the
CLI's output."""

from __future__ import annotations

import json
import logging
import os
import pickle
import stat
from pathlib import Path

import pytest

from maintainx_resilient._clock import FakeClock
from maintainx_resilient.cli import main
from maintainx_resilient.webhooks import (
    RetrySchedule,
    SqliteQueue,
    SubscriptionRegistry,
    WebhookQueue,
    WebhookReceiver,
    Worker,
    verify_delivery,
)
from maintainx_resilient.webhooks.verify import SigningKeys, WebhookVerificationError

from ._support import CANARY_SECRET, payload, signed_headers

URL = "https://hooks.example/webhooks/maintainx/wo"


def exercise(queue: WebhookQueue, registry: SubscriptionRegistry, clock: FakeClock) -> list[str]:
    """Accepted, duplicate, rejected, failing-then-dead deliveries; every text produced."""
    texts: list[str] = []
    receiver = WebhookReceiver(queue, registry, clock=clock)
    stamp = int(clock.time())
    for n in range(3):
        body = payload(n)
        texts.append(
            repr(
                receiver.handle("POST", URL, signed_headers(CANARY_SECRET, body, URL, stamp), body)
            )
        )
    body = payload(1)
    texts.append(
        repr(receiver.handle("POST", URL, signed_headers(CANARY_SECRET, body, URL, stamp), body))
    )
    for secret, offset in (("wrong", 0), (CANARY_SECRET, -9999), (CANARY_SECRET, 9999)):
        headers = signed_headers(secret, body, URL, stamp + offset)
        texts.append(repr(receiver.handle("POST", URL, headers, body)))

    def broken(event: object) -> None:
        raise RuntimeError("handler bug")

    Worker(queue, broken, consumer="w", retry=RetrySchedule(max_attempts=1), clock=clock).run(
        until_idle=True
    )
    texts += [
        repr(receiver),
        repr(registry),
        repr(registry.subscriptions()),
        repr(registry.routes()),
    ]
    texts.append(json.dumps(receiver.webhook_health(), default=str))
    texts.append(repr(queue.dead_letters()))
    texts.append(repr(SigningKeys([CANARY_SECRET])))
    verdict = verify_delivery({}, body, [CANARY_SECRET], now=clock.time())
    texts.append(repr(verdict))
    try:
        verdict.raise_for_rejection()
    except WebhookVerificationError as exc:
        texts.append(str(exc) + repr(exc))
    receiver.close()
    return texts


def make_registry(tmp_path: Path, clock: FakeClock) -> SubscriptionRegistry:
    registry = SubscriptionRegistry(tmp_path / "subs.json", clock=clock)
    registry.register("wo", id=1, event_type="NEW_WORK_ORDER", url=URL, secret=CANARY_SECRET)
    return registry


def test_canary_secret_never_leaks_sqlite(
    tmp_path: Path, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    registry = make_registry(tmp_path, clock)
    queue = SqliteQueue(tmp_path / "q.db", clock=clock)
    with caplog.at_level(logging.DEBUG):
        texts = exercise(queue, registry, clock)
    queue.close()
    assert "bad_signature" in caplog.text and "too_old" in caplog.text  # logs were written
    for text in [caplog.text, *texts]:
        assert CANARY_SECRET not in text
    for name in os.listdir(tmp_path):
        data = (tmp_path / name).read_bytes()
        if name == "subs.json":
            assert CANARY_SECRET.encode() in data
            assert stat.S_IMODE(os.stat(tmp_path / name).st_mode) == 0o600
        else:
            assert CANARY_SECRET.encode() not in data, name


@pytest.mark.redis
def test_canary_secret_never_leaks_redis(
    tmp_path: Path, clock: FakeClock, caplog: pytest.LogCaptureFixture, redis_queue: WebhookQueue
) -> None:
    import redis

    registry = make_registry(tmp_path, clock)
    with caplog.at_level(logging.DEBUG):
        texts = exercise(redis_queue, registry, clock)
    for text in [caplog.text, *texts]:
        assert CANARY_SECRET not in text
    prefix = redis_queue.prefix  # type: ignore[attr-defined]
    client = redis.Redis.from_url(
        os.environ.get("MAINTAINX_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    )
    try:
        stored = b""
        for key in client.scan_iter(match=f"{prefix}:*"):
            kind = client.type(key)
            if kind == b"stream":
                stored += repr(client.xrange(key)).encode()
            elif kind == b"hash":
                stored += repr(client.hgetall(key)).encode()
            elif kind == b"zset":
                stored += repr(client.zrange(key, 0, -1)).encode()
            elif kind == b"string":
                value = client.get(key)
                stored += value if isinstance(value, bytes) else b""
        assert stored  # something was stored and inspected
        assert CANARY_SECRET.encode() not in stored
    finally:
        client.close()


def test_routes_and_keys_cannot_be_pickled(tmp_path: Path, clock: FakeClock) -> None:
    route = make_registry(tmp_path, clock).route("wo")
    with pytest.raises(TypeError):
        pickle.dumps(route)
    with pytest.raises(TypeError):
        pickle.dumps(SigningKeys([CANARY_SECRET]))


def test_cli_verify_prints_fingerprints_only(
    tmp_path: Path,
    clock: FakeClock,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    body = payload(1)
    capture = tmp_path / "capture.json"
    capture.write_text(
        json.dumps(
            {
                "method": "POST",
                "url": URL,
                "headers": signed_headers(CANARY_SECRET, body, URL, 1_700_000_000),
                "body": body.decode(),
            }
        )
    )
    monkeypatch.setenv("WEBHOOK_SECRET", CANARY_SECRET)
    for extra in ([], ["--json"]):
        argv = ["webhooks", "verify", str(capture), "--secret-env", "WEBHOOK_SECRET", *extra]
        assert main(argv) == 1  # too old now
    captured = capsys.readouterr()
    assert "too_old" in captured.out
    assert CANARY_SECRET not in captured.out + captured.err
