"""A local copy of MaintainX data: full and incremental sync, reconciliation, repair.

>>> from maintainx_resilient import MaintainXClient
>>> from maintainx_resilient.sync import SQLiteStore, SyncEngine
>>> with MaintainXClient() as client, SQLiteStore("maintainx.db") as store:  # doctest: +SKIP
...     engine = SyncEngine(client, store)
...     engine.full("workOrders")
...     engine.incremental("workOrders")
...     print(engine.reconcile("workOrders", sample=1000).estimate)

Modules: :mod:`.store` (the store interface, :class:`MemoryStore`), :mod:`.sqlite` (the
default store), :mod:`.full`, :mod:`.incremental`, :mod:`.feed` (webhooks),
:mod:`.schedule`, :mod:`.reconcile`, :mod:`.guard` (the delete guard), :mod:`.watermark`
(pure arithmetic), :mod:`.progress` (ETA under the rate limit), :mod:`.status`,
:mod:`.engine` (the facade).
"""

from __future__ import annotations

from .engine import SyncEngine
from .errors import MassDeleteError, StaleAnswerError, SyncError
from .feed import RecordRef, WebhookFeed, ref_from_webhook
from .full import FullSyncResult, FullSyncState
from .guard import DEFAULT_DELETE_GUARD, DeleteGuard
from .incremental import IncrementalResult
from .progress import DOCUMENTED_RATE_LIMIT, Progress, RateLimit, estimate_duration, rate_limit_of
from .reconcile import (
    Drift,
    Estimate,
    ReconcileReport,
    RepairResult,
    StaleRecord,
    compare,
)
from .resources import RESOURCES, SyncResource
from .schedule import Scheduler
from .sqlite import SQLiteStore
from .status import SyncStatus
from .store import (
    Batch,
    CommitResult,
    Entry,
    LocalRecord,
    MemoryStore,
    SyncStore,
    fuller_form,
    upsert_wins,
)
from .watermark import DEFAULT_OVERLAP

__all__ = [
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
