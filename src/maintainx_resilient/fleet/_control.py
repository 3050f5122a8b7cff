"""Fleet-wide mitigations, as a person sets them: ``client.fleet`` and ``maintainx-resilient
fleet ...``.

:class:`FleetControl` writes the runbook's mitigations for the whole fleet (every worker
applies a change within about one heartbeat, 0.5 s) and reads the fleet's state: the active
mitigations with who set them and when, the live workers, the fleet's timeline. Its methods
mirror the client's own (``client.enable_fallback_mode()`` acts on one process,
``client.fleet.enable_fallback_mode()`` on every process of the fleet) and take an optional
``reason`` for the timeline.

A change that cannot reach Redis raises :class:`~maintainx_resilient.StorageError` (it was
not set); a bad value raises :class:`~maintainx_resilient.ConfigurationError`.
:class:`FleetReport` is the fleet as one process sees it, for ``health()`` and
``diagnose()``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .._exceptions import ConfigurationError, StorageError
from .._iso8601 import iso_utc
from ._link import LinkStatus
from ._mitigations import (
    BREAKER_PREFIX,
    CLOSED,
    FALLBACK_MODE,
    ISOLATED,
    THROTTLING,
    FleetActor,
    FleetMitigation,
    FleetTimelineEntry,
    FleetWorker,
    breaker_field,
    check_rate,
    check_scope,
    clean_reason,
    stale_after,
)

if TYPE_CHECKING:
    from ._fleet import Fleet

__all__ = ["FleetControl", "FleetReport", "fleet_report"]

_NOT_IN_A_FLEET = (
    "this client is not in a fleet: pass fleet='redis://host:6379/0' to the client (or set "
    "MAINTAINX_FLEET), or use the client's own mitigations (client.enable_fallback_mode())"
)


@dataclass(frozen=True)
class FleetReport:
    """The fleet as one process sees it: its link to Redis, the live workers and the
    fleet-wide mitigations in force (``health()`` and ``diagnose()`` report it).

    ``workers_alive`` and ``workers`` are None when unknown (Redis out, or not read);
    ``mitigations`` are the active ones as last read (while Redis is out, what this process
    still applies); ``read_at`` is when they were read (Unix time, None: never).
    """

    name: str
    location: str
    worker: str
    link: LinkStatus
    workers_alive: int | None
    workers: tuple[FleetWorker, ...] | None
    mitigations: tuple[FleetMitigation, ...]
    read_at: float | None
    checked_at: float

    @property
    def local(self) -> bool:
        """True while this process runs on its own state because Redis failed."""
        return self.link.state == "local"

    def local_problem(self) -> str:
        """What running on local state means, in one sentence ("" while joined)."""
        if not self.local:
            return ""
        link = self.link
        since = ""
        if link.local_since:
            since = f" {max(0.0, self.checked_at - link.local_since):.0f} s ago"
        error = f" ({link.last_error})" if link.last_error else ""
        return (
            f"fleet {self.name!r}: Redis at {self.location} failed{since}{error}; this process "
            "runs on its own rate budget, breaker and cache, and does not see the fleet's "
            "mitigations until Redis answers again"
        )

    def to_dict(self) -> dict[str, Any]:
        link = self.link
        return {
            "name": self.name,
            "location": self.location,
            "worker": self.worker,
            "state": link.state,
            "local_since_at": iso_utc(link.local_since) if link.local_since else None,
            "last_error": link.last_error,
            "outages": link.outages,
            "workers_alive": self.workers_alive,
            "workers": None
            if self.workers is None
            else [w.to_dict(self.checked_at) for w in self.workers],
            "mitigations": [m.to_dict() for m in self.mitigations],
            "read_at": iso_utc(self.read_at) if self.read_at else None,
        }


class FleetControl:
    """Fleet-wide mitigations and the fleet's state (``client.fleet``).

    ``on_change`` runs after each change (a client applies it to itself at once).
    """

    def __init__(self, fleet: Fleet | None, *, on_change: Callable[[], object] | None = None):
        self._fleet = fleet
        self._on_change = on_change

    @property
    def joined(self) -> bool:
        """True when the client is in a fleet (whatever the state of Redis)."""
        return self._fleet is not None

    # -- the runbook's mitigations, for the whole fleet ------------------------------------

    def enable_fallback_mode(self, *, reason: str = "") -> FleetMitigation:
        """Every worker answers GETs from its fallback cache without calling MaintainX."""
        return self._set(FALLBACK_MODE, True, reason)

    def disable_fallback_mode(self, *, reason: str = "") -> FleetMitigation:
        """Every worker calls MaintainX again (a worker in fallback mode by hand stays)."""
        return self._set(FALLBACK_MODE, False, reason)

    def enable_throttling(self, rate_per_minute: float, *, reason: str = "") -> FleetMitigation:
        """Cap the fleet's requests at ``rate_per_minute`` (the cap's count is shared: the
        whole fleet, not each worker, stays under it)."""
        return self._set(THROTTLING, check_rate(rate_per_minute), reason)

    def disable_throttling(self, *, reason: str = "") -> FleetMitigation:
        return self._set(THROTTLING, None, reason)

    def isolate_breaker(self, scope: str | None = None, *, reason: str = "") -> FleetMitigation:
        """Hold every worker's breaker for ``scope`` (None: every scope) open."""
        return self._set(breaker_field(check_scope(scope)), ISOLATED, reason)

    def close_breaker(self, scope: str | None = None, *, reason: str = "") -> FleetMitigation:
        """Close every worker's breaker for ``scope`` (None: every scope, and every
        breaker mitigation of the fleet is cleared) and reset its counts."""
        scope = check_scope(scope)
        field = breaker_field(scope)
        replaces = (lambda n: n.startswith(BREAKER_PREFIX)) if scope is None else None
        return self._set(field, CLOSED, reason, replaces=replaces)

    # -- reading the fleet ---------------------------------------------------------------

    def mitigations(self, *, include_off: bool = False) -> tuple[FleetMitigation, ...]:
        """The fleet's mitigations in force (with ``include_off``, also those switched off,
        with who switched them off and when), oldest first."""
        view = self._require().board.read()
        found = [e for e in view.entries.values() if include_off or e.active]
        return tuple(sorted(found, key=_order))

    def workers(self) -> tuple[FleetWorker, ...]:
        """The workers whose heartbeat is recent, newest beat first."""
        fleet = self._require()
        return fleet.board.workers(fleet.clock.time(), stale_after(fleet.config.heartbeat))

    def timeline(self, limit: int = 50) -> tuple[FleetTimelineEntry, ...]:
        """The fleet's last ``limit`` changes (at most 200 are kept), newest first."""
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ConfigurationError(f"limit must be a whole number >= 1, got {limit!r}")
        return self._require().board.timeline(limit)

    def report(self) -> FleetReport:
        """Read the fleet now: the live workers and the mitigations (raises
        :class:`~maintainx_resilient.StorageError` while Redis is out)."""
        fleet = self._require()
        view = fleet.board.read()
        workers = self.workers()
        active = tuple(sorted((e for e in view.entries.values() if e.active), key=_order))
        now = fleet.clock.time()
        return FleetReport(
            name=fleet.config.name,
            location=fleet.config.location,
            worker=fleet.worker.id,
            link=fleet.link.status(),
            workers_alive=len(workers),
            workers=workers,
            mitigations=active,
            read_at=now,
            checked_at=now,
        )

    # -- helpers ------------------------------------------------------------------------

    def _require(self) -> Fleet:
        if self._fleet is None:
            raise ConfigurationError(_NOT_IN_A_FLEET)
        return self._fleet

    def _set(
        self,
        name: str,
        value: bool | float | str | None,
        reason: str,
        *,
        replaces: Callable[[str], bool] | None = None,
    ) -> FleetMitigation:
        fleet = self._require()
        entry = FleetMitigation(
            name=name,
            value=value,
            set_at=fleet.clock.time(),
            by=FleetActor.of(fleet.worker),
            reason=clean_reason(reason),
        )
        written = fleet.board.write(entry, replaces=replaces)
        if self._on_change is not None:
            self._on_change()
        return written

    def __repr__(self) -> str:
        if self._fleet is None:
            return "FleetControl(not in a fleet)"
        return f"FleetControl({self._fleet.config.name!r}, {self._fleet.config.location!r})"


def _order(entry: FleetMitigation) -> tuple[float, str]:
    return (entry.set_at, entry.name)


def fleet_report(fleet: Fleet, *, read_workers: bool = False) -> FleetReport:
    """The fleet as this client sees it, without raising: the link's state, and what the
    last heartbeat read (the live workers' count, the mitigations in force). With
    ``read_workers`` the list of live workers is read too (one bounded Redis call, skipped
    while Redis is out)."""
    link = fleet.link.status()
    heartbeat = fleet.heartbeat
    view = heartbeat.last if heartbeat is not None else None
    local = link.state == "local"
    workers: tuple[FleetWorker, ...] | None = None
    if read_workers and not local:
        try:
            workers = FleetControl(fleet).workers()
        except StorageError:
            workers = None
        link = fleet.link.status()
        local = link.state == "local"
    alive: int | None = None
    if workers is not None:
        alive = len(workers)
    elif view is not None and not local:
        alive = view.workers_alive
    entries = view.entries.values() if view is not None else ()
    active = tuple(sorted((e for e in entries if e.active), key=_order))
    return FleetReport(
        name=fleet.config.name,
        location=fleet.config.location,
        worker=fleet.worker.id,
        link=link,
        workers_alive=alive,
        workers=workers,
        mitigations=active,
        read_at=view.read_at if view is not None else None,
        checked_at=fleet.clock.time(),
    )
