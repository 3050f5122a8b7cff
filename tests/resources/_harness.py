"""A stand-in client for resource tests, and the table of resource families.

A resource only needs ``client.send(operation)``; :class:`SyncHarness` and
:class:`AsyncHarness` provide it over an ``httpx.MockTransport`` with no policy layers, so
these tests see exactly the requests the resources build and nothing else.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import httpx
import pydantic

from maintainx_resilient._operation import Operation
from maintainx_resilient._pagination import AsyncPager, Page, SyncPager
from maintainx_resilient._response import build_status_error
from maintainx_resilient.models import (
    Asset,
    Category,
    Location,
    Meter,
    Organization,
    Part,
    PurchaseOrder,
    Subscription,
    Team,
    User,
    Vendor,
    WorkOrder,
    WorkRequest,
)
from maintainx_resilient.resources import (
    AssetCreateParams,
    AssetListParams,
    Assets,
    AssetUpdateParams,
    AsyncAssets,
    AsyncCategories,
    AsyncLocations,
    AsyncMeters,
    AsyncOrganizations,
    AsyncParts,
    AsyncPurchaseOrders,
    AsyncSubscriptions,
    AsyncTeams,
    AsyncUsers,
    AsyncVendors,
    AsyncWorkOrders,
    AsyncWorkRequests,
    Categories,
    CategoryCreateParams,
    CategoryListParams,
    CategoryUpdateParams,
    LocationCreateParams,
    LocationListParams,
    Locations,
    LocationUpdateParams,
    MeterCreateParams,
    MeterListParams,
    Meters,
    MeterUpdateParams,
    OrganizationListParams,
    Organizations,
    PartCreateParams,
    PartListParams,
    Parts,
    PartUpdateParams,
    PurchaseOrderCreateParams,
    PurchaseOrderListParams,
    PurchaseOrders,
    PurchaseOrderUpdateParams,
    Subscriptions,
    SubscriptionUpdateParams,
    TeamCreateParams,
    TeamListParams,
    Teams,
    TeamUpdateParams,
    UserCreateParams,
    UserListParams,
    Users,
    UserUpdateParams,
    VendorCreateParams,
    VendorListParams,
    Vendors,
    VendorUpdateParams,
    WorkOrderCreateParams,
    WorkOrderListParams,
    WorkOrders,
    WorkOrderUpdateParams,
    WorkRequestCreateParams,
    WorkRequestListParams,
    WorkRequests,
    WorkRequestUpdateParams,
)
from maintainx_resilient.resources._base import ResourceSpec

from .._spec_requests import response_schema, sample, success_status
from ..spec_tools import match_path

T = TypeVar("T")
BASE_URL = "https://api.getmaintainx.com/v1/"

Handler = Callable[[httpx.Request], httpx.Response]


class Recorder:
    """A MockTransport handler that keeps every request and answers with ``responder``."""

    def __init__(self, responder: Handler | None = None) -> None:
        self.requests: list[httpx.Request] = []
        self.responder = responder or spec_answer

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        return self.responder(request)

    @property
    def last(self) -> httpx.Request:
        return self.requests[-1]


def spec_answer(request: httpx.Request) -> httpx.Response:
    """The documented success answer of the request's operation, every field filled.

    List answers end the walk (``nextCursor`` null), so a pager makes one request.
    """
    template = match_path(request.url.path)
    if template is None:
        return httpx.Response(404, json={"error": f"no route {request.url.path}"})
    method = request.method.lower()
    status = int(success_status(template, method))
    schema = response_schema(template, method)
    if schema is None:
        return httpx.Response(status)
    body = sample(schema)
    if isinstance(body, dict) and "nextCursor" in body:
        body["nextCursor"] = None
        body["nextPageUrl"] = None
    return httpx.Response(status, json=body)


def json_answer(body: Any, status: int = 200) -> Handler:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json=body)

    return answer


def body_of(request: httpx.Request) -> Any:
    return json.loads(request.content) if request.content else None


def _finish(op: Operation[T], response: httpx.Response) -> T:
    if response.is_success:
        return op.parse(response, op)
    raise build_status_error(response, method=op.method, path=op.path)


class SyncHarness:
    """What a sync resource needs of :class:`~maintainx_resilient.MaintainXClient`."""

    def __init__(self, recorder: Recorder | None = None) -> None:
        self.recorder = recorder or Recorder()
        self.http = httpx.Client(base_url=BASE_URL, transport=httpx.MockTransport(self.recorder))

    def send(self, op: Operation[T]) -> T:
        return _finish(op, self.http.send(op.build_request(self.http)))

    def resource(self, cls: type[T]) -> T:
        resource: T = cast(Any, cls)(self)
        return resource

    def close(self) -> None:
        self.http.close()


class AsyncHarness:
    """What an async resource needs of :class:`~maintainx_resilient.AsyncMaintainXClient`."""

    def __init__(self, recorder: Recorder | None = None) -> None:
        self.recorder = recorder or Recorder()
        self.http = httpx.AsyncClient(
            base_url=BASE_URL, transport=httpx.MockTransport(self.recorder)
        )

    async def send(self, op: Operation[T]) -> T:
        response = await self.http.send(op.build_request(self.http))
        await response.aread()
        return _finish(op, response)

    def resource(self, cls: type[T]) -> T:
        resource: T = cast(Any, cls)(self)
        return resource

    async def aclose(self) -> None:
        await self.http.aclose()


def run_sync(result: Any) -> Any:
    """A sync method's result, with a pager walked to the end."""
    if isinstance(result, SyncPager):
        return list(result)
    return result


async def run_async(result: Any) -> Any:
    """An async method's result: awaited, or a pager walked to the end."""
    if isinstance(result, AsyncPager):
        return [item async for item in result]
    if isinstance(result, Awaitable):
        return await result
    return result


def plain(value: Any) -> Any:
    """A result as comparable data (models dumped with wire names, pages as tuples)."""
    if isinstance(value, pydantic.BaseModel):
        return (type(value).__name__, value.model_dump(mode="json", by_alias=True))
    if isinstance(value, Page):
        return ("Page", [plain(i) for i in value.items], value.next_cursor)
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def describe(request: httpx.Request) -> tuple[str, str, bytes]:
    return request.method, str(request.url), request.content


@dataclass
class BothResults:
    """One call made through the sync and the async resource."""

    sync: Any
    async_: Any
    requests: list[httpx.Request]
    async_requests: list[httpx.Request]

    @property
    def request(self) -> httpx.Request:
        assert len(self.requests) == 1, [describe(r) for r in self.requests]
        return self.requests[0]


async def call_both(
    family: Family, call: Callable[[Any], Any], responder: Handler | None = None
) -> BothResults:
    """Make ``call(resource)`` on the sync and the async resource of ``family``, each against
    its own mock answering with ``responder``; check both sent the same requests and got the
    same result."""
    sync, asyn = SyncHarness(Recorder(responder)), AsyncHarness(Recorder(responder))
    try:
        sync_result = run_sync(call(sync.resource(family.sync_cls)))
        async_result = await run_async(call(asyn.resource(family.async_cls)))
    finally:
        sync.close()
        await asyn.aclose()
    both = BothResults(sync_result, async_result, sync.recorder.requests, asyn.recorder.requests)
    assert [describe(r) for r in both.requests] == [describe(r) for r in both.async_requests]
    assert plain(sync_result) == plain(async_result)
    return both


@dataclass(frozen=True)
class Family:
    """One resource family: its client attribute, classes, spec object and params types."""

    attr: str
    sync_cls: type[Any]
    async_cls: type[Any]
    spec: ResourceSpec[Any]
    model: type[pydantic.BaseModel]
    list_params: type[Mapping[str, Any]] | None
    create_params: type[Mapping[str, Any]] | None
    update_params: type[Mapping[str, Any]] | None

    @property
    def id(self) -> str:
        return self.attr


def _family(
    attr: str,
    sync_cls: type[Any],
    async_cls: type[Any],
    model: type[pydantic.BaseModel],
    list_params: Any = None,
    create_params: Any = None,
    update_params: Any = None,
) -> Family:
    return Family(
        attr, sync_cls, async_cls, sync_cls.spec, model, list_params, create_params, update_params
    )


FAMILIES: tuple[Family, ...] = (
    _family(
        "work_orders",
        WorkOrders,
        AsyncWorkOrders,
        WorkOrder,
        WorkOrderListParams,
        WorkOrderCreateParams,
        WorkOrderUpdateParams,
    ),
    _family(
        "assets", Assets, AsyncAssets, Asset, AssetListParams, AssetCreateParams, AssetUpdateParams
    ),
    _family(
        "locations",
        Locations,
        AsyncLocations,
        Location,
        LocationListParams,
        LocationCreateParams,
        LocationUpdateParams,
    ),
    _family("parts", Parts, AsyncParts, Part, PartListParams, PartCreateParams, PartUpdateParams),
    _family("users", Users, AsyncUsers, User, UserListParams, UserCreateParams, UserUpdateParams),
    _family("teams", Teams, AsyncTeams, Team, TeamListParams, TeamCreateParams, TeamUpdateParams),
    _family(
        "vendors",
        Vendors,
        AsyncVendors,
        Vendor,
        VendorListParams,
        VendorCreateParams,
        VendorUpdateParams,
    ),
    _family(
        "categories",
        Categories,
        AsyncCategories,
        Category,
        CategoryListParams,
        CategoryCreateParams,
        CategoryUpdateParams,
    ),
    _family(
        "meters", Meters, AsyncMeters, Meter, MeterListParams, MeterCreateParams, MeterUpdateParams
    ),
    _family(
        "purchase_orders",
        PurchaseOrders,
        AsyncPurchaseOrders,
        PurchaseOrder,
        PurchaseOrderListParams,
        PurchaseOrderCreateParams,
        PurchaseOrderUpdateParams,
    ),
    _family(
        "work_requests",
        WorkRequests,
        AsyncWorkRequests,
        WorkRequest,
        WorkRequestListParams,
        WorkRequestCreateParams,
        WorkRequestUpdateParams,
    ),
    _family(
        "organizations", Organizations, AsyncOrganizations, Organization, OrganizationListParams
    ),
    _family(
        "subscriptions",
        Subscriptions,
        AsyncSubscriptions,
        Subscription,
        update_params=SubscriptionUpdateParams,
    ),
)

FAMILY_BY_ATTR = {f.attr: f for f in FAMILIES}
