"""Webhook-fed sync: record events become "fetch this record" requests.

MaintainX webhook payloads are flat JSON without an envelope or event id, e.g.
``{"workOrderId": 1, "orgId": 2, "occurredAt": "...", "newStatus": "DONE"}``. Whatever the
event (created, changed, status, deleted), the sync does the same thing: fetch the record
and store what MaintainX has now, or delete it locally when MaintainX answers 404. So an
event needs only to name a record; :func:`ref_from_webhook` reads that from a payload (and
the subscription's event type, when the receiver knows it).

:class:`WebhookFeed` is the hand-over point between a webhook receiver (any thread) and the
incremental sync: ``feed.put(payload, event_type)`` from the receiver (or
``WebhookHandlers().default(feed.put)`` with the webhook worker), and the sync drains
what is pending, deduplicated by record, on its next run (a scheduled loop wakes up early
when something arrives). This is also the one way a polling sync learns about deletions:
``updatedAt`` filters never return a deleted record.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .resources import RESOURCES

__all__ = ["RecordRef", "WebhookFeed", "ref_from_webhook"]

#: Words of event types (``WORK_ORDER_STATUS_CHANGE``, ``NEW_WORK_ORDER``...) -> resource.
_EVENT_RESOURCES = (
    ("PURCHASE_ORDER", "purchaseOrders"),
    ("WORK_ORDER", "workOrders"),
    ("ASSET", "assets"),
    ("PART", "parts"),
    ("LOCATION", "locations"),
)
#: Payload id keys, most specific first (a work-order event may also carry ``assetId``).
_ID_KEYS = (
    ("workOrderId", "workOrders"),
    ("purchaseOrderId", "purchaseOrders"),
    ("partId", "parts"),
    ("assetId", "assets"),
    ("locationId", "locations"),
)
_KEY_OF = {resource: key for key, resource in _ID_KEYS}


@dataclass(frozen=True)
class RecordRef:
    """A record to fetch again: ``RecordRef("workOrders", 42)``."""

    resource: str
    id: int


def _resource_of_event(event_type: str) -> str | None:
    """``NEW_COMMENT_ON_WORK_ORDER`` -> ``workOrders``: the first resource whose words
    appear together in the type (``PURCHASE_ORDER`` is tried before ``WORK_ORDER``...)."""
    padded = f"_{event_type.upper()}_"
    for words, resource in _EVENT_RESOURCES:
        if f"_{words}_" in padded:
            return resource
    return None


def _as_id(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def ref_from_webhook(payload: Mapping[str, Any], event_type: str | None = None) -> RecordRef | None:
    """The record a webhook payload is about, or None (not a synced resource's event).

    With ``event_type`` (the subscription's type, e.g. ``PART_DELETE``) the resource comes
    from it and the id from the matching key (``partId``, else ``id``); without it, the
    first id key found decides (``workOrderId`` before ``assetId``...). Events such as
    ``NEW_COMMENT_ON_WORK_ORDER`` name their work order, which is then fetched again.
    """
    if event_type:
        resource = _resource_of_event(event_type)
        if resource is None:
            return None
        record_id = _as_id(payload.get(_KEY_OF[resource]))
        if record_id is None:
            record_id = _as_id(payload.get("id"))
        return None if record_id is None else RecordRef(resource, record_id)
    for key, resource in _ID_KEYS:
        record_id = _as_id(payload.get(key))
        if record_id is not None:
            return RecordRef(resource, record_id)
    return None


def _ref_of(event: object, event_type: str | None) -> RecordRef | None:
    if isinstance(event, RecordRef):
        return event
    if isinstance(event, Mapping):
        return ref_from_webhook(event, event_type)
    raw = getattr(event, "raw", None)
    kind = getattr(event, "event_type", None)
    if isinstance(raw, Mapping):
        return ref_from_webhook(raw, event_type or (kind if isinstance(kind, str) else None))
    return None


class WebhookFeed:
    """Records waiting to be fetched, per resource, deduplicated, in arrival order.

    Thread-safe. ``put`` never blocks and never fetches; the sync does that on its next run.
    """

    def __init__(self, resources: Iterable[str] | None = None) -> None:
        self._wanted = frozenset(resources) if resources is not None else frozenset(RESOURCES)
        self._pending: dict[str, dict[int, None]] = {}
        self._cond = threading.Condition()
        #: payloads that named no synced record
        self.ignored = 0
        #: events accepted (before deduplication)
        self.accepted = 0

    def put(self, event: object, event_type: str | None = None) -> bool:
        """Queue the record ``event`` names; False when it names none (ignored).

        ``event`` is a :class:`RecordRef`, a webhook payload (a mapping, with the
        subscription's ``event_type`` when known), or a parsed event of
        :mod:`maintainx_resilient.webhooks` (anything with ``raw`` and ``event_type``), so
        ``WebhookHandlers().default(feed.put)`` feeds the sync from the webhook worker.
        """
        ref = _ref_of(event, event_type)
        with self._cond:
            if ref is None or ref.resource not in self._wanted:
                self.ignored += 1
                return False
            self._pending.setdefault(ref.resource, {})[ref.id] = None
            self.accepted += 1
            self._cond.notify_all()
        return True

    def drain(self, resource: str) -> list[int]:
        """Take every pending id of ``resource`` (the caller must fetch them or requeue)."""
        with self._cond:
            pending = self._pending.pop(resource, {})
        return list(pending)

    def requeue(self, resource: str, ids: Iterable[int]) -> None:
        """Put back ids that could not be fetched (they go first)."""
        with self._cond:
            rest = self._pending.pop(resource, {})
            merged = dict.fromkeys(ids)
            merged.update(rest)
            if merged:
                self._pending[resource] = merged
                self._cond.notify_all()

    def pending(self, resource: str | None = None) -> int:
        """How many records wait (for ``resource``, or in all)."""
        with self._cond:
            if resource is not None:
                return len(self._pending.get(resource, {}))
            return sum(len(ids) for ids in self._pending.values())

    def wait(self, timeout: float) -> bool:
        """Block until something is pending, :meth:`wake` is called, or ``timeout`` passes;
        True if something is pending."""
        with self._cond:
            if not any(self._pending.values()):
                self._cond.wait(timeout)
            return any(self._pending.values())

    def wake(self) -> None:
        """Release a thread blocked in :meth:`wait` (used to stop a scheduled loop)."""
        with self._cond:
            self._cond.notify_all()
