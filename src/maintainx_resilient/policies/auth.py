"""The auth layer: puts ``Authorization: Bearer <key>`` on each request.

The key is read from its source on every request, so a key that changes (rotation) is picked
up without rebuilding the client. The key never leaves this layer except on the wire.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx

__all__ = ["AsyncAuthLayer", "AuthLayer"]


class AuthLayer(httpx.BaseTransport):
    def __init__(self, inner: httpx.BaseTransport, key: Callable[[], str]) -> None:
        self.inner = inner
        self._key = key

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.headers["Authorization"] = f"Bearer {self._key()}"
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


class AsyncAuthLayer(httpx.AsyncBaseTransport):
    def __init__(self, inner: httpx.AsyncBaseTransport, key: Callable[[], str]) -> None:
        self.inner = inner
        self._key = key

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        request.headers["Authorization"] = f"Bearer {self._key()}"
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()
