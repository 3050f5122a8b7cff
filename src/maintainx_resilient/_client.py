"""``MaintainXClient`` and ``AsyncMaintainXClient``.

Both share :class:`_ClientCore`: settings, the resource families, and reading answers into
results or typed errors. The two classes differ only in how they send (``httpx.Client`` or
``httpx.AsyncClient`` over the pipeline of :mod:`._pipeline`) and in ``await``.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import TracebackType
from typing import Any, TypeVar

import httpx

from ._config import ClientConfig
from ._operation import Operation
from ._pipeline import build_async_pipeline, build_sync_pipeline
from ._response import build_status_error
from ._secrets import Secret
from .resources.work_orders import AsyncWorkOrders, WorkOrders

__all__ = ["AsyncMaintainXClient", "MaintainXClient"]

T = TypeVar("T")


class _ClientCore:
    """What the sync and async clients share: configuration and reading answers."""

    _config: ClientConfig

    def _configure(
        self,
        *,
        api_key: str | Secret | None,
        base_url: str | None,
        organization_id: int | str | None,
        organization_ids: list[int] | tuple[int, ...] | None,
        timeout: float | httpx.Timeout | None,
        limits: httpx.Limits | None,
        default_headers: Mapping[str, str] | None,
    ) -> ClientConfig:
        self._config = ClientConfig.resolve(
            api_key=api_key,
            base_url=base_url,
            organization_id=organization_id,
            organization_ids=organization_ids,
            timeout=timeout,
            limits=limits,
            default_headers=default_headers,
        )
        return self._config

    @property
    def config(self) -> ClientConfig:
        """The resolved settings (the key shows only as its fingerprint)."""
        return self._config

    @property
    def base_url(self) -> str:
        return self._config.base_url

    def _http_kwargs(self) -> dict[str, Any]:
        cfg = self._config
        return {
            "base_url": cfg.base_url + "/",
            "headers": cfg.base_headers(),
            "timeout": cfg.timeout,
            "follow_redirects": False,
        }

    @staticmethod
    def _finish(op: Operation[T], response: httpx.Response) -> T:
        if response.is_success:
            return op.parse(response, op)
        raise build_status_error(response, method=op.method, path=op.path)

    def __repr__(self) -> str:
        cfg = self._config
        org = f", organization_id={cfg.organization_id}" if cfg.organization_id else ""
        return (
            f"{type(self).__name__}(base_url={cfg.base_url!r}, key={cfg.api_key.fingerprint}{org})"
        )


class MaintainXClient(_ClientCore):
    """A synchronous MaintainX client.

    >>> with MaintainXClient() as client:  # reads MAINTAINX_API_KEY  # doctest: +SKIP
    ...     for wo in client.work_orders.iter(statuses=["OPEN"]):
    ...         print(wo.id, wo.title)

    ``transport`` replaces the network (for example
    ``maintainx_resilient.testing.Simulator().transport()``); it sits under the whole
    pipeline, exactly where the network would be.
    """

    def __init__(
        self,
        *,
        api_key: str | Secret | None = None,
        base_url: str | None = None,
        organization_id: int | str | None = None,
        organization_ids: list[int] | tuple[int, ...] | None = None,
        timeout: float | httpx.Timeout | None = None,
        limits: httpx.Limits | None = None,
        default_headers: Mapping[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        config = self._configure(
            api_key=api_key,
            base_url=base_url,
            organization_id=organization_id,
            organization_ids=organization_ids,
            timeout=timeout,
            limits=limits,
            default_headers=default_headers,
        )
        network = transport or httpx.HTTPTransport(limits=config.limits)
        self._http = httpx.Client(
            transport=build_sync_pipeline(config, network), **self._http_kwargs()
        )
        self.work_orders = WorkOrders(self)

    def _execute(self, op: Operation[T]) -> T:
        response = self._http.send(op.build_request(self._http))
        return self._finish(op, response)

    def close(self) -> None:
        """Close pooled connections."""
        self._http.close()

    def __enter__(self) -> MaintainXClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class AsyncMaintainXClient(_ClientCore):
    """The asyncio twin of :class:`MaintainXClient` (same arguments, awaitable calls)."""

    def __init__(
        self,
        *,
        api_key: str | Secret | None = None,
        base_url: str | None = None,
        organization_id: int | str | None = None,
        organization_ids: list[int] | tuple[int, ...] | None = None,
        timeout: float | httpx.Timeout | None = None,
        limits: httpx.Limits | None = None,
        default_headers: Mapping[str, str] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        config = self._configure(
            api_key=api_key,
            base_url=base_url,
            organization_id=organization_id,
            organization_ids=organization_ids,
            timeout=timeout,
            limits=limits,
            default_headers=default_headers,
        )
        network = transport or httpx.AsyncHTTPTransport(limits=config.limits)
        self._http = httpx.AsyncClient(
            transport=build_async_pipeline(config, network), **self._http_kwargs()
        )
        self.work_orders = AsyncWorkOrders(self)

    async def _execute(self, op: Operation[T]) -> T:
        response = await self._http.send(op.build_request(self._http))
        return self._finish(op, response)

    async def aclose(self) -> None:
        """Close pooled connections."""
        await self._http.aclose()

    async def __aenter__(self) -> AsyncMaintainXClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
