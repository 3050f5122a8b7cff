"""The order of the layers, in one place.

Every request goes down this stack, outermost first; each layer is an httpx transport
wrapping the next, with a pure policy core beside it::

    deadline         start the call's clock: connect + reads + retries + waits, all within it
    fallback cache   serve the last good GET (labelled stale) when all below fails, to the
                     same key and organization only; fallback mode answers from here
    retry            tenacity loop: connection errors, timeouts, 408/5xx (idempotent only),
                     429 (any method: refused before processing)
    circuit breaker  fail fast while MaintainX is down; exactly one probe in half-open
    auth             Bearer key (and its credential id on the request); on 401 rotate once
                     (single flight) and resend
    throttle         wait for a rate-limit slot; learn from X-Rate-Limit-*; back off on 429
    attempt          one span, one duration sample and one event per attempt
    HTTP             send, read the whole body (within the deadline and the size cap),
                     map httpx errors to ours

The sync and async clients build the same stack from the same table; only the classes
differ. A policy set to ``None`` is left out.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx

from ._body import DEFAULT_MAX_RESPONSE_BYTES
from ._clock import SYSTEM_CLOCK, Clock
from ._config import (
    DEFAULT_BREAKER,
    DEFAULT_FALLBACK,
    DEFAULT_RETRY,
    DEFAULT_THROTTLE,
    ClientConfig,
    ClientOptions,
)
from ._deadline import AsyncDeadlineLayer, DeadlineLayer, DeadlinePolicy
from ._events import EventBus
from ._exceptions import ConfigurationError
from ._http import AsyncHTTPLayer, HTTPLayer
from .fleet._config import resolve_fleet
from .policies.auth import AsyncAuthLayer, AuthLayer, KeyRing
from .policies.breaker import AsyncBreakerLayer, BreakerLayer, Breakers
from .policies.fallback import AsyncFallbackLayer, FallbackCache, FallbackLayer
from .policies.retry import AsyncRetryLayer, RetryConfig, RetryLayer, RetryPolicy
from .policies.throttle import AsyncThrottleLayer, Throttle, ThrottleLayer
from .telemetry import AsyncAttemptLayer, AttemptLayer, Observer
from .telemetry._logging import log_from_env

if TYPE_CHECKING:
    from .fleet._fleet import Fleet

__all__ = ["LAYERS", "PROBE_LAYERS", "Policies", "build_async_pipeline", "build_sync_pipeline"]


@dataclass
class Policies:
    """The live policy objects of one client (shared by all its calls)."""

    clock: Clock
    events: EventBus
    keys: KeyRing
    observer: Observer
    deadline: DeadlinePolicy | None = None
    fallback: FallbackCache | None = None
    retry: RetryPolicy | None = None
    breakers: Breakers | None = None
    throttle: Throttle | None = None
    #: The fleet this client joined (``fleet=``), or None.
    fleet: Fleet | None = None
    #: The HTTP layer's cap on one answer's body (bytes, decoded).
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES

    @classmethod
    def build(cls, config: ClientConfig, options: ClientOptions) -> Policies:
        """The policies of a client's settings (each on by default, None: switched off)."""
        log_from_env()  # MAINTAINX_LOG set: the library's one stderr handler, at that level
        clock = options.get("clock", SYSTEM_CLOCK)
        events = EventBus()
        for hook in options.get("hooks", ()):
            events.subscribe(hook)
        keys = KeyRing(config.api_key, clock=clock, events=events)
        fallback = options.get("fallback", DEFAULT_FALLBACK)
        retry = _retry_config(options)
        breaker = options.get("breaker", DEFAULT_BREAKER)
        throttle = options.get("throttle", DEFAULT_THROTTLE)
        fleet_config = resolve_fleet(options.get("fleet", "env"), os.environ)
        fleet = None
        if fleet_config is not None:  # Redis's code is loaded only by clients in a fleet
            from .fleet._fleet import Fleet

            fleet = Fleet(fleet_config, clock=clock, events=events)
        observer = Observer(
            clock=clock,
            events=events,
            tracer_provider=options.get("tracer_provider"),
            meter_provider=options.get("meter_provider"),
        )
        return cls(
            clock=clock,
            events=events,
            keys=keys,
            observer=observer,
            deadline=DeadlinePolicy(config.deadline, clock=clock) if config.deadline else None,
            fallback=FallbackCache(
                fallback,
                clock=clock,
                events=events,
                credential=keys.credential,
                shared=fleet.fallback_store(fallback.max_stale) if fleet else None,
            )
            if fallback
            else None,
            retry=RetryPolicy(retry, clock=clock, events=events) if retry else None,
            breakers=Breakers(
                breaker,
                clock=clock,
                events=events,
                store=fleet.breaker_store if fleet else None,
            )
            if breaker
            else None,
            throttle=Throttle(
                throttle,
                clock=clock,
                events=events,
                store=fleet.throttle_store if fleet else None,
            )
            if throttle
            else None,
            fleet=fleet,
            max_response_bytes=config.max_response_bytes,
        )

    def close(self) -> None:
        """Flush the fallback cache's file (if any) and forget the keys' labels."""
        if self.fallback is not None:
            self.fallback.close()
        if self.fleet is not None:
            self.fleet.close()
        self.keys.close()


#: (policy attribute, sync layer, async layer), outermost first.
LAYERS: tuple[tuple[str, type[Any], type[Any]], ...] = (
    ("deadline", DeadlineLayer, AsyncDeadlineLayer),
    ("fallback", FallbackLayer, AsyncFallbackLayer),
    ("retry", RetryLayer, AsyncRetryLayer),
    ("breakers", BreakerLayer, AsyncBreakerLayer),
    ("keys", AuthLayer, AsyncAuthLayer),
    ("throttle", ThrottleLayer, AsyncThrottleLayer),
    ("observer", AttemptLayer, AsyncAttemptLayer),
)


def _retry_config(options: ClientOptions) -> RetryConfig | None:
    """``retry=``, with ``max_retries=`` (retries after the first attempt) applied to it."""
    retry = options.get("retry", DEFAULT_RETRY)
    retries = options.get("max_retries")
    if retries is None:
        return retry
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise ConfigurationError(
            f"max_retries must be a whole number >= 0 (0: no retry), got {retries!r}"
        )
    if retry is None:
        raise ConfigurationError("pass max_retries or retry=None, not both")
    return dataclasses.replace(retry, max_attempts=retries + 1)


#: The diagnostic probes' stack: auth and HTTP only. A probe must tell the truth about
#: MaintainX, not what the fallback cache, a retry, the breaker or the throttle would make of it.
PROBE_LAYERS = frozenset({"keys"})


def _stack(policies: Policies, bottom: Any, index: int, layers: frozenset[str] | None) -> Any:
    layer = bottom
    for row in reversed(LAYERS):
        policy = getattr(policies, row[0])
        if policy is not None and (layers is None or row[0] in layers):
            layer = row[index](layer, policy)
    return layer


def build_sync_pipeline(
    policies: Policies, transport: httpx.BaseTransport, *, layers: frozenset[str] | None = None
) -> httpx.BaseTransport:
    """The stack over ``transport``: every layer of :data:`LAYERS` whose policy is on (or
    only those named in ``layers``), the HTTP layer at the bottom."""
    bottom = HTTPLayer(transport, max_response_bytes=policies.max_response_bytes)
    stack: httpx.BaseTransport = _stack(policies, bottom, 1, layers)
    return stack


def build_async_pipeline(
    policies: Policies,
    transport: httpx.AsyncBaseTransport,
    *,
    layers: frozenset[str] | None = None,
) -> httpx.AsyncBaseTransport:
    """The async twin of :func:`build_sync_pipeline`."""
    bottom = AsyncHTTPLayer(transport, max_response_bytes=policies.max_response_bytes)
    stack: httpx.AsyncBaseTransport = _stack(policies, bottom, 2, layers)
    return stack
