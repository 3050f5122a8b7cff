"""Request bodies are checked like the API checks them: against the spec's own schema, with
400 shape A answers that name the field (required, empty, wrong type, unknown enum value)."""

from __future__ import annotations

from typing import Any

import pytest

from maintainx_resilient import BadRequestError, MaintainXClient
from maintainx_resilient.testing._validation import MAX_ERRORS, check, conform, default_value

from ._support import client, make_sim

# -- through the API -------------------------------------------------------------------------


def errors_of(answer: Any) -> list[tuple[str | None, Any]]:
    assert answer.status_code == 400, answer.text
    return [(e["fieldPath"], e["fieldValue"]) for e in answer.json()["errors"]]


def test_an_empty_title_is_refused_on_create_and_update() -> None:
    """``title=""`` (docs/errors.md's example) is a 400 shape A with fieldPath "title"; so is
    emptying it with a PATCH (a field a create requires cannot be blanked later)."""
    sim = make_sim()
    with client(sim) as http:
        created = http.post("/workorders", json={"title": ""})
        assert errors_of(created) == [("title", "")]
        blanked = http.patch("/workorders/1", json={"title": "   "})
        assert errors_of(blanked) == [("title", "   ")]
        assert http.get("/workorders/1").json()["workOrder"]["title"] != "   "
    assert sim.stats.created == {}


def test_the_client_raises_bad_request_with_the_field_path() -> None:
    """What docs/errors.md shows: BadRequestError with the field path and message."""
    sim = make_sim()
    with (
        MaintainXClient(api_key=sim.API_KEY, transport=sim.transport(), retry=None) as mx,
        pytest.raises(BadRequestError) as caught,
    ):
        mx.work_orders.create(title="")
    assert caught.value.field_paths == ("title",)
    assert "empty" in caught.value.errors[0].message


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/workorders", {}, "title"),  # required
        ("/workorders", {"title": "t", "priority": "URGENT"}, "priority"),  # unknown enum value
        ("/workorders", {"title": 5}, "title"),  # wrong type
        ("/workorders", {"title": "t", "estimatedTime": 1.5}, "estimatedTime"),  # an integer
        ("/workorders", {"title": "t", "dueDate": "tomorrow"}, "dueDate"),  # a date-time
        ("/workorders", {"title": "t", "assignees": [{"type": "USER"}]}, "assignees[0].id"),
        ("/assets", {"name": "a", "teamIds": ["x"]}, "teamIds[0]"),
        ("/meters", {"name": "m"}, "unit"),
        ("/subscriptions", {"type": "workorder.created", "url": "https://x"}, "type"),
        ("/subscriptions", {"url": "https://x"}, "type"),
        (
            "/subscriptions",
            {"type": "WORK_ORDER_STATUS_CHANGE", "url": "u", "filters": {"oneOfStatuses": ["X"]}},
            "filters.oneOfStatuses[0]",
        ),
        ("/teams/1/members", {"id": 1, "teamRole": "OWNER"}, "teamRole"),
        ("/vendors/1/contacts", {"name": ""}, "name"),
    ],
)
def test_bodies_are_checked_against_the_spec(path: str, body: dict[str, Any], field: str) -> None:
    """Each problem is a 400 shape A naming the field where it is, nested paths included."""
    sim = make_sim()
    with client(sim) as http:
        answer = http.post(path, json=body)
    assert field in [f for f, _ in errors_of(answer)]


def test_a_subscription_type_error_lists_every_type() -> None:
    """The spec's union of 46 subscription shapes is discriminated by ``type``: an unknown
    type is one error listing the types, not 46 branch failures."""
    sim = make_sim()
    with client(sim) as http:
        answer = http.post("/subscriptions", json={"type": "NOPE", "url": "https://x"})
    (entry,) = answer.json()["errors"]
    assert entry["fieldPath"] == "type"
    assert "NEW_WORK_ORDER" in entry["error"] and "WORK_ORDER_STATUS_CHANGE" in entry["error"]


@pytest.mark.parametrize(
    ("path", "raw"),
    [
        ("/purchaseorders", b'{"vendorId": 1e999, "items": [{"quantityOrdered": 1}]}'),
        ("/meterreadings", b'[{"meterId": NaN, "value": 1}]'),
        ("/workorders", b'{"title": "t", "estimatedTime": Infinity}'),
        ("/workorders", b'{"title": "t", "assetId": 1' + b"0" * 5000 + b"}"),
    ],
)
def test_numbers_json_cannot_hold_are_a_400_not_a_crash(path: str, raw: bytes) -> None:
    """NaN, Infinity and numbers too big for a float (or too long for an int) are invalid
    JSON to the API: a 400 shape A, where a reference check used to crash."""
    sim = make_sim()
    with client(sim) as http:
        answer = http.post(path, content=raw, headers={"content-type": "application/json"})
    assert answer.status_code == 400
    assert answer.json()["errors"][0]["error"] == "Invalid JSON body"


def test_invalid_json_and_deep_nesting_are_a_400_not_a_crash() -> None:
    """A body that is not JSON, or nests past Python's recursion limit, is a 400 shape A."""
    sim = make_sim()
    with client(sim) as http:
        garbage = http.post(
            "/workorders", content=b"{title", headers={"content-type": "application/json"}
        )
        deep = http.post("/workorders", content=b"[" * 100_000 + b"]" * 100_000)
        not_an_object = http.post("/workorders", json=["title"])
    for answer in (garbage, deep, not_an_object):
        assert answer.status_code == 400
        assert answer.json()["errors"][0]["fieldPath"] is None


def test_unknown_fields_are_ignored_like_the_api_does() -> None:
    sim = make_sim()
    with client(sim) as http:
        answer = http.post("/workorders", json={"title": "t", "somethingNew": {"a": 1}})
    assert answer.status_code == 200


# -- the checker ------------------------------------------------------------------------------


def test_the_number_of_errors_is_bounded() -> None:
    schema = {"type": "object", "required": [f"f{i}" for i in range(100)]}
    assert len(check({}, schema)) == MAX_ERRORS


def test_only_the_first_bad_item_of_an_array_is_reported() -> None:
    schema = {"type": "array", "items": {"type": "integer"}}
    assert [e.field_path for e in check([1, "a", "b"], schema, "ids")] == ["ids[1]"]


@pytest.mark.parametrize(
    ("value", "schema", "ok"),
    [
        (None, {"type": "string", "nullable": True}, True),
        (None, {"type": "string"}, False),
        (None, {"oneOf": [{"type": "integer", "nullable": True}, {"type": "string"}]}, True),
        ("7", {"oneOf": [{"type": "integer"}, {"type": "string"}]}, True),
        (True, {"type": "integer"}, False),
        (2.0, {"type": "number", "format": "integer"}, False),
        (250, {"type": "integer", "minimum": 1, "maximum": 200}, False),
        ("WEEKLY", {"type": "string", "pattern": "DAILY"}, False),
        ("2024-01-01T00:00:00Z", {"type": "string", "format": "date-time"}, True),
        ({"x": 1}, {"type": "object"}, True),
        ({}, {}, True),
    ],
)
def test_schema_rules(value: Any, schema: dict[str, Any], ok: bool) -> None:
    assert (not check(value, schema)) is ok


def test_conform_shapes_a_body_value_into_a_view_schema() -> None:
    """Unlisted properties go, required ones come (ids new), free-form objects stay."""
    view = {
        "type": "object",
        "required": ["id", "label", "done"],
        "properties": {
            "id": {"type": "integer"},
            "label": {"type": "string"},
            "done": {"type": "boolean"},
            "extra": {"type": "object"},
        },
    }
    ids = iter([41, 42])
    shaped = conform(
        {"label": "a", "index": 3, "extra": {"k": "v"}}, view, "now", lambda: next(ids)
    )
    assert shaped == {"label": "a", "extra": {"k": "v"}, "id": 41, "done": False}


def test_defaults_follow_the_schema() -> None:
    assert default_value({"type": "string", "enum": ["OPEN", "DONE"]}, "now") == "OPEN"
    assert default_value({"type": "array", "nullable": True}, "now") == []
    assert default_value({"type": "string", "format": "date-time"}, "now") == "now"
    assert default_value({"type": "string", "default": "MANUAL"}, "now") == "MANUAL"
    assert default_value(
        {"type": "object", "required": ["a"], "properties": {"a": {"type": "integer"}}}, "now"
    ) == {"a": 0}
