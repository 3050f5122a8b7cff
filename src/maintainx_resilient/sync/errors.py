"""Errors of the sync engine (all are :class:`~maintainx_resilient.MaintainXError`)."""

from __future__ import annotations

from .._exceptions import MaintainXError

__all__ = ["StaleAnswerError", "SyncError"]


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
