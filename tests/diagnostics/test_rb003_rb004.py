"""RB-003 webhook processing failures and RB-004 data sync drift."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from maintainx_resilient.diagnostics import rb003_webhooks as rb003
from maintainx_resilient.diagnostics import rb004_sync as rb004
from maintainx_resilient.diagnostics._context import Thresholds
from maintainx_resilient.diagnostics._model import Severity
from maintainx_resilient.sync.status import SyncStatus
from maintainx_resilient.sync.store import Batch, LocalRecord, MemoryStore

from ._support import make_context

HEALTHY: dict[str, Any] = {
    "queue_depth": 3,
    "failed": 0,
    "oldest_pending_age": 1.5,
    "paused": False,
    "endpoint_ok": True,
    "signature_self_test": True,
}


class Webhooks:
    def __init__(self, health: Mapping[str, Any]) -> None:
        self.health = health

    def webhook_health(self) -> Mapping[str, Any]:
        return self.health


class Store:
    def __init__(self, records: Mapping[int, str]) -> None:
        self.records = records
        self.asked: list[str] = []

    def updated_at_by_id(self, resource: str) -> Mapping[int, str]:
        self.asked.append(resource)
        return self.records


# ---- RB-003 ------------------------------------------------------------------------------


async def test_rb003_not_configured_without_source() -> None:
    """No webhook source: a clear not_configured result, no findings."""
    result = await rb003.check(make_context())
    assert result.status == "not_configured" and not result.findings
    assert "webhook" in result.detail


def test_rb003_healthy_has_no_findings() -> None:
    """A healthy receiver yields no findings and all checks pass."""
    assert rb003.classify_webhooks(HEALTHY) == []
    assert all(c.ok for c in rb003.webhook_checks(HEALTHY))


@pytest.mark.parametrize(
    ("change", "code", "severity", "mitigation"),
    [
        (
            {"endpoint_ok": False},
            rb003.CODE_ENDPOINT_UNHEALTHY,
            Severity.SEV2,
            "verify_webhook_endpoint",
        ),
        (
            {"signature_self_test": False},
            rb003.CODE_SIGNATURE_FAILING,
            Severity.SEV2,
            "check_webhook_secret",
        ),
        ({"failed": 4}, rb003.CODE_FAILED_WEBHOOKS, Severity.SEV3, "fix_webhook_handler"),
        ({"oldest_pending_age": 301.0}, rb003.CODE_BACKLOG, Severity.SEV3, "check_webhook_backlog"),
        ({"queue_depth": 1001}, rb003.CODE_BACKLOG, Severity.SEV3, "check_webhook_backlog"),
        ({"paused": True}, rb003.CODE_PAUSED, Severity.SEV3, "resume_webhooks"),
    ],
)
def test_rb003_findings(
    change: dict[str, Any], code: str, severity: Severity, mitigation: str
) -> None:
    """Each unhealthy value gives its code, severity and first runbook mitigation."""
    found = rb003.classify_webhooks({**HEALTHY, **change})
    assert [f.code for f in found] == [code]
    assert found[0].severity is severity
    assert found[0].mitigations[0].code == mitigation


def test_rb003_failed_offers_replay_and_backlog_offers_pause() -> None:
    """Failed deliveries can be replayed; a backlog can be paused (client actions)."""
    failed = rb003.classify_webhooks({**HEALTHY, "failed": 1})[0]
    backlog = rb003.classify_webhooks({**HEALTHY, "queue_depth": 5000})[0]
    assert "replay_failed_webhooks" in [m.action for m in failed.mitigations]
    assert "pause_webhooks" in [m.action for m in backlog.mitigations]


def test_rb003_boundaries() -> None:
    """Exactly the oldest-pending threshold and exactly the depth alert are not a backlog."""
    assert rb003.classify_webhooks({**HEALTHY, "oldest_pending_age": 300.0}) == []
    assert rb003.classify_webhooks({**HEALTHY, "queue_depth": 1000}) == []
    t = Thresholds(webhook_oldest_pending=10.0)
    assert rb003.classify_webhooks({**HEALTHY, "oldest_pending_age": 10.5}, t)
    assert rb003.classify_webhooks({**HEALTHY, "queue_depth": 11}, queue_depth_alert=10)


def test_rb003_unknown_values_are_not_findings() -> None:
    """Values the source doesn't report are 'unknown' checks, never findings."""
    assert rb003.classify_webhooks({}) == []
    checks = rb003.webhook_checks({"endpoint_ok": None})
    assert [c.ok for c in checks] == [None] * 6
    assert {c.detail for c in checks} == {"not reported"}


def test_rb003_secret_mismatch_and_collection_errors() -> None:
    """The receiver's extra keys: a secret unlike MaintainX's is SEV2; errors are a check."""
    health = {
        **HEALTHY,
        "secret_matches_api": False,
        "errors": ["queue stats: ConnectionError"],
        "backend": "redis",
        "routes": ["work-orders"],
        "metrics": {"webhook_failures": 3},
    }
    found = rb003.classify_webhooks(health)
    assert [(f.code, f.severity) for f in found] == [(rb003.CODE_SECRET_MISMATCH, Severity.SEV2)]
    assert found[0].mitigations[0].code == "check_webhook_secret"
    checks = {c.name: c for c in rb003.webhook_checks(health)}
    assert checks["Secret matches MaintainX"].ok is False
    assert checks["Health collection"].ok is False
    assert checks["Health collection"].detail == "queue stats: ConnectionError"
    clean = {
        c.name: c.ok
        for c in rb003.webhook_checks({**HEALTHY, "secret_matches_api": True, "errors": []})
    }
    assert clean["Secret matches MaintainX"] is True and clean["Health collection"] is True


async def test_rb003_check_reads_the_source() -> None:
    """check() reads webhook_health() and honours the queue-depth extra."""
    ctx = make_context(webhooks=Webhooks({**HEALTHY, "queue_depth": 50, "failed": 2}))
    ctx.extras[rb003.QUEUE_DEPTH_EXTRA] = 20
    result = await rb003.check(ctx)
    assert result.status == "problem"
    assert {f.code for f in result.findings} == {rb003.CODE_BACKLOG, rb003.CODE_FAILED_WEBHOOKS}
    assert "Queue depth" in result.detail


async def test_rb003_check_and_the_cli_status_share_one_verdict() -> None:
    """The procedure and ``webhooks status`` build their result in one place."""
    health = {**HEALTHY, "queue_depth": 50, "failed": 2}
    ctx = make_context(webhooks=Webhooks(health))
    ctx.extras[rb003.QUEUE_DEPTH_EXTRA] = 20
    from_check = await rb003.check(ctx)
    pure = rb003.assess_webhooks(health, ctx.thresholds, queue_depth_alert=20)
    assert from_check.to_dict() | {"duration_ms": 0} == pure.to_dict() | {"duration_ms": 0}
    assert (pure.runbook, pure.title, pure.status) == ("RB-003", rb003.TITLE, "problem")


async def test_rb003_check_accepts_an_async_source() -> None:
    """A source whose webhook_health is a coroutine function works too."""

    class AsyncWebhooks:
        async def webhook_health(self) -> Mapping[str, Any]:
            return {**HEALTHY, "paused": True}

    result = await rb003.check(make_context(webhooks=AsyncWebhooks()))
    assert [f.code for f in result.findings] == [rb003.CODE_PAUSED]


async def test_rb003_check_rejects_a_non_mapping() -> None:
    """A source returning nonsense raises (the runner reports status 'error')."""
    with pytest.raises(TypeError, match="not a mapping"):
        await rb003.check(make_context(webhooks=Webhooks(["x"])))  # type: ignore[arg-type]


# ---- RB-004 ------------------------------------------------------------------------------

T1 = "2025-06-01T10:00:00Z"
T2 = "2025-06-02T10:00:00Z"
T3 = "2025-06-03T10:00:00.000+00:00"


def test_compare_finds_missing_extra_and_stale() -> None:
    """compare() lists ids missing locally, extra locally and stale (updatedAt differs)."""
    remote = {1: T1, 2: T2, 3: T3, 4: T1}
    local = {1: T1, 2: T1, 3: "2025-06-03T10:00:00Z", 5: T2}
    drift = rb004.compare_sample(remote, local)
    assert drift.missing_locally == (4,)
    assert drift.extra_locally == (5,)
    assert drift.stale == (2,)  # 3 is the same instant written differently
    assert drift.drifted == 3 and not drift.in_sync
    assert drift.to_dict() == {
        "remote_count": 4,
        "local_count": 4,
        "missing_locally": 1,
        "extra_locally": 1,
        "stale": 1,
        "drift_fraction": 0.75,
    }


def test_compare_in_sync_and_empty() -> None:
    """Identical mappings are in sync; two empty ones have no drift."""
    assert rb004.compare_sample({1: T1}, {1: T1}).in_sync
    empty = rb004.compare_sample({}, {})
    assert empty.in_sync and empty.fraction == 0.0


def test_compare_unparseable_timestamps_compare_as_text() -> None:
    """Timestamps that don't parse are compared as strings."""
    assert rb004.compare_sample({1: "yesterday"}, {1: "yesterday"}).in_sync
    assert rb004.compare_sample({1: "yesterday"}, {1: "today"}).stale == (1,)


def test_compare_timestamps_as_instants() -> None:
    """Any fraction length and offset spelling of the same instant is not stale."""
    remote = {1: "2025-06-01T10:00:00.1234567Z", 2: "2025-06-01T12:00:00+0200"}
    local = {1: "2025-06-01T10:00:00.123456+00:00", 2: "2025-06-01T10:00:00.000Z"}
    assert rb004.compare_sample(remote, local).in_sync


def test_scope_local_keeps_what_the_sample_covers() -> None:
    """A cut sample covers local records newer than its oldest; a complete one covers all."""
    remote = {10: T2, 11: T3}
    local = {10: T2, 11: T3, 12: T3, 1: T1, 2: T2}
    assert rb004.scope_local(remote, local, complete=False) == {10: T2, 11: T3, 12: T3}
    assert rb004.scope_local(remote, local, complete=True) == local
    assert rb004.scope_local({}, local, complete=False) == {}


def drift_of(n_bad: int, sample: int = 100) -> rb004.SyncDrift:
    remote = dict.fromkeys(range(sample), T1)
    local = {i: (T2 if i < n_bad else T1) for i in range(sample)}
    return rb004.compare_sample(remote, local)


def test_classify_drift_boundaries() -> None:
    """No drift: nothing; up to 5 % of the sample: SEV3; above 5 %: SEV2."""
    assert rb004.classify_drift(drift_of(0)) == []
    assert {f.severity for f in rb004.classify_drift(drift_of(1))} == {Severity.SEV3}
    assert {f.severity for f in rb004.classify_drift(drift_of(5))} == {Severity.SEV3}
    assert {f.severity for f in rb004.classify_drift(drift_of(6))} == {Severity.SEV2}
    strict = Thresholds(sync_drift_major=0.0)
    assert {f.severity for f in rb004.classify_drift(drift_of(1), strict)} == {Severity.SEV2}


def test_classify_drift_codes_and_mitigations() -> None:
    """Missing and stale ask for a full sync; extra asks for reconciliation; ids listed <= 10."""
    remote = dict.fromkeys(range(20), T2)
    local = dict.fromkeys(range(5), T1)  # 0..4 stale, 5..19 missing
    local.update({100: T3})
    found = {f.code: f for f in rb004.classify_drift(rb004.compare_sample(remote, local))}
    assert set(found) == {
        rb004.CODE_MISSING_LOCALLY,
        rb004.CODE_STALE_RECORDS,
        rb004.CODE_EXTRA_LOCALLY,
    }
    missing = found[rb004.CODE_MISSING_LOCALLY]
    assert missing.evidence["count"] == 15 and missing.evidence["ids"] == list(range(5, 15))
    assert [m.code for m in missing.mitigations] == [
        "trigger_full_sync",
        "check_webhook_delivery",
        "verify_polling_job",
    ]
    assert missing.mitigations[0].action == "full_sync"
    assert found[rb004.CODE_EXTRA_LOCALLY].mitigations[0].action == "reconcile"


async def test_rb004_not_configured_without_store_or_fetcher() -> None:
    """No store, or no work-order fetcher in extras: not_configured with the reason."""
    no_store = await rb004.check(make_context())
    assert no_store.status == "not_configured" and "sync_store" in no_store.detail
    no_fetch = await rb004.check(make_context(sync_store=Store({})))
    assert no_fetch.status == "not_configured" and "fetch_work_orders" in no_fetch.detail


async def test_rb004_check_compares_a_sample() -> None:
    """check() fetches the newest work orders and compares them with the store's."""
    asked: list[int] = []

    async def fetch(limit: int) -> Mapping[int, str]:
        asked.append(limit)
        return {1: T2, 2: T3}

    store = Store({1: T1, 2: T3, 3: T3, 0: "2025-05-01T00:00:00Z"})
    ctx = make_context(sync_store=store)
    ctx.extras.update({rb004.FETCH_EXTRA: fetch, rb004.SAMPLE_SIZE_EXTRA: 2})
    result = await rb004.check(ctx)
    assert asked == [2] and store.asked == ["workorders"]
    # The sample was cut at 2, so only local records newer than T2 count: 3 is extra; 0 not.
    assert {f.code for f in result.findings} == {rb004.CODE_STALE_RECORDS, rb004.CODE_EXTRA_LOCALLY}
    assert result.status == "problem" and result.severity is Severity.SEV2
    assert [c.name for c in result.checks] == ["MaintainX sample", "Local store", "Comparison"]


async def test_rb004_with_the_sync_engines_memory_store() -> None:
    """The sync engine's MemoryStore is a SyncStoreSource: its timestamps compare as equal."""
    store = MemoryStore()
    wire = [
        {"id": 1, "updatedAt": "2025-06-01T10:00:00.000Z"},
        {"id": 2, "updatedAt": "2025-06-01T11:00:00.000Z"},
    ]
    store.commit("workOrders", Batch(upserts=[LocalRecord.from_wire(r) for r in wire]))

    async def fetch(limit: int) -> Mapping[int, str]:
        return {1: "2025-06-01T10:00:00Z", 2: "2025-06-01T11:30:00.000Z", 3: T3}

    ctx = make_context(sync_store=store)
    ctx.extras[rb004.FETCH_EXTRA] = fetch
    result = await rb004.check(ctx)
    found = {f.code: f.evidence["ids"] for f in result.findings}
    assert found == {rb004.CODE_MISSING_LOCALLY: [3], rb004.CODE_STALE_RECORDS: [2]}


async def test_rb004_check_in_sync() -> None:
    """A store that matches the sample is ok."""

    async def fetch(limit: int) -> Mapping[int, str]:
        return {1: T1}

    ctx = make_context(sync_store=Store({1: T1}))
    ctx.extras[rb004.FETCH_EXTRA] = fetch
    result = await rb004.check(ctx)
    assert result.status == "ok" and not result.findings and result.detail == "in sync"


# ---- RB-004 from the local store's own status (`sync status`) ---------------------------------


def status_of(**fields: Any) -> SyncStatus:
    base: dict[str, Any] = {
        "resource": "workOrders",
        "records": 1000,
        "watermark": "2025-01-01T00:00:00.000Z",
        "full_in_progress": None,
        "last_full": {"finished_at": 1000.0, "pages": 5, "records": 1000},
        "last_incremental": None,
        "last_reconcile": None,
        "last_repair": None,
        "full_synced_ago": 60.0,
        "polled_ago": None,
    }
    base.update(fields)
    return SyncStatus(**base)


def reconciled(drifted: int, checked: int = 1000, at: float = 2000.0) -> dict[str, Any]:
    return {
        "mode": "full",
        "generated_at": at,
        "clean": drifted == 0,
        "remote_checked": checked,
        "local_checked": checked,
        "estimate": None,
        "missing_locally": drifted,
        "extra_locally": 0,
        "stale": 0,
    }


@pytest.mark.parametrize(
    ("case", "status", "expected"),
    [
        ("fresh and complete", status_of(), {}),
        ("never synced", status_of(last_full=None, records=0), {"RB004.NEVER_SYNCED": "SEV3"}),
        (
            "first full sync interrupted",
            status_of(last_full=None, full_in_progress={"pages": 2, "records": 400}),
            {"RB004.FULL_SYNC_UNFINISHED": "SEV3"},
        ),
        (
            "a later full sync interrupted",
            status_of(full_in_progress={"pages": 2, "records": 400}),
            {"RB004.FULL_SYNC_UNFINISHED": "SEV4"},
        ),
        ("refreshed exactly at the threshold", status_of(full_synced_ago=3600.0), {}),
        ("refreshed just over it", status_of(full_synced_ago=3601.0), {"RB004.COPY_STALE": "SEV3"}),
        (
            "an old full sync but a recent incremental run",
            status_of(full_synced_ago=90_000.0, polled_ago=120.0),
            {},
        ),
        ("clean reconciliation", status_of(last_reconcile=reconciled(0)), {}),
        (
            "drift of exactly 5 %",
            status_of(last_reconcile=reconciled(50)),
            {"RB004.RECONCILE_DRIFT": "SEV3"},
        ),
        (
            "drift above 5 %",
            status_of(last_reconcile=reconciled(51)),
            {"RB004.RECONCILE_DRIFT": "SEV2"},
        ),
        (
            "drift repaired since",
            status_of(last_reconcile=reconciled(51), last_repair={"finished_at": 2001.0}),
            {},
        ),
        (
            "a repair older than the drift",
            status_of(last_reconcile=reconciled(51), last_repair={"finished_at": 1999.0}),
            {"RB004.RECONCILE_DRIFT": "SEV2"},
        ),
    ],
)
def test_local_status_thresholds(case: str, status: SyncStatus, expected: dict[str, str]) -> None:
    """`sync status` judges the copy by RB-004's thresholds without a request: stale after
    `sync_stale_after` (1 h), drift above `sync_drift_major` (5 %) SEV2, any other SEV3."""
    found = {f.code: f.severity.name for f in rb004.classify_status(status)}
    assert found == expected, case


def test_the_stale_threshold_is_a_setting() -> None:
    status = status_of(full_synced_ago=1000.0)
    assert rb004.classify_status(status) == []
    tight = rb004.classify_status(status, Thresholds(sync_stale_after=900.0))
    assert [f.code for f in tight] == ["RB004.COPY_STALE"]
    assert tight[0].evidence == {"refreshed_ago_s": 1000.0, "threshold_s": 900.0}
