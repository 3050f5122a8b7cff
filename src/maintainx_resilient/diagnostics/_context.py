"""What a diagnostic procedure may look at and do, handed to it by the client.

Procedures are ``async def check(ctx: DiagnosticContext) -> DiagnosticResult``. They never
touch the client's pipeline directly: they read snapshots of its state, and send probes
through :attr:`DiagnosticContext.probe`, which goes through auth and HTTP only (no fallback,
retry, breaker or throttle, so a probe tells the truth about MaintainX and never waits for a
rate-limit slot). For the sync client the probe runs its blocking call in a worker thread, so
one async implementation serves both clients.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from .._clock import SYSTEM_CLOCK, Clock

__all__ = [
    "FETCH_EXTRA",
    "DiagnosticContext",
    "EscalationContact",
    "ProbeResult",
    "SyncControls",
    "SyncStoreSource",
    "Thresholds",
    "WebhookControls",
    "WebhookHealthSource",
]


@dataclass(frozen=True)
class ProbeResult:
    """The outcome of one probe request: a status, or the error kind when none came. A 2xx
    whose body is not the API's JSON has both: its status and ``error="DecodeError"``."""

    method: str
    path: str
    duration: float
    status: int | None = None
    error: str | None = None  # exception class name, e.g. "ConnectionError", "DecodeError"
    detail: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300 and self.error is None


#: ``DiagnosticContext.extras`` key of RB-004's remote sample fetcher (``attach_sync`` sets it).
FETCH_EXTRA = "fetch_work_orders"

Probe = Callable[[str, str, Mapping[str, str]], Awaitable[ProbeResult]]


@dataclass(frozen=True)
class Thresholds:
    """Where findings start. Defaults follow the runbook; every one can be changed."""

    #: RB-002's alert threshold: error rate above this is a finding (runbook title: ">5%").
    error_rate_alert: float = 0.05
    #: SEV2 "major degradation": more than half of recent requests failing.
    error_rate_major: float = 0.50
    #: SEV1: every recent request failing (with at least ``min_requests`` of them).
    error_rate_outage: float = 1.0
    #: RB-005: a probe or p95 slower than this is "[SLOW]" (the runbook's 1000 ms).
    slow_latency: float = 1.0
    #: SEV4: fallback cache hit rate below this is informational.
    low_cache_hit_rate: float = 0.5
    #: Rates are judged only over at least this many requests.
    min_requests: int = 10
    #: RB-003: a pending webhook older than this is a finding.
    webhook_oldest_pending: float = 300.0
    #: RB-004: more drift than this fraction of the sample is SEV2 (any drift is SEV3).
    sync_drift_major: float = 0.05
    #: RB-004 (``sync status``): a local copy not refreshed (incremental or full run
    #: finished) for longer than this many seconds is stale data being served (SEV3).
    sync_stale_after: float = 3600.0


@dataclass(frozen=True)
class EscalationContact:
    """One row of the runbook's emergency contacts table (from configuration)."""

    role: str
    contact: str
    escalation: str = "Manual"


class WebhookHealthSource(Protocol):
    """What RB-003 reads; the webhook receiver/queue implements it."""

    def webhook_health(self) -> Mapping[str, Any]:
        """Keys: ``queue_depth``, ``failed``, ``oldest_pending_age`` (s), ``paused`` (bool),
        ``endpoint_ok`` (bool | None), ``signature_self_test`` (bool | None)."""
        ...


@runtime_checkable
class WebhookControls(WebhookHealthSource, Protocol):
    """What the webhook mitigations drive (the webhook receiver implements it)."""

    def pause(self) -> None: ...

    def resume(self) -> None: ...

    def replay_failed(self) -> Any: ...


class SyncStoreSource(Protocol):
    """What RB-004 reads; the sync engine's local store implements it."""

    def updated_at_by_id(self, resource: str) -> Mapping[int, str]:
        """Every local record id of ``resource`` with its ``updatedAt`` (ISO-8601)."""
        ...


@dataclass
class DiagnosticContext:
    """Everything a procedure needs, gathered by the client at the start of a diagnosis."""

    base_url: str
    probe: Probe
    #: ``"in_process"`` when the client's transport is not a network (simulator, mock):
    #: DNS/TCP/TLS checks are skipped then.
    transport_kind: str = "network"
    stats: Any = None  # _stats.StatsSnapshot
    throttle: Any = None  # policies.throttle snapshot, or None when throttling is off
    breakers: Mapping[str, Any] | None = None  # scope -> breaker snapshot
    cache: Any = None  # policies.fallback stats snapshot, or None
    fallback_mode: bool = False
    fleet: Any = None  # fleet.FleetReport when the client is in a fleet, else None
    pool: Mapping[str, int] | None = None  # active / idle / waiting connections
    thresholds: Thresholds = field(default_factory=Thresholds)
    contacts: tuple[EscalationContact, ...] = ()
    status_page_url: str | None = "https://status.getmaintainx.com/en/index.json"
    fetch_status_page: Callable[[str], Awaitable[tuple[int | None, bytes, str]]] | None = None
    webhooks: WebhookHealthSource | None = None
    sync_store: SyncStoreSource | None = None
    clock: Clock = SYSTEM_CLOCK
    deadline: float = 10.0  # seconds for the whole diagnosis
    extras: dict[str, Any] = field(default_factory=dict)


class SyncControls(Protocol):
    """What RB-004 and the sync mitigations drive (``sync.SyncEngine`` implements it)."""

    @property
    def store(self) -> Any: ...

    def full(self, resource: Any = ...) -> Any: ...

    def reconcile(self, resource: Any = ...) -> Any: ...

    def recently_updated(self, resource: Any, limit: int = ...) -> Mapping[int, str]: ...
