"""Typed events cover every event type of the spec, parse the spec's example payloads, and never
fail on unknown types, unknown fields or payloads that do not fit."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from maintainx_resilient.models.subscriptions import SubscriptionType
from maintainx_resilient.webhooks.events import (
    EVENT_MODELS,
    NewWorkOrder,
    RawEvent,
    WebhookEvent,
    WorkOrderDelete,
    WorkOrderStatusChange,
    WorkOrderSubStatus,
    parse_event,
)

from ..spec_tools import load_spec, spec_dir

ASYNCAPI_FILE = "maintainx-webhooks-asyncapi.yml"


@cache
def webhook_schemas() -> dict[str, dict[str, Any]]:
    spec = load_spec()
    return {
        name: item["post"]["requestBody"]["content"]["application/json"]["schema"]
        for name, item in spec["x-webhooks"].items()
    }


def example(schema: dict[str, Any]) -> Any:
    """An instance of ``schema`` built from its examples (what the spec shows)."""
    if "example" in schema and schema.get("type") != "object":
        return schema["example"]
    kind = schema.get("type")
    if "enum" in schema:
        return schema["enum"][0]
    if kind == "object":
        return {name: example(sub) for name, sub in (schema.get("properties") or {}).items()}
    if kind == "array":
        return [example(schema.get("items") or {"type": "string"})]
    if kind in ("number", "integer"):
        return 1
    if kind == "boolean":
        return True
    if schema.get("format") == "date-time":
        return "2022-01-01T00:00:00.000Z"
    return "text"


def test_every_spec_event_type_has_a_model() -> None:
    assert set(EVENT_MODELS) == set(webhook_schemas())
    assert set(EVENT_MODELS) == {member.value for member in SubscriptionType}
    asyncapi = spec_dir() / ASYNCAPI_FILE
    listed = {
        line.split(":", 1)[1].strip()
        for line in asyncapi.read_text().splitlines()
        if line.startswith("- event:")
    }
    assert listed == set(EVENT_MODELS)
    assert len(EVENT_MODELS) == 46


@pytest.mark.parametrize("event_type", sorted(EVENT_MODELS))
def test_model_fields_cover_the_spec_properties(event_type: str) -> None:
    schema = webhook_schemas()[event_type]
    model = EVENT_MODELS[event_type]
    aliases = {field.alias or name for name, field in model.model_fields.items()}
    missing = set(schema.get("properties") or {}) - aliases
    assert not missing, f"{model.__name__} lacks {sorted(missing)}"
    assert event_type == model.EVENT_TYPE


@pytest.mark.parametrize("event_type", sorted(EVENT_MODELS))
def test_spec_example_payload_parses_into_its_model(event_type: str) -> None:
    data = example(webhook_schemas()[event_type])
    body = json.dumps(data).encode()
    event = parse_event(event_type, body)
    assert type(event) is EVENT_MODELS[event_type], getattr(event, "parse_error", None)
    assert event.event_type == event_type
    assert event.raw == data
    assert event.to_wire().keys() <= data.keys() | set(event.model_extra or {})


def test_work_order_status_change_is_typed() -> None:
    body = (
        b'{"workOrderId":5,"orgId":2,"occurredAt":"2025-01-01T00:00:00.000Z",'
        b'"oldStatus":"OPEN","newStatus":"DONE","newSubStatus":"CANCELED","userId":9,'
        b'"newWorkOrder":{"title":"Pump","priority":"HIGH","assigneeIds":[1,2]}}'
    )
    event = parse_event("WORK_ORDER_STATUS_CHANGE", body)
    assert isinstance(event, WorkOrderStatusChange)
    assert event.work_order_id == 5
    assert event.new_status == "DONE"
    assert event.new_sub_status is WorkOrderSubStatus.CANCELED
    assert event.new_work_order is not None
    assert event.new_work_order.assignee_ids == [1, 2]
    assert event.occurred_at is not None and event.occurred_at.year == 2025


def test_capitalised_work_order_key_of_deletes() -> None:
    event = parse_event("WORK_ORDER_DELETE", b'{"workOrderId":1,"WorkOrder":{"title":"x"}}')
    assert isinstance(event, WorkOrderDelete)
    assert event.work_order is not None and event.work_order.title == "x"


def test_unknown_fields_and_enum_values_are_kept() -> None:
    event = parse_event(
        "WORK_ORDER_STATUS_CHANGE",
        b'{"workOrderId":1,"newStatus":"ARCHIVED","brandNew":{"a":1}}',
    )
    assert isinstance(event, WorkOrderStatusChange)
    assert event.new_status == "ARCHIVED"
    assert event.new_status is not None and not event.new_status.is_known
    assert event.model_extra == {"brandNew": {"a": 1}}


def test_unknown_type_is_raw() -> None:
    event = parse_event("SOMETHING_NEW", b'{"thingId":3,"orgId":1}')
    assert isinstance(event, RawEvent)
    assert event.event_type == "SOMETHING_NEW"
    assert event.raw == {"thingId": 3, "orgId": 1}
    assert event.org_id == 1
    assert event.parse_error is None


def test_payload_that_does_not_fit_is_raw_with_the_reason() -> None:
    event = parse_event("NEW_WORK_ORDER", b'{"workOrderId":"not-a-number","orgId":1}')
    assert isinstance(event, RawEvent)
    assert event.event_type == "NEW_WORK_ORDER"
    assert event.parse_error is not None and "workOrderId" in event.parse_error
    assert event.raw["workOrderId"] == "not-a-number"


@pytest.mark.parametrize("body", [b"not json", b"[1,2]", b"", b"\xff\xfe", b"null"])
def test_non_object_payloads_are_raw(body: bytes) -> None:
    event = parse_event("NEW_WORK_ORDER", body)
    assert isinstance(event, RawEvent)
    assert event.parse_error


def test_mapping_payload_and_no_type() -> None:
    event = parse_event("NEW_WORK_ORDER", {"workOrderId": 4})
    assert isinstance(event, NewWorkOrder)
    assert event.work_order_id == 4
    assert isinstance(parse_event(None, {"a": 1}), RawEvent)


@settings(max_examples=200, deadline=None)
@given(
    event_type=st.one_of(st.sampled_from(sorted(EVENT_MODELS)), st.text(max_size=20)),
    body=st.one_of(
        st.binary(max_size=200),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
            lambda inner: (
                st.lists(inner, max_size=4)
                | st.dictionaries(st.text(max_size=12), inner, max_size=5)
            ),
            max_leaves=20,
        ).map(lambda value: json.dumps(value).encode()),
    ),
)
def test_parse_event_never_raises(event_type: str, body: bytes) -> None:
    event = parse_event(event_type, body)
    assert isinstance(event, WebhookEvent)
    assert event.event_type == event_type
