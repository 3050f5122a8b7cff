"""A fast, cheap health check for an application's own ``/health`` endpoint.

:func:`health` sends ONE authenticated probe (``GET /organizations?limit=1``, through auth and
HTTP only) and reads the client's own state: circuit breakers, fallback mode and the recent
error rate. It never runs the full runbook procedures. :func:`assess` is the decision, without
I/O:

- ``unhealthy``: the probe fails (no answer, 5xx, 401/403, any other error status except 429,
  a 2xx whose body is not the API's JSON: an HTML page from a proxy or captive portal,
  truncated JSON, the wrong shape), or every circuit breaker is open and no fallback cache
  can answer in their place;
- ``degraded``: the API answers but something is off: rate-limited (429), a breaker open,
  half-open or held open by hand, fallback mode on, the recent error rate above
  ``thresholds.error_rate_alert`` (the runbook's 5 %), or (in a fleet) Redis failed and the
  process runs on its own state;
- ``healthy`` otherwise.

:func:`health_endpoint` turns a report into ``(status, headers, body)`` that any ASGI/WSGI
handler can return: 200 for healthy and degraded (a load balancer should keep the instance),
503 for unhealthy.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from .._iso8601 import iso_utc
from ._context import DiagnosticContext, ProbeResult, Thresholds
from .rb001_unreachable import PROBE_PATH, bounded_probe

if TYPE_CHECKING:
    from ..fleet import FleetReport
    from ..policies.breaker import BreakerSnapshot
    from ..telemetry._stats import StatsSnapshot

__all__ = [
    "DEFAULT_HEALTH_TIMEOUT",
    "HealthReport",
    "HealthStatus",
    "assess",
    "health",
    "health_endpoint",
]

HealthStatus = Literal["healthy", "degraded", "unhealthy"]

#: The most a health check waits for its probe (less when ``ctx.deadline`` is shorter).
DEFAULT_HEALTH_TIMEOUT = 5.0

_OPEN_STATES = ("open", "half-open", "isolated")


@dataclass(frozen=True)
class HealthReport:
    """The answer of :func:`health`. ``checked_at`` is Unix time; ``latency`` is the probe's
    duration in seconds (None when it was not sent)."""

    status: HealthStatus
    reasons: tuple[str, ...] = ()
    checked_at: float = 0.0
    latency: float | None = None
    probe_status: int | None = None
    probe_error: str | None = None
    #: The fleet as this process sees it (a ``fleet.FleetReport``), None outside a fleet.
    fleet: Any = None

    @property
    def ok(self) -> bool:
        """False only when unhealthy (degraded still serves)."""
        return self.status != "unhealthy"

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "reasons": list(self.reasons),
            "checked_at": iso_utc(self.checked_at),
            "latency_ms": None if self.latency is None else round(self.latency * 1000, 1),
            "probe": {"path": PROBE_PATH, "status": self.probe_status, "error": self.probe_error},
            "fleet": self.fleet.to_dict() if self.fleet is not None else None,
        }


def _probe_reason(probe: ProbeResult) -> tuple[HealthStatus, str] | None:
    if probe.ok:
        return None
    where = f"{probe.method} {probe.path}"
    if probe.status == 429:
        return "degraded", f"{where} is rate-limited (429)"
    if probe.status == 401:
        return "unhealthy", f"{where} answered 401: the API key is rejected"
    if probe.status is not None and probe.status < 300:  # a 2xx that is not the API's JSON
        return "unhealthy", f"{where} answered {probe.detail}"
    if probe.status is not None:
        return "unhealthy", f"{where} answered HTTP {probe.status}"
    return "unhealthy", f"{where} got no answer ({probe.error or 'error'})"


def assess(
    probe: ProbeResult,
    *,
    breakers: Mapping[str, BreakerSnapshot] | None = None,
    fallback_mode: bool = False,
    cache_enabled: bool = False,
    stats: StatsSnapshot | None = None,
    thresholds: Thresholds | None = None,
    fleet: FleetReport | None = None,
) -> tuple[HealthStatus, tuple[str, ...]]:
    """The health status and its reasons, from the probe and the client's state (no I/O)."""
    t = thresholds or Thresholds()
    unhealthy: list[str] = []
    degraded: list[str] = []
    verdict = _probe_reason(probe)
    if verdict is not None:
        (unhealthy if verdict[0] == "unhealthy" else degraded).append(verdict[1])
    breakers = breakers or {}
    held = {scope: b.state for scope, b in breakers.items() if b.state in _OPEN_STATES}
    for scope, state in sorted(held.items()):
        what = "held open by hand" if state == "isolated" else state
        degraded.append(f"circuit breaker {scope} is {what}")
    if breakers and len(held) == len(breakers) and not (cache_enabled or fallback_mode):
        unhealthy.append("every circuit breaker is open and no fallback cache answers")
    if fallback_mode:
        degraded.append("fallback mode is on: answers come from the cache")
    if fleet is not None and fleet.local:
        degraded.append(fleet.local_problem())
    if (
        stats is not None
        and stats.requests >= t.min_requests
        and stats.error_rate > t.error_rate_alert
    ):
        degraded.append(
            f"recent error rate {stats.error_rate:.1%} above {t.error_rate_alert:.0%} "
            f"({stats.errors} of {stats.requests} in {stats.window:.0f} s)"
        )
    if unhealthy:
        return "unhealthy", (*unhealthy, *degraded)
    if degraded:
        return "degraded", tuple(degraded)
    return "healthy", ()


async def health(ctx: DiagnosticContext, *, timeout: float | None = None) -> HealthReport:
    """One probe plus the client's state; at most ``timeout`` seconds (default: 5 s, or
    ``ctx.deadline`` when shorter). Never raises for a failing API."""
    limit = min(DEFAULT_HEALTH_TIMEOUT, ctx.deadline) if timeout is None else timeout
    checked_at = ctx.clock.time()
    probe = await bounded_probe(ctx, "GET", PROBE_PATH, max(0.0, limit))
    status, reasons = assess(
        probe,
        breakers=ctx.breakers,
        fallback_mode=bool(ctx.fallback_mode or getattr(ctx.cache, "fallback_mode", False)),
        cache_enabled=ctx.cache is not None,
        stats=ctx.stats,
        thresholds=ctx.thresholds,
        fleet=ctx.fleet,
    )
    return HealthReport(
        status=status,
        reasons=reasons,
        checked_at=checked_at,
        latency=probe.duration,
        probe_status=probe.status,
        probe_error=probe.error,
        fleet=ctx.fleet,
    )


def health_endpoint(report: HealthReport) -> tuple[int, list[tuple[str, str]], bytes]:
    """``(http_status, headers, body)`` for a ``/health`` route: 200 when healthy or degraded,
    503 when unhealthy; the body is the report as JSON. Framework-agnostic, e.g. Starlette::

        status, headers, body = health_endpoint(await health(ctx))
        return Response(body, status_code=status, headers=dict(headers))
    """
    body = json.dumps(report.to_dict(), separators=(",", ":"), sort_keys=True).encode()
    headers = [
        ("content-type", "application/json"),
        ("cache-control", "no-store"),
        ("content-length", str(len(body))),
    ]
    return (503 if report.status == "unhealthy" else 200), headers, body
