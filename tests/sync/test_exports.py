"""``maintainx_resilient.sync`` exports exactly these names, sorted, all importable."""

from __future__ import annotations

import maintainx_resilient.sync as sync

EXPECTED = [
    "DEFAULT_DELETE_GUARD",
    "DEFAULT_OVERLAP",
    "DOCUMENTED_RATE_LIMIT",
    "RESOURCES",
    "Batch",
    "CommitResult",
    "DeleteGuard",
    "Drift",
    "Entry",
    "Estimate",
    "FullSyncResult",
    "FullSyncState",
    "IncrementalResult",
    "LocalRecord",
    "MassDeleteError",
    "MemoryStore",
    "Progress",
    "RateLimit",
    "ReconcileReport",
    "RecordRef",
    "RepairResult",
    "SQLiteStore",
    "Scheduler",
    "StaleAnswerError",
    "StaleRecord",
    "SyncEngine",
    "SyncError",
    "SyncResource",
    "SyncStatus",
    "SyncStore",
    "WebhookFeed",
    "compare",
    "estimate_duration",
    "fuller_form",
    "rate_limit_of",
    "ref_from_webhook",
    "upsert_wins",
]


def test_the_public_surface_is_pinned() -> None:
    assert sync.__all__ == EXPECTED
    for name in EXPECTED:
        assert getattr(sync, name) is not None


def test_sync_errors_are_maintainx_errors() -> None:
    from maintainx_resilient import MaintainXError

    assert issubclass(sync.SyncError, MaintainXError)
    assert issubclass(sync.StaleAnswerError, sync.SyncError)
    assert issubclass(sync.MassDeleteError, sync.SyncError)
