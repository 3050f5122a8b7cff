"""Webhook deliveries from the simulator: the changes made through it, signed like MaintainX.

A write that succeeds through the simulator's API (create a work order, change its status,
delete a part...) produces the event MaintainX would fire, a flat JSON payload of the spec's
``x-webhooks`` shape, and the simulator POSTs it to every subscription of that type in the
organization (``POST /v1/subscriptions`` creates them), with the real headers:

- ``x-maintainx-webhook-body-signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "t." + body>``
- ``x-maintainx-webhook-uri-signature: t=<...>,v1=<hex HMAC-SHA256 of "t." + subscription URL>``

keyed by the subscription's secret. ``?skipWebhook=true`` on a write suppresses its events,
as on the real API. Like MaintainX, each event is delivered once, with a 10-second timeout,
and never retried; the controls on :class:`SimulatorWebhooks` (``sim.webhooks``) make it
redeliver, delay or corrupt deliveries for tests.

Deliveries run on background threads (``mode="background"``) or wait for :meth:`flush`
(``mode="manual"``, deterministic). A subscription's ``filters`` decide which events it gets
(``_subfilters.py``).

Events made here: NEW_WORK_ORDER, WORK_ORDER_CHANGE, WORK_ORDER_STATUS_CHANGE,
WORK_ORDER_DELETE, NEW_CATEGORY_ON_WORK_ORDER, WORK_ORDER_PART_STATUS_CHANGE,
NEW_COMMENT_ON_WORK_ORDER, NEW_ASSET, NEW_LOCATION, NEW_PART, PART_CHANGE, PART_DELETE,
NEW_VENDOR, NEW_PURCHASE_ORDER, PURCHASE_ORDER_CHANGE, PURCHASE_ORDER_STATUS_CHANGE,
NEW_WORK_REQUEST, WEBHOOK_CREATED, WEBHOOK_ARCHIVED; :meth:`SimulatorWebhooks.emit` delivers
any other payload.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import itertools
import json
import queue
import random
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from ._messages import SimResponse
from ._store import OrgData, Record
from ._subfilters import passes

if TYPE_CHECKING:
    import httpx

    from ._handlers import Call
    from ._simulator import Simulator

__all__ = [
    "Corruption",
    "GeneratedEvent",
    "SimulatorWebhooks",
    "WebhookDeliveryRecord",
    "WebhookSender",
]

BODY_HEADER = "x-maintainx-webhook-body-signature"
URI_HEADER = "x-maintainx-webhook-uri-signature"

#: What :meth:`SimulatorWebhooks.corrupt` can do to a delivery.
Corruption = Literal[
    "body",  # the body changes after signing (a trailing space: same JSON, other bytes)
    "signature",  # the body signature's last hex digit flipped
    "secret",  # signed with another secret
    "stale",  # signed an hour ago
    "future",  # signed an hour ahead
    "missing_header",  # no body signature header
    "malformed_header",  # a body signature header that does not parse
    "uri",  # the URI signature made for another URL
]

#: ``(url, headers, body, timeout) -> status``; raise for a transport error.
WebhookSender = Callable[[str, dict[str, str], bytes, float], int]

_EVENTS: dict[tuple[str, str], tuple[str, ...]] = {
    ("create", "workOrders"): ("NEW_WORK_ORDER",),
    ("update", "workOrders"): (
        "WORK_ORDER_CHANGE",
        "NEW_CATEGORY_ON_WORK_ORDER",
        "WORK_ORDER_PART_STATUS_CHANGE",
    ),
    ("set:status", "workOrders"): ("WORK_ORDER_STATUS_CHANGE",),
    ("set:partStatus", "workOrders"): ("WORK_ORDER_PART_STATUS_CHANGE",),
    ("delete", "workOrders"): ("WORK_ORDER_DELETE",),
    ("create", "comments"): ("NEW_COMMENT_ON_WORK_ORDER",),
    ("create", "assets"): ("NEW_ASSET",),
    ("create", "locations"): ("NEW_LOCATION",),
    ("create", "parts"): ("NEW_PART",),
    ("update", "parts"): ("PART_CHANGE",),
    ("delete", "parts"): ("PART_DELETE",),
    ("create", "vendors"): ("NEW_VENDOR",),
    ("create", "purchaseOrders"): ("NEW_PURCHASE_ORDER",),
    ("update", "purchaseOrders"): ("PURCHASE_ORDER_CHANGE", "PURCHASE_ORDER_STATUS_CHANGE"),
    ("set:status", "purchaseOrders"): ("PURCHASE_ORDER_STATUS_CHANGE",),
    ("set:fulfillment", "purchaseOrders"): (
        "PURCHASE_ORDER_CHANGE",
        "PURCHASE_ORDER_STATUS_CHANGE",
    ),
    ("create", "workRequests"): ("NEW_WORK_REQUEST",),
    ("create", "subscriptions"): ("WEBHOOK_CREATED",),
    ("delete", "subscriptions"): ("WEBHOOK_ARCHIVED",),
}

_ID_FIELD = {
    "workOrders": "workOrderId",
    "assets": "assetId",
    "locations": "locationId",
    "parts": "partId",
    "vendors": "vendorId",
    "purchaseOrders": "purchaseOrderId",
    "workRequests": "workRequestId",
}


@dataclass(frozen=True)
class GeneratedEvent:
    """An event the simulator fired (to ``subscriptions`` subscribers)."""

    event_type: str
    org_id: int
    payload: dict[str, Any]
    subscriptions: tuple[int, ...]


@dataclass(frozen=True)
class WebhookDeliveryRecord:
    """One POST the simulator made (or tried). ``copy`` is 0 for the original delivery and
    1, 2... for injected redeliveries; ``status`` is None when no answer came (``error``)."""

    id: int
    subscription_id: int
    event_type: str
    url: str
    body: bytes
    headers: dict[str, str]
    status: int | None
    error: str | None
    copy: int = 0
    corruption: str | None = None
    duration: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass
class _Job:
    subscription_id: int
    event_type: str
    url: str
    secret: str
    body: bytes
    copy: int = 0
    delay: float = 0.0
    corruption: str | None = None


@dataclass
class _Before:
    types: tuple[str, ...]
    old: Record | None


@dataclass
class _Controls:
    redeliver: list[int] = field(default_factory=list)  # copies for each of the next jobs
    duplicate_rate: float = 0.0
    duplicate_copies: int = 1
    delays: list[float] = field(default_factory=list)
    delay_all: float = 0.0
    corruptions: list[str] = field(default_factory=list)


def _sign(secret: str, stamp: str, payload: bytes) -> str:
    digest = hmac.new(secret.encode(), stamp.encode() + b"." + payload, hashlib.sha256)
    return f"t={stamp},v1={digest.hexdigest()}"


def _compact(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def _work_order_status(status: str) -> tuple[str, str | None]:
    if status in ("CANCELED", "SKIPPED"):
        return "DONE", status
    return status, None


class SimulatorWebhooks:
    """``sim.webhooks``: what the simulator delivers, and switches to make it misbehave.

    Every method is thread-safe. ``wall_clock`` gives the signature timestamps (Unix
    seconds; ``timestamp_unit="ms"`` sends milliseconds). ``sender`` replaces HTTP (e.g. call
    a receiver in process); by default an ``httpx.Client`` POSTs with ``timeout`` seconds.
    """

    def __init__(self, simulator: Simulator, *, workers: int = 4) -> None:
        self._sim = simulator
        self.enabled = True
        self.mode: Literal["background", "manual"] = "background"
        self.timeout = 10.0
        self.timestamp_unit: Literal["s", "ms"] = "s"
        self.wall_clock: Callable[[], float] = time.time
        self.sender: WebhookSender | None = None
        self.workers = workers
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._controls = _Controls()
        self._rng = random.Random(f"webhooks:{simulator.seed}")
        self._ids = itertools.count(1)
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._manual: list[_Job] = []
        self._threads: list[threading.Thread] = []
        self._inflight = 0
        self._client: httpx.Client | None = None
        self._closed = False
        self.events: list[GeneratedEvent] = []
        self.deliveries: list[WebhookDeliveryRecord] = []

    # -- switches ----------------------------------------------------------------------------

    def redeliver(self, n: int = 1, *, copies: int = 1) -> None:
        """Deliver each of the next ``n`` events ``1 + copies`` times (a fresh signature
        each time, the same body), the copies queued behind the deliveries already waiting."""
        with self._lock:
            self._controls.redeliver.extend([copies] * n)

    def duplicate_rate(self, rate: float, *, copies: int = 1) -> None:
        """Redeliver each event with probability ``rate`` (seeded), ``copies`` extra times."""
        if not 0.0 <= rate <= 1.0:
            raise ValueError("rate must be between 0 and 1")
        with self._lock:
            self._controls.duplicate_rate = rate
            self._controls.duplicate_copies = copies

    def delay(self, seconds: float, n: int | None = 1) -> None:
        """Wait ``seconds`` (with the simulator's sleep) before each of the next ``n``
        deliveries; ``n=None``: every delivery from now on. The signature is made when the
        delivery is sent."""
        with self._lock:
            if n is None:
                self._controls.delay_all = seconds
            else:
                self._controls.delays.extend([seconds] * n)

    def corrupt(self, kind: Corruption = "signature", n: int = 1) -> None:
        """Corrupt the next ``n`` deliveries (see :data:`Corruption`)."""
        with self._lock:
            self._controls.corruptions.extend([kind] * n)

    def reset(self) -> None:
        """Switch every control off (deliveries already queued keep theirs)."""
        with self._lock:
            self._controls = _Controls()

    # -- what happened ----------------------------------------------------------------------

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Block until every queued delivery was attempted; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._inflight:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._idle.wait(remaining)
        return True

    def pending(self) -> int:
        """Deliveries queued and not attempted yet."""
        with self._lock:
            return self._inflight

    def flush(self) -> int:
        """``mode="manual"``: attempt every queued delivery now, on this thread."""
        done = 0
        while True:
            with self._lock:
                if not self._manual:
                    return done
                job = self._manual.pop(0)
            self._attempt(job)
            done += 1

    def resend(self, delivery_id: int) -> None:
        """Deliver a past delivery again (same body, fresh signature), like a redelivery."""
        with self._lock:
            record = next((d for d in self.deliveries if d.id == delivery_id), None)
        if record is None:
            raise KeyError(f"no delivery {delivery_id}")
        secret = self._secret_of(record.subscription_id)
        self._queue(
            _Job(record.subscription_id, record.event_type, record.url, secret, record.body, 1)
        )

    def emit(self, event_type: str, payload: dict[str, Any], *, org_id: int | None = None) -> int:
        """Deliver ``payload`` as an ``event_type`` event to that organization's subscribers
        (any type, e.g. ``USER_LOGIN_SUCCESS``); returns how many subscriptions got it."""
        sim = self._sim
        with sim._lock:
            org = sim._organization(org_id if org_id is not None else min(sim.organization_ids))
            subs = [
                s
                for s in self._subscribers(org, event_type)
                if passes(s.get("filters"), payload, None, None)
            ]
        self._fire(org.id, event_type, payload, subs)
        return len(subs)

    def close(self) -> None:
        """Stop the delivery threads (after what is queued) and close the HTTP client."""
        with self._lock:
            self._closed = True
            threads, self._threads = self._threads, []
        for _ in threads:
            self._jobs.put(None)
        for thread in threads:
            thread.join(self.timeout + 5)
        client, self._client = self._client, None
        if client is not None:
            client.close()

    # -- the simulator's hooks (called under the simulator's lock) ------------------------

    def before(self, call: Call) -> _Before | None:
        """Before a handler runs: note what an event will need (the record as it was)."""
        route = call.route
        if not self.enabled or route.resource is None:
            return None
        handler = f"set:{route.action}" if route.handler == "set" else route.handler
        types = _EVENTS.get((handler, route.resource))
        if types is None:
            return None
        subs = call.org.tables.get("subscriptions")
        if subs is None or not any(s.get("type") in types for s in subs):
            return None
        old = None
        raw_id = call.params.get(route.id_param or "") if route.parent is None else None
        if raw_id is not None and raw_id.isdigit():
            found = call.org.lookup(route.resource, int(raw_id))
            old = copy.deepcopy(found) if found is not None else None
        return _Before(types, old)

    def after(self, before: _Before | None, call: Call, response: SimResponse) -> None:
        """After a handler answered: fire the events of a successful write."""
        if before is None or not 200 <= response.status < 300:
            return
        if call.request.param("skipWebhook") == "true":
            return
        resource = call.route.resource or ""
        record = self._record_after(call, response, before)
        for event_type in before.types:
            payload = self._payload(event_type, call, resource, before.old, record)
            if payload is None:
                continue
            subs = [
                s
                for s in self._subscribers(call.org, event_type)
                if passes(s.get("filters"), payload, before.old, record)
            ]
            if subs:
                self._fire(call.org.id, event_type, payload, subs)

    # -- payloads ---------------------------------------------------------------------------

    def _record_after(self, call: Call, response: SimResponse, before: _Before) -> Record | None:
        resource = call.route.resource or ""
        if call.route.handler == "delete":
            return before.old
        if before.old is not None:
            return call.org.lookup(resource, int(before.old["id"]))
        try:
            data = response.json()
        except ValueError:
            return None
        if isinstance(data, dict) and "id" not in data and len(data) == 1:
            data = next(iter(data.values()))
        if not isinstance(data, dict) or not isinstance(data.get("id"), int):
            return None
        return call.org.lookup(resource, data["id"])

    def _categories(self, org: OrgData, labels: Iterable[str]) -> list[dict[str, Any]]:
        by_label = {c.get("label"): c for c in org.table("categories")}
        found = []
        for label in labels:
            category = by_label.get(label)
            if category is not None:
                found.append({"id": category["id"], "name": label})
        return found

    def _work_order(self, org: OrgData, record: Record) -> dict[str, Any]:
        parts = [
            _compact(
                {
                    "id": p.get("partId"),
                    "quantityUsed": p.get("quantityUsed"),
                    "locationId": p.get("locationId"),
                    "copyOnRecurring": p.get("copyOnRecurring") or "Default",
                }
            )
            for p in record.get("_parts") or ()
        ]
        return _compact(
            {
                "assetId": record.get("assetId"),
                "assigneeIds": list(record.get("assigneeIds") or []),
                "categories": self._categories(org, record.get("categories") or ()),
                "description": record.get("description"),
                "dueDate": record.get("dueDate"),
                "estimatedTime": record.get("estimatedTime"),
                "extraFields": dict(record.get("extraFields") or {}),
                "locationId": record.get("locationId"),
                "parts": parts,
                "priority": record.get("priority"),
                "startDate": record.get("startDate"),
                "teamIds": list(record.get("teamIds") or []),
                "title": record.get("title"),
                "vendorIds": list(record.get("vendorIds") or []),
            }
        )

    @staticmethod
    def _part(record: Record, with_id: bool) -> dict[str, Any]:
        keys = (
            "name",
            "description",
            "area",
            "unitCost",
            "availableQuantity",
            "inStockQuantity",
            "minimumQuantity",
            "maximumQuantity",
            "barcode",
            "locationId",
            "partTypes",
            "assetIds",
            "teamIds",
            "extraFields",
        )
        data = {key: copy.deepcopy(record.get(key)) for key in keys}
        data["vendors"] = [
            _compact({"vendorId": v.get("vendorId"), "partNumber": v.get("partNumber")})
            for v in record.get("vendors") or ()
            if isinstance(v, dict)
        ]
        data["locations"] = [
            _compact(
                {
                    k: loc.get(k)
                    for k in (
                        "locationId",
                        "availableQuantity",
                        "minimumQuantity",
                        "maximumQuantity",
                        "area",
                    )
                }
            )
            for loc in record.get("locations") or ()
            if isinstance(loc, dict)
        ]
        if with_id:
            data["id"] = record["id"]
        return _compact(data)

    @staticmethod
    def _purchase_order(record: Record) -> dict[str, Any]:
        keys = (
            "title",
            "note",
            "reviewNote",
            "status",
            "dueDate",
            "vendorId",
            "vendorContactIds",
            "approverId",
            "approvalDate",
            "creatorId",
            "autoGeneratedNumber",
            "overrideNumber",
            "items",
            "costs",
            "attachments",
            "thumbnail",
            "billingAddress",
            "shippingAddress",
            "extraFields",
        )
        return _compact({key: copy.deepcopy(record.get(key)) for key in keys})

    def _payload(
        self,
        event_type: str,
        call: Call,
        resource: str,
        old: Record | None,
        record: Record | None,
    ) -> dict[str, Any] | None:
        org = call.org
        if record is None:
            return None
        now = self._sim.timestamps.next_iso()
        occurred = record.get("updatedAt") or record.get("createdAt") or now
        base: dict[str, Any] = {"orgId": org.id}
        id_field = _ID_FIELD.get(resource)
        if id_field is not None:
            base[id_field] = record["id"]
        if event_type == "NEW_WORK_ORDER":
            return {
                **base,
                "occurredAt": record["createdAt"],
                "newWorkOrder": self._work_order(org, record),
            }
        if event_type == "WORK_ORDER_STATUS_CHANGE":
            if old is None or old.get("status") == record.get("status"):
                return None
            old_status, old_sub = _work_order_status(str(old["status"]))
            new_status, new_sub = _work_order_status(str(record["status"]))
            return _compact(
                {
                    **base,
                    "oldStatus": old_status,
                    "oldSubStatus": old_sub,
                    "newStatus": new_status,
                    "newSubStatus": new_sub,
                    "occurredAt": occurred,
                    "userId": call.user_id,
                    "newWorkOrder": self._work_order(org, record),
                }
            )
        if event_type == "WORK_ORDER_CHANGE":
            before_users = set(old.get("assigneeIds") or []) if old else set()
            before_teams = set(old.get("teamIds") or []) if old else set()
            users = set(record.get("assigneeIds") or [])
            teams = set(record.get("teamIds") or [])
            return {
                **base,
                "occurredAt": occurred,
                "newWorkOrder": self._work_order(org, record),
                "addedAssigneeIds": sorted(users - before_users),
                "removedAssigneeIds": sorted(before_users - users),
                "addedTeamIds": sorted(teams - before_teams),
                "removedTeamIds": sorted(before_teams - teams),
            }
        if event_type == "NEW_CATEGORY_ON_WORK_ORDER":
            added = [
                label
                for label in record.get("categories") or ()
                if label not in set((old or {}).get("categories") or ())
            ]
            if not added:
                return None
            return {**base, "newCategories": self._categories(org, added), "occurredAt": occurred}
        if event_type == "WORK_ORDER_PART_STATUS_CHANGE":
            if old is None or old.get("partStatus") == record.get("partStatus"):
                return None
            return {
                **base,
                "oldPartStatus": old.get("partStatus"),
                "newPartStatus": record.get("partStatus"),
                "occurredAt": occurred,
                "newWorkOrder": self._work_order(org, record),
            }
        if event_type == "WORK_ORDER_DELETE":
            return {**base, "occurredAt": now, "WorkOrder": self._work_order(org, record)}
        if event_type == "NEW_COMMENT_ON_WORK_ORDER":
            work_order_id = record.get("_parentId")
            return {
                "orgId": org.id,
                "workOrderId": work_order_id,
                "occurredAt": record.get("createdAt") or now,
                "type": "TEXT",
                "comment": record.get("content"),
            }
        if event_type == "NEW_ASSET":
            snapshot = _compact(
                {
                    key: copy.deepcopy(record.get(key))
                    for key in (
                        "name",
                        "description",
                        "locationId",
                        "barcode",
                        "parentId",
                        "vendorIds",
                        "teamIds",
                        "assetTypes",
                        "extraFields",
                    )
                }
            )
            return {**base, "occurredAt": record["createdAt"], "newAsset": snapshot}
        if event_type in ("NEW_LOCATION", "NEW_VENDOR", "NEW_WORK_REQUEST"):
            return {**base, "occurredAt": record["createdAt"]}
        if event_type == "NEW_PART":
            return {**base, "occurredAt": record["createdAt"], "newPart": self._part(record, False)}
        if event_type == "PART_CHANGE":
            return {**base, "occurredAt": occurred, "newPart": self._part(record, True)}
        if event_type == "PART_DELETE":
            return {**base, "occurredAt": now, "deletedPart": self._part(record, True)}
        if event_type == "NEW_PURCHASE_ORDER":
            return {
                **base,
                "occurredAt": record["createdAt"],
                "userId": call.user_id,
                "newPurchaseOrder": self._purchase_order(record),
            }
        if event_type == "PURCHASE_ORDER_STATUS_CHANGE":
            if old is None or old.get("status") == record.get("status"):
                return None
            return _compact(
                {
                    **base,
                    "vendorId": record.get("vendorId"),
                    "oldStatus": old.get("status"),
                    "newStatus": record.get("status"),
                    "occurredAt": occurred,
                    "purchaseOrder": {
                        **self._purchase_order(record),
                        "id": record["id"],
                        "items": [_compact(item) for item in record.get("items") or ()],
                    },
                }
            )
        if event_type == "PURCHASE_ORDER_CHANGE":
            return {
                **base,
                "occurredAt": occurred,
                "newPurchaseOrder": self._purchase_order(record),
            }
        if event_type == "WEBHOOK_CREATED":
            return {
                "orgId": org.id,
                "actorId": call.user_id,
                "webhookId": record["id"],
                "webhookType": record.get("type"),
                "url": record.get("url"),
                "occurredAt": record.get("createdAt") or now,
            }
        if event_type == "WEBHOOK_ARCHIVED":
            return {
                "orgId": org.id,
                "actorId": call.user_id,
                "webhookId": record["id"],
                "occurredAt": now,
            }
        return None  # pragma: no cover - every type of _EVENTS is handled above

    # -- delivery ---------------------------------------------------------------------------

    @staticmethod
    def _subscribers(org: OrgData, event_type: str) -> list[Record]:
        table = org.tables.get("subscriptions")
        if table is None:
            return []
        return [
            dict(s)
            for s in table
            if s.get("type") == event_type and s.get("status", "VALID") == "VALID" and s.get("url")
        ]

    def _secret_of(self, subscription_id: int) -> str:
        sim = self._sim
        with sim._lock:
            for org_id in sim.organization_ids:
                found = sim._organization(org_id).lookup("subscriptions", subscription_id)
                if found is not None:
                    return str(found["secret"])
        raise KeyError(f"no subscription {subscription_id}")

    def _fire(
        self, org_id: int, event_type: str, payload: dict[str, Any], subs: list[Record]
    ) -> None:
        body = json.dumps(payload, separators=(",", ":")).encode()
        with self._lock:
            self.events.append(
                GeneratedEvent(event_type, org_id, payload, tuple(int(s["id"]) for s in subs))
            )
        for sub in subs:
            job = _Job(int(sub["id"]), event_type, str(sub["url"]), str(sub["secret"]), body)
            copies = self._plan(job)
            self._queue(job)
            for n in range(1, copies + 1):
                self._queue(_Job(job.subscription_id, event_type, job.url, job.secret, body, n))

    def _plan(self, job: _Job) -> int:
        with self._lock:
            c = self._controls
            copies = c.redeliver.pop(0) if c.redeliver else 0
            if not copies and c.duplicate_rate and self._rng.random() < c.duplicate_rate:
                copies = c.duplicate_copies
            job.delay = c.delays.pop(0) if c.delays else c.delay_all
            job.corruption = c.corruptions.pop(0) if c.corruptions else None
            return copies

    def _queue(self, job: _Job) -> None:
        with self._lock:
            if self._closed:  # after close(): nothing is delivered any more
                return
            self._inflight += 1
            if self.mode == "manual":
                self._manual.append(job)
                return
            if len(self._threads) < self.workers:
                thread = threading.Thread(
                    target=self._work, name="maintainx-sim-webhooks", daemon=True
                )
                self._threads.append(thread)
                thread.start()
        self._jobs.put(job)

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            self._attempt(job)

    def _send(self, url: str, headers: dict[str, str], body: bytes) -> int:
        if self.sender is not None:
            return self.sender(url, headers, body, self.timeout)
        import httpx

        with self._lock:
            if self._client is None:
                self._client = httpx.Client(timeout=self.timeout)
            client = self._client
        return client.post(url, content=body, headers=headers).status_code

    def _attempt(self, job: _Job) -> None:
        try:
            if job.delay > 0:
                self._sim.sleep(job.delay)
            now = self.wall_clock()
            if job.corruption == "stale":
                now -= 3600
            elif job.corruption == "future":
                now += 3600
            stamp = str(int(now * 1000) if self.timestamp_unit == "ms" else int(now))
            secret = "not-the-secret" if job.corruption == "secret" else job.secret
            body = job.body
            headers = {
                "content-type": "application/json",
                "user-agent": "MaintainX-Webhooks/simulated",
                BODY_HEADER: _sign(secret, stamp, body),
                URI_HEADER: _sign(secret, stamp, job.url.encode()),
            }
            if job.corruption == "body":
                body = body + b" "
            elif job.corruption == "signature":
                value = headers[BODY_HEADER]
                headers[BODY_HEADER] = value[:-1] + ("0" if value[-1] != "0" else "1")
            elif job.corruption == "missing_header":
                del headers[BODY_HEADER]
            elif job.corruption == "malformed_header":
                headers[BODY_HEADER] = "t=soon,v1=not-hex"
            elif job.corruption == "uri":
                headers[URI_HEADER] = _sign(secret, stamp, (job.url + "/elsewhere").encode())
            started = time.monotonic()
            status: int | None = None
            error: str | None = None
            try:
                status = self._send(job.url, headers, body)
            except Exception as exc:  # a transport error is an outcome, recorded
                error = type(exc).__name__
            record = WebhookDeliveryRecord(
                id=next(self._ids),
                subscription_id=job.subscription_id,
                event_type=job.event_type,
                url=job.url,
                body=body,
                headers=headers,
                status=status,
                error=error,
                copy=job.copy,
                corruption=job.corruption,
                duration=time.monotonic() - started,
            )
            with self._lock:
                self.deliveries.append(record)
        finally:
            with self._idle:
                self._inflight -= 1
                if not self._inflight:
                    self._idle.notify_all()
