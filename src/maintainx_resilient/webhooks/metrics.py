"""Webhook metrics: in-process counters (for RB-003, the CLI and tests) mirrored to
OpenTelemetry (a no-op until the application installs an SDK).

Each ``OpenTelemetry name`` -> ``Prometheus name``, then what it counts and its attributes:

- ``maintainx.webhook.received`` -> ``maintainx_webhook_received_total``: POSTs that reached
  the receiver; ``maintainx.webhook.route``.
- ``maintainx.webhook.stored`` -> ``maintainx_webhook_stored_total``: new events stored
  durably (answered 2xx); route.
- ``maintainx.webhook.duplicates`` -> ``maintainx_webhook_duplicates_total``: deliveries
  recognised as redeliveries (answered 2xx, not stored again); route.
- ``maintainx.webhook.rejected`` -> ``maintainx_webhook_rejected_total``: deliveries refused;
  route, ``maintainx.reason`` (``missing_header``, ``malformed_header``, ``bad_signature``,
  ``too_old``, ``from_future``, ``unknown_route``, ``body_too_large``).
- ``maintainx.webhook.processed`` -> ``maintainx_webhook_processed_total``: events a handler
  processed; route, ``maintainx.webhook.event_type``.
- ``maintainx.webhook.handler_failures`` -> ``maintainx_webhook_handler_failures_total``:
  handler runs that raised (each retry counts); route, event type.
- ``maintainx.webhook.dead_lettered`` -> ``maintainx_webhook_dead_lettered_total``: events
  moved to the dead letters; route, event type.
- ``webhook_failures`` -> ``webhook_failures_total``: **the runbook's RB-003 signal**, every
  failure along the way: a rejected delivery, a delivery that could not be stored (answered
  503), a handler run that raised, a worker's failed attempt to use the queue;
  ``maintainx.webhook.stage`` (``receive``, ``store``, ``handler``, ``queue``) and reason.

Besides the counters, :meth:`WebhookMetrics.snapshot` lists the ``worker_outages`` going on
(workers of this process that cannot use the queue, since when), which RB-003 reports.
- ``maintainx.webhook.queue.depth`` -> ``maintainx_webhook_queue_depth`` (gauge): events
  accepted and not yet processed.
- ``maintainx.webhook.queue.oldest_pending_age`` ->
  ``maintainx_webhook_queue_oldest_pending_age_seconds`` (gauge).
- ``maintainx.webhook.queue.dead`` -> ``maintainx_webhook_queue_dead`` (gauge): dead letters.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from .._version import __version__
from ..telemetry._names import (
    ATTR_REASON,
    ATTR_WEBHOOK_EVENT_TYPE,
    ATTR_WEBHOOK_ROUTE,
    ATTR_WEBHOOK_STAGE,
    WEBHOOKS_SCOPE_NAME,
)

if TYPE_CHECKING:
    from .queue import WebhookQueue

__all__ = ["METRIC_WEBHOOK_FAILURES", "WebhookMetrics"]

METRIC_WEBHOOK_FAILURES = "webhook_failures"


class WebhookMetrics:
    """Thread-safe counters shared by a receiver and its workers (one per process)."""

    def __init__(self, meter_provider: Any = None) -> None:
        from opentelemetry import metrics

        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        self._rejected: Counter[str] = Counter()
        meter = metrics.get_meter(WEBHOOKS_SCOPE_NAME, __version__, meter_provider)
        self._meter = meter
        self._received = meter.create_counter("maintainx.webhook.received", "{delivery}")
        self._stored = meter.create_counter("maintainx.webhook.stored", "{event}")
        self._duplicates = meter.create_counter("maintainx.webhook.duplicates", "{delivery}")
        self._rejected_counter = meter.create_counter("maintainx.webhook.rejected", "{delivery}")
        self._processed = meter.create_counter("maintainx.webhook.processed", "{event}")
        self._handler_failures = meter.create_counter("maintainx.webhook.handler_failures", "{run}")
        self._dead = meter.create_counter("maintainx.webhook.dead_lettered", "{event}")
        self._failures = meter.create_counter(
            METRIC_WEBHOOK_FAILURES,
            "{failure}",
            "Webhook failures at any stage (RB-003): rejected, not stored, handler error",
        )
        self._queues: list[WebhookQueue] = []
        self._outages: dict[str, dict[str, Any]] = {}

    def _bump(self, name: str, n: int = 1) -> None:
        with self._lock:
            self._counts[name] += n

    def received(self, route: str) -> None:
        self._bump("received")
        self._received.add(1, {ATTR_WEBHOOK_ROUTE: route})

    def stored(self, route: str) -> None:
        self._bump("stored")
        self._stored.add(1, {ATTR_WEBHOOK_ROUTE: route})

    def duplicate(self, route: str) -> None:
        self._bump("duplicates")
        self._duplicates.add(1, {ATTR_WEBHOOK_ROUTE: route})

    def rejected(self, route: str, reason: str) -> None:
        with self._lock:
            self._counts["rejected"] += 1
            self._counts["webhook_failures"] += 1
            self._rejected[reason] += 1
        self._rejected_counter.add(1, {ATTR_WEBHOOK_ROUTE: route, ATTR_REASON: reason})
        self._failures.add(1, {ATTR_WEBHOOK_STAGE: "receive", ATTR_REASON: reason})

    def store_failed(self, route: str, reason: str) -> None:
        with self._lock:
            self._counts["store_errors"] += 1
            self._counts["webhook_failures"] += 1
        self._failures.add(1, {ATTR_WEBHOOK_STAGE: "store", ATTR_REASON: reason})

    def processed(self, route: str, event_type: str) -> None:
        self._bump("processed")
        self._processed.add(1, {ATTR_WEBHOOK_ROUTE: route, ATTR_WEBHOOK_EVENT_TYPE: event_type})

    def handler_failed(self, route: str, event_type: str, reason: str) -> None:
        with self._lock:
            self._counts["failed"] += 1
            self._counts["webhook_failures"] += 1
        attrs = {ATTR_WEBHOOK_ROUTE: route, ATTR_WEBHOOK_EVENT_TYPE: event_type}
        self._handler_failures.add(1, attrs)
        self._failures.add(1, {ATTR_WEBHOOK_STAGE: "handler", ATTR_REASON: reason})

    def dead_lettered(self, route: str, event_type: str) -> None:
        self._bump("dead_lettered")
        self._dead.add(1, {ATTR_WEBHOOK_ROUTE: route, ATTR_WEBHOOK_EVENT_TYPE: event_type})

    def queue_failed(self, consumer: str, reason: str, *, since: float) -> None:
        """A worker's attempt to use the queue failed (its outage began at ``since``)."""
        with self._lock:
            self._counts["queue_errors"] += 1
            self._counts["webhook_failures"] += 1
            outage = self._outages.setdefault(
                consumer, {"consumer": consumer, "since": since, "failures": 0}
            )
            outage["failures"] += 1
            outage["error"] = reason
        self._failures.add(1, {ATTR_WEBHOOK_STAGE: "queue", ATTR_REASON: reason})

    def queue_recovered(self, consumer: str) -> None:
        """The worker ``consumer`` uses the queue again."""
        with self._lock:
            if self._outages.pop(consumer, None) is not None:
                self._counts["queue_outages_recovered"] += 1

    def snapshot(self) -> dict[str, Any]:
        """Every counter since this object was created: ``received``, ``stored``,
        ``duplicates``, ``rejected`` (total) and ``rejected_by_reason``, ``store_errors``,
        ``processed``, ``failed`` (handler runs that raised), ``dead_lettered``,
        ``queue_errors`` (workers' failed attempts to use the queue),
        ``queue_outages_recovered`` and ``webhook_failures``; and ``worker_outages``, the
        outages going on (``consumer``, ``since``, ``failures``, ``error``)."""
        with self._lock:
            data: dict[str, Any] = {
                name: self._counts.get(name, 0)
                for name in (
                    "received",
                    "stored",
                    "duplicates",
                    "rejected",
                    "store_errors",
                    "processed",
                    "failed",
                    "dead_lettered",
                    "queue_errors",
                    "queue_outages_recovered",
                    "webhook_failures",
                )
            }
            data["rejected_by_reason"] = dict(sorted(self._rejected.items()))
            data["worker_outages"] = [dict(self._outages[c]) for c in sorted(self._outages)]
        return data

    def observe_queue(self, queue: WebhookQueue) -> None:
        """Publish the queue's depth, oldest pending age and dead letters as gauges (read
        when the SDK collects)."""
        from opentelemetry.metrics import CallbackOptions, Observation

        first = not self._queues
        self._queues.append(queue)
        if not first:
            return

        def stats() -> Iterable[tuple[Mapping[str, str], Any]]:
            for q in list(self._queues):
                try:
                    yield {"maintainx.webhook.backend": q.backend}, q.stats()
                except Exception:  # noqa: S112 - a gauge must not break collection
                    continue

        def depth(_: CallbackOptions) -> Iterable[Observation]:
            return [Observation(s.depth, dict(a)) for a, s in stats()]

        def oldest(_: CallbackOptions) -> Iterable[Observation]:
            return [Observation(s.oldest_pending_age or 0.0, dict(a)) for a, s in stats()]

        def dead(_: CallbackOptions) -> Iterable[Observation]:
            return [Observation(s.dead, dict(a)) for a, s in stats()]

        self._meter.create_observable_gauge("maintainx.webhook.queue.depth", [depth], "{event}")
        self._meter.create_observable_gauge(
            "maintainx.webhook.queue.oldest_pending_age", [oldest], "s"
        )
        self._meter.create_observable_gauge("maintainx.webhook.queue.dead", [dead], "{event}")
