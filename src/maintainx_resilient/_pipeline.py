"""The order of the layers, in one place.

A request goes through these layers, outermost first, each an httpx transport wrapping the
next::

    auth  ->  HTTP (send, read the body, map httpx errors to ours)

The resilience policies (fallback cache, retry, circuit breaker, throttle) slot in above
auth, in that order, outermost first.
"""

from __future__ import annotations

import httpx

from ._config import ClientConfig
from ._http import AsyncHTTPLayer, HTTPLayer
from .policies.auth import AsyncAuthLayer, AuthLayer

__all__ = ["build_async_pipeline", "build_sync_pipeline"]


def build_sync_pipeline(
    config: ClientConfig, transport: httpx.BaseTransport
) -> httpx.BaseTransport:
    layer: httpx.BaseTransport = HTTPLayer(transport)
    return AuthLayer(layer, config.api_key.reveal)


def build_async_pipeline(
    config: ClientConfig, transport: httpx.AsyncBaseTransport
) -> httpx.AsyncBaseTransport:
    layer: httpx.AsyncBaseTransport = AsyncHTTPLayer(transport)
    return AsyncAuthLayer(layer, config.api_key.reveal)
