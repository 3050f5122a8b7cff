"""The fallback cache's shared tier: answers other processes can serve.

:class:`~maintainx_resilient.policies.fallback.FallbackCache` keeps answers in memory (and
optionally in a SQLite file); with a :class:`SharedAnswers` beside it (fleet mode's Redis
store, :class:`~maintainx_resilient.fleet.RedisFallbackStore`) every answer it keeps is
offered to the tier too, a lookup the memory cannot answer asks the tier, and a write drops
what it made wrong there as well. Keys are the cache's own (:func:`._fallback_keys.cache_key`:
credential id, organizations, URL), so the tier scopes answers exactly like the memory does.

The cache calls :meth:`SharedAnswers.put` with its own lock held: it must only queue (no
I/O, no call back into the cache). :meth:`~SharedAnswers.get` and
:meth:`~SharedAnswers.invalidate` may do bounded I/O; nothing may raise for a failing
backend.
"""

from __future__ import annotations

from typing import Protocol

from ._fallback_keys import WriteScope
from ._fallback_store import StoredAnswer

__all__ = ["SharedAnswers"]


class SharedAnswers(Protocol):
    def put(self, key: str, answer: StoredAnswer) -> None:
        """Offer a fresh answer (queued: cheap, never blocks)."""

    def get(self, key: str) -> StoredAnswer | None:
        """The shared answer of ``key``, or None (missing, unreadable, backend out)."""

    def invalidate(self, scope: WriteScope) -> None:
        """Drop every shared answer ``scope`` makes wrong (and such queued offers)."""

    def clear(self) -> None:
        """Drop every shared answer."""

    def flush(self, timeout: float = ...) -> bool:
        """Wait (at most ``timeout`` seconds) until the queued offers are written."""

    def close(self) -> None:
        """Write what is queued (briefly) and stop."""
