"""The delete guard: no run removes a large share of the local copy on its own authority.

When MaintainX suddenly answers empty lists or 404s (a permission change, another user's
API key, a bug), a full sync's deletion detection, a repair and the webhook-fed deletes of
an incremental run would all faithfully empty the local copy. The guard stops that:

- :class:`DeleteGuard` (pure) says how many records one run may delete: more than
  ``max_fraction`` (10%) of the local copy, and more than ``allow``, is refused;
- :func:`deletion_limit` applies an operator's confirmation (``confirm_deletes=True`` lifts
  the limit for one run, ``confirm_deletes=N`` raises it to N);
- :func:`guarded_commit` hands the limit to the store as ``Batch.max_deletes`` (the store
  counts and refuses inside the same transaction, so nothing of the batch is applied), and on
  a refusal saves it under ``blocked:<operation>:<resource>`` (what RB-004 and
  ``sync status`` report) before raising :class:`~.errors.MassDeleteError`. A later run of
  the same operation that gets through clears it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

from .._clock import Clock
from .._exceptions import ConfigurationError
from .errors import MassDeleteError
from .resources import RESOURCES
from .store import Batch, CommitResult, SyncStore, state_key

__all__ = [
    "DEFAULT_DELETE_GUARD",
    "GUARDED_OPERATIONS",
    "DeleteGuard",
    "blocked_deletes",
    "blocked_key",
    "deletion_limit",
    "guarded_commit",
    "refuse",
]

#: The runs that delete local records, each guarded.
GUARDED_OPERATIONS = ("full", "repair", "incremental")
_EPSILON = 1e-9  # 0.29 * 100 is 28.999999999999996 in floating point


@dataclass(frozen=True)
class DeleteGuard:
    """How much of the local copy one run may delete without an operator's confirmation.

    A run may delete up to ``max_fraction`` of the records it found locally (10% by
    default; exactly 10% passes), or up to ``allow`` records whatever the size (0 by
    default: on a copy of 5 records, deleting 1 is 20% and needs a confirmation).
    """

    max_fraction: float = 0.10
    allow: int = 0

    def __post_init__(self) -> None:
        if not 0.0 <= self.max_fraction <= 1.0:
            raise ConfigurationError(
                f"DeleteGuard.max_fraction must be between 0 and 1, got {self.max_fraction!r}"
            )
        if self.allow < 0:
            raise ConfigurationError(f"DeleteGuard.allow must be >= 0, got {self.allow!r}")

    def limit(self, local: int) -> int:
        """How many of ``local`` records a run may delete."""
        return max(self.allow, math.floor(self.max_fraction * max(0, local) + _EPSILON))


DEFAULT_DELETE_GUARD = DeleteGuard()


def deletion_limit(guard: DeleteGuard | None, local: int, confirm: bool | int) -> int | None:
    """The ``Batch.max_deletes`` of one run: None (no limit) without a guard or with
    ``confirm=True``; ``max(confirm, guard.limit(local))`` for a number."""
    if guard is None or confirm is True:
        return None
    limit = guard.limit(local)
    if confirm is not False and isinstance(confirm, int):
        if confirm < 0:
            raise ConfigurationError(f"confirm_deletes must be >= 0, got {confirm!r}")
        limit = max(limit, confirm)
    return limit


def blocked_key(operation: str, resource: str) -> str:
    """``blocked:full:workOrders``: where a refused run is recorded."""
    return state_key(f"blocked:{operation}", resource)


def _record(exc: MassDeleteError, guard: DeleteGuard | None, at: float) -> dict[str, Any]:
    return {
        "operation": exc.operation,
        "resource": exc.resource,
        "would_delete": exc.would_delete,
        "local": exc.local_count,
        "limit": exc.limit,
        "max_fraction": None if guard is None else guard.max_fraction,
        "refused_at": at,
    }


def refuse(
    store: SyncStore,
    exc: MassDeleteError,
    *,
    operation: str,
    guard: DeleteGuard | None,
    clock: Clock,
) -> MassDeleteError:
    """Save the refusal of ``operation`` in ``store`` and return the error to raise."""
    refused = exc.during(operation)
    key = blocked_key(operation, refused.resource)
    store.commit(refused.resource, Batch(state={key: _record(refused, guard, clock.time())}))
    return refused


def guarded_commit(
    store: SyncStore,
    resource: str,
    batch: Batch,
    *,
    operation: str,
    guard: DeleteGuard | None,
    confirm: bool | int,
    clock: Clock,
) -> CommitResult:
    """Commit ``batch`` (its deletions limited by the guard) and clear an earlier refusal
    of ``operation``; on a refusal, nothing of ``batch`` is applied, the refusal is saved
    and :class:`MassDeleteError` raised."""
    deletes = bool(batch.deletes) or batch.prune_before is not None
    limit = deletion_limit(guard, store.count(resource), confirm) if deletes else None
    state = {**batch.state, blocked_key(operation, resource): None}
    try:
        return store.commit(resource, replace(batch, state=state, max_deletes=limit))
    except MassDeleteError as exc:
        raise refuse(store, exc, operation=operation, guard=guard, clock=clock) from None


def blocked_deletes(store: Any) -> list[dict[str, Any]]:
    """Every refusal saved in ``store`` (any object with the store's ``state(key)``), for
    every known resource and guarded operation; [] for a store without ``state``."""
    read = getattr(store, "state", None)
    if not callable(read):
        return []
    found = []
    for resource in RESOURCES:
        for operation in GUARDED_OPERATIONS:
            value = read(blocked_key(operation, resource))
            if isinstance(value, dict):
                found.append(value)
    return found
