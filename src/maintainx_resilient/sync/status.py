"""Where the local copy of each resource stands, from the store alone (no request). Pure
reading of the ``state`` documents the engine writes; RB-004 and ``sync status`` show it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from .guard import GUARDED_OPERATIONS, blocked_key
from .store import SyncStore, state_key

__all__ = ["SyncStatus", "sync_status"]


def _age(now: float, then: Any) -> float | None:
    return round(now - then, 3) if isinstance(then, int | float) else None


@dataclass(frozen=True)
class SyncStatus:
    """One resource's local copy: size, watermark, and the last run of each kind.

    ``full_in_progress`` is the checkpoint of an unfinished full sync (``pages``,
    ``records``, ``resumes``...), None when there is none; ``polled_ago`` is how long ago
    the last incremental run finished (the runbook's "verify polling job is running");
    ``deletes_blocked`` lists the runs the delete guard refused and nobody has confirmed yet.
    """

    resource: str
    records: int
    watermark: str | None
    full_in_progress: dict[str, Any] | None
    last_full: dict[str, Any] | None
    last_incremental: dict[str, Any] | None
    last_reconcile: dict[str, Any] | None
    last_repair: dict[str, Any] | None
    full_synced_ago: float | None
    polled_ago: float | None
    deletes_blocked: tuple[dict[str, Any], ...] = ()

    @property
    def synced(self) -> bool:
        """True once a full sync has finished for this resource."""
        return self.last_full is not None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _dict_or_none(document: Any) -> dict[str, Any] | None:
    return document if isinstance(document, dict) else None


def _field(document: Any, key: str) -> Any:
    return document.get(key) if isinstance(document, dict) else None


def _reconcile_summary(report: Any) -> dict[str, Any] | None:
    if not isinstance(report, dict):
        return None
    keys = ("mode", "generated_at", "clean", "remote_checked", "local_checked", "estimate")
    summary = {k: report.get(k) for k in keys}
    for kind in ("missing_locally", "extra_locally", "stale"):
        summary[kind] = len(report.get(kind) or ())
    return summary


def sync_status(store: SyncStore, resource: str, *, now: float) -> SyncStatus:
    """The status of ``resource`` in ``store`` at wall-clock time ``now`` (Unix seconds)."""
    watermark = store.state(state_key("watermark", resource))
    checkpoint = store.state(state_key("checkpoint:full", resource))
    last_full = store.state(state_key("last:full", resource))
    last_incremental = store.state(state_key("last:incremental", resource))
    return SyncStatus(
        resource=resource,
        records=store.count(resource),
        watermark=watermark.get("at") if isinstance(watermark, dict) else None,
        full_in_progress=checkpoint if isinstance(checkpoint, dict) else None,
        last_full=last_full if isinstance(last_full, dict) else None,
        last_incremental=last_incremental if isinstance(last_incremental, dict) else None,
        last_reconcile=_reconcile_summary(store.state(state_key("report:reconcile", resource))),
        last_repair=_dict_or_none(store.state(state_key("last:repair", resource))),
        full_synced_ago=_age(now, _field(last_full, "finished_at")),
        polled_ago=_age(now, _field(last_incremental, "finished_at")),
        deletes_blocked=tuple(
            blocked
            for operation in GUARDED_OPERATIONS
            if isinstance(blocked := store.state(blocked_key(operation, resource)), dict)
        ),
    )
