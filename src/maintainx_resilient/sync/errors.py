"""Errors of the sync engine (all are :class:`~maintainx_resilient.MaintainXError`)."""

from __future__ import annotations

from .._exceptions import MaintainXError

__all__ = ["MassDeleteError", "StaleAnswerError", "SyncError"]


class SyncError(MaintainXError):
    """A sync, reconciliation or repair could not proceed."""


class StaleAnswerError(SyncError):
    """An answer came from the fallback cache instead of MaintainX.

    A sync never writes, checkpoints or deletes on the strength of a cached answer: the
    run stops (its checkpoint stays where the last fresh page left it) and can be resumed
    once MaintainX answers again.
    """

    def __init__(self, message: str, *, method: str = "", path: str = "") -> None:
        super().__init__(message)
        self.method = method
        self.path = path


#: How an operator confirms the deletions each kind of run was refused.
_CONFIRM = {
    "full": "engine.full(resource, confirm_deletes=True), or `maintainx-resilient sync full "
    "--confirm-deletes`",
    "repair": "engine.repair(report, confirm_deletes=True), or `maintainx-resilient sync repair "
    "--confirm-deletes`",
    "incremental": "engine.incremental(resource, confirm_deletes=True), or "
    "`maintainx-resilient sync incremental --confirm-deletes`",
}


class MassDeleteError(SyncError):
    """A run would delete more of the local copy than the delete guard allows
    (:class:`~maintainx_resilient.sync.DeleteGuard`, default 10%), so it deleted nothing.

    An empty or partial answer from MaintainX (a permission change, another user's API key,
    a bug) looks exactly like mass deletion; this stops the local copy following it. The
    refusal is saved in the store (``blocked:<operation>:<resource>``) for RB-004 and
    ``sync status``. ``operation`` is ``full``, ``repair`` or ``incremental``;
    ``would_delete`` and ``local_count`` the numbers; ``limit`` what the guard allowed.
    """

    def __init__(
        self,
        *,
        resource: str,
        would_delete: int,
        local_count: int,
        limit: int,
        operation: str = "commit",
    ) -> None:
        self.resource = resource
        self.would_delete = would_delete
        self.local_count = local_count
        self.limit = limit
        self.operation = operation
        share = f"{would_delete / local_count:.0%}" if local_count else "all"
        confirm = _CONFIRM.get(operation, "confirm_deletes=True")
        super().__init__(
            f"{operation} of {resource} would delete {would_delete} of {local_count} local "
            f"records ({share}); the delete guard allows {limit}, so nothing was deleted. If "
            "MaintainX answered empty or partial lists or 404s (a permission change, another "
            "user's API key, an outage), fix that and run again; if the records really are "
            f"gone, confirm with {confirm}"
        )

    def during(self, operation: str) -> MassDeleteError:
        """The same refusal, attributed to ``operation`` (``full``...)."""
        return MassDeleteError(
            resource=self.resource,
            would_delete=self.would_delete,
            local_count=self.local_count,
            limit=self.limit,
            operation=operation,
        )
