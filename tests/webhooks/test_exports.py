"""The public surface of ``maintainx_resilient.webhooks`` is pinned: a change is deliberate."""

from __future__ import annotations

import maintainx_resilient.webhooks as webhooks
from maintainx_resilient.webhooks.queue.redis import RedisQueue

EXPECTED = [
    "BODY_SIGNATURE_HEADER",
    "DEFAULT_RETRY_SCHEDULE",
    "DEFAULT_TOLERANCE",
    "EVENT_MODELS",
    "URI_SIGNATURE_HEADER",
    "BatchResult",
    "DeadLetter",
    "Delivery",
    "Envelope",
    "LocalServer",
    "PermanentError",
    "QueueOutage",
    "QueueStats",
    "RawEvent",
    "RedisQueue",
    "RegisteredSubscription",
    "RejectReason",
    "ReplayProgress",
    "ReplayResult",
    "RetrySchedule",
    "RouteSource",
    "SqliteLedger",
    "SqliteQueue",
    "StaticRoutes",
    "SubscriptionRegistry",
    "Verification",
    "WebhookApp",
    "WebhookEvent",
    "WebhookHandlers",
    "WebhookMetrics",
    "WebhookQueue",
    "WebhookReceiver",
    "WebhookResponse",
    "WebhookRoute",
    "WebhookVerificationError",
    "Worker",
    "compute_signature",
    "create_app",
    "dedupe_key",
    "open_queue",
    "parse_event",
    "parse_signature_header",
    "replay_dead_letters",
    "sign_header",
    "verify_delivery",
]


def test_exported_names() -> None:
    assert webhooks.__all__ == EXPECTED
    for name in EXPECTED:
        assert getattr(webhooks, name) is not None
    assert webhooks.RedisQueue is RedisQueue


def test_unknown_attribute() -> None:
    import pytest

    with pytest.raises(AttributeError):
        webhooks.NotAThing  # noqa: B018
