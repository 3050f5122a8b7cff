"""What RB-003 ("Webhook Processing Failures") reads: endpoint health, queue depth, failed
count, oldest pending event, and a signature self-test with the configured secrets.

:func:`collect` builds the mapping of the ``WebhookHealthSource`` protocol
(:mod:`maintainx_resilient.diagnostics._context`) from a receiver:

- ``queue_depth``, ``failed`` (dead letters), ``oldest_pending_age`` (seconds), ``paused``:
  from the queue (``None`` values when the queue does not answer);
- ``endpoint_ok``: the public health URL answered 200 (when ``health_url`` is set), else the
  receiver's own health check (the queue answers);
- ``signature_self_test``: a probe signed with each route's current secret passes the
  receiver's verification (``None`` without routes);
- extras: ``secret_matches_api`` (each route's current secret equals
  ``GET /subscriptions/{id}/secret``; ``None`` without a client), ``worker_outages``
  (workers sharing the receiver's metrics that cannot use the queue: ``consumer``,
  ``since``, ``down_for`` seconds, ``failures``, ``error``), ``in_flight``, ``delayed``,
  ``backend``, ``routes``, ``metrics`` (the receiver's counters, with ``webhook_failures``
  and ``rejected_by_reason``), ``errors``.

Secrets are compared, never returned.
"""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .receiver import WebhookReceiver

__all__ = ["collect"]


def _probe_endpoint(url: str, timeout: float) -> tuple[bool, str]:
    import httpx

    try:
        response = httpx.get(url, timeout=timeout)
    except httpx.HTTPError as exc:
        return False, type(exc).__name__
    return response.status_code == 200, f"HTTP {response.status_code}"


def _secrets_match(receiver: WebhookReceiver) -> tuple[bool | None, list[str]]:
    client = receiver.client
    if client is None:
        return None, []
    results: list[bool] = []
    errors: list[str] = []
    for route in receiver.routes.routes():
        if route.subscription_id is None or not route.secrets:
            continue
        try:
            remote = client.subscriptions.secret(route.subscription_id)
        except Exception as exc:
            errors.append(f"secret of subscription {route.subscription_id}: {type(exc).__name__}")
            continue
        local = route.secrets[0].reveal()
        results.append(hmac.compare_digest(str(remote).encode(), local.encode()))
    if not results:
        return None, errors
    return all(results), errors


def collect(receiver: WebhookReceiver, *, timeout: float = 2.0) -> dict[str, Any]:
    """The RB-003 health mapping of ``receiver`` (see the module docstring)."""
    errors: list[str] = []
    queue = receiver.queue
    stats = None
    try:
        stats = queue.stats()
    except Exception as exc:
        errors.append(f"queue stats: {type(exc).__name__}")
    if receiver.health_url:
        endpoint_ok, detail = _probe_endpoint(receiver.health_url, timeout)
        if not endpoint_ok:
            errors.append(f"health endpoint: {detail}")
    else:
        endpoint_ok = receiver.health_response().status == 200
    try:
        self_test = receiver.self_test()
    except Exception as exc:
        self_test = False
        errors.append(f"self-test: {type(exc).__name__}")
    matches, secret_errors = _secrets_match(receiver)
    errors.extend(secret_errors)
    metrics = receiver.metrics.snapshot()
    now = receiver.clock.time()
    outages = [
        {**o, "down_for": round(max(0.0, now - o["since"]), 3)} for o in metrics["worker_outages"]
    ]
    return {
        "queue_depth": stats.depth if stats else None,
        "failed": stats.dead if stats else None,
        "oldest_pending_age": stats.oldest_pending_age if stats else None,
        "paused": stats.paused if stats else None,
        "endpoint_ok": endpoint_ok,
        "signature_self_test": self_test,
        "secret_matches_api": matches,
        "worker_outages": outages,
        "in_flight": stats.in_flight if stats else None,
        "delayed": stats.delayed if stats else None,
        "backend": queue.backend,
        "routes": sorted(route.name for route in receiver.routes.routes()),
        "metrics": metrics,
        "errors": errors,
    }
