"""The incident desk (``client.incident``): everything the runbook does with a client.

One :class:`IncidentDesk` per client, built around it: the severity tracker, the incident
timeline (it listens to the client's events), :meth:`~IncidentDesk.health` and
:meth:`~IncidentDesk.diagnose` with probes through the client's probe pipeline (auth and
HTTP only), the runbook's mitigations (each recorded on the timeline), the webhook and sync
attachments RB-003 and RB-004 read, and the post-incident report. The client keeps
``health()``, ``diagnose()`` and the policy mitigations as thin delegates.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx
from pydantic_core import from_json

from .._deadline import Deadline, validate_seconds
from .._exceptions import (
    ClientClosedError,
    ConfigurationError,
    MaintainXError,
    ResponseError,
    TimeoutError,
)
from .._extensions import DEADLINE_EXTENSION
from .._response import excerpt
from ..fleet._apply import MitigationLayers
from ..fleet._control import FleetControl, fleet_report
from ..telemetry._logging import get_logger, redact
from ._context import (
    FETCH_EXTRA,
    DiagnosticContext,
    EscalationContact,
    Probe,
    ProbeResult,
    SyncControls,
    SyncStoreSource,
    Thresholds,
    WebhookControls,
    WebhookHealthSource,
)
from ._model import Severity
from .severity import SeverityHook, SeverityTracker
from .timeline import IncidentTimeline

if TYPE_CHECKING:
    from .._client import _BaseClient
    from ..fleet._mitigations import FleetView
    from ..sync import FullSyncResult, ReconcileReport
    from ..webhooks import ReplayResult
    from ._runner import DiagnosisReport, Procedure
    from .health import HealthReport

__all__ = [
    "RUNBOOKS",
    "DiagnosticsConfig",
    "IncidentDesk",
    "Mitigations",
    "pool_stats",
    "probe_result",
    "procedures",
]

#: The runbook's procedures, in its order (see :func:`procedures`).
RUNBOOKS = ("RB-001", "RB-002", "RB-003", "RB-004", "RB-005")


def procedures() -> Mapping[str, Procedure]:
    """Every runbook procedure by name, in the runbook's order (imported on first use: a
    client that never diagnoses itself does not load them)."""
    from .rb001_unreachable import check as rb001
    from .rb002_errors import check as rb002
    from .rb003_webhooks import check as rb003
    from .rb004_sync import check as rb004
    from .rb005_performance import check as rb005

    return dict(zip(RUNBOOKS, (rb001, rb002, rb003, rb004, rb005), strict=True))


def __getattr__(name: str) -> Any:
    if name == "PROCEDURES":  # kept for callers of the mapping
        return procedures()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


DEFAULT_STATUS_PAGE = "https://status.getmaintainx.com/en/index.json"
DEFAULT_DIAGNOSIS_DEADLINE = 10.0  # a diagnosis must answer in seconds, at 3 a.m., whatever is down


@dataclass(frozen=True)
class DiagnosticsConfig:
    """Diagnostics settings (client keyword ``diagnostics=``).

    ``contacts`` are the runbook's emergency contacts (its defaults when empty);
    ``on_severity_change`` is called when the overall severity changes (wire it to a pager or
    chat); ``status_page_url=None`` skips the status page (e.g. with no internet access).
    """

    thresholds: Thresholds = field(default_factory=Thresholds)
    contacts: tuple[EscalationContact, ...] = ()
    on_severity_change: SeverityHook | None = None
    status_page_url: str | None = DEFAULT_STATUS_PAGE
    deadline: float = DEFAULT_DIAGNOSIS_DEADLINE

    def __post_init__(self) -> None:
        validate_seconds(self.deadline, "DiagnosticsConfig.deadline")


class IncidentDesk:
    """A client's incident desk (``client.incident``): everything the runbook does with a
    client, built around it.

    It keeps the severity tracker and the incident timeline (which listens to the client's
    events from the start), runs :meth:`health` and :meth:`diagnose` with probes that go
    through auth and HTTP only (the same layer table as the client's pipeline, without
    fallback, retry, breaker or throttle: a probe must tell the truth about MaintainX), applies
    the runbook's mitigations and records each one, and writes the post-incident report.
    Webhook and sync mitigations need :meth:`attach_webhooks` / :meth:`attach_sync` first.

    In a fleet (client option ``fleet=``), :attr:`fleet` sets the same policy mitigations
    for every worker; the fleet's heartbeat applies them here through :meth:`apply_fleet`,
    on top of the ones set on this client (:class:`~maintainx_resilient.fleet._apply.
    MitigationLayers`), and records each change on the timeline with who and when.
    """

    def __init__(self, client: _BaseClient, config: DiagnosticsConfig) -> None:
        policies = client.policies
        self.client = client
        self.config = config
        self.clock = policies.clock
        self.tracker = SeverityTracker(
            config.on_severity_change, self.clock, contacts=config.contacts
        )
        self.timeline = IncidentTimeline(self.clock, events=policies.events, tracker=self.tracker)
        self.webhooks: WebhookHealthSource | None = None
        self.sync_store: SyncStoreSource | None = None
        self.sync: SyncControls | None = None
        self.extras: dict[str, Any] = {}
        #: This client's mitigations: set by hand here, and set for the fleet.
        self.layers = MitigationLayers(policies)
        self._fleet = FleetControl(policies.fleet, on_change=self._beat_now)
        if policies.fleet is not None:
            policies.fleet.start_heartbeat(self.apply_fleet)

    # -- what to diagnose besides the client ---------------------------------------------

    def attach_webhooks(self, receiver: WebhookHealthSource) -> None:
        """Give RB-003 the webhook receiver to inspect; with a full receiver
        (``webhooks.WebhookReceiver``) the webhook mitigations work too."""
        self.webhooks = receiver

    def attach_sync(self, engine: SyncControls) -> None:
        """Give RB-004 the sync engine: its store to compare, and the recent MaintainX
        records to compare with; :meth:`full_sync` and :meth:`reconcile` use it too."""
        self.sync = engine
        self.sync_store = engine.store

        async def fetch_work_orders(limit: int) -> Mapping[int, str]:
            return await asyncio.to_thread(engine.recently_updated, "workOrders", limit)

        self.extras[FETCH_EXTRA] = fetch_work_orders

    def attach_sync_store(self, store: SyncStoreSource) -> None:
        """Give RB-004 a local store of your own (see :class:`SyncStoreSource`)."""
        self.sync_store = store

    # -- health and diagnosis --------------------------------------------------------------

    async def health(self) -> HealthReport:
        """One probe plus the client's state, within min(5 s, the diagnostics deadline)."""
        from .health import health

        return await health(self.context(None))

    async def diagnose(
        self, only: Iterable[str] | None = None, deadline: float | None = None
    ) -> DiagnosisReport:
        """Run the runbook's procedures (all, or ``only=["RB-002"]``) within ``deadline``."""
        from ._runner import run_diagnostics

        ctx = self.context(deadline, fleet_workers=True)
        report = await run_diagnostics(ctx, procedures(), only=only)
        self.tracker.update(report.findings)
        self.timeline.record_diagnosis(report)
        return report

    def context(self, deadline: float | None, *, fleet_workers: bool = False) -> DiagnosticContext:
        """A context for one diagnosis: the client's state now, and the probe (in a fleet,
        with ``fleet_workers``, the list of live workers read from Redis too). A closed
        client is :class:`ClientClosedError`: its probes would fail for that alone, and a
        report would blame MaintainX."""
        if self.client.is_closed:
            raise ClientClosedError("the client is closed: diagnose with an open one")
        cfg = self.config
        seconds = cfg.deadline if deadline is None else validate_seconds(deadline, "deadline")
        client, policies = self.client, self.client.policies
        network = client._network
        in_process = not isinstance(network, (httpx.HTTPTransport, httpx.AsyncHTTPTransport))
        return DiagnosticContext(
            base_url=client.base_url,
            probe=self._probe(0.9 * seconds),
            transport_kind="in_process" if in_process else "network",
            stats=client.stats.snapshot(),
            throttle=policies.throttle.snapshot() if policies.throttle else None,
            breakers=policies.breakers.states() if policies.breakers else None,
            cache=policies.fallback.stats() if policies.fallback else None,
            fallback_mode=bool(policies.fallback and policies.fallback.fallback_mode),
            fleet=fleet_report(policies.fleet, read_workers=fleet_workers)
            if policies.fleet is not None
            else None,
            pool=pool_stats(network),
            thresholds=cfg.thresholds,
            contacts=cfg.contacts,
            status_page_url=cfg.status_page_url,
            webhooks=self.webhooks,
            sync_store=self.sync_store,
            clock=self.clock,
            deadline=seconds,
            extras=dict(self.extras),
        )

    def _probe(self, timeout: float) -> Probe:
        """Probes through the client's probe pipeline; each carries its own deadline, so a
        sync probe's thread (which cannot be cancelled) ends by itself."""
        http, clock = self.client._probe_http, self.clock

        def send(method: str, path: str, headers: Mapping[str, str]) -> Any:
            extensions = {DEADLINE_EXTENSION: Deadline.after(timeout, clock)}
            return http.request(
                method, path.lstrip("/"), headers=dict(headers), timeout=timeout,
                extensions=extensions,
            )  # fmt: skip

        async def probe(method: str, path: str, headers: Mapping[str, str]) -> ProbeResult:
            start = clock.monotonic()
            try:
                if isinstance(http, httpx.AsyncClient):
                    outcome: Any = await send(method, path, headers)
                else:
                    outcome = await asyncio.to_thread(send, method, path, headers)
            except MaintainXError as exc:
                outcome = exc
            result = probe_result(method, path, clock.monotonic() - start, outcome)
            _log_probe(result)
            return result

        return probe

    # -- mitigations (the runbook's "immediate actions"), each one call, each recorded ------

    def record_mitigation(self, name: str, detail: str = "") -> None:
        self.timeline.record_mitigation(name, detail)

    def enable_fallback_mode(self) -> None:
        """Answer GETs from the fallback cache without calling MaintainX; writes fail fast."""
        self._policy("fallback")
        self.record_mitigation("enable_fallback_mode", self.layers.fallback_mode(True))

    def disable_fallback_mode(self) -> None:
        """Call MaintainX again (unless fallback mode is set for the fleet)."""
        self._policy("fallback")
        self.record_mitigation("disable_fallback_mode", self.layers.fallback_mode(False))

    def enable_throttling(self, rate_per_minute: float) -> None:
        """Cap the request rate below the API's limit until :meth:`disable_throttling`."""
        self._policy("throttle")
        self.record_mitigation("enable_throttling", self.layers.throttling(rate_per_minute))

    def disable_throttling(self) -> None:
        self._policy("throttle")
        self.record_mitigation("disable_throttling", self.layers.throttling(None))

    def reset_throttle(self) -> None:
        """Forget every rate-limit block and learned limit (the cap stays)."""
        self._policy("throttle").reset()
        self.record_mitigation("reset_throttle", "rate-limit blocks and learned limits cleared")

    def isolate_breaker(self, scope: str | None = None) -> None:
        """Hold the circuit breaker(s) open by hand: every call fails fast (or falls back)."""
        self._policy("breakers", "breaker")
        self.record_mitigation("isolate_breaker", self.layers.isolate(scope))

    def close_breaker(self, scope: str | None = None) -> None:
        """Close the circuit breaker(s) by hand and reset their failure counts (those
        isolated for the fleet stay isolated)."""
        self._policy("breakers", "breaker")
        self.record_mitigation("close_breaker", self.layers.close(scope))

    # -- the fleet's mitigations ---------------------------------------------------------

    @property
    def fleet(self) -> FleetControl:
        """The fleet-wide mitigations (``client.fleet.enable_fallback_mode(reason=...)``)
        and the fleet's state; its methods raise ``ConfigurationError`` when the client is
        not in a fleet."""
        return self._fleet

    def apply_fleet(self, view: FleetView) -> None:
        """Apply the fleet's mitigations as a heartbeat read them, each change recorded on
        the timeline with who set it and when (the heartbeat calls this)."""
        for action, detail in self.layers.apply_fleet(view):
            self.record_mitigation(action, detail)

    def _beat_now(self) -> None:
        """After a fleet-wide change made here: apply it here at once."""
        fleet = self.client.policies.fleet
        if fleet is not None and fleet.heartbeat is not None:
            fleet.heartbeat.beat_now()

    def reset_stats(self) -> None:
        """The runbook's "clear error state": forget the rolling statistics."""
        self.client.stats.reset()
        self.record_mitigation("reset_stats", "error statistics cleared")

    def pause_webhooks(self) -> None:
        """Stop webhook workers taking events (deliveries are still stored and acknowledged)."""
        self._webhook_controls().pause()
        self.record_mitigation("pause_webhooks", "webhook processing paused")

    def resume_webhooks(self) -> None:
        self._webhook_controls().resume()
        self.record_mitigation("resume_webhooks", "webhook processing resumed")

    def replay_failed_webhooks(self) -> ReplayResult:
        """Move every dead-lettered webhook back to the queue."""
        result: ReplayResult = self._webhook_controls().replay_failed()
        self.record_mitigation("replay_failed_webhooks", str(result))
        return result

    def full_sync(self, resource: str = "workOrders") -> FullSyncResult:
        """The runbook's "trigger full sync" (blocking; needs :meth:`attach_sync`)."""
        result: FullSyncResult = self._sync_controls().full(resource)
        self.record_mitigation("full_sync", f"{resource}: {result}")
        return result

    def reconcile(self, resource: str = "workOrders") -> ReconcileReport:
        """The runbook's "run reconciliation" (blocking; needs :meth:`attach_sync`)."""
        report: ReconcileReport = self._sync_controls().reconcile(resource)
        self.record_mitigation("reconcile", f"{resource}: {report}")
        return report

    def _policy(self, attribute: str, name: str = "") -> Any:
        policy = getattr(self.client.policies, attribute)
        if policy is None:
            name = name or attribute
            raise ConfigurationError(
                f"the {name} policy is switched off for this client ({name}=None)"
            )
        return policy

    def _webhook_controls(self) -> WebhookControls:
        source = self.webhooks
        if source is None or not isinstance(source, WebhookControls):
            raise ConfigurationError(
                "no webhook receiver attached: call client.incident.attach_webhooks(receiver)"
            )
        return source

    def _sync_controls(self) -> SyncControls:
        if self.sync is None:
            raise ConfigurationError(
                "no sync engine attached: call client.incident.attach_sync(engine) first"
            )
        return self.sync

    # -- the post-incident report ----------------------------------------------------------

    def report(
        self,
        *,
        title: str = "MaintainX integration incident",
        summary: str = "",
        root_cause: str = "",
        resolution: str = "",
        severity: Severity | None = None,
        **extra: Any,
    ) -> str:
        """The runbook's post-incident template in Markdown, filled from the timeline."""
        from .report import render_incident_report

        return render_incident_report(
            self.timeline,
            title=title,
            severity=severity,
            summary=summary or "(summary to be written)",
            root_cause=root_cause or "(root cause to be written)",
            resolution=resolution or "(resolution to be written)",
            secrets=(self.client.policies.keys.known(),),
            **extra,
        )


class Mitigations:
    """The runbook's policy mitigations as client methods (``client.enable_fallback_mode()``):
    each delegates to the client's :class:`IncidentDesk`, which applies and records it."""

    incident: IncidentDesk

    def enable_fallback_mode(self) -> None:
        """Answer GETs from the fallback cache without calling MaintainX; writes fail fast."""
        self.incident.enable_fallback_mode()

    def disable_fallback_mode(self) -> None:
        self.incident.disable_fallback_mode()

    def enable_throttling(self, rate_per_minute: float) -> None:
        """Cap the request rate below the API's limit until :meth:`disable_throttling`."""
        self.incident.enable_throttling(rate_per_minute)

    def disable_throttling(self) -> None:
        self.incident.disable_throttling()

    def reset_throttle(self) -> None:
        """Forget every rate-limit block and learned limit at once (the cap stays)."""
        self.incident.reset_throttle()

    def isolate_breaker(self, scope: str | None = None) -> None:
        """Hold the circuit breaker(s) open by hand: every call fails fast (or falls back)."""
        self.incident.isolate_breaker(scope)

    def close_breaker(self, scope: str | None = None) -> None:
        """Close the circuit breaker(s) by hand and reset their failure counts."""
        self.incident.close_breaker(scope)

    def reset_stats(self) -> None:
        """The runbook's "clear error state": forget the rolling statistics."""
        self.incident.reset_stats()

    @property
    def fleet(self) -> FleetControl:
        """The same mitigations for every process of the fleet (client option ``fleet=``):
        ``client.fleet.enable_fallback_mode(reason="INC-42")``; every worker applies a
        change within about a second. See :class:`~maintainx_resilient.fleet.FleetControl`."""
        return self.incident.fleet

    def incident_report(
        self,
        *,
        title: str = "MaintainX integration incident",
        summary: str = "",
        root_cause: str = "",
        resolution: str = "",
        severity: Severity | None = None,
    ) -> str:
        """The runbook's post-incident template in Markdown, filled from the timeline (the
        empty parts say what is to be written)."""
        return self.incident.report(
            title=title,
            summary=summary,
            root_cause=root_cause,
            resolution=resolution,
            severity=severity,
        )


_JSON_TYPES = {list: "an array", str: "a string", bool: "a boolean", int: "a number"}
_JSON_TYPES[float] = _JSON_TYPES[int]


def answer_problem(response: httpx.Response, path: str) -> str | None:
    """Why a 2xx answer to a probe is not the API's JSON, or None when it is.

    The body must be a JSON object; for a list probe (``/organizations?limit=1``) it must
    hold the list named after the route (``organizations``, ``workOrders``). Unknown fields
    are fine. A 204 has no body to check.
    """
    if response.status_code == 204:
        return None
    kind = response.headers.get("content-type", "no content type").split(";")[0].strip()
    content = response.content
    try:
        body = from_json(content)
    except ValueError:  # not JSON, or nested too deep
        if "html" in kind.lower() or content.lstrip()[:1] == b"<":
            return f"an HTML page ({kind}), not the API's JSON"
        return f"a body that is not JSON ({kind or 'no content type'}: truncated or not the API)"
    if not isinstance(body, dict):
        return f"JSON of the wrong shape ({_JSON_TYPES.get(type(body), 'null')}, not an object)"
    route = path.split("?", 1)[0].strip("/")
    if route and "/" not in route:
        key = next((k for k in body if k.lower() == route.lower()), None)
        if key is None or not isinstance(body[key], list):
            return f"JSON of the wrong shape (no list of {route})"
    return None


def probe_result(method: str, path: str, duration: float, outcome: Any) -> ProbeResult:
    """A probe's outcome (an ``httpx.Response`` or the library's exception) as a result.

    A 2xx whose body is not the API's JSON (:func:`answer_problem`: an HTML page from a
    proxy or captive portal, truncated JSON, the wrong shape) is a failed probe: its status
    with the error ``DecodeError``, like the calls that get it. Request headers (the key)
    are never recorded; response headers are, minus cookies.
    """
    if isinstance(outcome, httpx.Response):
        kept = {k: v for k, v in outcome.headers.items() if k.lower() != "set-cookie"}
        status = outcome.status_code
        detail = f"{status} {outcome.reason_phrase or ''}".strip()
        problem = answer_problem(outcome, path) if 200 <= status < 300 else None
        if problem is None:
            return ProbeResult(method, path, duration, status=status, detail=detail, headers=kept)
        detail = f"{detail}, but the body is {problem}: {redact(excerpt(outcome.content, 80))!r}"
        return ProbeResult(method, path, duration, status, "DecodeError", detail, kept)
    if isinstance(outcome, ResponseError):  # an answer came, unreadable or too large
        error = type(outcome).__name__
        return ProbeResult(method, path, duration, outcome.status_code, error, str(outcome))
    kind = "TimeoutError" if isinstance(outcome, TimeoutError) else "ConnectionError"
    return ProbeResult(method, path, duration, None, kind, str(outcome))


def _log_probe(result: ProbeResult) -> None:
    """One DEBUG line per probe (``MAINTAINX_LOG=debug``): method, path, outcome, duration;
    never a header or a body."""
    logger = get_logger()
    if logger.isEnabledFor(logging.DEBUG):
        outcome = " ".join(str(p) for p in (result.status, result.error) if p is not None)
        logger.debug(
            "probe %s %s -> %s in %.3fs", result.method, result.path, outcome, result.duration
        )


def pool_stats(transport: object) -> dict[str, int] | None:
    """Active / idle / waiting connections of an httpx transport's pool, when it has one."""
    pool = getattr(transport, "_pool", None)
    connections = getattr(pool, "connections", None)
    if connections is None:
        return None
    idle = sum(1 for c in connections if c.is_idle())
    requests = getattr(pool, "_requests", [])
    active = len(connections) - idle
    return {
        "active": active,
        "idle": idle,
        "waiting": max(0, len(requests) - active),
        "max": int(getattr(pool, "_max_connections", 0) or 0),
    }
