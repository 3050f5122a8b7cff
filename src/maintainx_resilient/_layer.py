"""The shell every policy layer of the pipeline shares (see :mod:`._pipeline` for the order).

A layer is an httpx transport around the next one (``inner``) that applies one policy object
(``policy``: the deadline, the fallback cache, the retry policy, the breakers, the keys, the
observer). A subclass writes only ``handle_request`` (or ``handle_async_request``); closing a
layer closes the ones below it.
"""

from __future__ import annotations

from typing import Generic, TypeVar

import httpx

__all__ = ["AsyncLayer", "Layer"]

P = TypeVar("P")


class Layer(httpx.BaseTransport, Generic[P]):
    """A synchronous pipeline layer: ``inner`` is the next transport, ``policy`` its policy."""

    def __init__(self, inner: httpx.BaseTransport, policy: P) -> None:
        self.inner = inner
        self.policy = policy

    def close(self) -> None:
        self.inner.close()


class AsyncLayer(httpx.AsyncBaseTransport, Generic[P]):
    """An asyncio pipeline layer: ``inner`` is the next transport, ``policy`` its policy."""

    def __init__(self, inner: httpx.AsyncBaseTransport, policy: P) -> None:
        self.inner = inner
        self.policy = policy

    async def aclose(self) -> None:
        await self.inner.aclose()
