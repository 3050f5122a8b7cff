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

from dataclasses import dataclass
from typing import Any

import httpx

from ._body import DEFAULT_MAX_RESPONSE_BYTES
from ._clock import Clock
from ._deadline import AsyncDeadlineLayer, DeadlineLayer, DeadlinePolicy
from ._events import EventBus
from ._http import AsyncHTTPLayer, HTTPLayer
from .policies.auth import AsyncAuthLayer, AuthLayer, KeyRing
from .policies.breaker import AsyncBreakerLayer, BreakerLayer, Breakers
from .policies.fallback import AsyncFallbackLayer, FallbackCache, FallbackLayer
from .policies.retry import AsyncRetryLayer, RetryLayer, RetryPolicy
from .policies.throttle import AsyncThrottleLayer, Throttle, ThrottleLayer
from .telemetry import AsyncAttemptLayer, AttemptLayer, Observer

__all__ = ["LAYERS", "Policies", "build_async_pipeline", "build_sync_pipeline"]


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
    #: The HTTP layer's cap on one answer's body (bytes, decoded).
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES


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


def _stack(policies: Policies, bottom: Any, index: int) -> Any:
    layer = bottom
    for row in reversed(LAYERS):
        policy = getattr(policies, row[0])
        if policy is not None:
            layer = row[index](layer, policy)
    return layer


def build_sync_pipeline(policies: Policies, transport: httpx.BaseTransport) -> httpx.BaseTransport:
    bottom = HTTPLayer(transport, max_response_bytes=policies.max_response_bytes)
    stack: httpx.BaseTransport = _stack(policies, bottom, 1)
    return stack


def build_async_pipeline(
    policies: Policies, transport: httpx.AsyncBaseTransport
) -> httpx.AsyncBaseTransport:
    bottom = AsyncHTTPLayer(transport, max_response_bytes=policies.max_response_bytes)
    stack: httpx.AsyncBaseTransport = _stack(policies, bottom, 2)
    return stack
