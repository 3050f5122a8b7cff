"""``MaintainXClient`` and ``AsyncMaintainXClient``.

Both share :class:`_ClientCore`: settings, the resource families, and reading answers into
results or typed errors. The two classes differ only in how they send (``httpx.Client`` or
``httpx.AsyncClient`` over the pipeline of :mod:`._pipeline`) and in ``await``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any, TypeVar

import httpx

from ._clock import SYSTEM_CLOCK, Clock
from ._config import ClientConfig
from ._events import EventBus, Hook
from ._operation import Operation
from ._pipeline import Policies, build_async_pipeline, build_sync_pipeline
from ._response import build_status_error
from .policies.auth import KeyRing, KeySource
from .policies.retry import ATTEMPTS_EXTENSION, RetryConfig, RetryPolicy
from .resources.assets import Assets, AsyncAssets
from .resources.categories import AsyncCategories, Categories
from .resources.locations import AsyncLocations, Locations
from .resources.meters import AsyncMeters, Meters
from .resources.organizations import AsyncOrganizations, Organizations
from .resources.parts import AsyncParts, Parts
from .resources.purchase_orders import AsyncPurchaseOrders, PurchaseOrders
from .resources.subscriptions import AsyncSubscriptions, Subscriptions
from .resources.teams import AsyncTeams, Teams
from .resources.users import AsyncUsers, Users
from .resources.vendors import AsyncVendors, Vendors
from .resources.work_orders import AsyncWorkOrders, WorkOrders
from .resources.work_requests import AsyncWorkRequests, WorkRequests

__all__ = ["AsyncMaintainXClient", "MaintainXClient"]

T = TypeVar("T")

#: The policies a client gets unless told otherwise (pass None to switch one off).
DEFAULT_RETRY = RetryConfig()


class _ClientCore:
    """What the sync and async clients share: configuration, policies, reading answers."""

    _config: ClientConfig
    _policies: Policies

    def _configure(
        self,
        *,
        api_key: KeySource | None,
        base_url: str | None,
        organization_id: int | str | None,
        organization_ids: list[int] | tuple[int, ...] | None,
        timeout: float | httpx.Timeout | None,
        limits: httpx.Limits | None,
        default_headers: Mapping[str, str] | None,
        retry: RetryConfig | None,
        clock: Clock,
        hooks: Sequence[Hook],
        tracer_provider: Any,
        meter_provider: Any,
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
        events = EventBus()
        for hook in hooks:
            events.subscribe(hook)
        source = self._config.api_key
        self._policies = Policies(
            clock=clock,
            events=events,
            keys=KeyRing(source, clock=clock, events=events),
            retry=RetryPolicy(retry, clock=clock, events=events) if retry else None,
        )
        return self._config

    @property
    def events(self) -> EventBus:
        """Subscribe hooks here: ``client.events.subscribe(print)``."""
        return self._policies.events

    @property
    def policies(self) -> Policies:
        """The live policy objects (throttle, breakers, fallback cache, retry, keys)."""
        return self._policies

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
        error = build_status_error(response, method=op.method, path=op.path)
        error.attempts, error.waited = response.extensions.get(ATTEMPTS_EXTENSION, (1, 0.0))
        raise error

    def __repr__(self) -> str:
        cfg = self._config
        org = f", organization_id={cfg.organization_id}" if cfg.organization_id else ""
        key = self._policies.keys.fingerprint
        return f"{type(self).__name__}(base_url={cfg.base_url!r}, key={key}{org})"


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
        api_key: KeySource | None = None,
        base_url: str | None = None,
        organization_id: int | str | None = None,
        organization_ids: list[int] | tuple[int, ...] | None = None,
        timeout: float | httpx.Timeout | None = None,
        limits: httpx.Limits | None = None,
        default_headers: Mapping[str, str] | None = None,
        retry: RetryConfig | None = DEFAULT_RETRY,
        clock: Clock = SYSTEM_CLOCK,
        hooks: Sequence[Hook] = (),
        tracer_provider: Any = None,
        meter_provider: Any = None,
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
            retry=retry,
            clock=clock,
            hooks=hooks,
            tracer_provider=tracer_provider,
            meter_provider=meter_provider,
        )
        network = transport or httpx.HTTPTransport(limits=config.limits)
        self._http = httpx.Client(
            transport=build_sync_pipeline(self._policies, network), **self._http_kwargs()
        )
        self.work_orders = WorkOrders(self)
        self.assets = Assets(self)
        self.locations = Locations(self)
        self.parts = Parts(self)
        self.users = Users(self)
        self.teams = Teams(self)
        self.vendors = Vendors(self)
        self.categories = Categories(self)
        self.meters = Meters(self)
        self.purchase_orders = PurchaseOrders(self)
        self.work_requests = WorkRequests(self)
        self.organizations = Organizations(self)
        self.subscriptions = Subscriptions(self)

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
        api_key: KeySource | None = None,
        base_url: str | None = None,
        organization_id: int | str | None = None,
        organization_ids: list[int] | tuple[int, ...] | None = None,
        timeout: float | httpx.Timeout | None = None,
        limits: httpx.Limits | None = None,
        default_headers: Mapping[str, str] | None = None,
        retry: RetryConfig | None = DEFAULT_RETRY,
        clock: Clock = SYSTEM_CLOCK,
        hooks: Sequence[Hook] = (),
        tracer_provider: Any = None,
        meter_provider: Any = None,
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
            retry=retry,
            clock=clock,
            hooks=hooks,
            tracer_provider=tracer_provider,
            meter_provider=meter_provider,
        )
        network = transport or httpx.AsyncHTTPTransport(limits=config.limits)
        self._http = httpx.AsyncClient(
            transport=build_async_pipeline(self._policies, network), **self._http_kwargs()
        )
        self.work_orders = AsyncWorkOrders(self)
        self.assets = AsyncAssets(self)
        self.locations = AsyncLocations(self)
        self.parts = AsyncParts(self)
        self.users = AsyncUsers(self)
        self.teams = AsyncTeams(self)
        self.vendors = AsyncVendors(self)
        self.categories = AsyncCategories(self)
        self.meters = AsyncMeters(self)
        self.purchase_orders = AsyncPurchaseOrders(self)
        self.work_requests = AsyncWorkRequests(self)
        self.organizations = AsyncOrganizations(self)
        self.subscriptions = AsyncSubscriptions(self)

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
