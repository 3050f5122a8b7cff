"""The simulator serves every operation of MaintainX's OpenAPI document, as the document says.

Every operation of the spec (169; ``NOT_SIMULATED`` lists the documented exceptions, which
answer 501) gets requests: a success with a spec-valid body (a sample built from the request
schema, and for the main resources a realistic one too), and the errors it documents (400 for
a bad body or query, 404 for a missing record). Every JSON answer is validated against the
spec's schema for that path, method and status, strictly: an object may not carry a property
its schema does not list. 401, 429 and the organization errors are checked on every operation.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from maintainx_resilient.testing import ApiKey, RateLimitConfig, Simulator
from maintainx_resilient.testing._catalog import Route, catalog

from .. import spec_tools
from .._spec_requests import sample

SIZES: dict[str, Any] = {
    "work_orders": 40,
    "assets": 10,
    "locations": 5,
    "parts": 8,
    "users": 6,
    "teams": 3,
    "vendors": 4,
    "categories": 5,
    "meters": 5,
    "purchase_orders": 6,
    "work_requests": 10,
}
MISSING = 987_654_321
SHAPE_A: dict[str, Any] = {
    "type": "object",
    "required": ["errors"],
    "properties": {
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["error"],
                "properties": {
                    "error": {"type": "string"},
                    "fieldPath": {"type": "string", "nullable": True},
                    "fieldValue": {"nullable": True},
                },
            },
        }
    },
}
SHAPE_B: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "string"}},
}
ROUTES = Simulator.routes()
SPEC_OPERATIONS = [(method.upper(), path) for path, method, _ in spec_tools.operations()]
#: Operations the simulator cannot simulate: they answer 501 (and docs/testing.md lists them).
NOT_SIMULATED: dict[tuple[str, str], str] = {}
#: Statuses the simulator answers that the spec forgets for an operation, with their shape.
UNDOCUMENTED: dict[tuple[str, str, int], dict[str, Any]] = {
    ("PATCH", "/meters/{id}", 400): SHAPE_A,  # a bad body cannot be a 200
    ("PATCH", "/assetcustomstatuses/{id}", 400): SHAPE_A,
}
BY_ROUTE = {(r.method, r.template): r for r in catalog().routes}
ASSETS_ENTITY = "assets"
FILENAME = "manual.pdf"


@dataclass
class Probe:
    """One request and the status it must get."""

    method: str
    path: str
    status: int
    params: list[tuple[str, str]] = field(default_factory=list)
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    content: bytes | None = None


def make_simulator(*, empty: bool = False, **overrides: Any) -> Simulator:
    """A simulator with a little data (or none: answers decided before any lookup)."""
    sizes = dict.fromkeys(SIZES, 0) if empty else SIZES
    options: dict[str, Any] = {"seed": 7, "rate_limit": None, **sizes, **overrides}
    return Simulator(**options)


def client_for(sim: Simulator, key: str | None = Simulator.API_KEY) -> httpx.Client:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.Client(transport=sim.transport(), base_url="https://sim.test", headers=headers)


def fill(template: str, values: dict[str, Any]) -> str:
    for name, value in values.items():
        template = template.replace("{" + name + "}", str(value))
    return "/v1" + template


def family_bodies(world: World) -> dict[str, tuple[Any, Any]]:
    """Realistic (create body, update body) per main resource, with ids that exist."""
    asset, location = world.first("assets"), world.first("locations")
    user, team = world.first("users"), world.first("teams")
    vendor, part = world.first("vendors"), world.first("parts")
    category = world.sim.records("categories")[0]["label"]
    address = {
        "street": "1 Main St",
        "city": "Montreal",
        "state": "QC",
        "postalCode": "H1H 1H1",
        "country": "Canada",
    }
    return {
        "/workorders": (
            {
                "title": "Fix the pump",
                "priority": "HIGH",
                "type": "REACTIVE",
                "assetId": asset,
                "locationId": location,
                "assignees": [{"type": "USER", "id": user}, {"type": "TEAM", "id": team}],
                "categories": [category],
                "dueDate": "2025-02-01T00:00:00.000Z",
                "estimatedTime": 3600,
                "partsUsed": [{"partId": part, "quantityUsed": 2}],
                "extraFields": {"Cost Center": "CC-1"},
                "vendorIds": [vendor],
                "description": None,
            },
            {"title": "Fix the pump today", "priority": "LOW", "description": "Urgent"},
        ),
        "/assets": (
            {
                "name": "New Pump",
                "locationId": location,
                "barcode": "B-1",
                "serialNumber": "S-1",
                "manufacturer": {"name": "ABB"},
                "model": {"name": "X1"},
                "teamIds": [team],
                "vendorIds": [vendor],
                "extraFields": {"Color": "Red"},
                "assetTypes": ["Equipment"],
            },
            {"name": "Renamed Pump", "barcode": None},
        ),
        "/locations": (
            {"name": "Dock 9", "address": "1 Main St", "parentId": location, "barcode": "L-9"},
            {"name": "Dock 10", "description": "Loading"},
        ),
        "/parts": (
            {
                "name": "Bearing Z",
                "unitCost": 1250,
                "availableQuantity": 4,
                "minimumQuantity": 1,
                "locations": [{"locationId": location, "availableQuantity": 4}],
                "vendors": [{"vendorId": vendor, "partNumber": "PN-1"}],
            },
            {
                "name": "Bearing Z2",
                "locations": {
                    "addedUpdated": [{"locationId": location, "availableQuantity": 9}],
                    "removedLocationIds": [],
                },
            },
        ),
        "/users": (
            {"firstName": "Ada", "lastName": "Lovelace", "email": "ada@example.com"},
            {"hourlyRate": 4500, "role": "ADMIN"},
        ),
        "/teams": (
            {
                "name": "Team X",
                "description": "Crew",
                "memberIds": [user],
                "assetIds": [asset],
                "locationIds": [location],
            },
            {"name": "Team Y"},
        ),
        "/vendors": (
            {"name": "Vendor X", "emails": ["a@example.com"], "phoneNumbers": ["+1-555-0100"]},
            {"name": "Vendor Y", "extraFields": {"Tier": "Gold"}},
        ),
        "/categories": ({"label": "New Category", "description": "New"}, {"label": "Renamed"}),
        "/meters": (
            {"name": "Hours", "unit": "hours", "measurementType": "MANUAL", "assetId": asset},
            {"name": "Run hours", "description": "Engine"},
        ),
        "/purchaseorders": (
            {
                "vendorId": vendor,
                "title": "Restock",
                "items": [{"partId": part, "quantityOrdered": 2, "unitCost": 1500}],
                "costs": [{"name": "Tax", "type": "AMOUNT_TAXABLE", "amount": 100}],
                "shippingAddress": address,
            },
            {"note": "Leave at dock 2", "status": "PENDING"},
        ),
        "/workrequests": (
            {
                "title": "Leak under sink",
                "priority": "HIGH",
                "assetId": asset,
                "creatorContactInfo": "requester@example.com",
            },
            {"title": "Leak under the sink", "priority": "LOW"},
        ),
        "/subscriptions": (
            {"type": "NEW_WORK_ORDER", "url": "https://example.com/hooks/maintainx"},
            {"url": "https://example.com/hooks/maintainx-v2"},
        ),
    }


class World:
    """A simulator with a little data, and the records the probes of one route need."""

    def __init__(self) -> None:
        self.sim = make_simulator()
        self.http = client_for(self.sim)
        self.routes = catalog().routes
        self.collections = catalog().collections
        self.by_label = {c.label.lower(): c.name for c in self.collections.values()}

    def first(self, collection: str, parent: int | None = None) -> int:
        """An existing record of ``collection`` (under ``parent``), made if there is none."""
        records = self.sim.records(collection)
        if parent is not None:
            owner = next(r for r in self.routes if r.resource == collection and r.parent)
            assert owner.parent is not None
            records = [r for r in records if r.get(owner.parent_field) == parent]
        return int(records[0]["id"]) if records else self.make(collection, parent)

    def make(self, collection: str, parent: int | None = None) -> int:
        """A new record of ``collection`` through its create route (or planted, for the
        collections the API cannot create)."""
        create = next(
            (r for r in self.routes if r.handler == "create" and r.resource == collection),
            None,
        )
        if collection == "conversations":  # a direct message opens one
            user = self.first("users")
            answer = self.http.post(f"/v1/users/{user}/messages", json={"content": "Hi"})
            return int(answer.json()["conversationId"])
        if create is None:
            return int(self.sim.add_record(collection, self.plant(collection))["id"])
        values = {}
        if create.parent is not None and create.parent_param is not None:
            values[create.parent_param] = parent or self.first(create.parent)
        answer = self.http.post(fill(create.template, values), json=self.body(create))
        assert answer.is_success, (create.template, answer.text)
        data = answer.json()
        return int(data[create.wrapper]["id"] if create.wrapper else data["id"])

    def plant(self, collection: str) -> dict[str, Any]:
        if collection == "rootCauseAnalysisReports":
            return {"mainAssetId": self.first("assets"), "status": "DRAFT"}
        if collection == "workPermits":
            return {"workOrderId": self.first("workOrders"), "externalLinkUuid": "x"}
        return {}

    def fix(self, value: Any, route: Route) -> Any:
        """Point every ``...Id`` of a sample body at a record that exists."""
        if isinstance(value, list):
            return [self.fix(v, route) for v in value]
        if not isinstance(value, dict):
            return value
        fixed = {}
        for key, item in value.items():
            target = self.by_label.get(key[:-2].lower()) if key.endswith("Id") else None
            if key == "parentId" and route.resource:
                target = route.resource
            if isinstance(item, int) and not isinstance(item, bool) and target is not None:
                fixed[key] = self.first(target)
            else:
                fixed[key] = self.fix(item, route)
        return fixed

    def body(self, route: Route) -> Any:
        """A spec-valid body for ``route`` (every property filled, ids that exist)."""
        if route.body is None:
            return None
        body = self.fix(sample(route.body), route)
        if route.template == "/purchaseorders/{id}/fulfillment":
            line = self.sim.records("purchaseOrders")[0]["items"][0]["id"]
            body = {"items": [{"id": line, "fulfillments": [{"quantityReceived": 1}]}]}
        return body

    def path_values(self, route: Route) -> dict[str, Any]:
        """Values for the route's path parameters: records that exist and fit together."""
        values: dict[str, Any] = {"filename": FILENAME, "index": 0, "entity": ASSETS_ENTITY}
        template = route.template
        if "{teamId}" in template:
            team = self.first("teams")
            self.http.post(f"/v1/teams/{team}/members", json={"id": self.first("users")})
            return {**values, "teamId": team, "userId": self.first("users")}
        if template.startswith("/customfields/"):
            created = self.http.post(
                f"/v1/customfields/{ASSETS_ENTITY}",
                json={"fields": [{"label": "Color", "type": "oneline"}]},
            )
            return {**values, "id": created.json()[0]["id"]}
        if "{meterId}" in template:
            return {**values, "meterId": self.first("meters")}
        parent = self.first(route.parent) if route.parent else None
        if route.parent_param:
            values[route.parent_param] = parent
        record = route.id_param if route.id_param != route.parent_param else None
        if record and route.resource in self.collections:
            fresh = route.handler in ("delete", "update") or route.method == "DELETE"
            made = (
                self.make(route.resource, parent) if fresh else self.first(route.resource, parent)
            )
            values[record] = made
        elif record:
            values[record] = self.first(route.resource or "")
        if route.handler == "unattach" and "{filename}" in template:
            upload = template.replace("{filename}", FILENAME)
            put = self.http.put(fill(upload, values), content=b"%PDF-1.4")
            assert put.status_code == 201, put.text
        elif route.handler == "unattach" and "procedure/fields" in template:
            put = self.http.put(fill(template + "/" + FILENAME, values), content=b"%PDF-1.4")
            assert put.status_code == 201, put.text
        return values


def bad_body(route: Route) -> Any:
    """A body the spec refuses: a required field missing, or a field of the wrong type."""
    schema = route.body or {}
    if schema.get("type") == "array":
        return [{}]
    if schema.get("required") or "oneOf" in schema or "anyOf" in schema:
        return {}
    for name, sub in (schema.get("properties") or {}).items():
        kind = sub.get("type")
        if kind in ("string", "integer", "number", "boolean", "array", "object"):
            return {name: 12 if kind in ("string", "array", "object", "boolean") else "x"}
    raise AssertionError(f"no bad body for {route.template}")


def probes_for(world: World, route: Route) -> Iterator[Probe]:
    """Requests that reach every answer the simulator can give on one operation."""
    method, template = route.method, route.template
    if template == "/versions":
        yield Probe("GET", "/versions", 200)
        return
    values = world.path_values(route)
    path = fill(template, values)
    documented = spec_tools.documented_statuses(template, method)
    missing_values = {
        k: (MISSING if k not in ("filename", "index", "entity") else v) for k, v in values.items()
    }
    missing = fill(template, missing_values)
    if route.handler == "upload":
        yield Probe(
            method,
            path,
            route.status,
            content=b"\x89PNG fake",
            headers={"content-type": "image/png"},
        )
        yield Probe(method, path, 400, content=b"")
        yield Probe(method, missing, 404, content=b"%PDF")
        return
    body = world.body(route)
    if route.handler == "list":
        expands = [("expand", e) for e in (route.view.expanders if route.view else ())]
        yield Probe("GET", path, 200, [("limit", "3")])
        yield Probe("GET", path, 200, [("limit", "200"), *expands])
        yield Probe("GET", path, 400, [("limit", "0")])
        yield Probe("GET", path, 400, [("cursor", "not-a-cursor")])
    elif method == "GET":
        expands = [("expand", e) for e in (route.view.expanders if route.view else ())]
        yield Probe("GET", path, 200)
        if expands:
            yield Probe("GET", path, 200, expands)
    elif method == "DELETE":
        yield Probe("DELETE", path, route.status)
    else:
        sent = [body] if body is not None else [None]
        family = family_bodies(world).get(template.replace("/{id}", ""))
        if family is not None and route.handler in ("create", "update"):
            sent.append(family[0] if route.handler == "create" else family[1])
        if route.template == "/workPermits/{id}/sign":
            sent = [{"externalLinkUuid": "x", "signerName": "Ada"}]
        for one in sent:
            yield Probe(method, path, route.status, body=one)
        if route.body is not None:
            yield Probe(method, path, 400, body=bad_body(route))
    if 404 in documented and missing != path:
        yield Probe(method, missing, 404, body=body)


def check(response: httpx.Response, method: str, template: str, status: int) -> None:
    """The answer validates against the spec for this operation and status."""
    assert response.status_code == status, (method, template, response.text[:300])
    if (method, template, status) in UNDOCUMENTED:
        assert not spec_tools.errors(UNDOCUMENTED[method, template, status], response.json())
        return
    documented = spec_tools.documented_statuses(template, method)
    assert status in documented, f"{method} {template} answered {status}, the spec has {documented}"
    if status == 204:
        assert response.content == b""
        return
    schema = spec_tools.response_schema(template, method, status)
    assert schema is not None, f"{method} {template} {status}: the spec gives no schema"
    assert response.headers["content-type"].startswith("application/json")
    problems = spec_tools.errors(schema, response.json())
    assert not problems, f"{method} {template} {status}: {problems[:5]}"


def test_every_operation_of_the_spec_is_served() -> None:
    """The simulator routes all of the spec's operations: 169 of 169 (bar NOT_SIMULATED)."""
    served = set(ROUTES) - set(NOT_SIMULATED)
    print(f"the simulator serves {len(served)} of the spec's {len(SPEC_OPERATIONS)} operations")
    assert len(SPEC_OPERATIONS) == 169
    assert sorted(ROUTES) == sorted(SPEC_OPERATIONS)
    assert len(served) == 169 - len(NOT_SIMULATED)


@pytest.mark.parametrize(("method", "template"), ROUTES, ids=[f"{m} {t}" for m, t in ROUTES])
def test_every_answer_matches_the_spec(method: str, template: str) -> None:
    """Success and error answers of one operation validate against the spec's schemas."""
    world = World()
    route = BY_ROUTE[method, template]
    probes = list(probes_for(world, route))
    assert probes
    for probe in probes:
        response = world.http.request(
            probe.method,
            probe.path,
            params=httpx.QueryParams(tuple(probe.params)),
            json=probe.body if probe.content is None else None,
            content=probe.content,
            headers=probe.headers,
        )
        check(response, method, template, probe.status)


def _concrete(template: str) -> str:
    path = template
    for name in ("entity",):
        path = path.replace("{" + name + "}", ASSETS_ENTITY)
    while "{" in path:
        start = path.index("{")
        path = path[:start] + "1" + path[path.index("}", start) + 1 :]
    return path


@pytest.mark.parametrize(("method", "template"), ROUTES, ids=[f"{m} {t}" for m, t in ROUTES])
def test_unauthenticated_answers_are_documented(method: str, template: str) -> None:
    """No key and a bad key both get 401, which the spec documents for every authenticated route."""
    sim = make_simulator(empty=True)
    path = template if template == "/versions" else "/v1" + _concrete(template)
    for key in (None, "not-a-key"):
        with client_for(sim, key) as client:
            response = client.request(
                method, path, json={} if method in ("POST", "PATCH") else None
            )
        if template == "/versions":
            assert response.status_code == 200
            continue
        assert response.status_code == 401
        assert 401 in spec_tools.documented_statuses(template, method)


@pytest.mark.parametrize(
    ("method", "template"),
    [r for r in ROUTES if r[1] != "/versions"],
    ids=[f"{m} {t}" for m, t in ROUTES if t != "/versions"],
)
def test_rate_limited_answers_match_the_spec(method: str, template: str) -> None:
    """Past the limit every operation answers 429 in shape B (the spec's 429 schema if any)."""
    sim = make_simulator(empty=True, rate_limit=RateLimitConfig(per_user=1, window=60.0))
    with client_for(sim) as client:
        client.get("/v1/organizations")
        response = client.request(
            method, "/v1" + _concrete(template), json={} if method in ("POST", "PATCH") else None
        )
    assert response.status_code == 429
    documented = spec_tools.documented_statuses(template, method)
    schema = spec_tools.response_schema(template, method, 429) if 429 in documented else SHAPE_B
    assert schema is not None
    assert not spec_tools.errors(schema, response.json())
    assert not spec_tools.errors(SHAPE_B, response.json())


@pytest.mark.parametrize(
    ("method", "template"),
    [r for r in ROUTES if r[1] not in ("/versions", "/organizations")],
    ids=[f"{m} {t}" for m, t in ROUTES if t not in ("/versions", "/organizations")],
)
def test_organization_errors_use_shape_a(method: str, template: str) -> None:
    """A multi-org key without x-organization-id gets 400, an org it lacks 403, both shape A.

    Where the spec documents that status with a shape A schema the body validates against it.
    GET operations document their 400 as shape B ("Error with query"), but the organization
    check answers shape A on every route (API-FACTS: "Missing x-organization-id header.").
    """
    keys = {"multi": ApiKey(1, (1, 2)), "single": ApiKey(1, (1,))}
    sim = make_simulator(empty=True, api_keys=keys)
    path = "/v1" + _concrete(template)
    body: dict[str, Any] | None = {} if method in ("POST", "PATCH") else None
    with client_for(sim, "multi") as client:
        missing = client.request(method, path, json=body)
    with client_for(sim, "single") as client:
        forbidden = client.request(method, path, json=body, headers={"x-organization-id": "2"})
    assert missing.status_code == 400
    assert missing.json()["errors"][0]["error"] == "Missing x-organization-id header."
    assert forbidden.status_code == 403
    documented = spec_tools.documented_statuses(template, method)
    for response in (missing, forbidden):
        assert not spec_tools.errors(SHAPE_A, response.json())
        status = response.status_code
        if status in documented:
            schema = spec_tools.response_schema(template, method, status)
            if schema is not None and "errors" in schema.get("properties", {}):
                assert not spec_tools.errors(schema, response.json())


BODY_ROUTES = [r for r in catalog().routes if r.body is not None and r.body.get("type") != "array"]


@pytest.mark.parametrize(
    "route", BODY_ROUTES, ids=[f"{r.method} {r.template}" for r in BODY_ROUTES]
)
def test_every_required_field_and_enum_is_enforced(route: Route) -> None:
    """Each required field left out, each required string sent empty and each top-level enum
    sent an unknown value is a 400 shape A naming that field (as the API answers)."""
    world = World()
    path = fill(route.template, world.path_values(route))
    body = world.body(route)
    assert isinstance(body, dict)
    schema = route.body or {}
    props: dict[str, Any] = schema.get("properties") or {}
    cases: list[tuple[str, dict[str, Any]]] = []
    for name in schema.get("required", ()):
        cases.append((name, {k: v for k, v in body.items() if k != name}))
        if props.get(name, {}).get("type") == "string":
            cases.append((name, {**body, name: ""}))
    for name, sub in props.items():
        if "enum" in sub and name in body:
            cases.append((name, {**body, name: "NOT_A_VALUE"}))
    for field_path, sent in cases:
        answer = world.http.request(route.method, path, json=sent)
        assert answer.status_code == 400, (route.template, field_path, answer.text[:200])
        assert field_path in [e["fieldPath"] for e in answer.json()["errors"]], answer.text


#: Documented query parameters of lists that the simulator accepts and does not apply.
IGNORED_QUERY = {
    ("/assets", "customFieldName"),
    ("/locations", "customFieldName"),
    ("/parts", "customFieldName"),
    ("/purchaseorders", "customFieldName"),
    ("/vendors", "customFieldName"),
    ("/workorders", "show_upcoming"),
    ("/conversations", "onlyNamed"),
    ("/rootcauseanalysisreports", "archived"),
}
PAGING_QUERY = {"cursor", "limit", "sort", "expand", "skipWebhook", "useSequentialId"}


def test_every_documented_filter_is_applied_or_listed() -> None:
    """Each query parameter the spec documents on a list is a filter the simulator applies,
    or one of the few it ignores (listed in IGNORED_QUERY and in docs/testing.md)."""
    ignored = set()
    for route in catalog().routes:
        if route.handler != "list":
            continue
        applied = {f.param for f in route.filters}
        documented = spec_tools.query_param_names(route.template, "get") - PAGING_QUERY
        assert applied <= documented, route.template
        ignored |= {(route.template, name) for name in documented - applied}
    assert ignored == IGNORED_QUERY


def test_full_pages_of_seeded_data_validate() -> None:
    """Every seeded record of every list, with every expansion, validates (nulls included)."""
    sim = make_simulator(work_orders=300, assets=60, parts=40, work_requests=40)
    lists = [r for r in catalog().routes if r.handler == "list" and "{" not in r.template]
    with client_for(sim) as client:
        for route in lists:
            schema = spec_tools.response_schema(route.template, "get", 200)
            assert schema is not None and route.view is not None
            params = [("limit", "200"), *[("expand", e) for e in route.view.expanders]]
            cursor: str | None = None
            while True:
                query = tuple(params + ([("cursor", cursor)] if cursor else []))
                page = client.get("/v1" + route.template, params=httpx.QueryParams(query))
                assert page.status_code == 200
                problems = spec_tools.errors(schema, page.json())
                assert not problems, (route.template, problems[:5])
                cursor = page.json()["nextCursor"]
                if cursor is None:
                    break


def test_concrete_paths_match_their_templates() -> None:
    """match_path maps concrete request paths back to the spec templates the router uses."""
    assert spec_tools.match_path("/v1/workorders/12/status") == "/workorders/{id}/status"
    assert spec_tools.match_path("/workorders") == "/workorders"
    assert spec_tools.match_path("/v1/meters/5/readings") == "/meters/{meterId}/readings"
    assert spec_tools.match_path("/v1/maintenanceplans/workorderblueprints") == (
        "/maintenanceplans/workorderblueprints"
    )
    assert spec_tools.match_path("/v1/nope/1/2/3") is None


JUNK_BODIES: list[Any] = [
    None,
    {},
    [],
    "text",
    5,
    [{}],
    {"fields": 5},
    {"items": [{"id": "x"}]},
    {"title": {"x": 1}},
    {"meterTrigger": 5, "field": None, "status": None},
    {"type": "TIME", "costType": "WORK", "durationTotal": -1},
]
JUNK_QUERIES: list[dict[str, str]] = [
    {"limit": "abc"},
    {"sort": "nope"},
    {"expand": "nope"},
    {"cursor": "eyJrIjpbMSwyXX0"},
    {"updatedAt[gte]": "soon"},
]


def test_no_request_breaks_the_simulator() -> None:
    """Junk bodies, ids and queries on every operation get an answer below 500 (a typed
    error of the API's shapes), never an exception."""
    sim = make_simulator()
    with client_for(sim) as client:
        for route in catalog().routes:
            for value in ("1", "abc", "99999999999999999999"):
                path = "/v1" + route.template
                while "{" in path:
                    start = path.index("{")
                    path = path[:start] + value + path[path.index("}", start) + 1 :]
                if route.template == "/versions":
                    path = "/versions"
                for body in JUNK_BODIES:
                    answer = client.request(route.method, path, json=body)
                    assert answer.status_code < 500, (route.template, body, answer.text[:200])
                for query in JUNK_QUERIES if route.method == "GET" else []:
                    answer = client.request("GET", path, params=query)
                    assert answer.status_code < 500, (route.template, query, answer.text[:200])
