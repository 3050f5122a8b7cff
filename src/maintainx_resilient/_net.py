"""Every socket wait of the default transports bounded by the current call's deadline.

httpcore reads a response (its headers included) in a loop of socket reads, each with the
phase's timeout; a server that sends one byte per second therefore never trips a timeout,
and nothing above the transport regains control until the headers are complete. The
network backends here wrap httpcore's own: before each connect, TLS handshake, read or
write they cut its timeout to what is left of :data:`~._deadline.CURRENT_DEADLINE` (set by
the HTTP layer for the call being sent), or fail at once with httpcore's timeout error when
nothing is left. httpx maps those to its own, and the HTTP layer to
:class:`~maintainx_resilient.DeadlineExceededError`.

:func:`bound_transport` fits them into the ``httpx.HTTPTransport`` /
``httpx.AsyncHTTPTransport`` the clients create when no ``transport=`` is given. A
transport passed in by the caller is left alone: the HTTP layer still checks the deadline
between body chunks, but cannot interrupt a transport that does not return.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterable
from typing import Any, TypeVar

import httpcore
import httpx

from ._deadline import CURRENT_DEADLINE
from ._exceptions import ConfigurationError

__all__ = [
    "AsyncBoundedBackend",
    "AsyncClientTransport",
    "BoundedBackend",
    "ClientTransport",
    "bound_transport",
    "network_of",
]

T = TypeVar("T")


def _bounded(timeout: float | None, error: type[httpcore.TimeoutException]) -> float | None:
    """``timeout`` cut to what is left of the current deadline; ``error`` when none is left."""
    deadline = CURRENT_DEADLINE.get()
    if deadline is None:
        return timeout
    left = deadline.left()
    if left <= 0:
        raise error("the call's deadline passed")
    return left if timeout is None else min(timeout, left)


class BoundedStream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _bounded(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _bounded(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        bounded = _bounded(timeout, httpcore.ConnectTimeout)
        return BoundedStream(self._stream.start_tls(ssl_context, server_hostname, bounded))

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class BoundedBackend(httpcore.NetworkBackend):
    def __init__(self, backend: httpcore.NetworkBackend) -> None:
        self._backend = backend

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        bounded = _bounded(timeout, httpcore.ConnectTimeout)
        stream = self._backend.connect_tcp(host, port, bounded, local_address, socket_options)
        return BoundedStream(stream)

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        bounded = _bounded(timeout, httpcore.ConnectTimeout)
        return BoundedStream(self._backend.connect_unix_socket(path, bounded, socket_options))

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


class AsyncBoundedStream(httpcore.AsyncNetworkStream):
    def __init__(self, stream: httpcore.AsyncNetworkStream) -> None:
        self._stream = stream

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self._stream.read(max_bytes, _bounded(timeout, httpcore.ReadTimeout))

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._stream.write(buffer, _bounded(timeout, httpcore.WriteTimeout))

    async def aclose(self) -> None:
        await self._stream.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        bounded = _bounded(timeout, httpcore.ConnectTimeout)
        stream = await self._stream.start_tls(ssl_context, server_hostname, bounded)
        return AsyncBoundedStream(stream)

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class AsyncBoundedBackend(httpcore.AsyncNetworkBackend):
    def __init__(self, backend: httpcore.AsyncNetworkBackend) -> None:
        self._backend = backend

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        bounded = _bounded(timeout, httpcore.ConnectTimeout)
        stream = await self._backend.connect_tcp(host, port, bounded, local_address, socket_options)
        return AsyncBoundedStream(stream)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        bounded = _bounded(timeout, httpcore.ConnectTimeout)
        stream = await self._backend.connect_unix_socket(path, bounded, socket_options)
        return AsyncBoundedStream(stream)

    async def sleep(self, seconds: float) -> None:
        await self._backend.sleep(seconds)


def bound_transport(transport: T) -> T:
    """Fit the bounded backend into an httpx default transport's connection pool.

    Returns ``transport`` itself. httpx does not let its transports take a network backend,
    so this sets the pool's; a transport without one (another httpx version, a custom
    class) is returned unchanged: the HTTP layer's own checks still apply.
    """
    pool = getattr(transport, "_pool", None)
    backend = getattr(pool, "_network_backend", None)
    if isinstance(backend, httpcore.NetworkBackend) and not isinstance(backend, BoundedBackend):
        pool._network_backend = BoundedBackend(backend)  # type: ignore[union-attr]
    elif isinstance(backend, httpcore.AsyncNetworkBackend) and not isinstance(
        backend, AsyncBoundedBackend
    ):
        pool._network_backend = AsyncBoundedBackend(backend)  # type: ignore[union-attr]
    return transport


class ClientTransport(httpx.BaseTransport):
    """The network of a client built with ``http_client=``: each request goes through the
    caller's ``httpx.Client`` (its proxies, TLS settings, mounts and event hooks), streamed
    so the HTTP layer reads the body within the cap and the deadline. The caller's client is
    the caller's to close."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self.client.send(request, stream=True, follow_redirects=False, auth=None)


class AsyncClientTransport(httpx.AsyncBaseTransport):
    """The async twin of :class:`ClientTransport`."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self.client.send(request, stream=True, follow_redirects=False, auth=None)


def network_of(transport: Any, http_client: Any, kind: type[Any]) -> Any:
    """The network below the pipeline the caller chose: ``transport=`` or ``http_client=``."""
    if http_client is None:
        return transport
    if transport is not None:
        raise ConfigurationError("pass transport= or http_client=, not both")
    if not isinstance(http_client, kind):
        raise ConfigurationError(
            f"http_client must be an {kind.__module__}.{kind.__name__} for this client, "
            f"got {type(http_client).__name__}"
        )
    return (
        ClientTransport(http_client) if kind is httpx.Client else AsyncClientTransport(http_client)
    )
