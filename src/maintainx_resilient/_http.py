"""The innermost layer: send over httpx, read the whole body, map httpx errors to ours.

Reading the body here means every network failure, including one in the middle of a body,
surfaces inside the pipeline, where the retry and breaker layers can see it, and always as
one of the library's own exceptions (:class:`~maintainx_resilient.ConnectionError`,
:class:`~maintainx_resilient.TimeoutError`). ``sent`` / ``phase`` on those errors tell the
retry layer whether a POST could have reached the server.
"""

from __future__ import annotations

import httpx

from ._exceptions import ConnectionError, MaintainXError, TimeoutError, TransportError
from ._operation import ROUTE_EXTENSION

__all__ = ["AsyncHTTPLayer", "HTTPLayer", "map_transport_error"]

_TIMEOUT_PHASES: tuple[tuple[type[httpx.TimeoutException], str], ...] = (
    (httpx.ConnectTimeout, "connect"),
    (httpx.PoolTimeout, "pool"),
    (httpx.WriteTimeout, "write"),
    (httpx.ReadTimeout, "read"),
)


def route_of(request: httpx.Request) -> str:
    route = request.extensions.get(ROUTE_EXTENSION)
    return route if isinstance(route, str) else request.url.path


def map_transport_error(exc: httpx.TransportError, request: httpx.Request) -> MaintainXError:
    """The library's error for an httpx transport failure (never includes headers)."""
    method, path = request.method, request.url.path
    if isinstance(exc, httpx.TimeoutException):
        phase = next((p for cls, p in _TIMEOUT_PHASES if isinstance(exc, cls)), "read")
        return TimeoutError(f"{phase} timeout", method=method, path=path, phase=phase)
    text = type(exc).__name__ + (f": {exc}" if str(exc) else "")
    if isinstance(exc, httpx.ConnectError):
        return ConnectionError(f"could not connect ({text})", method=method, path=path, sent=False)
    if isinstance(exc, httpx.UnsupportedProtocol):
        return TransportError(f"unsupported URL ({text})", method=method, path=path)
    # ReadError, WriteError, RemoteProtocolError, ProxyError...: the request may have left.
    return ConnectionError(f"connection failed ({text})", method=method, path=path, sent=True)


class HTTPLayer(httpx.BaseTransport):
    """Sends with the wrapped transport and returns a fully read response."""

    def __init__(self, transport: httpx.BaseTransport) -> None:
        self.transport = transport

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        try:
            response = self.transport.handle_request(request)
            try:
                response.read()
            finally:
                response.close()
        except httpx.TransportError as exc:
            raise map_transport_error(exc, request) from exc
        return response

    def close(self) -> None:
        self.transport.close()


class AsyncHTTPLayer(httpx.AsyncBaseTransport):
    """The async twin of :class:`HTTPLayer`."""

    def __init__(self, transport: httpx.AsyncBaseTransport) -> None:
        self.transport = transport

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            response = await self.transport.handle_async_request(request)
            try:
                await response.aread()
            finally:
                await response.aclose()
        except httpx.TransportError as exc:
            raise map_transport_error(exc, request) from exc
        return response

    async def aclose(self) -> None:
        await self.transport.aclose()
