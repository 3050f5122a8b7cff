"""RB-004: Data Sync Out of Sync: a sample of MaintainX work orders against the local store.

The runbook fetches a sample from MaintainX and from the local store and compares ids. This
procedure compares ids *and* ``updatedAt``:

- :func:`compare_sample` (pure) gives the :class:`SyncDrift` between two ``{id: updatedAt}``
  mappings: ids missing locally, ids extra locally, and stale ids (present on both sides with
  a different ``updatedAt``).
- :func:`scope_local` (pure) keeps the local records the remote sample should contain: the
  sample is the most recently updated work orders, so a local record updated after the
  oldest one in the sample must be in it (when the sample was not cut by its limit, every
  local record must).
- :func:`classify_drift` (pure) turns the drift into findings: any drift is SEV3, drift
  above ``Thresholds.sync_drift_major`` (5 %) of the sample is SEV2.

Where the data comes from (``ctx.extras``, since probes return only status and headers):

``ctx.extras["fetch_work_orders"]``
    An async callable ``(limit: int) -> Mapping[int, str]`` returning the ``limit`` most
    recently updated work orders as ``{id: updatedAt}`` (``GET /workorders?sort=-updatedAt
    &limit=<limit>``; the lead's client wires it). Without it the result is
    ``not_configured``.
``ctx.extras["sync_sample_size"]``
    The sample size, default :data:`DEFAULT_SAMPLE_SIZE` (100, like the runbook; the API
    allows up to 200 per page).

The local side is ``ctx.sync_store.updated_at_by_id("workorders")``; without a store the
result is ``not_configured``.

Two more findings, SEV2, about answers that look like mass deletion (a permission change
or another user's API key makes MaintainX answer empty lists and 404s):

- ``RB004.DELETES_REFUSED`` (:func:`classify_refusals`): a sync run the delete guard
  refused (``maintainx_resilient.sync.DeleteGuard``: it would have deleted more than 10% of
  the local copy), read from the store's ``blocked:<operation>:<resource>`` state for every
  resource; reported even without a work-order fetcher;
- ``RB004.REMOTE_EMPTY``: the sample came back empty while the local copy has work orders
  (reported instead of "every local record is extra", whose mitigation would delete them).

Without a request, :func:`classify_status` judges what the local store says about itself
(``sync.status.sync_status``; the ``sync status`` command): ``RB004.NEVER_SYNCED`` (no full
sync finished, SEV3), ``RB004.FULL_SYNC_UNFINISHED`` (an interrupted full sync: SEV3 when it
is the first, SEV4 otherwise), ``RB004.COPY_STALE`` (the last finished run is older than
``Thresholds.sync_stale_after``: stale data being served, SEV3) and
``RB004.RECONCILE_DRIFT`` (the last reconciliation found drift and no repair ran since: SEV2
above ``sync_drift_major``, else SEV3).

Codes: ``RB004.MISSING_LOCALLY``, ``RB004.EXTRA_LOCALLY``, ``RB004.STALE_RECORDS``,
``RB004.DELETES_REFUSED``, ``RB004.REMOTE_EMPTY``, ``RB004.NEVER_SYNCED``,
``RB004.FULL_SYNC_UNFINISHED``, ``RB004.COPY_STALE``, ``RB004.RECONCILE_DRIFT``.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .._deprecated import renamed
from .._iso8601 import parse_instant
from ._context import FETCH_EXTRA, DiagnosticContext, Thresholds
from ._model import (
    Check,
    DiagnosticResult,
    Finding,
    Mitigation,
    Severity,
    conclude,
    not_configured,
)

__all__ = [
    "CODE_COPY_STALE",
    "CODE_DELETES_REFUSED",
    "CODE_EXTRA_LOCALLY",
    "CODE_FULL_SYNC_UNFINISHED",
    "CODE_MISSING_LOCALLY",
    "CODE_NEVER_SYNCED",
    "CODE_RECONCILE_DRIFT",
    "CODE_REMOTE_EMPTY",
    "CODE_STALE_RECORDS",
    "DEFAULT_SAMPLE_SIZE",
    "FETCH_EXTRA",
    "RESOURCE",
    "RUNBOOK",
    "SAMPLE_SIZE_EXTRA",
    "TITLE",
    "FetchWorkOrders",
    "SyncDrift",
    "assess_local_copy",
    "check",
    "classify_drift",
    "classify_refusals",
    "classify_status",
    "compare_sample",
    "scope_local",
]

RUNBOOK = "RB-004"
TITLE = "Data Sync Out of Sync"

CODE_MISSING_LOCALLY = "RB004.MISSING_LOCALLY"
CODE_EXTRA_LOCALLY = "RB004.EXTRA_LOCALLY"
CODE_STALE_RECORDS = "RB004.STALE_RECORDS"
CODE_NEVER_SYNCED = "RB004.NEVER_SYNCED"
CODE_FULL_SYNC_UNFINISHED = "RB004.FULL_SYNC_UNFINISHED"
CODE_COPY_STALE = "RB004.COPY_STALE"
CODE_RECONCILE_DRIFT = "RB004.RECONCILE_DRIFT"
CODE_DELETES_REFUSED = "RB004.DELETES_REFUSED"
CODE_REMOTE_EMPTY = "RB004.REMOTE_EMPTY"

#: The ``ctx.extras`` key of the remote sample fetcher, and of the sample size.
SAMPLE_SIZE_EXTRA = "sync_sample_size"
DEFAULT_SAMPLE_SIZE = 100
#: The resource name passed to ``SyncStoreSource.updated_at_by_id``.
RESOURCE = "workorders"
#: How many ids a finding lists (the runbook prints the first 10).
LISTED_IDS = 10

FetchWorkOrders = Callable[[int], Awaitable[Mapping[int, str]]]

_TRIGGER_FULL_SYNC = Mitigation(
    "trigger_full_sync", "Trigger full sync if data is stale", action="full_sync"
)
_CHECK_WEBHOOK_DELIVERY = Mitigation("check_webhook_delivery", "Check webhook delivery (RB-003)")
_VERIFY_POLLING = Mitigation(
    "verify_polling_job", "Verify the polling job is running (updatedAt[gte] watermark advancing)"
)
_RUN_RECONCILIATION = Mitigation(
    "run_reconciliation",
    "Run reconciliation (drop or re-check local records MaintainX no longer has)",
    action="reconcile",
)
_CHECK_PERMISSIONS = Mitigation(
    "check_api_permissions",
    "Check the API key's user, organization and permissions: an empty list or 404s after a "
    "permission change look exactly like mass deletion",
)
_CONFIRM_DELETES = Mitigation(
    "confirm_deletes",
    "Only if MaintainX really deleted them: run the refused sync again with "
    "confirm_deletes=True (CLI: --confirm-deletes)",
)


def _instant(value: str) -> datetime | str:
    """An ISO-8601 timestamp as an aware datetime (UTC when no offset is given); the raw
    string when it does not parse."""
    try:
        return parse_instant(value)
    except ValueError:
        return value


def _same_time(a: str, b: str) -> bool:
    x, y = _instant(a), _instant(b)
    if isinstance(x, datetime) and isinstance(y, datetime):
        return x == y
    return a == b


@dataclass(frozen=True)
class SyncDrift:
    """How a local sample differs from MaintainX's. Id tuples are sorted ascending."""

    remote_count: int
    local_count: int
    missing_locally: tuple[int, ...]
    extra_locally: tuple[int, ...]
    stale: tuple[int, ...]

    @property
    def drifted(self) -> int:
        """Records that differ in any way."""
        return len(self.missing_locally) + len(self.extra_locally) + len(self.stale)

    @property
    def fraction(self) -> float:
        """Drifted records over the larger side's count (0.0 when both are empty)."""
        base = max(self.remote_count, self.local_count)
        return self.drifted / base if base else 0.0

    @property
    def in_sync(self) -> bool:
        return self.drifted == 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "remote_count": self.remote_count,
            "local_count": self.local_count,
            "missing_locally": len(self.missing_locally),
            "extra_locally": len(self.extra_locally),
            "stale": len(self.stale),
            "drift_fraction": round(self.fraction, 4),
        }


def compare_sample(remote: Mapping[int, str], local: Mapping[int, str]) -> SyncDrift:
    """The drift of ``local`` from ``remote`` (both ``{id: updatedAt}``)."""
    missing = sorted(set(remote) - set(local))
    extra = sorted(set(local) - set(remote))
    stale = sorted(i for i in set(remote) & set(local) if not _same_time(remote[i], local[i]))
    return SyncDrift(
        remote_count=len(remote),
        local_count=len(local),
        missing_locally=tuple(missing),
        extra_locally=tuple(extra),
        stale=tuple(stale),
    )


def scope_local(
    remote: Mapping[int, str], local: Mapping[int, str], *, complete: bool
) -> dict[int, str]:
    """The local records the remote sample should contain.

    ``remote`` is the most recently updated work orders. When ``complete`` (the sample was
    not cut by its limit) every local record belongs; otherwise the local records in the
    sample plus those updated strictly after the sample's oldest ``updatedAt`` (ties at the
    boundary may sit on the next page, so they are left out).
    """
    if complete:
        return dict(local)
    if not remote:
        return {}
    instants = [_instant(v) for v in remote.values()]
    if not all(isinstance(i, datetime) for i in instants):
        return {i: v for i, v in local.items() if i in remote}
    oldest = min(i for i in instants if isinstance(i, datetime))
    scoped: dict[int, str] = {}
    for record_id, updated in local.items():
        when = _instant(updated)
        if record_id in remote or (isinstance(when, datetime) and when > oldest):
            scoped[record_id] = updated
    return scoped


def classify_drift(drift: SyncDrift, thresholds: Thresholds | None = None) -> list[Finding]:
    """One finding per kind of drift; SEV2 when the sample's drift fraction is above
    ``sync_drift_major``, SEV3 for any smaller drift (exactly the threshold is SEV3)."""
    t = thresholds if thresholds is not None else Thresholds()
    if drift.in_sync:
        return []
    severity = Severity.SEV2 if drift.fraction > t.sync_drift_major else Severity.SEV3
    summary = drift.to_dict()
    findings: list[Finding] = []

    def add(code: str, title: str, ids: tuple[int, ...], *mitigations: Mitigation) -> None:
        evidence = {**summary, "count": len(ids), "ids": list(ids[:LISTED_IDS])}
        findings.append(Finding(code, title, severity, RUNBOOK, evidence, mitigations))

    if drift.missing_locally:
        add(
            CODE_MISSING_LOCALLY,
            f"{len(drift.missing_locally)} work orders missing locally",
            drift.missing_locally,
            _TRIGGER_FULL_SYNC,
            _CHECK_WEBHOOK_DELIVERY,
            _VERIFY_POLLING,
        )
    if drift.stale:
        add(
            CODE_STALE_RECORDS,
            f"{len(drift.stale)} work orders stale locally (updatedAt differs)",
            drift.stale,
            _TRIGGER_FULL_SYNC,
            _CHECK_WEBHOOK_DELIVERY,
            _VERIFY_POLLING,
        )
    if drift.extra_locally:
        add(
            CODE_EXTRA_LOCALLY,
            f"{len(drift.extra_locally)} work orders extra locally (not in MaintainX)",
            drift.extra_locally,
            _RUN_RECONCILIATION,
        )
    return findings


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _ago(seconds: float) -> str:
    minutes = seconds / 60
    return f"{minutes:.0f} min" if minutes < 120 else f"{minutes / 60:.1f} h"


def _reconcile_drift(last: Mapping[str, Any], repair: Mapping[str, Any] | None) -> float | None:
    """The drift fraction the last reconciliation found, None when it was clean or a repair
    finished after it."""
    if last.get("clean") is not False:
        return None
    generated = _number(last.get("generated_at"))
    repaired = _number((repair or {}).get("finished_at"))
    if repaired is not None and (generated is None or repaired >= generated):
        return None
    estimate = last.get("estimate")
    if isinstance(estimate, Mapping) and _number(estimate.get("drift_fraction")) is not None:
        return float(estimate["drift_fraction"])
    drifted = sum(int(last.get(k) or 0) for k in ("missing_locally", "extra_locally", "stale"))
    base = max(int(last.get("remote_checked") or 0), int(last.get("local_checked") or 0), 1)
    return drifted / base


def assess_local_copy(status: Any, thresholds: Thresholds | None = None) -> DiagnosticResult:
    """RB-004's result for a local copy from its status alone (``sync status``, no request)."""
    findings = classify_status(status, thresholds)
    detail = findings[0].title if findings else "the local copy is complete and fresh"
    return conclude(RUNBOOK, TITLE, findings, detail=detail)


def classify_status(status: Any, thresholds: Thresholds | None = None) -> list[Finding]:
    """The findings about a local copy from its status alone (no request).

    ``status`` is a ``sync.status.SyncStatus`` (read by attribute: ``records``,
    ``full_in_progress``, ``last_full``, ``last_reconcile``, ``last_repair``,
    ``full_synced_ago``, ``polled_ago``); see the module docstring for the codes.
    """
    t = thresholds if thresholds is not None else Thresholds()
    findings: list[Finding] = []

    def add(code: str, title: str, severity: Severity, *mitigations: Mitigation, **ev: Any) -> None:
        findings.append(Finding(code, title, severity, RUNBOOK, ev, mitigations))

    checkpoint = getattr(status, "full_in_progress", None)
    last_full = getattr(status, "last_full", None)
    records = int(getattr(status, "records", 0) or 0)
    if checkpoint:
        first = last_full is None
        add(
            CODE_FULL_SYNC_UNFINISHED,
            f"{'The first' if first else 'A'} full sync stopped after "
            f"{checkpoint.get('pages', 0)} pages: `sync full` resumes it",
            Severity.SEV3 if first else Severity.SEV4,
            _TRIGGER_FULL_SYNC,
            pages=checkpoint.get("pages"),
            records=checkpoint.get("records"),
        )
    elif last_full is None:
        add(
            CODE_NEVER_SYNCED,
            f"No full sync has finished: the local copy ({records} records) is incomplete",
            Severity.SEV3,
            _TRIGGER_FULL_SYNC,
            records=records,
        )
    ages = [
        a
        for a in (_number(getattr(status, "polled_ago", None)), _number(status.full_synced_ago))
        if a is not None
    ]
    if ages and min(ages) > t.sync_stale_after:
        freshest = min(ages)
        add(
            CODE_COPY_STALE,
            f"Stale data being served: the last sync run finished {_ago(freshest)} ago "
            f"(alert above {_ago(t.sync_stale_after)})",
            Severity.SEV3,
            _VERIFY_POLLING,
            _TRIGGER_FULL_SYNC,
            refreshed_ago_s=round(freshest, 3),
            threshold_s=t.sync_stale_after,
        )
    last = getattr(status, "last_reconcile", None)
    if isinstance(last, Mapping):
        fraction = _reconcile_drift(last, getattr(status, "last_repair", None))
        if fraction is not None:
            kinds = {
                k: int(last.get(k) or 0) for k in ("missing_locally", "extra_locally", "stale")
            }
            add(
                CODE_RECONCILE_DRIFT,
                f"The last reconciliation found drift ({fraction:.1%}) and no repair ran since",
                Severity.SEV2 if fraction > t.sync_drift_major else Severity.SEV3,
                _RUN_RECONCILIATION,
                drift_fraction=round(fraction, 4),
                threshold=t.sync_drift_major,
                **kinds,
            )
    return findings


def classify_refusals(refusals: Sequence[Mapping[str, Any]]) -> list[Finding]:
    """One SEV2 finding per sync run the delete guard refused (the records of
    ``maintainx_resilient.sync.guard.blocked_deletes``)."""
    findings = []
    for refused in refusals:
        evidence = {
            k: refused.get(k)
            for k in ("resource", "operation", "would_delete", "local", "limit", "refused_at")
        }
        findings.append(
            Finding(
                CODE_DELETES_REFUSED,
                f"{refused.get('operation')} sync of {refused.get('resource')} refused to delete "
                f"{refused.get('would_delete')} of {refused.get('local')} local records",
                Severity.SEV2,
                RUNBOOK,
                evidence,
                (_CHECK_PERMISSIONS, _CONFIRM_DELETES),
            )
        )
    return findings


def _remote_empty(local_count: int, limit: int) -> Finding:
    return Finding(
        CODE_REMOTE_EMPTY,
        f"MaintainX returned no work orders while the local copy holds {local_count}",
        Severity.SEV2,
        RUNBOOK,
        {"remote_count": 0, "local_count": local_count, "limit": limit},
        (_CHECK_PERMISSIONS,),
    )


def _read_refusals(store: Any) -> list[dict[str, Any]]:
    from ..sync.guard import blocked_deletes

    return blocked_deletes(store)


def _not_configured(detail: str, refusals: Sequence[Finding] = ()) -> DiagnosticResult:
    if refusals:  # what the store alone says is still worth reporting
        why = f"{len(refusals)} sync run(s) refused to delete; sample not taken: {detail}"
        return conclude(RUNBOOK, TITLE, refusals, detail=why)
    return not_configured(RUNBOOK, TITLE, detail)


async def check(ctx: DiagnosticContext) -> DiagnosticResult:
    """RB-004: compare_sample a sample of MaintainX work orders with ``ctx.sync_store``."""
    started = ctx.clock.monotonic()
    store = ctx.sync_store
    if store is None:
        return _not_configured("no local store configured (DiagnosticContext.sync_store)")
    # The store may block (a database): read it in a worker thread so the deadline holds.
    refusals = classify_refusals(await asyncio.to_thread(_read_refusals, store))
    fetch = ctx.extras.get(FETCH_EXTRA)
    if not callable(fetch):
        return _not_configured(
            f'no work-order fetcher: set ctx.extras["{FETCH_EXTRA}"] to an async '
            "(limit) -> {id: updatedAt} callable",
            refusals,
        )
    size = ctx.extras.get(SAMPLE_SIZE_EXTRA, DEFAULT_SAMPLE_SIZE)
    limit = size if isinstance(size, int) and 1 <= size <= 200 else DEFAULT_SAMPLE_SIZE

    t0 = ctx.clock.monotonic()
    fetched: Any = fetch(limit)
    remote: Mapping[int, str] = await fetched if inspect.isawaitable(fetched) else fetched
    t1 = ctx.clock.monotonic()
    # The store may block (a database): read it in a worker thread so the deadline holds.
    local_all = await asyncio.to_thread(store.updated_at_by_id, RESOURCE)
    t2 = ctx.clock.monotonic()

    local = scope_local(remote, local_all, complete=len(remote) < limit)
    drift = compare_sample(remote, local)
    if not remote and local_all:
        findings = [_remote_empty(len(local_all), limit)]
    else:
        findings = classify_drift(drift, ctx.thresholds)
    findings = refusals + findings
    checks = (
        Check("MaintainX sample", True, t1 - t0, f"{len(remote)} work orders (limit {limit})"),
        Check(
            "Local store",
            True,
            t2 - t1,
            f"{len(local_all)} work orders, {len(local)} in the sample's range",
        ),
        Check(
            "Comparison",
            drift.in_sync,
            0.0,
            f"missing locally {len(drift.missing_locally)}, extra locally "
            f"{len(drift.extra_locally)}, stale {len(drift.stale)}",
        ),
    )
    detail = (f"{len(refusals)} sync run(s) refused to delete; " if refusals else "") + (
        "in sync" if drift.in_sync else f"{drift.drifted} of the sample drifted"
    )
    took = ctx.clock.monotonic() - started
    return conclude(RUNBOOK, TITLE, findings, checks=checks, duration=took, detail=detail)


#: Renamed public names, still answered (with a DeprecationWarning).
_RENAMED = {"compare": "compare_sample"}


def __getattr__(name: str) -> Any:
    return renamed(__name__, name, _RENAMED, globals())
