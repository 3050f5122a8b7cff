"""The simulator answers exactly as MaintainX's OpenAPI document says.

For every operation the simulator serves, requests provoke each status it can answer (2xx,
400, 401, 403, 404, 429) and every JSON body is validated against the spec's schema for that
path, method and status, strictly: an object may not carry a property its schema does not list.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from maintainx_resilient.testing import ApiKey, RateLimitConfig, Simulator
from maintainx_resilient.testing._resources import RESOURCES, RESOURCES_BY_NAME

from .. import spec_tools

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
#: Statuses the simulator answers that the spec forgets for an operation, with their shape.
UNDOCUMENTED: dict[tuple[str, str, int], dict[str, Any]] = {
    ("PATCH", "/meters/{id}", 400): SHAPE_A,  # a bad body cannot be a 200
}


@dataclass
class Probe:
    """One request and the status it must get."""

    method: str
    path: str
    status: int
    params: list[tuple[str, str]] = field(default_factory=list)
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


def make_simulator(*, empty: bool = False, **overrides: Any) -> Simulator:
    """A simulator with a little data (or none: answers decided before any lookup)."""
    sizes = dict.fromkeys(SIZES, 0) if empty else SIZES
    options: dict[str, Any] = {"seed": 7, "rate_limit": None, **sizes, **overrides}
    return Simulator(**options)


def client_for(sim: Simulator, key: str | None = Simulator.API_KEY) -> httpx.Client:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.Client(transport=sim.transport(), base_url="https://sim.test", headers=headers)


def first_id(sim: Simulator, resource: str, index: int = 0) -> int:
    return int(sim.records(resource)[index]["id"])


def sample_bodies(sim: Simulator) -> dict[str, tuple[Any, Any]]:
    """(create body, update body) per resource, using ids that exist in ``sim``."""
    asset, location = first_id(sim, "assets"), first_id(sim, "locations")
    user, team = first_id(sim, "users"), first_id(sim, "teams")
    vendor, part = first_id(sim, "vendors"), first_id(sim, "parts")
    category = sim.records("categories")[0]["label"]
    address = {
        "street": "1 Main St",
        "city": "Montreal",
        "state": "QC",
        "postalCode": "H1H 1H1",
        "country": "Canada",
    }
    return {
        "workOrders": (
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
        "assets": (
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
        "locations": (
            {"name": "Dock 9", "address": "1 Main St", "parentId": location, "barcode": "L-9"},
            {"name": "Dock 10", "description": "Loading"},
        ),
        "parts": (
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
        "users": (
            {
                "firstName": "Ada",
                "lastName": "Lovelace",
                "email": "ada@example.com",
                "role": "MEMBER",
            },
            {"hourlyRate": 4500, "role": "ADMIN"},
        ),
        "teams": (
            {
                "name": "Team X",
                "description": "Crew",
                "memberIds": [user],
                "assetIds": [asset],
                "locationIds": [location],
            },
            {"name": "Team Y"},
        ),
        "vendors": (
            {
                "name": "Vendor X",
                "emails": ["a@example.com"],
                "phoneNumbers": ["+1-555-0100"],
                "description": None,
            },
            {"name": "Vendor Y", "extraFields": {"Tier": "Gold"}},
        ),
        "categories": ({"label": "New Category", "description": "New"}, {"label": "Renamed"}),
        "meters": (
            {"name": "Hours", "unit": "hours", "measurementType": "MANUAL", "assetId": asset},
            {"name": "Run hours", "description": "Engine"},
        ),
        "purchaseOrders": (
            {
                "vendorId": vendor,
                "title": "Restock",
                "items": [{"partId": part, "quantityOrdered": 2, "unitCost": 1500}],
                "costs": [{"name": "Tax", "type": "AMOUNT_TAXABLE", "amount": 100}],
                "shippingAddress": address,
            },
            {"note": "Leave at dock 2", "status": "PENDING"},
        ),
        "workRequests": (
            {
                "title": "Leak under sink",
                "priority": "HIGH",
                "assetId": asset,
                "creatorContactInfo": "requester@example.com",
            },
            {"title": "Leak under the sink", "priority": "LOW"},
        ),
        "subscriptions": (
            {"type": "NEW_WORK_ORDER", "url": "https://example.com/hooks/maintainx"},
            {"url": "https://example.com/hooks/maintainx-v2"},
        ),
    }


def subscription_id(sim: Simulator) -> int:
    with client_for(sim) as client:
        body = {"type": "WORK_ORDER_STATUS_CHANGE", "url": "https://example.com/hook"}
        return int(client.post("/v1/subscriptions", json=body).json()["id"])


def probes_for(sim: Simulator, method: str, template: str) -> Iterator[Probe]:
    """Requests that reach every answer the simulator can give on one operation."""
    if template == "/versions":
        yield Probe("GET", "/versions", 200)
        return
    resource = next(
        (r for r in RESOURCES if template.startswith(r.path + "/") or template == r.path), None
    )
    name = resource.name if resource else ""
    some_id = (
        subscription_id(sim) if name == "subscriptions" else (first_id(sim, name) if name else 0)
    )
    path = "/v1" + template.replace("{id}", str(some_id)).replace("{meterId}", str(some_id))
    missing = "/v1" + template.replace("{id}", str(MISSING)).replace("{meterId}", str(MISSING))
    bodies = sample_bodies(sim)
    route = (method, template)
    if resource is not None and template == resource.path and method == "GET":
        expands = [("expand", e) for e in resource.list_expand]
        yield Probe("GET", path, 200, [("limit", "3")])
        yield Probe("GET", path, 200, [("limit", "200"), *expands])
        yield Probe("GET", path, 400, [("limit", "0")])
        yield Probe("GET", path, 400, [("cursor", "not-a-cursor")])
    elif resource is not None and template == resource.path and method == "POST":
        yield Probe("POST", path, resource.create_status, body=bodies[name][0])
        yield Probe("POST", path, 400, body={})
    elif resource is not None and template == resource.path + "/{id}":
        if method == "GET":
            expands = [("expand", e) for e in resource.get_expand]
            for index in range(3 if name != "subscriptions" else 1):
                other = some_id if name == "subscriptions" else first_id(sim, name, index)
                yield Probe("GET", f"/v1{resource.path}/{other}", 200)
            yield Probe("GET", path, 200, expands)
            yield Probe("GET", f"/v1{resource.path}/abc", 400)
            yield Probe("GET", missing, 404)
        elif method == "PATCH":
            yield Probe("PATCH", path, 200, body=bodies[name][1])
            yield Probe("PATCH", path, 400, body={next(iter(resource.update_fields)): {"no": "pe"}})
            yield Probe("PATCH", missing, 404, body=bodies[name][1])
        elif method == "DELETE":
            yield Probe("DELETE", path, 204)
            yield Probe("DELETE", path, 404)
    elif route == ("PATCH", "/workorders/{id}/status"):
        yield Probe("PATCH", path, 200, body={"status": "DONE"})
        yield Probe("PATCH", path, 200, body={"status": "IN_PROGRESS"})
        yield Probe("PATCH", path, 400, body={"status": "SKIPPED"})
        yield Probe("PATCH", missing, 404, body={"status": "DONE"})
    elif route == ("GET", "/workorders/{id}/comments"):
        with client_for(sim) as client:
            client.post(f"{path}", json={"content": "First!"})
        yield Probe("GET", path, 200)
        yield Probe("GET", path, 200, [("limit", "1")])
        yield Probe("GET", path, 400, [("limit", "500")])
        yield Probe("GET", missing, 404)
    elif route == ("POST", "/workorders/{id}/comments"):
        yield Probe("POST", path, 201, body={"content": "Checked, all good."})
        yield Probe("POST", path, 400, body={"content": 12})
        yield Probe("POST", missing, 404, body={"content": "Hello"})
    elif route == ("GET", "/subscriptions/{id}/secret"):
        yield Probe("GET", path, 200)
        yield Probe("GET", missing, 404)
    elif route == ("GET", "/organizations"):
        yield Probe("GET", path, 200, [("limit", "1")])
        yield Probe("GET", path, 400, [("limit", "x")])
    elif route == ("POST", "/meterreadings"):
        meter = first_id(sim, "meters")
        yield Probe(
            "POST",
            path,
            201,
            body=[
                {"meterId": meter, "value": 12.5},
                {"meterId": meter, "value": 13, "readingDate": None},
            ],
        )
        yield Probe("POST", path, 400, body=[{"value": 1}])
        yield Probe("POST", path, 404, body=[{"meterId": MISSING, "value": 1}])
    elif route == ("POST", "/meters/{meterId}/readings"):
        yield Probe("POST", path, 201, body={"readingValue": 42})
        yield Probe("POST", path, 400, body={})
    else:  # pragma: no cover - a new route needs probes here
        pytest.fail(f"no probes for {method} {template}")


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


@pytest.mark.parametrize(("method", "template"), ROUTES, ids=[f"{m} {t}" for m, t in ROUTES])
def test_every_answer_matches_the_spec(method: str, template: str) -> None:
    """Success and error answers of one operation validate against the spec's schemas."""
    sim = make_simulator()
    probes = list(probes_for(sim, method, template))
    assert probes
    with client_for(sim) as client:
        for probe in probes:
            response = client.request(
                probe.method,
                probe.path,
                params=httpx.QueryParams(tuple(probe.params)),
                json=probe.body,
                headers=probe.headers,
            )
            check(response, method, template, probe.status)


@pytest.mark.parametrize(("method", "template"), ROUTES, ids=[f"{m} {t}" for m, t in ROUTES])
def test_unauthenticated_answers_are_documented(method: str, template: str) -> None:
    """No key and a bad key both get 401, which the spec documents for every authenticated route."""
    sim = make_simulator(empty=True)
    path = template.replace("{id}", "1").replace("{meterId}", "1")
    path = path if template == "/versions" else "/v1" + path
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
    path = "/v1" + template.replace("{id}", "1").replace("{meterId}", "1")
    with client_for(sim) as client:
        client.get("/v1/organizations")
        response = client.request(method, path, json={} if method in ("POST", "PATCH") else None)
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
    path = "/v1" + template.replace("{id}", "1").replace("{meterId}", "1")
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


def test_every_served_route_exists_in_the_spec() -> None:
    """A route the spec does not have is a bug: every simulator route is a spec operation."""
    unknown = [(m, t) for m, t in ROUTES if not spec_tools.has_operation(t, m)]
    assert not unknown


def test_concrete_paths_match_their_templates() -> None:
    """match_path maps concrete request paths back to the spec templates the router uses."""
    assert spec_tools.match_path("/v1/workorders/12/status") == "/workorders/{id}/status"
    assert spec_tools.match_path("/workorders") == "/workorders"
    assert spec_tools.match_path("/v1/meters/5/readings") == "/meters/{meterId}/readings"
    assert spec_tools.match_path("/v1/maintenanceplans/workorderblueprints") == (
        "/maintenanceplans/workorderblueprints"
    )
    assert spec_tools.match_path("/v1/nope/1/2/3") is None


def test_filters_and_sorts_are_documented_query_parameters() -> None:
    """Every query parameter a list understands is one the spec documents for that list."""
    for spec in RESOURCES:
        if "list" not in spec.ops:
            continue
        documented = spec_tools.query_param_names(spec.path, "get")
        served = {f.param for f in spec.filters} | {"limit", "cursor"}
        if spec.sorts:
            served.add("sort")
            sort_param = next(
                p
                for p in spec_tools.operation(spec.path, "get")["parameters"]
                if p["name"] == "sort"
            )
            assert {s.lstrip("-") for s in sort_param["schema"]["enum"]} >= set(spec.sorts)
        if spec.list_expand:
            served.add("expand")
        assert served <= documented, (spec.path, served - documented)


def test_accepted_body_fields_are_documented() -> None:
    """Every body field a create or update accepts is a property of the spec's request schema."""
    for spec in RESOURCES:
        for op, method, path, fields in (
            ("create", "post", spec.path, spec.create_fields),
            ("update", "patch", spec.path + "/{id}", spec.update_fields),
        ):
            if op not in spec.ops:
                continue
            schema = spec_tools.request_body_schema(path, method)
            assert schema is not None
            variants = schema.get("oneOf", [schema])
            documented = set().union(*(v.get("properties", {}) for v in variants))
            assert set(fields) <= documented, (method, path, set(fields) - documented)


def test_sample_bodies_are_valid_requests() -> None:
    """The bodies these tests send are themselves valid for the spec (strictly)."""
    sim = make_simulator()
    for name, (create, update) in sample_bodies(sim).items():
        spec = RESOURCES_BY_NAME[name]
        create_schema = spec_tools.request_body_schema(spec.path, "post")
        update_schema = spec_tools.request_body_schema(spec.path + "/{id}", "patch")
        assert create_schema is not None and update_schema is not None
        assert not spec_tools.errors(create_schema, create), name
        assert not spec_tools.errors(update_schema, update), name


def test_full_pages_of_seeded_data_validate() -> None:
    """Every seeded record of every list, with every expansion, validates (nulls included)."""
    sim = make_simulator(work_orders=300, assets=60, parts=40, work_requests=40)
    with client_for(sim) as client:
        for spec in RESOURCES:
            if "list" not in spec.ops:
                continue
            schema = spec_tools.response_schema(spec.path, "get", 200)
            assert schema is not None
            params = [("limit", "200"), *[("expand", e) for e in spec.list_expand]]
            cursor: str | None = None
            while True:
                page = client.get(
                    "/v1" + spec.path,
                    params=httpx.QueryParams(
                        tuple(params + ([("cursor", cursor)] if cursor else []))
                    ),
                )
                assert page.status_code == 200
                problems = spec_tools.errors(schema, page.json())
                assert not problems, (spec.path, problems[:5])
                cursor = page.json()["nextCursor"]
                if cursor is None:
                    break
