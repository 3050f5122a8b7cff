"""RB-005: performance degradation.

The runbook's script, plus what the client itself knows:

1. live probes of ``/workorders``, ``/assets``, ``/locations`` and ``/users`` with
   ``limit=10``, concurrently, each ``[SLOW]`` above ``thresholds.slow_latency`` (the
   runbook's 1000 ms) and bounded by the diagnosis deadline;
2. the recorded p50/p95/p99 latency per endpoint (``client.stats.snapshot()``);
3. the fallback cache hit rate (``client.policies.fallback.stats()``);
4. the connection pool: active, idle and waiting connections (``ctx.pool``);
5. the throttle: how long a new caller would wait, blocked scopes, the current rate against
   the limit, and the 429s received (``client.policies.throttle.snapshot()``);
6. the circuit breakers (``client.policies.breakers.states()``);
7. in a fleet (client option ``fleet=``): the link to the fleet's Redis, the live workers and
   the fleet-wide mitigations in force. The fleet shares the throttle's budget, the breakers
   and the fallback cache, so a process that lost Redis and runs on its own state
   (``RB005.FLEET_LOCAL``, SEV3) paces itself without the others and does not see the
   mitigations an operator sets for the fleet; mitigations in force are listed with who set
   them (``RB005.FLEET_MITIGATIONS``, SEV4) so they are not forgotten.

:func:`classify_performance` decides from those numbers alone (no I/O). Elevated latency is
SEV3, a low cache hit rate SEV4 (the runbook's classification table).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .._deprecated import renamed
from .._iso8601 import iso_utc
from ._context import DiagnosticContext, ProbeResult, Thresholds
from ._model import Check, DiagnosticResult, Finding, Mitigation, Severity, conclude
from ._network import Budget
from .rb001_unreachable import bounded_probe

if TYPE_CHECKING:
    from ..fleet import FleetReport
    from ..policies.breaker import BreakerSnapshot
    from ..policies.fallback import CacheStats
    from ..policies.throttle import ThrottleSnapshot
    from ..telemetry._stats import StatsSnapshot

__all__ = [
    "BREAKER_ISOLATED",
    "BREAKER_OPEN",
    "ENDPOINTS",
    "FLEET_LOCAL",
    "FLEET_MITIGATIONS",
    "HIGH_P95",
    "LOW_CACHE_HIT_RATE",
    "POOL_EXHAUSTED",
    "PROBE_FAILED",
    "RUNBOOK",
    "SLOW_ENDPOINT",
    "THROTTLED",
    "TITLE",
    "PerformanceInputs",
    "check",
    "classify_performance",
    "inputs_from",
    "probe_label",
]

RUNBOOK = "RB-005"
TITLE = "Performance Degradation"
#: The runbook's endpoints, each probed with ``limit=10``.
ENDPOINTS = ("/workorders", "/assets", "/locations", "/users")
PROBE_QUERY = "?limit=10"

SLOW_ENDPOINT = "RB005.SLOW_ENDPOINT"
PROBE_FAILED = "RB005.PROBE_FAILED"
HIGH_P95 = "RB005.HIGH_P95"
LOW_CACHE_HIT_RATE = "RB005.LOW_CACHE_HIT_RATE"
POOL_EXHAUSTED = "RB005.POOL_EXHAUSTED"
THROTTLED = "RB005.THROTTLED"
BREAKER_OPEN = "RB005.BREAKER_OPEN"
BREAKER_ISOLATED = "RB005.BREAKER_ISOLATED"
FLEET_LOCAL = "RB005.FLEET_LOCAL"
FLEET_MITIGATIONS = "RB005.FLEET_MITIGATIONS"

_PROBE_SHARE = 0.9

# ---- the runbook's mitigations ----------------------------------------------------------------

_AGGRESSIVE_CACHING = Mitigation(
    "enable_aggressive_caching",
    "Enable aggressive caching: keep more answers, for longer "
    "(FallbackConfig max_entries / max_bytes / max_stale)",
)
_REDUCE_CONCURRENCY = Mitigation(
    "reduce_concurrent_requests",
    "Reduce concurrent requests: pace the client below MaintainX's limits",
    "enable_throttling",
)
_REQUEST_QUEUING = Mitigation(
    "add_request_queuing",
    "Add request queuing: let callers wait for a slot instead of piling up "
    "(ThrottleConfig.max_wait, a bounded worker pool)",
)
_POOL_LIMITS = Mitigation(
    "raise_pool_limits",
    "Raise the connection pool limits (httpx.Limits max_connections) if the host can take it",
)
_IDENTIFY_SLOW = Mitigation(
    "identify_slow_endpoints",
    "Identify the slow endpoints; narrow queries (filters, smaller limit, fewer expands)",
)
_FALLBACK = Mitigation(
    "enable_fallback_mode",
    "Serve cached responses while the API is slow or failing",
    "enable_fallback_mode",
)
_DIAGNOSE_ERRORS = Mitigation(
    "diagnose_errors", "Find the failing requests: run RB-002 (error rate) and RB-001"
)
_CLOSE_BREAKER = Mitigation(
    "close_breaker", "Close the breaker by hand once the incident is over", "close_breaker"
)


@dataclass(frozen=True)
class PerformanceInputs:
    """What RB-005 looks at, the input of :func:`classify_performance`. Sources that are off
    are None."""

    probes: tuple[ProbeResult, ...] = ()
    probe_timeout: float = 0.0
    stats: StatsSnapshot | None = None
    cache: CacheStats | None = None
    pool: Mapping[str, int] | None = None
    throttle: ThrottleSnapshot | None = None
    breakers: Mapping[str, BreakerSnapshot] | None = None
    thresholds: Thresholds = field(default_factory=Thresholds)
    fleet: FleetReport | None = None


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 1)


def _is_timeout(probe: ProbeResult) -> bool:
    return probe.status is None and probe.error is not None and "timeout" in probe.error.lower()


def _is_slow(probe: ProbeResult, threshold: float) -> bool:
    return _is_timeout(probe) or (probe.status is not None and probe.duration > threshold)


def probe_label(probe: ProbeResult, threshold: float) -> str:
    """The runbook's ``[OK]`` / ``[SLOW]`` tag (``[TIMEOUT]`` / ``[ERROR]`` when no 2xx)."""
    if _is_timeout(probe):
        return "[TIMEOUT]"
    if probe.status is None:
        return "[ERROR]"
    if probe.duration > threshold:
        return "[SLOW]"
    return "[OK]" if probe.ok else "[ERROR]"


# ---- pure decisions --------------------------------------------------------------------------


def classify_performance(inputs: PerformanceInputs) -> list[Finding]:
    """What RB-005 concludes from its inputs (no I/O), worst first."""
    findings = [
        *_slow_probes(inputs),
        *_failed_probes(inputs),
        *_high_p95(inputs),
        *_throttled(inputs),
        *_pool(inputs),
        *_breakers(inputs),
        *_cache(inputs),
        *_fleet(inputs),
    ]
    return sorted(findings, key=lambda f: f.severity)


def _finding(
    code: str,
    title: str,
    severity: Severity,
    evidence: Mapping[str, Any],
    mitigations: Sequence[Mitigation],
) -> Finding:
    return Finding(code, title, severity, RUNBOOK, dict(evidence), tuple(mitigations))


def _slow_probes(inputs: PerformanceInputs) -> list[Finding]:
    threshold = inputs.thresholds.slow_latency
    slow = [p for p in inputs.probes if _is_slow(p, threshold)]
    if not slow:
        return []
    names = ", ".join(p.path.split("?", 1)[0] for p in slow)
    evidence = {
        "threshold_ms": _ms(threshold),
        "probe_timeout_ms": _ms(inputs.probe_timeout),
        "endpoints": {
            p.path: {
                "duration_ms": _ms(p.duration),
                "status": p.status,
                "timed_out": _is_timeout(p),
            }
            for p in slow
        },
    }
    title = f"Slow live probes (over {threshold * 1000:.0f} ms): {names}"
    mitigations = (_IDENTIFY_SLOW, _REDUCE_CONCURRENCY, _AGGRESSIVE_CACHING)
    return [_finding(SLOW_ENDPOINT, title, Severity.SEV3, evidence, mitigations)]


def _failed_probes(inputs: PerformanceInputs) -> list[Finding]:
    failed = [p for p in inputs.probes if not p.ok and not _is_timeout(p) and p.status != 429]
    if not failed:
        return []
    every = len(failed) == len(inputs.probes)
    evidence = {
        "endpoints": {
            p.path: {"status": p.status, "error": p.error, "detail": p.detail} for p in failed
        },
        "probes": len(inputs.probes),
    }
    title = f"{len(failed)} of {len(inputs.probes)} live probes failed: not only slow"
    severity = Severity.SEV2 if every else Severity.SEV3
    return [_finding(PROBE_FAILED, title, severity, evidence, (_DIAGNOSE_ERRORS, _FALLBACK))]


def _high_p95(inputs: PerformanceInputs) -> list[Finding]:
    stats = inputs.stats
    if stats is None:
        return []
    t = inputs.thresholds
    slow = {
        key: e
        for key, e in stats.endpoints.items()
        if e.p95 is not None and e.samples >= t.min_requests and e.p95 > t.slow_latency
    }
    if not slow:
        return []
    evidence = {
        "threshold_ms": _ms(t.slow_latency),
        "window_s": stats.window,
        "endpoints": {
            key: {
                "p50_ms": _ms(e.p50),
                "p95_ms": _ms(e.p95),
                "p99_ms": _ms(e.p99),
                "samples": e.samples,
            }
            for key, e in slow.items()
        },
    }
    title = f"Recorded p95 latency above {t.slow_latency * 1000:.0f} ms: {', '.join(slow)}"
    mitigations = (_IDENTIFY_SLOW, _REDUCE_CONCURRENCY, _AGGRESSIVE_CACHING)
    return [_finding(HIGH_P95, title, Severity.SEV3, evidence, mitigations)]


def _throttled(inputs: PerformanceInputs) -> list[Finding]:
    t = inputs.thresholds
    reasons: list[str] = []
    scopes: dict[str, Any] = {}
    throttle = inputs.throttle
    for scope in throttle.scopes if throttle is not None else ():
        per_minute = scope.limit * 60.0 / scope.window if scope.window else scope.limit
        entry = {
            "rate_per_minute": round(scope.rate_per_minute, 2),
            "limit_per_minute": round(per_minute, 2),
            "remaining": scope.remaining,
            "backlog_s": round(scope.backlog, 3),
            "blocked_for_s": round(scope.blocked_for, 3),
            "blocked_reason": scope.blocked_reason,
            "throttled": scope.throttled,
        }
        if scope.blocked_for > 0:
            reasons.append(f"{scope.scope} blocked for {scope.blocked_for:.1f} s")
            scopes[scope.scope] = entry
        elif scope.backlog > t.slow_latency:
            reasons.append(f"{scope.scope}: a new request waits {scope.backlog:.1f} s")
            scopes[scope.scope] = entry
    rate_limited = 0
    average_wait = 0.0
    if inputs.stats is not None:
        totals = inputs.stats.totals
        rate_limited = totals.rate_limited
        if totals.throttle_waits:
            average_wait = totals.throttle_wait_seconds / totals.throttle_waits
        if rate_limited:
            reasons.append(
                f"{rate_limited} answers were 429 in the last {inputs.stats.window:.0f} s"
            )
        if average_wait > t.slow_latency:
            reasons.append(f"throttled calls waited {average_wait:.1f} s on average")
    limited_probes = [p.path for p in inputs.probes if p.status == 429]
    if limited_probes:
        reasons.append(f"live probes rate-limited: {', '.join(limited_probes)}")
    if not reasons:
        return []
    evidence = {
        "reasons": reasons,
        "scopes": scopes,
        "rate_limited": rate_limited,
        "average_wait_s": round(average_wait, 3),
        "throttle_enabled": throttle is not None,
        "rate_override_per_minute": throttle.override_per_minute if throttle else None,
    }
    title = "Requests wait for MaintainX's rate limit: " + "; ".join(reasons)
    return [
        _finding(THROTTLED, title, Severity.SEV3, evidence, (_REDUCE_CONCURRENCY, _REQUEST_QUEUING))
    ]


def _pool(inputs: PerformanceInputs) -> list[Finding]:
    pool = inputs.pool
    if not pool:
        return []
    waiting = int(pool.get("waiting", 0) or 0)
    active = int(pool.get("active", 0) or 0)
    idle = int(pool.get("idle", 0) or 0)
    limit = pool.get("max", pool.get("max_connections"))
    full = limit is not None and limit > 0 and active >= limit and idle == 0
    if waiting <= 0 and not full:
        return []
    what = f"{waiting} requests wait for a connection" if waiting > 0 else "every connection busy"
    title = f"Connection pool exhausted: {what} ({active} active, {idle} idle)"
    evidence = {"active": active, "idle": idle, "waiting": waiting, "max": limit}
    mitigations = (_REDUCE_CONCURRENCY, _REQUEST_QUEUING, _POOL_LIMITS)
    return [_finding(POOL_EXHAUSTED, title, Severity.SEV3, evidence, mitigations)]


def _breakers(inputs: PerformanceInputs) -> list[Finding]:
    breakers = inputs.breakers or {}
    opened = {s: b for s, b in breakers.items() if b.state in ("open", "half-open")}
    isolated = {s: b for s, b in breakers.items() if b.state == "isolated"}
    findings: list[Finding] = []
    if opened:
        evidence = {
            "breakers": {
                scope: {
                    "state": b.state,
                    "failures": b.failures,
                    "opened_at": b.opened_at,
                    "retry_after_s": round(b.retry_after, 3),
                }
                for scope, b in opened.items()
            }
        }
        title = f"Circuit breakers open, calls fail fast: {', '.join(opened)}"
        mitigations = (_DIAGNOSE_ERRORS, _FALLBACK)
        findings.append(_finding(BREAKER_OPEN, title, Severity.SEV2, evidence, mitigations))
    if isolated:
        evidence = {"breakers": {scope: {"state": b.state} for scope, b in isolated.items()}}
        title = f"Circuit breakers held open by hand: {', '.join(isolated)}"
        findings.append(
            _finding(BREAKER_ISOLATED, title, Severity.SEV4, evidence, (_CLOSE_BREAKER,))
        )
    return findings


def _cache(inputs: PerformanceInputs) -> list[Finding]:
    cache = inputs.cache
    t = inputs.thresholds
    if cache is None:
        return []
    lookups = cache.hits + cache.misses
    if lookups < t.min_requests or cache.hit_rate >= t.low_cache_hit_rate:
        return []
    evidence = {
        "hit_rate": round(cache.hit_rate, 4),
        "threshold": t.low_cache_hit_rate,
        "hits": cache.hits,
        "misses": cache.misses,
        "expired": cache.expired,
        "entries": cache.entries,
        "bytes": cache.bytes,
    }
    title = f"Low fallback cache hit rate: {cache.hit_rate:.0%} of {lookups} lookups"
    return [_finding(LOW_CACHE_HIT_RATE, title, Severity.SEV4, evidence, (_AGGRESSIVE_CACHING,))]


def _fleet(inputs: PerformanceInputs) -> list[Finding]:
    fleet = inputs.fleet
    if fleet is None:
        return []
    findings: list[Finding] = []
    evidence = fleet.to_dict()
    if fleet.local:
        check_redis = Mitigation(
            "check_fleet_redis",
            f"Check the fleet's Redis at {fleet.location}: up, reachable from this host, "
            "answering within the fleet timeout (50 ms). The process rejoins the fleet by "
            "itself at the first answer; nothing to restart",
        )
        per_process = Mitigation(
            "mitigate_per_process",
            "Until it rejoins, fleet-wide mitigations do not reach this process: apply them "
            "on it directly if needed",
            "enable_fallback_mode",
        )
        title = fleet.local_problem()
        title = title[:1].upper() + title[1:]
        findings.append(
            _finding(FLEET_LOCAL, title, Severity.SEV3, evidence, (check_redis, per_process))
        )
    if fleet.mitigations:
        listed = "; ".join(
            f"{m.describe()} (by {m.by} at {iso_utc(m.set_at)}"
            + (f": {m.reason})" if m.reason else ")")
            for m in fleet.mitigations
        )
        clear = Mitigation(
            "clear_fleet_mitigations",
            "Clear them once the incident is over: `maintainx-resilient fleet fallback off`, "
            "`fleet throttle off`, `fleet breaker close` (or client.fleet.disable_fallback_mode()"
            "...)",
        )
        title = f"Fleet-wide mitigations in force: {listed}"
        findings.append(_finding(FLEET_MITIGATIONS, title, Severity.SEV4, evidence, (clear,)))
    return findings


# ---- checks (what was looked at, for the report) -------------------------------------------


def _checks(inputs: PerformanceInputs) -> list[Check]:
    threshold = inputs.thresholds.slow_latency
    checks = [
        Check(
            f"GET {p.path}",
            p.ok and not _is_slow(p, threshold),
            p.duration,
            f"{probe_label(p, threshold)} {p.duration * 1000:.0f} ms"
            + (f" (HTTP {p.status})" if p.status is not None and not p.ok else "")
            + (f" ({p.error})" if p.status is None and p.error else ""),
        )
        for p in inputs.probes
    ]
    checks.append(_latency_check(inputs))
    checks.append(_cache_check(inputs))
    checks.append(_pool_check(inputs))
    checks.append(_throttle_check(inputs))
    checks.append(_breaker_check(inputs))
    if inputs.fleet is not None:
        checks.append(_fleet_check(inputs.fleet))
    return checks


def _latency_check(inputs: PerformanceInputs) -> Check:
    stats = inputs.stats
    if stats is None:
        return Check("Recorded latency", None, 0.0, "no statistics available")
    rows = sorted(
        (e for e in stats.endpoints.values() if e.p95 is not None),
        key=lambda e: -(e.p95 or 0.0),
    )
    if not rows:
        return Check("Recorded latency", None, 0.0, "no requests recorded in the window")
    t = inputs.thresholds
    ok = not any(e.p95 is not None and e.p95 > t.slow_latency for e in rows)
    parts = [
        f"{e.endpoint} p50 {_ms(e.p50)} / p95 {_ms(e.p95)} / p99 {_ms(e.p99)} ms ({e.samples})"
        for e in rows[:5]
    ]
    return Check("Recorded latency", ok, 0.0, "; ".join(parts))


def _cache_check(inputs: PerformanceInputs) -> Check:
    cache = inputs.cache
    if cache is None:
        return Check("Fallback cache", None, 0.0, "fallback cache off")
    ok = (cache.hits + cache.misses) < inputs.thresholds.min_requests or (
        cache.hit_rate >= inputs.thresholds.low_cache_hit_rate
    )
    detail = (
        f"hit rate {cache.hit_rate:.0%} ({cache.hits} hits, {cache.misses} misses), "
        f"{cache.entries} entries, {cache.bytes} bytes"
    )
    return Check("Fallback cache", ok, 0.0, detail)


def _pool_check(inputs: PerformanceInputs) -> Check:
    pool = inputs.pool
    if not pool:
        return Check("Connection pool", None, 0.0, "pool statistics not available")
    detail = ", ".join(f"{k}: {v}" for k, v in sorted(pool.items()))
    return Check("Connection pool", not _pool(inputs), 0.0, detail)


def _throttle_check(inputs: PerformanceInputs) -> Check:
    throttle = inputs.throttle
    ok = not _throttled(inputs)
    if throttle is None:
        return Check("Throttle", ok if inputs.stats is not None else None, 0.0, "throttling off")
    parts = [
        f"{s.scope}: {s.rate_per_minute:.0f}/min, backlog {s.backlog:.1f} s"
        + (f", blocked {s.blocked_for:.1f} s" if s.blocked_for > 0 else "")
        for s in throttle.scopes
    ]
    return Check("Throttle", ok, 0.0, "; ".join(parts) or "no requests yet")


def _breaker_check(inputs: PerformanceInputs) -> Check:
    breakers = inputs.breakers
    if breakers is None:
        return Check("Circuit breakers", None, 0.0, "circuit breakers off")
    ok = all(b.state == "closed" for b in breakers.values())
    detail = ", ".join(f"{s}: {b.state}" for s, b in sorted(breakers.items()))
    return Check("Circuit breakers", ok, 0.0, detail or "none yet")


def _fleet_check(fleet: FleetReport) -> Check:
    if fleet.local:
        return Check("Fleet", False, 0.0, fleet.local_problem())
    parts = [f"fleet {fleet.name!r} at {fleet.location}: joined"]
    if fleet.workers is not None:
        shown = ", ".join(f"{w.host} pid {w.pid}" for w in fleet.workers[:10])
        more = len(fleet.workers) - 10
        shown += f", {more} more" if more > 0 else ""
        parts.append(f"{len(fleet.workers)} workers alive ({shown})")
    elif fleet.workers_alive is not None:
        parts.append(f"{fleet.workers_alive} workers alive")
    if fleet.mitigations:
        parts.append("mitigations: " + ", ".join(m.describe() for m in fleet.mitigations))
    else:
        parts.append("no fleet-wide mitigation")
    return Check("Fleet", True, 0.0, "; ".join(parts))


# ---- I/O -------------------------------------------------------------------------------------


async def _probe_all(ctx: DiagnosticContext, timeout: float) -> tuple[ProbeResult, ...]:
    probes = [bounded_probe(ctx, "GET", f"{e}{PROBE_QUERY}", timeout) for e in ENDPOINTS]
    return tuple(await asyncio.gather(*probes))


def inputs_from(
    ctx: DiagnosticContext, probes: tuple[ProbeResult, ...], timeout: float
) -> PerformanceInputs:
    """The context's snapshots and the probe results, as :func:`classify_performance` takes them."""
    return PerformanceInputs(
        probes=probes,
        probe_timeout=timeout,
        stats=ctx.stats,
        cache=ctx.cache,
        pool=ctx.pool,
        throttle=ctx.throttle,
        breakers=ctx.breakers,
        thresholds=ctx.thresholds,
        fleet=ctx.fleet,
    )


async def check(ctx: DiagnosticContext) -> DiagnosticResult:
    """RB-005: is the API slow for this client, and what in the client makes it worse?"""
    start = ctx.clock.monotonic()
    budget = Budget(ctx.deadline)
    timeout = budget.step(_PROBE_SHARE)
    probes = await _probe_all(ctx, timeout)
    inputs = inputs_from(ctx, probes, timeout)
    findings = classify_performance(inputs)
    detail = findings[0].title if findings else "latency within thresholds"
    took = ctx.clock.monotonic() - start
    return conclude(RUNBOOK, TITLE, findings, checks=_checks(inputs), duration=took, detail=detail)


#: Renamed public names, still answered (with a DeprecationWarning).
_RENAMED = {"classify": "classify_performance"}


def __getattr__(name: str) -> Any:
    return renamed(__name__, name, _RENAMED, globals())
