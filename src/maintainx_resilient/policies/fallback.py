"""The fallback cache: answer reads with the last good answer while MaintainX is down.

The outermost layer of the pipeline. It remembers every successful ``GET`` answer (status,
a few headers, the body, when) and serves it again, labelled stale with its age
(``response.extensions[META_EXTENSION]``, a :class:`~maintainx_resilient.ResponseMeta`), when
the call below fails for a reason that means "MaintainX is unavailable":

================================  ======================
what happened below               ``ResponseMeta.reason``
================================  ======================
breaker open (CircuitOpenError)   ``circuit_open``
ConnectionError                   ``connection_error``
TimeoutError                      ``timeout``
final answer 5xx                  ``server_error``
final answer 5xx after retries    ``retries_exhausted``
body unreadable (DecodeError)     ``undecodable``
fallback mode on (nothing sent)   ``fallback_mode``
================================  ======================

4xx answers (including 429) are never replaced: they are real answers. When there is no
entry younger than ``max_stale`` the original error (or 5xx answer) goes through unchanged.
Only ``GET`` is cached or served; every other method passes through (and, in fallback mode,
raises :class:`~maintainx_resilient.FallbackModeError` without being sent).

**Whose answers.** An entry belongs to the credential that fetched it and to the organization
headers it was fetched with (see :mod:`._fallback_keys`): the auth layer below stamps each
request with its key's credential id (a 128-bit hash, never the key), and a lookup for a
request that never reached it (breaker open, fallback mode) asks the client's key source.
Two clients of different organizations or keys sharing one SQLite file never see each other's
answers; a rotated key is a new identity and starts with an empty scope.

**Only answers that parsed.** A 2xx ``GET`` answer is not stored here: the layer puts a
commit callable in ``response.extensions[COMMIT_EXTENSION]``, and the client calls it after
the body parsed (``_ClientCore._finish``, which every resource call and the sync fetcher go
through). A body that does not parse is never kept, so an outage replays the last good one.
Code that reads answers through the layer with a plain ``httpx.Client`` calls
:func:`commit` itself. An operation marked ``cacheable=False`` (a webhook secret) is neither
kept nor served.

**Writes.** A successful write (2xx) drops the entries it makes wrong, in memory and in the
file: its own path and every path above it (the record, the collection's list pages), and for
a ``DELETE`` every path below it, for the credential it was sent with. A ``GET`` answer in
flight while such a write succeeded is not kept either. A write whose fate is unknown (5xx,
lost answer) drops nothing: during an outage that is most writes, and the entries it leaves
are still labelled stale when served.

Pages of a list are separate URLs (each carries its cursor), so every page seen before can
be served again. The entries live in a cachetools ``LRUCache`` bounded by bytes, with the
entry count bounded too, behind a ``threading.Lock`` that covers dict operations only (never
I/O, never an ``await``). With ``path`` set they are also kept in a SQLite file (see
:mod:`._fallback_store`) and loaded at start.

**Fleet mode.** With a shared tier (``shared=``, fleet mode's Redis store: see
:mod:`._fallback_shared`) every answer kept here is offered to it too, a lookup this process
cannot answer asks it (and keeps what it finds), and a write's invalidation reaches it: a
worker started during an outage serves what another fetched, under the same scoping.
"""

from __future__ import annotations

import logging
import math
import os
import sqlite3
import threading
import weakref
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import cachetools
import httpx

from .._clock import SYSTEM_CLOCK, Clock
from .._events import EventBus, FallbackServed
from .._exceptions import (
    CircuitOpenError,
    ConfigurationError,
    ConnectionError,
    DecodeError,
    FallbackModeError,
    ServerError,
    TimeoutError,
)
from .._extensions import (
    ATTEMPTS_EXTENSION,
    CACHEABLE_EXTENSION,
    COMMIT_EXTENSION,
    CREDENTIAL_EXTENSION,
    META_EXTENSION,
)
from .._headers import HeaderNames, pick
from .._http import route_of
from .._layer import AsyncLayer, Layer
from .._meta import FallbackReason, ResponseMeta
from ._fallback_keys import SAFE_METHODS, WriteScope, cache_key
from ._fallback_shared import SharedAnswers
from ._fallback_store import FallbackStore, StoredAnswer

logger = logging.getLogger("maintainx_resilient")

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_ENTRIES",
    "DEFAULT_MAX_STALE",
    "AsyncFallbackLayer",
    "CacheStats",
    "FallbackCache",
    "FallbackConfig",
    "FallbackLayer",
    "FreshAnswer",
    "cache_key",
    "commit",
    "stale_reason",
]


#: Enough for the records and list pages an integration reads in a day (a few hundred pages
#: of each resource family), small enough to load at start in well under a second.
DEFAULT_MAX_ENTRIES = 2048
#: A full page of 200 work orders is 100-400 KB of JSON; 64 MiB keeps a few hundred of those
#: without making the cache a memory problem for the service that embeds the client.
DEFAULT_MAX_BYTES = 64 * 1024 * 1024
#: MaintainX outages last hours; an answer older than a day is more likely to mislead than to
#: help (work orders change status several times a day).
DEFAULT_MAX_STALE = 24 * 60 * 60.0

#: Response headers worth replaying. Not ``content-encoding``/``content-length``: the body is
#: stored decoded. Never rate-limit headers: they describe the moment, not the answer.
_KEPT = HeaderNames(["Content-Type", "ETag", "Last-Modified", "Date", "X-Request-Id"])
_KEPT_HEADERS = frozenset(_KEPT.names.values())  # their lower-case names
#: Rough cost of an entry beyond its key, headers and body (objects, dict slots).
_ENTRY_OVERHEAD = 256
#: Writes remembered to refuse a GET answer that was in flight while one of them happened;
#: a GET that outlived more writes than this is not kept (it may be older than any of them).
_RECENT_WRITES = 64


@dataclass(frozen=True)
class FallbackConfig:
    """Fallback cache settings (``MaintainXClient(fallback=FallbackConfig(...))``; None
    disables).

    At most ``max_entries`` answers and ``max_bytes`` bytes are kept (least recently used
    go first); an answer older than ``max_stale`` seconds is never served. ``path`` is a
    SQLite file that keeps the answers across restarts (created owner-only, 0600).
    """

    max_entries: int = DEFAULT_MAX_ENTRIES
    max_bytes: int = DEFAULT_MAX_BYTES
    max_stale: float = DEFAULT_MAX_STALE
    path: str | os.PathLike[str] | None = None

    def __post_init__(self) -> None:
        for name in ("max_entries", "max_bytes"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigurationError(
                    f"FallbackConfig.{name} must be a positive int, got {value!r}. "
                    "HINT: to turn the fallback cache off pass fallback=None to the client."
                )
        stale = self.max_stale
        if (
            isinstance(stale, bool)
            or not isinstance(stale, (int, float))
            or not math.isfinite(stale)
            or stale <= 0
        ):
            raise ConfigurationError(
                f"FallbackConfig.max_stale must be a positive number of seconds (the oldest "
                f"answer that may be served during an outage), got {stale!r}"
            )
        if self.path is not None:
            if not isinstance(self.path, (str, os.PathLike)) or not os.fspath(self.path):
                raise ConfigurationError(
                    f"FallbackConfig.path must be a file path or None, got {self.path!r}"
                )
            path = os.path.expanduser(os.fspath(self.path))
            directory = os.path.dirname(os.path.abspath(path))
            if not os.path.isdir(directory):
                raise ConfigurationError(
                    f"FallbackConfig.path: directory {directory!r} does not exist. "
                    "HINT: create it first, or pass path=None to keep the cache in memory."
                )
            object.__setattr__(self, "path", path)


@dataclass(frozen=True, slots=True)
class CacheStats:
    """The fallback cache at one moment.

    ``hits`` = answers served from the cache, i.e. ``stale_served`` (in place of a failed
    call) plus ``fallback_mode_served``; ``misses`` = lookups with nothing to serve, of which
    ``expired`` found only an answer older than ``max_stale``; ``stored`` = fresh answers
    remembered; ``invalidated`` = entries dropped because a write made them wrong.
    ``hit_rate`` = hits / (hits + misses), 0.0 before any lookup. ``from_fleet`` = hits
    answered from the fleet's shared cache (fleet mode), a part of ``hits``.
    """

    hits: int
    misses: int
    expired: int
    stale_served: int
    fallback_mode_served: int
    stored: int
    entries: int
    bytes: int
    hit_rate: float
    fallback_mode: bool
    invalidated: int = 0
    from_fleet: int = 0


# ---- pure decisions ------------------------------------------------------------------------


def commit(response: httpx.Response) -> bool:
    """Keep ``response`` in the fallback cache now that its body parsed. True if there was
    something to keep (a fresh, cacheable GET answer that went through the layer)."""
    keep = response.extensions.get(COMMIT_EXTENSION)
    if keep is None:
        return False
    keep()
    return True


class FreshAnswer:
    """What the layer puts in ``response.extensions[COMMIT_EXTENSION]`` on a fresh, cacheable
    ``GET`` answer. Call it once the body parsed, to keep the answer; when the body did not
    parse (a proxy's HTML page, truncated JSON), :meth:`stale` gives the last good answer to
    use instead."""

    __slots__ = ("_cache", "_request", "_response", "_since")

    def __init__(
        self, cache: FallbackCache, request: httpx.Request, response: httpx.Response, since: int
    ) -> None:
        self._cache, self._request, self._response, self._since = cache, request, response, since

    def __call__(self) -> None:
        self._cache._remember(self._request, self._response, self._since)

    def stale(self) -> httpx.Response | None:
        """The cached answer, labelled stale (reason ``undecodable``), or None."""
        return self._cache._serve(self._request, "undecodable")


def _attempts(value: object) -> int:
    """Attempts from the retry layer's label: ``(attempts, waited)`` (or a bare int)."""
    if isinstance(value, tuple) and value:
        value = value[0]
    return value if isinstance(value, int) and not isinstance(value, bool) else 1


def stale_reason(outcome: httpx.Response | BaseException) -> FallbackReason | None:
    """Why a stale answer may replace this outcome, or None when it must go through."""
    if isinstance(outcome, httpx.Response):
        if outcome.status_code < 500:
            return None
        # The retry layer labels its final answer with ``(attempts, waited)``.
        attempts = _attempts(outcome.extensions.get(ATTEMPTS_EXTENSION))
        return "retries_exhausted" if attempts > 1 else "server_error"
    if isinstance(outcome, CircuitOpenError):
        return "circuit_open"
    if isinstance(outcome, TimeoutError):
        return "timeout"
    if isinstance(outcome, ConnectionError):
        return "connection_error"
    if isinstance(outcome, ServerError):
        return "retries_exhausted" if outcome.attempts > 1 else "server_error"
    if isinstance(outcome, DecodeError):  # a body its Content-Encoding cannot decode
        return "undecodable"
    return None


def _kept_headers(headers: httpx.Headers) -> tuple[tuple[str, str], ...]:
    """The headers worth replaying, read in one pass (as ``headers.items()`` gives them)."""
    return tuple(pick(headers, _KEPT).items())


def _weight(key: str, answer: StoredAnswer) -> int:
    headers = sum(len(k) + len(v) for k, v in answer.headers)
    return len(key) + headers + len(answer.body) + _ENTRY_OVERHEAD


_Slot = tuple[StoredAnswer, int]


def _slot_size(slot: _Slot) -> float:
    return slot[1]


class _LRU(cachetools.LRUCache[str, _Slot]):
    """An ``LRUCache`` bounded by bytes that reports what it evicts (to delete it on disk)."""

    def __init__(self, max_bytes: int, on_evict: Callable[[str], None]) -> None:
        super().__init__(max_bytes, getsizeof=_slot_size)
        self._on_evict = on_evict

    def popitem(self) -> tuple[str, _Slot]:
        key, slot = super().popitem()
        self._on_evict(key)
        return key, slot


# ---- the cache -----------------------------------------------------------------------------


class FallbackCache:
    """Remembers good ``GET`` answers and serves them, labelled stale, when MaintainX fails.

    Thread-safe and async-safe. ``enable_fallback_mode()`` answers every ``GET`` from the
    cache without calling MaintainX (and refuses everything else) until
    ``disable_fallback_mode()``. Call :meth:`close` (or let the interpreter exit) to write
    what is pending to the SQLite file.

    ``credential`` returns the credential id a request would be sent with now (the client
    passes its ``KeyRing.credential``); it is asked only for a request the auth layer did not
    stamp (breaker open, fallback mode). Without it such requests share one anonymous scope.
    ``shared``: the fleet's shared tier (fleet mode), or None.
    """

    def __init__(
        self,
        config: FallbackConfig | None = None,
        *,
        clock: Clock = SYSTEM_CLOCK,
        events: EventBus | None = None,
        credential: Callable[[], str] | None = None,
        shared: SharedAnswers | None = None,
    ) -> None:
        self.config = config or FallbackConfig()
        self._clock = clock
        self._events = events
        self._credential = credential
        self._lock = threading.Lock()
        self._entries = _LRU(self.config.max_bytes, self._evicted)
        self._fallback_mode = False
        self._hits = self._misses = self._expired = 0
        self._stale_served = self._mode_served = self._stored = self._invalidated = 0
        self._from_fleet = 0
        self._shared = shared
        #: Bumped by every write that may have changed data; ``_writes`` remembers the last ones.
        self.generation = 0
        self._writes: deque[tuple[int, WriteScope]] = deque(maxlen=_RECENT_WRITES)
        self._store: FallbackStore | None = None
        self._finalizer: weakref.finalize[[], FallbackCache] | None = None
        if self.config.path is not None:
            self._open_store(os.fspath(self.config.path))

    def _open_store(self, path: str) -> None:
        store: FallbackStore | None = None
        try:
            store = FallbackStore(path)
            rows = store.load(self._clock.time() - self.config.max_stale)
        except (OSError, sqlite3.Error) as exc:
            if store is not None:
                store.close()
            logger.warning(
                "maintainx_resilient fallback cache: cannot use %s (%s); keeping answers in "
                "memory only",
                path,
                type(exc).__name__,
            )
            return
        # Pending writes reach the file even if the cache is never closed by hand.
        self._finalizer = weakref.finalize(self, store.close)
        with self._lock:
            self._store = store
            for key, answer in rows:
                self._insert(key, answer)

    # -- bookkeeping (all called with the lock held) -----------------------------------------

    def _evicted(self, key: str) -> None:
        if self._store is not None:
            self._store.delete(key)

    def _insert(self, key: str, answer: StoredAnswer) -> bool:
        try:
            self._entries[key] = (answer, _weight(key, answer))
        except ValueError:  # larger than max_bytes on its own: not kept
            if self._entries.pop(key, None) is not None:
                self._evicted(key)
            return False
        while len(self._entries) > self.config.max_entries:
            self._entries.popitem()
        return True

    def _credential_of(self, request: httpx.Request) -> str:
        stamped = request.extensions.get(CREDENTIAL_EXTENSION)
        if isinstance(stamped, str):
            return stamped  # the key this request was sent with (set by the auth layer)
        return self._credential() if self._credential is not None else ""

    def _stale_since(self, key: str, since: int) -> bool:
        """Whether a write since generation ``since`` makes ``key`` wrong (lock held)."""
        if since == self.generation:
            return False
        if not self._writes or self._writes[0][0] > since + 1:
            return True  # more writes than remembered happened meanwhile: cannot tell
        return any(gen > since and scope.makes_stale(key) for gen, scope in self._writes)

    # -- the moments of a request (what the layers call) -------------------------------------

    def intercept(self, request: httpx.Request) -> httpx.Response | None:
        """Before sending: in fallback mode, the cached answer (or FallbackModeError);
        otherwise None (send it)."""
        if not self._fallback_mode:
            return None
        if request.method != "GET":
            raise FallbackModeError(
                "fallback mode is on: nothing but GET is answered, and this call was not "
                "sent. HINT: queue the change and send it after disable_fallback_mode().",
                method=request.method,
                path=request.url.path,
            )
        answer = self._serve(request, "fallback_mode")
        if answer is None:
            raise FallbackModeError(
                f"fallback mode is on and no cached answer younger than "
                f"{self.config.max_stale:g} s exists; nothing was sent",
                method=request.method,
                path=request.url.path,
            )
        return answer

    def after_response(
        self, request: httpx.Request, response: httpx.Response, since: int = -1
    ) -> httpx.Response:
        """After an answer: offer a good GET answer for keeping (see :func:`commit`; ``since``
        is :attr:`generation` before it was sent); replace a 5xx by a stale one if any; let a
        successful write drop what it made wrong."""
        method = request.method
        if method != "GET":
            if response.is_success and method not in SAFE_METHODS:
                self.invalidate(request)
            return response
        if response.is_success:
            if request.extensions.get(CACHEABLE_EXTENSION, True):
                response.extensions[COMMIT_EXTENSION] = FreshAnswer(self, request, response, since)
            return response
        reason = stale_reason(response)
        if reason is not None:
            stale = self._serve(request, reason)
            if stale is not None:
                return stale
        return response

    def after_error(self, request: httpx.Request, exc: BaseException) -> httpx.Response | None:
        """After an error: a stale answer to return instead, or None (re-raise the error)."""
        if request.method != "GET":
            return None
        reason = stale_reason(exc)
        return None if reason is None else self._serve(request, reason)

    def invalidate(self, request: httpx.Request) -> int:
        """Drop every entry the write ``request`` may have made wrong (in memory and in the
        file), for the credential it was sent with. Returns how many were dropped here."""
        scope = WriteScope.of(request, self._credential_of(request))
        with self._lock:
            # From here on, a GET answer sent before this write is refused at commit.
            self.generation += 1
            self._writes.append((self.generation, scope))
            keys = list(self._entries)
            if self._store is not None:
                self._store.invalidate(scope.makes_stale)
        # The scan (about 0.5 us an entry) runs without the lock: other calls keep going.
        doomed = [key for key in keys if scope.makes_stale(key)]
        dropped = 0
        with self._lock:
            for key in doomed:
                if self._entries.pop(key, None) is not None:
                    dropped += 1
            self._invalidated += dropped
        shared = self._shared
        if shared is not None:
            shared.invalidate(scope)  # the fleet's copies too (bounded; never raises)
        return dropped

    def _remember(self, request: httpx.Request, response: httpx.Response, since: int) -> None:
        try:
            body = response.content
        except httpx.ResponseNotRead:
            return  # the HTTP layer reads every body; a streamed one is not kept
        answer = StoredAnswer(
            response.status_code, _kept_headers(response.headers), body, self._clock.time()
        )
        key = cache_key(request, self._credential_of(request))
        with self._lock:
            if since != self.generation and since >= 0 and self._stale_since(key, since):
                return  # a write happened while it was in flight: it may predate the write
            if self._insert(key, answer):
                self._stored += 1
                if self._store is not None:
                    self._store.put(key, answer)
                if self._shared is not None:
                    # Queued with the lock held: an invalidation after this finds it queued
                    # or written, and one before it was seen by _stale_since above.
                    self._shared.put(key, answer)

    def _from_shared(self, key: str, now: float) -> StoredAnswer | None:
        """The fleet's answer for ``key`` when this process has none young enough; kept here
        too, unless a write meanwhile may have made it wrong."""
        shared = self._shared
        if shared is None:
            return None
        with self._lock:
            slot = self._entries.get(key)
            if slot is not None and now - slot[0].stored_at <= self.config.max_stale:
                return None  # ours will do
            since = self.generation
        answer = shared.get(key)  # outside the lock: I/O (bounded by the fleet's timeout)
        if answer is None or now - answer.stored_at > self.config.max_stale:
            return None
        with self._lock:
            if self._stale_since(key, since):
                return None
            self._insert(key, answer)
            self._from_fleet += 1
        return answer

    def _serve(self, request: httpx.Request, reason: FallbackReason) -> httpx.Response | None:
        key = cache_key(request, self._credential_of(request))
        now = self._clock.time()
        fleet = self._from_shared(key, now)
        with self._lock:
            slot = self._entries.get(key)
            answer = slot[0] if slot is not None else None
            if fleet is not None and (answer is None or answer.stored_at < fleet.stored_at):
                answer = fleet  # evicted here meanwhile, or a newer one: serve the fleet's
            age = 0.0 if answer is None else max(0.0, now - answer.stored_at)
            if answer is None or age > self.config.max_stale:
                self._misses += 1
                if answer is not None:
                    self._expired += 1
                return None
            self._hits += 1
            if reason == "fallback_mode":
                self._mode_served += 1
            else:
                self._stale_served += 1
        kept = dict(answer.headers)
        meta = ResponseMeta(
            stale=True,
            age=age,
            reason=reason,
            request_id=kept.get("x-request-id"),
            status_code=answer.status,
            headers=kept,
        )
        if self._events is not None:
            self._events.emit(
                FallbackServed(
                    at=self._clock.monotonic(),
                    wall=now,
                    method=request.method,
                    route=route_of(request),
                    age=age,
                    reason=reason,
                )
            )
        return httpx.Response(
            answer.status,
            headers=list(answer.headers),
            content=answer.body,
            request=request,
            extensions={META_EXTENSION: meta},
        )

    # -- fallback mode, diagnostics, housekeeping --------------------------------------------

    @property
    def fallback_mode(self) -> bool:
        """True while every GET is answered from the cache and nothing is sent."""
        return self._fallback_mode

    def enable_fallback_mode(self) -> None:
        """Answer GETs from the cache only; refuse everything else. Nothing is sent."""
        self._fallback_mode = True

    def disable_fallback_mode(self) -> None:
        """Back to normal: send, and use the cache only when MaintainX fails."""
        self._fallback_mode = False

    def stats(self) -> CacheStats:
        with self._lock:
            hits, misses = self._hits, self._misses
            return CacheStats(
                hits=hits,
                misses=misses,
                expired=self._expired,
                stale_served=self._stale_served,
                fallback_mode_served=self._mode_served,
                stored=self._stored,
                invalidated=self._invalidated,
                from_fleet=self._from_fleet,
                entries=len(self._entries),
                bytes=int(self._entries.currsize),
                hit_rate=hits / (hits + misses) if hits + misses else 0.0,
                fallback_mode=self._fallback_mode,
            )

    def clear(self) -> None:
        """Forget every answer (in memory, on disk and, in fleet mode, the fleet's shared
        copies). Counters are kept."""
        with self._lock:
            self._entries = _LRU(self.config.max_bytes, self._evicted)
            if self._store is not None:
                self._store.clear()
        if self._shared is not None:
            self._shared.clear()

    def flush(self) -> None:
        """Wait until every remembered answer is written to the SQLite file (if any) and to
        the fleet's shared cache (fleet mode; a few seconds at most)."""
        if self._store is not None:
            self._store.flush()
        if self._shared is not None:
            self._shared.flush()

    def close(self) -> None:
        """Write what is pending and close the SQLite file (and stop sharing answers with
        the fleet). The cache keeps working in memory."""
        self._store = None
        shared, self._shared = self._shared, None
        if shared is not None:
            shared.close()
        if self._finalizer is not None:
            self._finalizer()  # runs store.close() once, and forgets it

    def __repr__(self) -> str:
        s = self.stats()
        return (
            f"FallbackCache(entries={s.entries}, bytes={s.bytes}, "
            f"fallback_mode={s.fallback_mode}, path={self.config.path!r})"
        )


# ---- the layers ----------------------------------------------------------------------------


class FallbackLayer(Layer[FallbackCache]):
    """Serves stale GET answers from its cache (``policy``) when the layers below fail."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        cache = self.policy
        local = cache.intercept(request)
        if local is not None:
            return local
        since = cache.generation
        try:
            response = self.inner.handle_request(request)
        except Exception as exc:
            stale = cache.after_error(request, exc)
            if stale is None:
                raise
            return stale
        return cache.after_response(request, response, since)

    def close(self) -> None:
        try:
            self.inner.close()
        finally:
            self.policy.flush()


class AsyncFallbackLayer(AsyncLayer[FallbackCache]):
    """The async twin of :class:`FallbackLayer`."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        cache = self.policy
        local = cache.intercept(request)
        if local is not None:
            return local
        since = cache.generation
        try:
            response = await self.inner.handle_async_request(request)
        except Exception as exc:
            stale = cache.after_error(request, exc)
            if stale is None:
                raise
            return stale
        return cache.after_response(request, response, since)
