"""The circuit breaker: stop sending to a MaintainX endpoint that keeps failing.

States, per scope (one scope per base URL and first path segment, e.g.
``https://api.getmaintainx.com/v1/workorders``, or one per base URL)::

    closed --(fail_max consecutive failures)--> open --(reset_timeout elapsed)--> half-open
    half-open --(the one probe succeeds)--> closed
    half-open --(the one probe fails)--> open
    any --isolate()--> isolated (held open by hand) --close()--> closed

Failures are 5xx answers and our :class:`~maintainx_resilient.TimeoutError` and
:class:`~maintainx_resilient.ConnectionError`. Any other answer (2xx, 3xx, 4xx including 429)
shows the server is up and counts as a success; errors that say nothing about the server
(a local throttle refusal, a cancelled task) count as neither.

The decisions (:meth:`Breakers.admit`, :meth:`Breakers.record`) are pure functions of the
breaker's state and ``now`` from the injected clock. The state itself lives in pybreaker
``CircuitBreaker`` objects, one per scope, so pybreaker storages (``CircuitMemoryStorage``,
``CircuitRedisStorage``) and ``CircuitBreakerListener`` objects keep working. They are driven
only through their public methods (``open``, ``half_open``, ``close``, ``state``,
``fail_counter``) and the storage we hand them, never through ``CircuitBreaker.call()``:
``call()`` holds a lock around the guarded function (serializing every request) and does not
await coroutines. Our own short per-scope lock covers a decision, never a request, and is
never held across an ``await``. It is what guarantees exactly one probe in half-open, however
many threads and tasks race for it.

Where the state lives beyond this process is a :class:`BreakerStore` that :class:`Breakers`
takes: :class:`LocalBreakerStore` (the default) lets each scope's breaker decide alone; fleet
mode's ``RedisBreakerStore`` (``maintainx_resilient.fleet``) decides on state every process
of the fleet shares, and the local breakers follow it (and take over while Redis is out).
"""

from __future__ import annotations

import functools
import math
import re
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

import httpx
import pybreaker

from .._clock import SYSTEM_CLOCK, Clock
from .._deprecated import renamed
from .._events import BreakerStateChanged, Event, EventBus
from .._exceptions import (
    CircuitOpenError,
    ConfigurationError,
    ConnectionError,
    DecodeError,
    ServerError,
    TimeoutError,
)
from .._extensions import BASE_EXTENSION, ROUTE_EXTENSION
from .._http import base_parts
from .._layer import AsyncLayer, Layer

__all__ = [
    "DEFAULT_FAIL_MAX",
    "DEFAULT_RESET_TIMEOUT",
    "DEFAULT_SCOPE",
    "Admission",
    "AsyncBreakerLayer",
    "BreakerConfig",
    "BreakerLayer",
    "BreakerOutcome",
    "BreakerSnapshot",
    "BreakerState",
    "BreakerStore",
    "Breakers",
    "LocalBreakerStore",
    "ScopeMode",
    "outcome_of_error",
    "outcome_of_response",
    "scope_of",
]

#: Five consecutive failed attempts. The retry layer above makes up to three attempts per
#: call, so one unlucky call (or a single 502 blip) does not trip the breaker, while two calls
#: that fail all the way do. Polly and pybreaker use the same default.
DEFAULT_FAIL_MAX = 5
#: MaintainX incidents last minutes, not seconds. One probe every 30 s per scope costs far
#: less than the 100 requests / 60 s per-user rate limit and notices recovery within 30 s.
DEFAULT_RESET_TIMEOUT = 30.0
ScopeMode = Literal["endpoint", "base_url"]
#: One breaker per endpoint family (``/workorders``, ``/assets``...): an outage of one family
#: does not stop calls to the others.
DEFAULT_SCOPE: ScopeMode = "endpoint"
BreakerState = Literal["closed", "open", "half-open", "isolated"]
#: What one attempt says about the server: ``neutral`` says nothing (not sent, cancelled).
BreakerOutcome = Literal["success", "failure", "neutral"]
StorageFactory = Callable[[str], pybreaker.CircuitBreakerStorage]

_VERSION_SEGMENT = re.compile(r"v\d+")


def _memory_storage(scope: str) -> pybreaker.CircuitBreakerStorage:
    return pybreaker.CircuitMemoryStorage(pybreaker.STATE_CLOSED)


@dataclass(frozen=True)
class BreakerConfig:
    """Circuit breaker settings (``MaintainXClient(breaker=BreakerConfig(...))``; None disables).

    ``fail_max`` consecutive failures open the breaker; after ``reset_timeout`` seconds one
    probe is let through. ``scope`` is ``"endpoint"`` (one breaker per base URL and first
    path segment) or ``"base_url"`` (one for the whole API). ``storage`` builds the pybreaker
    storage for a scope (default: in memory; pass e.g.
    ``lambda scope: pybreaker.CircuitRedisStorage("closed", redis, namespace=scope)`` to share
    state across processes). ``listeners`` are pybreaker listeners added to every breaker.
    """

    fail_max: int = DEFAULT_FAIL_MAX
    reset_timeout: float = DEFAULT_RESET_TIMEOUT
    scope: ScopeMode = DEFAULT_SCOPE
    storage: StorageFactory = field(default=_memory_storage, repr=False)
    listeners: tuple[pybreaker.CircuitBreakerListener, ...] = ()

    def __post_init__(self) -> None:
        if isinstance(self.fail_max, bool) or not isinstance(self.fail_max, int):
            raise ConfigurationError(
                f"BreakerConfig.fail_max must be an int >= 1 (consecutive failures before the "
                f"breaker opens), got {self.fail_max!r}"
            )
        if self.fail_max < 1:
            raise ConfigurationError(
                f"BreakerConfig.fail_max must be >= 1, got {self.fail_max}. "
                "HINT: to turn the breaker off pass breaker=None to the client."
            )
        timeout = self.reset_timeout
        if (
            isinstance(timeout, bool)
            or not isinstance(timeout, (int, float))
            or not math.isfinite(timeout)
            or timeout <= 0
        ):
            raise ConfigurationError(
                f"BreakerConfig.reset_timeout must be a positive number of seconds (how long "
                f"the breaker stays open before one probe), got {timeout!r}"
            )
        if self.scope not in ("endpoint", "base_url"):
            raise ConfigurationError(
                f"BreakerConfig.scope must be 'endpoint' (one breaker per endpoint family, "
                f"e.g. /workorders) or 'base_url' (one for the whole API), got {self.scope!r}"
            )
        if not callable(self.storage):
            raise ConfigurationError(
                "BreakerConfig.storage must be a function scope -> pybreaker storage"
            )
        object.__setattr__(self, "listeners", tuple(self.listeners))


@dataclass(frozen=True, slots=True)
class Admission:
    """The breaker's answer to "may this attempt be sent now?".

    ``probe`` is True for the single attempt let through in half-open; its outcome decides
    whether the breaker closes or opens again. When refused, ``retry_after`` is the number of
    seconds until the breaker lets a probe through (``inf`` while isolated by hand).
    """

    scope: str
    allowed: bool
    state: BreakerState
    probe: bool = False
    retry_after: float = 0.0


@dataclass(frozen=True, slots=True)
class BreakerSnapshot:
    """One breaker, for diagnostics. ``opened_at`` is Unix time (None unless open)."""

    scope: str
    state: BreakerState
    failures: int
    opened_at: float | None
    retry_after: float


# ---- outcome classification ---------------------------------------------------------------


def outcome_of_response(response: httpx.Response) -> BreakerOutcome:
    """5xx is a failure; any other answer shows the server is up (4xx and 429 included)."""
    return "failure" if response.status_code >= 500 else "success"


def outcome_of_error(exc: BaseException) -> BreakerOutcome:
    """Timeouts, connection failures, 5xx errors and bodies that cannot be decoded (garbage
    from the server or a proxy, like an HTML 502 page) are failures; other errors, a body
    over the size cap included (a limit of this client's), are neutral."""
    if isinstance(exc, (TimeoutError, ConnectionError, ServerError, DecodeError)):
        return "failure"
    return "neutral"


# ---- the per-scope state machine -----------------------------------------------------------


def _state_name(state: pybreaker.CircuitBreakerState | None) -> str:
    return state.name if state is not None else pybreaker.STATE_CLOSED


class _Listener(pybreaker.CircuitBreakerListener):
    """Turns pybreaker state changes into queued :class:`BreakerStateChanged` events.

    pybreaker calls listeners inside its own lock, and ours is held too; the events are
    queued here and emitted by the scope once every lock is released.
    """

    def __init__(self, owner: _ScopeBreaker) -> None:
        self._owner = owner

    def state_change(
        self,
        cb: pybreaker.CircuitBreaker,
        old_state: pybreaker.CircuitBreakerState | None,
        new_state: pybreaker.CircuitBreakerState,
    ) -> None:
        self._owner._on_state_change(_state_name(new_state))


class _ScopeBreaker:
    """The decision core for one scope: a pybreaker ``CircuitBreaker`` plus what it lacks
    (a monotonic ``opened_at`` on the injected clock, the probe in flight, isolation)."""

    def __init__(
        self,
        scope: str,
        config: BreakerConfig,
        clock: Clock,
        events: EventBus | None,
        *,
        isolated: bool = False,
    ) -> None:
        self.scope = scope
        self._config = config
        self._clock = clock
        self._events = events
        self._lock = threading.Lock()
        self._pending: list[Event] = []
        self.storage = config.storage(scope)
        self.cb = pybreaker.CircuitBreaker(
            fail_max=config.fail_max,
            reset_timeout=config.reset_timeout,
            state_storage=self.storage,
            name=scope,
        )
        self._isolated = False
        #: The answer of the closed state (most answers): one immutable object, reused.
        self._closed = Admission(scope, True, "closed")
        self._label: BreakerState = self._label_of(self.cb.current_state)
        #: When this process saw the breaker open, on the injected monotonic clock.
        self._opened_at: float | None = None
        #: When the probe in flight was let through (None: no probe in flight here).
        self._probe_started: float | None = None
        self.cb.add_listener(_Listener(self))
        self.cb.add_listeners(*config.listeners)
        if isolated:
            self.isolate()

    @property
    def config(self) -> BreakerConfig:
        return self._config

    # -- state -------------------------------------------------------------------------------

    def _label_of(self, pybreaker_state: str) -> BreakerState:
        if self._isolated:
            return "isolated"
        if pybreaker_state == pybreaker.STATE_OPEN:
            return "open"
        if pybreaker_state == pybreaker.STATE_HALF_OPEN:
            return "half-open"
        return "closed"

    def _on_state_change(self, pybreaker_state: str) -> None:
        new = self._label_of(pybreaker_state)
        old, self._label = self._label, new
        if old != new and self._events is not None:
            self._pending.append(
                BreakerStateChanged(
                    at=self._clock.monotonic(),
                    wall=self._clock.time(),
                    scope=self.scope,
                    old=old,
                    new=new,
                )
            )

    def _current(self, now: float) -> str:
        """pybreaker's state, synced from storage (another process may have changed it)."""
        state = _state_name(self.cb.state)
        if state == pybreaker.STATE_OPEN:
            if self._opened_at is None:
                # Opened elsewhere (shared storage): its age comes from the stored wall time.
                self._opened_at = now - self._wall_age(self.storage.opened_at)
        else:
            self._opened_at = None
        if state != pybreaker.STATE_HALF_OPEN:
            self._probe_started = None
        return state

    def _wall_age(self, opened_at: datetime | None) -> float:
        if opened_at is None:
            return 0.0
        return max(0.0, self._clock.time() - opened_at.timestamp())

    def _open(self, now: float) -> None:
        self._opened_at = now
        self._probe_started = None
        self.cb.open()

    def _flush_events(self) -> None:
        if not self._pending:
            return
        with self._lock:
            pending, self._pending = self._pending, []
        if self._events is not None:
            for event in pending:
                self._events.emit(event)

    # -- decisions ---------------------------------------------------------------------------

    def admit(self, now: float) -> Admission:
        timeout = self._config.reset_timeout
        with self._lock:
            if self._isolated:
                admission = Admission(self.scope, False, "isolated", retry_after=math.inf)
            else:
                state = self._current(now)
                if state == pybreaker.STATE_CLOSED:
                    admission = self._closed
                elif state == pybreaker.STATE_OPEN:
                    assert self._opened_at is not None
                    elapsed = now - self._opened_at
                    if elapsed < timeout:
                        admission = Admission(
                            self.scope, False, "open", retry_after=timeout - elapsed
                        )
                    else:
                        self._opened_at = None
                        self.cb.half_open()
                        self._probe_started = now
                        admission = Admission(self.scope, True, "half-open", probe=True)
                else:
                    started = self._probe_started
                    if started is not None and now - started < timeout:
                        # A probe is in flight: everyone else waits for its verdict.
                        admission = Admission(
                            self.scope, False, "half-open", retry_after=timeout - (now - started)
                        )
                    else:
                        # No probe in flight here (released, lost for a whole reset_timeout,
                        # or half-opened by another process): this attempt is the probe.
                        self._probe_started = now
                        admission = Admission(self.scope, True, "half-open", probe=True)
        self._flush_events()
        return admission

    def record(self, outcome: BreakerOutcome, now: float, *, probe: bool) -> None:
        with self._lock:
            if not self._isolated:
                state = self._current(now)
                if state == pybreaker.STATE_CLOSED:
                    self._record_closed(outcome, now)
                elif state == pybreaker.STATE_HALF_OPEN and probe:
                    self._probe_started = None
                    if outcome == "success":
                        self.cb.close()
                    elif outcome == "failure":
                        self._open(now)
                # Attempts admitted before the breaker opened say nothing new: ignored.
        self._flush_events()

    def _record_closed(self, outcome: BreakerOutcome, now: float) -> None:
        if outcome == "success":
            if self.cb.fail_counter:
                self.storage.reset_counter()
        elif outcome == "failure":
            self.storage.increment_counter()
            if self.cb.fail_counter >= self._config.fail_max:
                self._open(now)

    # -- by hand -----------------------------------------------------------------------------

    def isolate(self) -> None:
        with self._lock:
            self._isolated = True
            self._probe_started = None
            self._opened_at = self._clock.monotonic()
            self.cb.open()
        self._flush_events()

    def close(self) -> None:
        with self._lock:
            was_isolated, self._isolated = self._isolated, False
            self._probe_started = None
            self._opened_at = None
            self.storage.reset_counter()
            if was_isolated or self.cb.current_state != pybreaker.STATE_CLOSED:
                self.cb.close()
        self._flush_events()

    def follow(
        self, label: BreakerState, *, opened_at: float | None, probe_started: float | None
    ) -> None:
        """Take the state a shared store decided (fleet mode): this breaker mirrors it, so
        events and pybreaker listeners fire once per transition this process sees, and while
        the store is out this breaker carries on from the last shared state. ``opened_at``
        and ``probe_started`` are on the injected monotonic clock."""
        with self._lock:
            if self._label_of(_state_name(self.cb.state)) != label:
                self._isolated = label == "isolated"
                if label == "closed":
                    self.cb.close()
                elif label == "half-open":
                    self.cb.half_open()
                else:
                    self.cb.open()
            self._opened_at = opened_at if label in ("open", "isolated") else None
            self._probe_started = probe_started if label == "half-open" else None
        self._flush_events()

    def snapshot(self, now: float) -> BreakerSnapshot:
        timeout = self._config.reset_timeout
        with self._lock:
            failures = self.cb.fail_counter
            if self._isolated:
                since = self._opened_at if self._opened_at is not None else now
                wall = self._clock.time() - (now - since)
                return BreakerSnapshot(self.scope, "isolated", failures, wall, math.inf)
            state = self._current(now)
            retry_after = 0.0
            opened_at: float | None = None
            if state == pybreaker.STATE_OPEN and self._opened_at is not None:
                retry_after = max(0.0, timeout - (now - self._opened_at))
                opened_at = self._clock.time() - (now - self._opened_at)
            elif state == pybreaker.STATE_HALF_OPEN and self._probe_started is not None:
                retry_after = max(0.0, timeout - (now - self._probe_started))
            label = self._label_of(state)
        self._flush_events()
        return BreakerSnapshot(self.scope, label, failures, opened_at, retry_after)


# ---- where the state lives -----------------------------------------------------------------


class BreakerStore(Protocol):
    """Where the breakers decide: each method gets the local breaker(s) of the scope(s) it
    acts on (``now`` on the injected monotonic clock). A shared store decides on the state
    it shares, makes the local breakers ``follow`` it, and falls back on
    them while it cannot reach that state."""

    def admit(self, breaker: _ScopeBreaker, now: float) -> Admission: ...

    def record(
        self, breaker: _ScopeBreaker, outcome: BreakerOutcome, now: float, *, probe: bool
    ) -> None: ...

    def isolate(self, breakers: Sequence[_ScopeBreaker], *, every_scope: bool) -> None: ...

    def close(self, breakers: Sequence[_ScopeBreaker], *, every_scope: bool) -> None: ...

    def scopes(self) -> Iterable[str]:
        """Scopes the store holds state for (beyond those this process has used)."""
        ...

    def snapshots(
        self, breakers: Sequence[_ScopeBreaker], now: float
    ) -> dict[str, BreakerSnapshot]: ...


class LocalBreakerStore:
    """Each scope's breaker decides alone, in this process (the default)."""

    def admit(self, breaker: _ScopeBreaker, now: float) -> Admission:
        return breaker.admit(now)

    def record(
        self, breaker: _ScopeBreaker, outcome: BreakerOutcome, now: float, *, probe: bool
    ) -> None:
        breaker.record(outcome, now, probe=probe)

    def isolate(self, breakers: Sequence[_ScopeBreaker], *, every_scope: bool) -> None:
        for breaker in breakers:
            breaker.isolate()

    def close(self, breakers: Sequence[_ScopeBreaker], *, every_scope: bool) -> None:
        for breaker in breakers:
            breaker.close()

    def scopes(self) -> Iterable[str]:
        return ()

    def snapshots(
        self, breakers: Sequence[_ScopeBreaker], now: float
    ) -> dict[str, BreakerSnapshot]:
        return {b.scope: b.snapshot(now) for b in breakers}

    def __repr__(self) -> str:
        return "LocalBreakerStore()"


# ---- the registry --------------------------------------------------------------------------


def scope_of(request: httpx.Request, mode: ScopeMode) -> str:
    """The breaker scope of a request: base URL (plus first route segment for ``endpoint``).

    The base URL is the request URL minus the operation's route (``maintainx_route``); for a
    request without one, the base ends at a version segment such as ``/v1`` if there is one.
    """
    route = request.extensions.get(ROUTE_EXTENSION)
    base = request.extensions.get(BASE_EXTENSION)
    if isinstance(route, str) and isinstance(base, str):
        # The usual request: the client's base URL plus the operation's path, which has as
        # many segments as its route (ids are never empty and their "/" is quoted).
        segments = _segments(route)
        return _based_scope(base, segments[0] if segments else "", mode)
    return _parsed_scope(request, mode)


@functools.lru_cache(maxsize=256)
def _based_scope(base: str, first: str, mode: ScopeMode) -> str:
    """:func:`scope_of` of a request made of the base URL ``base`` and a route whose first
    segment is ``first``."""
    origin, segments = base_parts(base)
    return _joined(origin, segments, first, mode)


def _parsed_scope(request: httpx.Request, mode: ScopeMode) -> str:
    """:func:`scope_of` of a request the client did not build: from its URL's segments."""
    url = request.url
    origin = f"{url.scheme}://{url.netloc.decode('ascii')}"
    segments = [s for s in url.path.split("/") if s]
    route = request.extensions.get(ROUTE_EXTENSION)
    if isinstance(route, str):
        route_segments = _segments(route)
        cut = max(0, len(segments) - len(route_segments))
        base, first = segments[:cut], (route_segments[0] if route_segments else "")
    else:
        cut = next((i + 1 for i, s in enumerate(segments) if _VERSION_SEGMENT.fullmatch(s)), 0)
        base, rest = segments[:cut], segments[cut:]
        first = rest[0] if rest else ""
    return _joined(origin, base, first, mode)


def _joined(origin: str, base: Sequence[str], first: str, mode: ScopeMode) -> str:
    parts = [origin, *base]
    if mode == "endpoint" and first:
        parts.append(first)
    return "/".join(parts)


@functools.lru_cache(maxsize=256)
def _segments(route: str) -> tuple[str, ...]:
    """The non-empty segments of a route template (templates are few: split once each)."""
    return tuple(s for s in route.split("/") if s)


class Breakers:
    """All the circuit breakers of one client, one per scope, created on first use.

    ``admit``/``record`` are the decision core (``now`` defaults to the clock's monotonic
    time); the layers call them around each attempt. ``isolate``/``close`` act by hand on
    one scope, or on all of them when ``scope`` is None (``isolate()`` also holds open the
    scopes created later, until ``close()``). ``store`` is where they decide (default
    :class:`LocalBreakerStore`; fleet mode: the fleet's shared store).
    """

    def __init__(
        self,
        config: BreakerConfig | None = None,
        *,
        clock: Clock = SYSTEM_CLOCK,
        events: EventBus | None = None,
        store: BreakerStore | None = None,
    ) -> None:
        self.config = config or BreakerConfig()
        self._clock = clock
        self._events = events
        self.store: BreakerStore = store if store is not None else LocalBreakerStore()
        self._lock = threading.Lock()
        self._scopes: dict[str, _ScopeBreaker] = {}
        self._isolate_all = False

    def for_request(self, request: httpx.Request) -> str:
        """The scope a request belongs to."""
        return scope_of(request, self.config.scope)

    def _get(self, scope: str) -> _ScopeBreaker:
        breaker = self._scopes.get(scope)
        if breaker is not None:
            return breaker
        with self._lock:
            breaker = self._scopes.get(scope)
            if breaker is None:
                breaker = _ScopeBreaker(
                    scope, self.config, self._clock, self._events, isolated=self._isolate_all
                )
                self._scopes[scope] = breaker
        breaker._flush_events()
        return breaker

    def breaker(self, scope: str) -> pybreaker.CircuitBreaker:
        """The pybreaker ``CircuitBreaker`` holding the state of ``scope`` (read it; don't
        ``call()`` through it)."""
        return self._get(scope).cb

    def admit(self, scope: str, now: float | None = None) -> Admission:
        """May an attempt in ``scope`` be sent now? At most one probe at a time in half-open."""
        return self.store.admit(self._get(scope), self._clock.monotonic() if now is None else now)

    def record(
        self, scope: str, outcome: BreakerOutcome, now: float | None = None, *, probe: bool = False
    ) -> None:
        """Report how an admitted attempt ended (``probe`` from its :class:`Admission`)."""
        self.store.record(
            self._get(scope), outcome, self._clock.monotonic() if now is None else now, probe=probe
        )

    def _targets(
        self, scope: str | None, *, isolate_all: bool | None = None
    ) -> list[_ScopeBreaker]:
        if scope is not None:
            return [self._get(scope)]
        with self._lock:
            if isolate_all is not None:
                self._isolate_all = isolate_all  # scopes created from now on follow it
            return list(self._scopes.values())

    def isolate(self, scope: str | None = None) -> None:
        """Hold a breaker open by hand (all of them when ``scope`` is None) until ``close``."""
        targets = self._targets(scope, isolate_all=True if scope is None else None)
        self.store.isolate(targets, every_scope=scope is None)

    def close(self, scope: str | None = None) -> None:
        """Close a breaker by hand and reset its counts (all of them when ``scope`` is None)."""
        targets = self._targets(scope, isolate_all=False if scope is None else None)
        self.store.close(targets, every_scope=scope is None)

    def states(self) -> dict[str, BreakerSnapshot]:
        """A snapshot of every breaker created so far (and, in fleet mode, of every scope the
        fleet holds state for), by scope."""
        for scope in self.store.scopes():
            self._get(scope)
        return self.store.snapshots(self._targets(None), self._clock.monotonic())

    def __repr__(self) -> str:
        return f"Breakers({self.config!r}, scopes={len(self._scopes)}, store={self.store!r})"


# ---- the layers ----------------------------------------------------------------------------


def _refused(request: httpx.Request, admission: Admission) -> CircuitOpenError:
    if admission.state == "isolated":
        message = f"circuit breaker for {admission.scope} is isolated by hand; close() it"
    else:
        message = (
            f"circuit breaker for {admission.scope} is {admission.state}; "
            f"next probe in {admission.retry_after:.1f} s"
        )
    return CircuitOpenError(
        message,
        scope=admission.scope,
        retry_after=admission.retry_after,
        method=request.method,
        path=request.url.path,
    )


class _Admission:
    """What both breaker layers do around a send (the breakers are the layer's ``policy``)."""

    policy: Breakers

    def _admit(self, request: httpx.Request) -> Admission:
        breakers = self.policy
        admission = breakers.admit(breakers.for_request(request))
        if not admission.allowed:
            raise _refused(request, admission)
        return admission

    def _failed(self, admission: Admission, exc: BaseException) -> None:
        self.policy.record(admission.scope, outcome_of_error(exc), probe=admission.probe)

    def _answered(self, admission: Admission, response: httpx.Response) -> None:
        self.policy.record(admission.scope, outcome_of_response(response), probe=admission.probe)


class BreakerLayer(_Admission, Layer[Breakers]):
    """Fails fast with :class:`~maintainx_resilient.CircuitOpenError` while a breaker is open."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        admission = self._admit(request)
        try:
            response = self.inner.handle_request(request)
        except BaseException as exc:
            self._failed(admission, exc)
            raise
        self._answered(admission, response)
        return response


class AsyncBreakerLayer(_Admission, AsyncLayer[Breakers]):
    """The async twin of :class:`BreakerLayer` (no lock is held across the ``await``)."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        admission = self._admit(request)
        try:
            response = await self.inner.handle_async_request(request)
        except BaseException as exc:
            self._failed(admission, exc)
            raise
        self._answered(admission, response)
        return response


#: Renamed public names, still answered (with a DeprecationWarning).
_RENAMED = {"Outcome": "BreakerOutcome"}


def __getattr__(name: str) -> Any:
    return renamed(__name__, name, _RENAMED, globals())
