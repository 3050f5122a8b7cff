"""Helpers of the webhook tests. Signatures here are made with ``hmac``/``hashlib`` directly,
following MaintainX's documentation, never with the library's own signer."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Sequence
from typing import Any

from maintainx_resilient import StorageError
from maintainx_resilient._clock import FakeClock
from maintainx_resilient.webhooks import Envelope, WebhookQueue, dedupe_key
from maintainx_resilient.webhooks.records import Delivery

BODY = "x-maintainx-webhook-body-signature"
URI = "x-maintainx-webhook-uri-signature"
#: A secret that must never show up anywhere but the registry file.
CANARY_SECRET = "whsec-canary-4b1d9e77-DO-NOT-LEAK"


def hex_hmac(secret: str, timestamp: str, payload: bytes) -> str:
    """MaintainX's documented algorithm: hex HMAC-SHA256 of ``"<t>." + payload``."""
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()


def signed_headers(
    secret: str, body: bytes, url: str | None, timestamp: int | str
) -> dict[str, str]:
    """The two headers MaintainX sends for ``body`` posted to ``url``."""
    stamp = str(timestamp)
    headers = {BODY: f"t={stamp},v1={hex_hmac(secret, stamp, body)}"}
    if url is not None:
        headers[URI] = f"t={stamp},v1={hex_hmac(secret, stamp, url.encode())}"
    return headers


def payload(n: int, **extra: Any) -> bytes:
    data = {"workOrderId": n, "orgId": 1, "occurredAt": f"2025-01-01T00:00:{n % 60:02d}.000Z"}
    data.update(extra)
    return json.dumps(data, separators=(",", ":")).encode()


def envelope(n: int, *, route: str = "wo", at: float = 1_750_000_000.0) -> Envelope:
    body = payload(n)
    return Envelope(dedupe_key(route, "NEW_WORK_ORDER", body), route, "NEW_WORK_ORDER", body, at)


class FlakyQueue:
    """A real queue behind a connection that fails ``failures`` times (what a Redis outage
    looks like from the worker: :class:`StorageError` from claim and recover)."""

    def __init__(self, inner: WebhookQueue, failures: int) -> None:
        self.inner = inner
        self.failures = failures

    def _maybe_fail(self) -> None:
        if self.failures > 0:
            self.failures -= 1
            raise StorageError("webhook queue redis://x: down", location="x", kind="unavailable")

    def recover(self, consumer: str, *, ids: Sequence[str] | None = None) -> int:
        self._maybe_fail()
        return self.inner.recover(consumer, ids=ids)

    def claim(self, consumer: str, limit: int, *, lease: float = 30.0) -> list[Delivery]:
        self._maybe_fail()
        return self.inner.claim(consumer, limit, lease=lease)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class StoppingClock(FakeClock):
    """A fake clock that sets ``stop`` once something has slept ``after`` times on it."""

    def __init__(self, stop: threading.Event, after: int) -> None:
        super().__init__()
        self.stop = stop
        self.after = after

    def sleep(self, seconds: float) -> None:
        super().sleep(seconds)
        if len(self.sleeps) >= self.after:
            self.stop.set()
