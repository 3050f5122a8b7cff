"""Background mutations of a simulator's data: creates, updates and deletes at a set rate.

Changes are made behind the API's back, like users working in the web app while an
integration syncs: they do not count as requests (``sim.stats`` stays a record of what the
client sent) and are not rate limited. Each change is a :class:`Mutation`, kept in
``mutator.mutations`` and passed to ``on_change``; ``Mutation.webhook_payload()`` is the flat
payload MaintainX would deliver for it (``event_type`` is the subscription type), and it is
delivered to the simulator's webhook subscribers (``sim.webhooks``) unless
``webhooks=False``.

>>> from maintainx_resilient.testing import Simulator
>>> sim = Simulator(seed=1, work_orders=20)
>>> mutator = sim.mutator(seed=3)
>>> [m.kind for m in mutator.run(3)]
['create', 'update', 'create']

``mutator.start()`` runs it in a background thread at ``rate`` changes per second until
``mutator.stop()`` (or use ``with sim.mutator(rate=50):``). ``mix`` weighs creates,
updates and deletes; the seed fixes which records are touched.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from ._simulator import Simulator

__all__ = ["Mutation", "Mutator"]

MutationKind = Literal["create", "update", "delete"]

#: resource -> (created, changed, deleted event types, payload id key); None: no such event.
_EVENTS: dict[str, tuple[str | None, str | None, str | None, str]] = {
    "workOrders": ("NEW_WORK_ORDER", "WORK_ORDER_CHANGE", "WORK_ORDER_DELETE", "workOrderId"),
    "parts": ("NEW_PART", "PART_CHANGE", "PART_DELETE", "partId"),
    "assets": ("NEW_ASSET", None, None, "assetId"),
    "locations": ("NEW_LOCATION", None, None, "locationId"),
    "purchaseOrders": ("NEW_PURCHASE_ORDER", "PURCHASE_ORDER_CHANGE", None, "purchaseOrderId"),
}
_NAME_FIELD = {"workOrders": "title"}
_KINDS: tuple[MutationKind, MutationKind, MutationKind] = ("create", "update", "delete")


@dataclass(frozen=True)
class Mutation:
    """One change: what was done to which record, and when (``occurred_at``, API format)."""

    kind: MutationKind
    resource: str
    id: int
    org_id: int
    occurred_at: str
    #: the record's ``updatedAt`` after the change (None for a delete)
    updated_at: str | None

    @property
    def event_type(self) -> str | None:
        """The webhook subscription type MaintainX would fire (None if it has none)."""
        events = _EVENTS.get(self.resource)
        return None if events is None else events[_KINDS.index(self.kind)]

    def webhook_payload(self) -> dict[str, Any]:
        """The flat payload MaintainX would deliver: ``{"workOrderId": 7, "orgId": 1, ...}``."""
        events = _EVENTS.get(self.resource)
        key = events[3] if events is not None else "id"
        return {key: self.id, "orgId": self.org_id, "occurredAt": self.occurred_at}


class Mutator:
    """Creates, updates and deletes records of one resource of ``sim``.

    ``rate`` is changes per second for :meth:`start`; ``mix`` the weights of creates,
    updates and deletes; ``min_records`` the size below which deletes turn into creates;
    ``webhooks``: deliver each change's webhook to the simulator's subscribers
    (``sim.webhooks``), as MaintainX does for changes made in the web app.
    """

    def __init__(
        self,
        sim: Simulator,
        *,
        resource: str = "workOrders",
        rate: float = 20.0,
        mix: tuple[float, float, float] = (1.0, 3.0, 1.0),
        seed: int | str = 0,
        org_id: int | None = None,
        on_change: Callable[[Mutation], object] | None = None,
        min_records: int = 1,
        webhooks: bool = True,
    ) -> None:
        if not rate > 0:
            raise ValueError(f"rate must be > 0 changes per second, got {rate!r}")
        if len(mix) != 3 or min(mix) < 0 or not sum(mix) > 0:
            raise ValueError(f"mix must be three weights >= 0 (create, update, delete): {mix!r}")
        self.sim = sim
        org, name = sim._resolve(resource, org_id)
        self.resource = name
        self.org_id = org.id
        self.rate = rate
        self.mix = mix
        self.on_change = on_change
        self.min_records = min_records
        self.webhooks = webhooks
        self._rng = random.Random(f"mutator:{seed}:{name}")
        self._lock = threading.Lock()
        self._log: list[Mutation] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        #: the exception that ended the background thread, if one did
        self.error: BaseException | None = None

    # -- one change at a time --------------------------------------------------------------

    def step(self) -> Mutation:
        """Make one change now (same thread) and return it."""
        with self._lock, self.sim._lock:
            org, name = self.sim._resolve(self.resource, self.org_id)
            table = org.table(name)
            kind: MutationKind = self._rng.choices(_KINDS, self.mix)[0]
            if kind != "create" and len(table) <= (self.min_records if kind == "delete" else 0):
                kind = "create"
            if kind == "create":
                mutation = self._create(org)
            else:
                record_id = self._rng.choice(table.order("id"))
                if kind == "update":
                    mutation = self._update(record_id)
                else:
                    self.sim.delete_record(name, record_id, org_id=org.id)
                    now = self.sim.timestamps.next_iso()
                    mutation = Mutation("delete", name, record_id, org.id, now, None)
            self._log.append(mutation)
        if self.on_change is not None:
            self.on_change(mutation)
        hooks = getattr(self.sim, "webhooks", None) if self.webhooks else None
        if hooks is not None and mutation.event_type is not None:
            hooks.emit(mutation.event_type, mutation.webhook_payload(), org_id=mutation.org_id)
        return mutation

    def _create(self, org: Any) -> Mutation:
        name = self.resource
        text = f"Created by mutator ({len(self._log) + 1})"
        record = self.sim.add_record(name, {_NAME_FIELD.get(name, "name"): text}, org_id=org.id)
        stamp = record["updatedAt"]
        return Mutation("create", name, record["id"], org.id, stamp, stamp)

    def _update(self, record_id: int) -> Mutation:
        field = _NAME_FIELD.get(self.resource, "name")
        record = self.sim.update_record(
            self.resource,
            record_id,
            {field: f"Edited by mutator ({len(self._log) + 1})"},
            org_id=self.org_id,
        )
        stamp = record["updatedAt"]
        return Mutation("update", self.resource, record_id, self.org_id, stamp, stamp)

    def run(self, count: int) -> list[Mutation]:
        """Make ``count`` changes now and return them."""
        return [self.step() for _ in range(count)]

    # -- in the background -------------------------------------------------------------------

    def start(self) -> Mutator:
        """Make changes at ``rate`` per second in a background thread until :meth:`stop`."""
        if self._thread is not None:
            raise RuntimeError("this mutator is already running")
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="sim-mutator", daemon=True)
        self._thread.start()
        return self

    def _loop(self) -> None:
        interval = 1.0 / self.rate
        due = time.monotonic()
        try:
            while not self._stop.is_set():
                self.step()
                due += interval
                now = time.monotonic()
                if due < now - 1.0:
                    due = now  # fell behind by more than a second: do not burst to catch up
                if due > now:
                    self._stop.wait(due - now)
        except BaseException as exc:
            self.error = exc

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the background thread (waits for the change in progress); re-raises the
        error that ended it, if any."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout)
        if self.error is not None:
            raise RuntimeError("the mutator thread failed") from self.error

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def __enter__(self) -> Mutator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what happened -----------------------------------------------------------------------

    @property
    def mutations(self) -> list[Mutation]:
        """Every change made so far, oldest first (a copy)."""
        with self._lock:
            return list(self._log)

    def counts(self) -> dict[str, int]:
        """Changes made so far by kind."""
        counts: dict[str, int] = dict.fromkeys(_KINDS, 0)
        for mutation in self.mutations:
            counts[mutation.kind] += 1
        return counts

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        changes = len(self._log)
        return f"Mutator({self.resource!r}, rate={self.rate:g}/s, {state}, {changes} changes)"
