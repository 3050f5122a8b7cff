"""The incident timeline: what happened when, and what it cost, for the post-incident report.

:class:`IncidentTimeline` subscribes to the client's :class:`~maintainx_resilient._events.
EventBus` (and to a :class:`~maintainx_resilient.diagnostics.severity.SeverityTracker`) and
keeps, with the times of its injected clock:

- alert conditions met and cleared (the tracker's severity changes);
- circuit breakers opened (and isolated) and closed again;
- answers served from the fallback cache, aggregated into one line per run of them ("served
  42 stale answers, 15:07 - 15:31"), never one line per answer;
- API key rotations (fingerprints only: events never carry keys);
- mitigations applied (:meth:`~IncidentTimeline.record_mitigation`), investigation started,
  root cause identified, recovery verified, diagnoses run, notes.

and impact counters: failed attempts (answered >= 400 or no answer), stale answers served,
work orders affected (distinct work-order ids seen in the paths of failed or stale requests,
when the path names one: events usually carry the route template ``/workorders/{id}``, so add
ids you know with :meth:`~IncidentTimeline.record_work_orders`), and downtime: the time at
least one circuit breaker was not closed.

Everything is recorded at the timeline clock's time when it is received (events arrive on the
emitting thread, so that is when they happened). Thread-safe. Texts are kept as given and
cleaned when rendered (:mod:`.report` masks registered secrets and bearer tokens).
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from .._clock import SYSTEM_CLOCK, Clock
from .._events import (
    BreakerStateChanged,
    Event,
    EventBus,
    FallbackServed,
    FleetStateChanged,
    KeyRotated,
    RequestCompleted,
    ResponseUnreadable,
    ThrottleWarning,
)
from .._iso8601 import iso_utc
from ._model import Severity
from .severity import SeverityChange, SeverityTracker

if TYPE_CHECKING:
    from ._runner import DiagnosisReport

__all__ = [
    "KIND_ALERT",
    "KIND_ALERT_CLEARED",
    "KIND_BREAKER_CLOSED",
    "KIND_BREAKER_OPENED",
    "KIND_DIAGNOSIS",
    "KIND_FALLBACK",
    "KIND_INVESTIGATION",
    "KIND_KEY_ROTATED",
    "KIND_MITIGATION",
    "KIND_NOTE",
    "KIND_RECOVERY",
    "KIND_ROOT_CAUSE",
    "IncidentImpact",
    "IncidentTimeline",
    "TimelineEntry",
    "hhmm",
    "work_order_id",
]

KIND_ALERT = "alert"
KIND_ALERT_CLEARED = "alert_cleared"
KIND_BREAKER_OPENED = "breaker_opened"
KIND_BREAKER_CLOSED = "breaker_closed"
KIND_FALLBACK = "fallback"
KIND_KEY_ROTATED = "key_rotated"
KIND_MITIGATION = "mitigation"
KIND_INVESTIGATION = "investigation"
KIND_ROOT_CAUSE = "root_cause"
KIND_RECOVERY = "recovery"
KIND_DIAGNOSIS = "diagnosis"
KIND_NOTE = "note"

_CLOSED = "closed"
_WORK_ORDER = re.compile(r"(?:^|/)workorders/(\d+)(?:/|$)")


def hhmm(wall: float) -> str:
    """Unix time as ``HH:MM`` UTC."""
    return datetime.fromtimestamp(wall, tz=timezone.utc).strftime("%H:%M")


def work_order_id(route: str) -> int | None:
    """The work-order id a request path names (``/workorders/42/status`` -> 42), else None."""
    match = _WORK_ORDER.search(route)
    return int(match.group(1)) if match else None


@dataclass(frozen=True)
class TimelineEntry:
    """One line of the timeline. ``count``/``until`` are set on aggregated lines."""

    kind: str
    at: float
    wall: float
    text: str
    count: int = 1
    until: float | None = None  # wall time of the last event folded into this line

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "at": iso_utc(self.wall),
            "until": iso_utc(self.until) if self.until is not None else None,
            "count": self.count,
            "text": self.text,
        }


@dataclass(frozen=True)
class IncidentImpact:
    """What the incident cost, as far as the client saw it."""

    failed_requests: int
    stale_answers: int
    work_order_ids: tuple[int, ...]
    downtime_seconds: float

    @property
    def work_orders_affected(self) -> int:
        return len(self.work_order_ids)

    @property
    def downtime_minutes(self) -> float:
        return self.downtime_seconds / 60.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "failed_requests": self.failed_requests,
            "stale_answers": self.stale_answers,
            "work_orders_affected": self.work_orders_affected,
            "downtime_minutes": round(self.downtime_minutes, 1),
        }


class _Fallbacks:
    """A run of fallback answers being folded into one line."""

    __slots__ = ("at", "count", "last_wall", "routes", "wall")

    def __init__(self, at: float, wall: float) -> None:
        self.at = at
        self.wall = wall
        self.last_wall = wall
        self.count = 0
        self.routes: Counter[str] = Counter()

    def entry(self) -> TimelineEntry:
        top = ", ".join(f"{r} x{n}" for r, n in self.routes.most_common(3))
        more = len(self.routes) - 3
        if more > 0:
            top += f", {more} more"
        noun = "answer" if self.count == 1 else "answers"
        return TimelineEntry(
            kind=KIND_FALLBACK,
            at=self.at,
            wall=self.wall,
            text=f"Fallback: served {self.count} stale {noun} from the cache ({top})",
            count=self.count,
            until=self.last_wall,
        )


class IncidentTimeline:
    """Records an incident as it happens. Subscribe it with ``events=`` / ``tracker=`` or
    :meth:`attach` / :meth:`watch`; record people's actions with the ``record_*`` methods."""

    def __init__(
        self,
        clock: Clock = SYSTEM_CLOCK,
        *,
        events: EventBus | None = None,
        tracker: SeverityTracker | None = None,
    ) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        # Entries, with the open fallback run (if any) as the last item.
        self._items: list[TimelineEntry | _Fallbacks] = []
        self._failed = 0
        self._stale = 0
        self._work_orders: set[int] = set()
        self._not_closed: set[str] = set()
        self._down_since: float | None = None
        self._downtime = 0.0
        self._worst: Severity | None = None
        self._unsubscribe: list[Callable[[], None]] = []
        if events is not None:
            self.attach(events)
        if tracker is not None:
            self.watch(tracker)

    # -- subscriptions ---------------------------------------------------------------------

    def attach(self, events: EventBus) -> Callable[[], None]:
        """Listen to the client's events; returns a function that stops listening."""
        unsubscribe = events.subscribe(self.record)
        self._unsubscribe.append(unsubscribe)
        return unsubscribe

    def watch(self, tracker: SeverityTracker) -> Callable[[], None]:
        """Record the tracker's severity changes as alerts; returns an unsubscribe function."""
        unsubscribe = tracker.subscribe(self.record_severity_change)
        self._unsubscribe.append(unsubscribe)
        return unsubscribe

    def close(self) -> None:
        """Stop listening to everything attached (idempotent)."""
        while self._unsubscribe:
            self._unsubscribe.pop()()

    # -- recording -------------------------------------------------------------------------

    def record(self, event: Event) -> None:
        """The event-bus hook: keeps what matters to an incident, ignores the rest."""
        if isinstance(event, RequestCompleted):
            if event.status is None or event.status >= 400:
                with self._lock:
                    self._failed += 1
                    self._note_work_order(event.route)
        elif isinstance(event, ResponseUnreadable):  # a 2xx the client could not read
            with self._lock:
                self._failed += 1
                self._note_work_order(event.route)
        elif isinstance(event, FallbackServed):
            self._fallback(event)
        elif isinstance(event, BreakerStateChanged):
            self._breaker(event)
        elif isinstance(event, KeyRotated):
            self._add(
                KIND_KEY_ROTATED,
                f"API key rotated after {event.reason} "
                f"({event.old_fingerprint} -> {event.new_fingerprint})",
            )
        elif isinstance(event, ThrottleWarning):
            self._add(KIND_NOTE, f"Rate limit of {event.scope}: {event.detail}")
        elif isinstance(event, FleetStateChanged):
            if event.new == "local":
                text = f"Fleet: Redis failed ({event.detail}); this process runs on its own state"
            else:
                text = f"Fleet: rejoined ({event.detail})"
            self._add(KIND_NOTE, text)

    def record_severity_change(self, change: SeverityChange) -> None:
        """The severity-tracker hook: alert conditions met, lowered or cleared."""
        codes = f" ({', '.join(change.codes)})" if change.codes else ""
        with self._lock:
            if change.new is not None and (self._worst is None or change.new < self._worst):
                self._worst = change.new
        if change.new is None:
            old = change.old.name if change.old else "none"
            self._add(KIND_ALERT_CLEARED, f"Alert conditions cleared (was {old})")
        elif change.worsened:
            label = f"{change.new.name} {change.new.definition.lower()}"
            self._add(KIND_ALERT, f"Alert fired: {label}{codes}")
        else:
            self._add(KIND_ALERT, f"Severity lowered to {change.new.name}{codes}")

    def record_mitigation(self, name: str, detail: str = "") -> None:
        """A mitigation was applied (``"rotate_key"``, ``"enable fallback mode"``...)."""
        self._add(
            KIND_MITIGATION, f"Mitigation applied: {name}" + (f" ({detail})" if detail else "")
        )

    def record_investigation(self, detail: str = "") -> None:
        self._add(KIND_INVESTIGATION, "Investigation started" + (f": {detail}" if detail else ""))

    def record_root_cause(self, detail: str) -> None:
        self._add(KIND_ROOT_CAUSE, f"Root cause identified: {detail}")

    def record_recovery(self, detail: str = "") -> None:
        """Recovery verified (a clean diagnosis, the status page operational again...)."""
        self._add(KIND_RECOVERY, "Resolution confirmed" + (f": {detail}" if detail else ""))

    def record_note(self, text: str) -> None:
        self._add(KIND_NOTE, text)

    def record_diagnosis(self, report: DiagnosisReport) -> None:
        """A diagnosis ran: its overall severity and finding codes."""
        sev = report.severity.name if report.severity else "no findings"
        codes = sorted({f.code for f in report.findings})
        listed = f" ({', '.join(codes)})" if codes else ""
        self._add(KIND_DIAGNOSIS, f"Diagnosis: {sev}{listed}")

    def record_work_orders(self, ids: Iterable[int]) -> None:
        """Work orders known to be affected (e.g. from failed calls' arguments)."""
        with self._lock:
            self._work_orders.update(int(i) for i in ids)

    def _note_work_order(self, route: str) -> None:
        found = work_order_id(route)
        if found is not None:
            self._work_orders.add(found)

    def _add(self, kind: str, text: str) -> None:
        at, wall = self.clock.monotonic(), self.clock.time()
        with self._lock:
            self._items.append(TimelineEntry(kind=kind, at=at, wall=wall, text=text))

    def _fallback(self, event: FallbackServed) -> None:
        at, wall = self.clock.monotonic(), self.clock.time()
        with self._lock:
            self._stale += 1
            self._note_work_order(event.route)
            last = self._items[-1] if self._items else None
            if not isinstance(last, _Fallbacks):
                last = _Fallbacks(at, wall)
                self._items.append(last)
            last.count += 1
            last.last_wall = wall
            last.routes[f"{event.method} {event.route}"] += 1

    def _breaker(self, event: BreakerStateChanged) -> None:
        at, wall = self.clock.monotonic(), self.clock.time()
        new, old = event.new.lower(), event.old.lower()
        with self._lock:
            was_down = bool(self._not_closed)
            if new == _CLOSED:
                self._not_closed.discard(event.scope)
            else:
                self._not_closed.add(event.scope)
            if not was_down and self._not_closed:
                self._down_since = at
            elif was_down and not self._not_closed and self._down_since is not None:
                self._downtime += at - self._down_since
                self._down_since = None
            if old == _CLOSED and new != _CLOSED:
                verb = "isolated (held open by hand)" if new == "isolated" else "opened"
                self._items.append(
                    TimelineEntry(
                        KIND_BREAKER_OPENED, at, wall, f"Circuit breaker {verb}: {event.scope}"
                    )
                )
            elif new == _CLOSED and old != _CLOSED:
                self._items.append(
                    TimelineEntry(
                        KIND_BREAKER_CLOSED, at, wall, f"Circuit breaker closed: {event.scope}"
                    )
                )

    # -- reading ---------------------------------------------------------------------------

    def entries(self) -> tuple[TimelineEntry, ...]:
        """Every line so far, oldest first."""
        with self._lock:
            items = list(self._items)
        return tuple(i.entry() if isinstance(i, _Fallbacks) else i for i in items)

    def impact(self) -> IncidentImpact:
        """The impact counters now (downtime counts a breaker still open up to now)."""
        now = self.clock.monotonic()
        with self._lock:
            downtime = self._downtime
            if self._down_since is not None:
                downtime += max(0.0, now - self._down_since)
            return IncidentImpact(
                failed_requests=self._failed,
                stale_answers=self._stale,
                work_order_ids=tuple(sorted(self._work_orders)),
                downtime_seconds=downtime,
            )

    @property
    def worst_severity(self) -> Severity | None:
        """The worst severity any alert reached (None when none fired)."""
        return self._worst

    def span(self) -> tuple[float, float]:
        """Wall times of the incident: the first line, and the last recovery (else the last
        line; else now)."""
        lines = self.entries()
        if not lines:
            now = self.clock.time()
            return now, now
        start = lines[0].wall
        recoveries = [e.wall for e in lines if e.kind == KIND_RECOVERY]
        end = recoveries[-1] if recoveries else max(e.until or e.wall for e in lines)
        return start, max(start, end)

    def to_dict(self) -> dict[str, Any]:
        start, end = self.span()
        return {
            "started_at": iso_utc(start),
            "ended_at": iso_utc(end),
            "worst_severity": self._worst.name if self._worst else None,
            "entries": [e.to_dict() for e in self.entries()],
            "impact": self.impact().to_dict(),
        }

    def __repr__(self) -> str:
        return f"IncidentTimeline(entries={len(self._items)})"
