"""Receiving MaintainX webhooks: verify, store durably, process, replay.

MaintainX delivers each event once, with a 10-second timeout, no event id and no documented
redelivery, and deletes endpoints that keep failing. This package answers fast, verifies
what it accepts and never loses an event it acknowledged::

    from maintainx_resilient.webhooks import (
        SqliteQueue, SubscriptionRegistry, WebhookApp, WebhookHandlers, WebhookReceiver, Worker,
    )

    queue = SqliteQueue("webhooks.db")
    registry = SubscriptionRegistry("webhook-subscriptions.json")   # ids and secrets, 0600
    receiver = WebhookReceiver(queue, registry)
    app = WebhookApp(receiver)          # ASGI: POST /webhooks/maintainx[/<route>], GET .../health

    handlers = WebhookHandlers()

    @handlers.on(WorkOrderStatusChange)
    def on_status(event: WorkOrderStatusChange) -> None: ...

    Worker(queue, handlers, consumer="worker-1").run()

Modules: :mod:`.verify` (signatures), :mod:`.events` (typed payloads), :mod:`.dedupe`,
:mod:`.receiver` and :mod:`.asgi`, :mod:`.queue` (SQLite and Redis Streams), :mod:`.worker`
and :mod:`.backoff`, :mod:`.replay`, :mod:`.registry`, :mod:`.idempotency`, :mod:`.health`
(RB-003), :mod:`.metrics`, :mod:`.server` (a small server for tests and demos).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._deprecated import renamed
from .asgi import WebhookApp, create_app
from .backoff import DEFAULT_RETRY_SCHEDULE, PermanentError, RetrySchedule
from .dedupe import dedupe_key
from .events import EVENT_MODELS, RawEvent, WebhookEvent, parse_event
from .idempotency import SqliteLedger
from .metrics import WebhookMetrics
from .queue import SqliteQueue, WebhookQueue, open_queue
from .receiver import (
    RouteSource,
    StaticRoutes,
    WebhookReceiver,
    WebhookResponse,
    WebhookRoute,
)
from .records import DeadLetter, Delivery, Envelope, QueueStats, ReplayProgress
from .registry import RegisteredSubscription, SubscriptionRegistry
from .replay import ReplayResult, replay_dead_letters
from .server import LocalServer
from .verify import (
    BODY_SIGNATURE_HEADER,
    DEFAULT_TOLERANCE,
    URI_SIGNATURE_HEADER,
    RejectReason,
    Verification,
    WebhookVerificationError,
    compute_signature,
    parse_signature_header,
    sign_header,
    verify_delivery,
)
from .worker import BatchResult, QueueOutage, WebhookHandlers, Worker

if TYPE_CHECKING:
    from .queue.redis import RedisQueue

__all__ = [
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


#: Renamed public names, still answered (with a DeprecationWarning).
_RENAMED = {"RetryPolicy": "RetrySchedule", "DEFAULT_RETRY_POLICY": "DEFAULT_RETRY_SCHEDULE"}


def __getattr__(name: str) -> Any:
    if name == "RedisQueue":  # the redis package is optional: imported on use
        from .queue.redis import RedisQueue

        return RedisQueue
    return renamed(__name__, name, _RENAMED, globals())
