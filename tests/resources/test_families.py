"""The resource families beyond work orders: answers parse into their models, writes send wire
names and return what the spec says, and the sync and async classes behave the same."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import httpx
import pytest

from maintainx_resilient import AsyncMaintainXClient, MaintainXClient
from maintainx_resilient.models import (
    Asset,
    AssetStatus,
    CreatedSubscription,
    MeasurementType,
    Meter,
    Organization,
    PurchaseOrder,
    PurchaseOrderCostType,
    PurchaseOrderStatus,
    Subscription,
    SubscriptionStatus,
    SubscriptionType,
    User,
    UserRole,
    WorkRequest,
    WorkRequestStatus,
)
from maintainx_resilient.resources import (
    Assets,
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
    Locations,
    Meters,
    Organizations,
    Parts,
    PurchaseOrders,
    Subscriptions,
    Teams,
    Users,
    Vendors,
    WorkOrders,
    WorkRequests,
)

from ._harness import FAMILIES, FAMILY_BY_ATTR, Family, body_of, call_both, json_answer

NEW = [f for f in FAMILIES if f.attr != "work_orders"]
WITH_LIST = [f for f in NEW if hasattr(f.sync_cls, "list")]
WITH_GET = [f for f in NEW if hasattr(f.sync_cls, "get")]
WITH_DELETE = [f for f in NEW if hasattr(f.sync_cls, "delete")]


def ids(family: Family) -> str:
    return family.attr


#: One record per family as MaintainX could send it today: a field the SDK does not know yet,
#: and (where the record has an enum) a value the spec does not list.
RECORDS: dict[str, dict[str, Any]] = {
    "assets": {
        "id": 1,
        "name": "Pump 3",
        "locationId": 9,
        "teamIds": [1, 2],
        "createdAt": "2024-05-01T10:00:00.000Z",
        "status": {"id": 4, "status": "BROKEN_DOWN", "downtimeType": "PLANNED"},
        "carbonFootprint": {"kg": 3},
    },
    "locations": {"id": 2, "name": "Plant A", "parentId": None, "carbonFootprint": 1},
    "parts": {"id": 3, "name": "Bearing", "unitCost": 1250, "availableQuantity": 7, "bin": "A4"},
    "users": {
        "id": 4,
        "firstName": "Ada",
        "lastName": "L",
        "role": "SUPERVISOR",
        "pronouns": "she",
    },
    "teams": {"id": 5, "name": "Night shift", "colour": "blue"},
    "vendors": {"id": 6, "name": "ACME", "extraFields": {"Tier": "Gold"}, "rating": 5},
    "categories": {"id": 7, "label": "Electrical", "colour": "red"},
    "meters": {
        "id": 8,
        "name": "Hours",
        "unit": "h",
        "measurementType": "SATELLITE",
        "readingFrequency": {"type": "FORTNIGHTLY", "interval": 1},
        "precision": 2,
    },
    "purchase_orders": {
        "id": 9,
        "status": "ARCHIVED",
        "items": [{"id": 1, "quantityOrdered": 2.5, "unitCost": 1000, "lot": "L1"}],
        "costs": [{"name": "Tax", "type": "AMOUNT_TAXABLE", "amount": 15}],
        "updatedAt": "2024-05-01T10:00:00.000Z",
        "currencyCode": "CAD",
    },
    "work_requests": {
        "id": 10,
        "title": "Leak",
        "priority": "URGENT",
        "requestStatus": "ESCALATED",
        "sentiment": "bad",
    },
    "organizations": {"id": 11, "name": "Org", "timeZone": "America/Toronto", "plan": "pro"},
    "subscriptions": {
        "id": 12,
        "type": "NEW_THING_HAPPENED",
        "url": "https://example.com/hook",
        "status": "SUSPENDED",
        "createdBy": 4,
    },
}


def _check_record(family: Family, record: Any) -> None:
    """The record is the family's model, kept its unknown field, and took unknown enums."""
    assert isinstance(record, family.model)
    assert record.model_extra, "the unknown field was dropped"
    if isinstance(record, Asset):
        assert record.status is not None
        assert record.status.status == "BROKEN_DOWN"
        assert record.status.status is not None and not record.status.status.is_known
        assert record.team_ids == [1, 2]
        assert record.created_at == datetime(2024, 5, 1, 10, tzinfo=timezone.utc)
    if isinstance(record, User):
        assert record.role == "SUPERVISOR"
        assert isinstance(record.role, UserRole)
        assert not record.role.is_known
    if isinstance(record, Meter):
        assert isinstance(record.measurement_type, MeasurementType)
        assert record.measurement_type == "SATELLITE"
        assert record.reading_frequency is not None
        assert record.reading_frequency.type == "FORTNIGHTLY"
    if isinstance(record, PurchaseOrder):
        assert isinstance(record.status, PurchaseOrderStatus)
        assert not record.status.is_known
        assert record.items is not None and record.items[0].quantity_ordered == 2.5
        assert record.items[0].model_extra == {"lot": "L1"}
        assert (
            record.costs is not None
            and record.costs[0].type is PurchaseOrderCostType.AMOUNT_TAXABLE
        )
    if isinstance(record, WorkRequest):
        assert isinstance(record.request_status, WorkRequestStatus)
        assert record.request_status == "ESCALATED"
        assert record.priority == "URGENT"
    if isinstance(record, Subscription):
        assert record.type == "NEW_THING_HAPPENED"
        assert isinstance(record.type, SubscriptionType)
        assert isinstance(record.status, SubscriptionStatus)


@pytest.mark.parametrize("family", WITH_LIST, ids=ids)
async def test_list_pages_parse_unknown_fields_and_enum_values(family: Family) -> None:
    """A list page parses into models; new fields and enum values do not break it."""
    page = {family.spec.list_key: [RECORDS[family.attr]], "nextCursor": "n2", "nextPageUrl": None}
    both = await call_both(family, lambda r: r.list(limit=1), json_answer(page))
    assert both.sync.next_cursor == "n2"
    assert both.sync.has_more
    (record,) = both.sync.items
    _check_record(family, record)
    assert both.request.url.params.multi_items() == [("limit", "1")]


@pytest.mark.parametrize("family", WITH_GET, ids=ids)
async def test_get_parses_the_wrapped_record(family: Family) -> None:
    """``get`` reads ``{item_key: {...}}`` from ``GET {route}/{id}``."""
    answer = json_answer({family.spec.item_key: RECORDS[family.attr]})
    both = await call_both(family, lambda r: r.get(42), answer)
    assert both.request.method == "GET"
    assert both.request.url.path == f"/v1{family.spec.route}/42"
    _check_record(family, both.sync)


@pytest.mark.parametrize("family", WITH_GET, ids=ids)
async def test_update_sends_wire_names_and_returns_the_record(family: Family) -> None:
    """``update`` PATCHes only the given fields (camelCase) and parses the wrapped answer."""
    fields = UPDATES[family.attr]
    answer = json_answer({family.spec.item_key: RECORDS[family.attr]})
    both = await call_both(family, lambda r: r.update(42, **fields[0]), answer)
    assert both.request.method == "PATCH"
    assert both.request.url.path == f"/v1{family.spec.route}/42"
    assert body_of(both.request) == fields[1]
    assert "skipWebhook" not in both.request.url.params
    _check_record(family, both.sync)


UPDATES: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "assets": (
        {"serial_number": "SN-1", "parent_id": None},
        {"serialNumber": "SN-1", "parentId": None},
    ),
    "locations": ({"address": "1 Main St"}, {"address": "1 Main St"}),
    "parts": (
        {"minimum_quantity": 2, "locations": {"removedLocationIds": [3]}},
        {"minimumQuantity": 2, "locations": {"removedLocationIds": [3]}},
    ),
    "users": ({"role": UserRole.ADMIN, "hourly_rate": 4000}, {"role": "ADMIN", "hourlyRate": 4000}),
    "teams": ({"location_ids": [1]}, {"locationIds": [1]}),
    "vendors": ({"description": None}, {"description": None}),
    "categories": ({"label": "Mechanical"}, {"label": "Mechanical"}),
    "meters": (
        {"reading_frequency": {"type": "DAILY", "interval": 1}},
        {"readingFrequency": {"type": "DAILY", "interval": 1}},
    ),
    "purchase_orders": (
        {"review_note": "ok", "due_date": datetime(2024, 6, 1, tzinfo=timezone.utc)},
        {"reviewNote": "ok", "dueDate": "2024-06-01T00:00:00Z"},
    ),
    "work_requests": ({"approver_team_id": 5}, {"approverTeamId": 5}),
    "subscriptions": (
        {"url": "https://example.com/new", "type": SubscriptionType.NEW_ASSET},
        {"url": "https://example.com/new", "type": "NEW_ASSET"},
    ),
}

#: Each id-returning create: the Python fields, the wire body, and the spec's status code.
CREATES: dict[str, tuple[dict[str, Any], dict[str, Any], int]] = {
    "assets": (
        {"name": "Pump", "location_id": 3, "team_ids": [1, 2], "model": {"name": "X1"}},
        {"name": "Pump", "locationId": 3, "teamIds": [1, 2], "model": {"name": "X1"}},
        201,
    ),
    "locations": ({"name": "Plant B", "parent_id": 2}, {"name": "Plant B", "parentId": 2}, 200),
    "parts": (
        {"name": "Belt", "unit_cost": 999, "vendors": [{"vendorId": 6, "partNumber": "B-1"}]},
        {"name": "Belt", "unitCost": 999, "vendors": [{"vendorId": 6, "partNumber": "B-1"}]},
        201,
    ),
    "users": (
        {"first_name": "Grace", "last_name": "H", "invite_type": "NONE"},
        {"firstName": "Grace", "lastName": "H", "inviteType": "NONE"},
        201,
    ),
    "teams": ({"name": "Day", "member_ids": [4]}, {"name": "Day", "memberIds": [4]}, 201),
    "vendors": (
        {"name": "ACME", "phone_numbers": ["+1 555"]},
        {"name": "ACME", "phoneNumbers": ["+1 555"]},
        201,
    ),
    "categories": ({"label": "Safety"}, {"label": "Safety"}, 201),
    "meters": (
        {"name": "Temp", "unit": "C", "measurement_type": MeasurementType.IOT_DEVICE},
        {"name": "Temp", "unit": "C", "measurementType": "IOT_DEVICE"},
        201,
    ),
    "work_requests": (
        {"title": "Leak", "priority": "HIGH", "creator_contact_info": "a@b.c"},
        {"title": "Leak", "priority": "HIGH", "creatorContactInfo": "a@b.c"},
        200,
    ),
}


@pytest.mark.parametrize("family", [FAMILY_BY_ATTR[a] for a in CREATES], ids=ids)
async def test_create_returns_the_new_id(family: Family) -> None:
    """``create`` POSTs wire names and returns the id of ``{"id": n}`` (200 or 201)."""
    fields, wire, status = CREATES[family.attr]
    both = await call_both(family, lambda r: r.create(**fields), json_answer({"id": 77}, status))
    assert both.sync == 77
    assert both.request.method == "POST"
    assert both.request.url.path == f"/v1{family.spec.route}"
    assert body_of(both.request) == wire
    assert both.request.url.params.multi_items() == []


@pytest.mark.parametrize("family", [FAMILY_BY_ATTR[a] for a in CREATES], ids=ids)
async def test_create_extra_body_and_skip_webhook(family: Family) -> None:
    """``extra_body`` adds wire fields as given; ``skip_webhook`` adds ``skipWebhook=true``."""
    fields, wire, status = CREATES[family.attr]
    both = await call_both(
        family,
        lambda r: r.create(extra_body={"brandNew": 1}, skip_webhook=True, **fields),
        json_answer({"id": 77}, status),
    )
    assert body_of(both.request) == {**wire, "brandNew": 1}
    assert both.request.url.params.multi_items() == [("skipWebhook", "true")]


def _bare_po(request: httpx.Request) -> httpx.Response:
    return httpx.Response(201, json={**RECORDS["purchase_orders"], "id": 90})


def _wrapped_po(request: httpx.Request) -> httpx.Response:
    return httpx.Response(201, json={"purchaseOrder": {**RECORDS["purchase_orders"], "id": 91}})


@pytest.mark.parametrize(("answer", "new_id"), [(_bare_po, 90), (_wrapped_po, 91)])
async def test_purchase_order_create_returns_the_record(
    answer: Callable[[httpx.Request], httpx.Response], new_id: int
) -> None:
    """POST /purchaseorders answers the whole record, bare (as the spec says) or wrapped."""
    family = FAMILY_BY_ATTR["purchase_orders"]
    items = [{"partId": 3, "quantityOrdered": 2}]
    both = await call_both(family, lambda r: r.create(vendor_id=6, items=items), answer)
    assert isinstance(both.sync, PurchaseOrder)
    assert both.sync.id == new_id
    assert both.sync.response_meta is not None
    assert body_of(both.request) == {"vendorId": 6, "items": items}


async def test_subscription_create_returns_id_status_and_secret() -> None:
    """POST /subscriptions sends one event type, answers ``{id, status, secret}`` (201)."""
    family = FAMILY_BY_ATTR["subscriptions"]
    answer = json_answer({"id": 5, "status": "PENDING_APPROVAL", "secret": "whsec-123"}, 201)
    both = await call_both(
        family,
        lambda r: r.create(
            type=SubscriptionType.WORK_ORDER_STATUS_CHANGE,
            url="https://example.com/hook",
            filters={"oneOfStatuses": ["DONE"]},
        ),
        answer,
    )
    created = both.sync
    assert isinstance(created, CreatedSubscription)
    assert (created.id, created.status, created.secret) == (5, "PENDING_APPROVAL", "whsec-123")
    assert created.status is SubscriptionStatus.PENDING_APPROVAL
    assert "whsec-123" not in repr(created)
    assert body_of(both.request) == {
        "type": "WORK_ORDER_STATUS_CHANGE",
        "url": "https://example.com/hook",
        "filters": {"oneOfStatuses": ["DONE"]},
    }


async def test_subscription_secret_is_read_from_its_own_route() -> None:
    """``secret(id)`` is ``GET /subscriptions/{id}/secret`` -> the string."""
    family = FAMILY_BY_ATTR["subscriptions"]
    both = await call_both(family, lambda r: r.secret(5), json_answer({"secret": "s3cr3t"}))
    assert both.sync == "s3cr3t"
    assert both.request.url.path == "/v1/subscriptions/5/secret"


@pytest.mark.parametrize("family", WITH_DELETE, ids=ids)
async def test_delete_accepts_204_with_no_body(family: Family) -> None:
    """DELETE answers 204 with an empty body; ``delete`` returns None."""
    both = await call_both(
        family, lambda r: r.delete(42, skip_webhook=True), lambda _: httpx.Response(204)
    )
    assert both.sync is None
    assert both.request.method == "DELETE"
    assert both.request.url.path == f"/v1{family.spec.route}/42"
    assert both.request.url.params.multi_items() == [("skipWebhook", "true")]
    assert both.request.content == b""


@pytest.mark.parametrize(
    ("attr", "params", "expected"),
    [
        (
            "assets",
            {
                "manufacturer": ["Bosch", "ACME"],
                "expand": ["status", "model"],
                "updated_at_gte": datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc),
                "location_id": 9,
            },
            [
                ("manufacturer", "Bosch"),
                ("manufacturer", "ACME"),
                ("expand", "status"),
                ("expand", "model"),
                ("updatedAt[gte]", "2024-01-02T03:04:05.000Z"),
                ("locationId", "9"),
            ],
        ),
        (
            "work_requests",
            {"statuses": [WorkRequestStatus.PENDING, "DONE"], "assets": (1, 2)},
            [("statuses", "PENDING"), ("statuses", "DONE"), ("assets", "1"), ("assets", "2")],
        ),
        (
            "meters",
            {"assets": [3, 4], "measurement_type": "MANUAL"},
            [("assets", "3"), ("assets", "4"), ("measurementType", "MANUAL")],
        ),
        (
            "parts",
            {"part_number": ["P1", "P2"], "sort": "-updatedAt"},
            [("partNumber", "P1"), ("partNumber", "P2"), ("sort", "-updatedAt")],
        ),
        (
            "users",
            {"email": ["a@b.c", "d@e.f"], "only_assignable": True},
            [("email", "a@b.c"), ("email", "d@e.f"), ("onlyAssignable", "true")],
        ),
        (
            "purchase_orders",
            {"custom_field_name": ["Cost centre"], "created_at_lte": "2024-02-01T00:00:00Z"},
            [("customFieldName", "Cost centre"), ("createdAt[lte]", "2024-02-01T00:00:00Z")],
        ),
    ],
)
async def test_list_filters_are_wire_names_with_repeated_keys(
    attr: str, params: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    """Sequences become repeated keys, ``*_gte`` becomes ``[gte]``, datetimes UTC millis."""
    family = FAMILY_BY_ATTR[attr]
    page = json_answer({family.spec.list_key: [], "nextCursor": None})
    both = await call_both(family, lambda r: r.list(**params), page)
    assert both.request.url.params.multi_items() == expected
    assert both.sync.items == []
    assert not both.sync.has_more


async def test_iter_follows_cursors_with_the_same_filters() -> None:
    """``iter`` sends the same filters on every page and stops when ``nextCursor`` is null."""
    family = FAMILY_BY_ATTR["work_requests"]
    pages = {
        None: {"workRequests": [{"id": 1}, {"id": 2}], "nextCursor": "p2"},
        "p2": {"workRequests": [{"id": 3}], "nextCursor": None},
    }

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=pages[request.url.params.get("cursor")])

    both = await call_both(family, lambda r: r.iter(statuses=["PENDING"], limit=2), answer)
    assert [wr.id for wr in both.sync] == [1, 2, 3]
    assert [r.url.params.multi_items() for r in both.requests] == [
        [("statuses", "PENDING"), ("limit", "2")],
        [("statuses", "PENDING"), ("limit", "2"), ("cursor", "p2")],
    ]


@pytest.mark.parametrize(
    ("attr", "expand"), [("meters", ["asset", "last_reading"]), ("work_requests", ["work_order"])]
)
async def test_get_with_expand(attr: str, expand: list[str]) -> None:
    """Meters and work requests take ``expand`` on ``get`` too, as repeated keys."""
    family = FAMILY_BY_ATTR[attr]
    answer = json_answer({family.spec.item_key: {"id": 1}})
    both = await call_both(family, lambda r: r.get(1, expand=expand), answer)
    assert both.request.url.params.multi_items() == [("expand", e) for e in expand]


async def test_limit_out_of_range_is_refused_before_sending() -> None:
    family = FAMILY_BY_ATTR["assets"]
    with pytest.raises(ValueError, match="limit"):
        await call_both(family, lambda r: r.list(limit=500))


@pytest.mark.parametrize(
    ("cls", "absent"),
    [
        (Organizations, ("get", "create", "update", "delete")),
        (AsyncOrganizations, ("get", "create", "update", "delete")),
        (Subscriptions, ("list", "iter")),
        (AsyncSubscriptions, ("list", "iter")),
    ],
)
def test_no_method_for_a_route_the_spec_lacks(cls: type[Any], absent: tuple[str, ...]) -> None:
    """Organizations is list-only; subscriptions cannot be listed."""
    for name in absent:
        assert not hasattr(cls, name), name


SYNC_ATTRS: dict[str, type[Any]] = {
    "work_orders": WorkOrders,
    "assets": Assets,
    "locations": Locations,
    "parts": Parts,
    "users": Users,
    "teams": Teams,
    "vendors": Vendors,
    "categories": Categories,
    "meters": Meters,
    "purchase_orders": PurchaseOrders,
    "work_requests": WorkRequests,
    "organizations": Organizations,
    "subscriptions": Subscriptions,
}
ASYNC_ATTRS: dict[str, type[Any]] = {
    "work_orders": AsyncWorkOrders,
    "assets": AsyncAssets,
    "locations": AsyncLocations,
    "parts": AsyncParts,
    "users": AsyncUsers,
    "teams": AsyncTeams,
    "vendors": AsyncVendors,
    "categories": AsyncCategories,
    "meters": AsyncMeters,
    "purchase_orders": AsyncPurchaseOrders,
    "work_requests": AsyncWorkRequests,
    "organizations": AsyncOrganizations,
    "subscriptions": AsyncSubscriptions,
}

_ORGS = {"organizations": [{"id": 1, "name": "Org"}], "nextCursor": None}


def test_the_sync_client_has_every_family(canary_key: str) -> None:
    """``MaintainXClient`` wires every family, and a call goes through the whole pipeline."""
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=_ORGS)

    with MaintainXClient(api_key=canary_key, transport=httpx.MockTransport(answer)) as client:
        for attr, cls in SYNC_ATTRS.items():
            assert type(getattr(client, attr)) is cls, attr
        page = client.organizations.list(limit=1)
    assert [(o.id, o.name) for o in page.items] == [(1, "Org")]
    assert isinstance(page.items[0], Organization)
    assert seen[-1].url == "https://api.getmaintainx.com/v1/organizations?limit=1"
    assert seen[-1].headers["authorization"] == f"Bearer {canary_key}"


async def test_the_async_client_has_every_family(canary_key: str) -> None:
    """``AsyncMaintainXClient`` wires every family, and a call goes through the pipeline."""
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=_ORGS)

    async with AsyncMaintainXClient(
        api_key=canary_key, transport=httpx.MockTransport(answer)
    ) as client:
        for attr, cls in ASYNC_ATTRS.items():
            assert type(getattr(client, attr)) is cls, attr
        page = await client.organizations.list(limit=1)
    assert [(o.id, o.name) for o in page.items] == [(1, "Org")]
    assert seen[-1].url == "https://api.getmaintainx.com/v1/organizations?limit=1"


def test_asset_status_enum_is_the_specs() -> None:
    assert [s.value for s in AssetStatus] == ["IGNORE", "OFFLINE", "ONLINE"]
