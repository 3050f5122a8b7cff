"""Subscription filters decide which events a subscription receives, as the spec describes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from maintainx_resilient.testing import Simulator
from maintainx_resilient.testing._subfilters import passes

from ._support import client, make_sim

HOOK = "https://hooks.example/"

Sent = list[tuple[str, dict[str, Any]]]


@pytest.fixture
def sim() -> Iterator[Simulator]:
    simulator = make_sim()
    simulator.webhooks.mode = "manual"
    yield simulator
    simulator.webhooks.close()


@pytest.fixture
def sent(sim: Simulator) -> Sent:
    captured: Sent = []

    def sender(url: str, headers: dict[str, str], body: bytes, timeout: float) -> int:
        captured.append((url, json.loads(body)))
        return 200

    sim.webhooks.sender = sender
    return captured


def subscribe(http: httpx.Client, name: str, event_type: str, filters: Any = None) -> None:
    body: dict[str, Any] = {"type": event_type, "url": HOOK + name}
    if filters is not None:
        body["filters"] = filters
    answer = http.post("/subscriptions", json=body)
    assert answer.status_code == 201, answer.text


def received(sim: Simulator, sent: Sent) -> dict[str, list[dict[str, Any]]]:
    sim.webhooks.flush()
    out: dict[str, list[dict[str, Any]]] = {}
    for url, payload in sent:
        out.setdefault(url.removeprefix(HOOK), []).append(payload)
    return out


def test_status_filters_pick_the_status_changes(sim: Simulator, sent: Sent) -> None:
    """``oneOfStatuses`` on work order status changes: only the listed new statuses; a
    CANCELED work order is CANCELED (the payload's ``DONE`` does not match ``DONE``)."""
    with client(sim) as http:
        subscribe(http, "all", "WORK_ORDER_STATUS_CHANGE")
        subscribe(http, "done", "WORK_ORDER_STATUS_CHANGE", {"oneOfStatuses": ["DONE"]})
        subscribe(
            http, "ended", "WORK_ORDER_STATUS_CHANGE", {"oneOfStatuses": ["DONE", "CANCELED"]}
        )
        subscribe(http, "empty", "WORK_ORDER_STATUS_CHANGE", {"oneOfStatuses": []})
        wo = http.post("/workorders", json={"title": "Pump"}).json()["id"]
        for status in ("IN_PROGRESS", "DONE", "OPEN", "CANCELED"):
            http.patch(f"/workorders/{wo}/status", json={"status": status})
    got = received(sim, sent)
    assert len(got["all"]) == len(got["empty"]) == 4
    assert [p["newStatus"] for p in got["done"]] == ["DONE"]
    assert [(p["newStatus"], p.get("newSubStatus")) for p in got["ended"]] == [
        ("DONE", None),
        ("DONE", "CANCELED"),
    ]


def test_property_filters_need_a_listed_property_to_change(sim: Simulator, sent: Sent) -> None:
    """``oneOfProperties``: a work order change is delivered only when one of the listed
    properties changed (PRIORITY is ``priority``, ASSIGNEES is ``assigneeIds``)."""
    user = sim.records("users")[2]["id"]
    with client(sim) as http:
        subscribe(http, "priority", "WORK_ORDER_CHANGE", {"oneOfProperties": ["PRIORITY"]})
        subscribe(http, "people", "WORK_ORDER_CHANGE", {"oneOfProperties": ["ASSIGNEES", "TEAMS"]})
        wo = http.post("/workorders", json={"title": "Pump", "priority": "LOW"}).json()["id"]
        http.patch(f"/workorders/{wo}", json={"title": "Pump 2"})
        http.patch(f"/workorders/{wo}", json={"priority": "HIGH"})
        http.patch(f"/workorders/{wo}", json={"assignees": [{"type": "USER", "id": user}]})
    got = received(sim, sent)
    assert [p["newWorkOrder"]["priority"] for p in got["priority"]] == ["HIGH"]
    assert [p["addedAssigneeIds"] for p in got["people"]] == [[user]]


def test_category_part_status_and_purchase_order_filters(sim: Simulator, sent: Sent) -> None:
    """``oneOfCategories`` by name or id, ``oneOfPartStatuses`` (lower case in the spec),
    and a purchase order's ``oneOfStatuses``/``vendors``."""
    electrical = next(c for c in sim.records("categories") if c["label"] == "Electrical")
    vendors = [v["id"] for v in sim.records("vendors")]
    with client(sim) as http:
        subscribe(
            http, "by-name", "NEW_CATEGORY_ON_WORK_ORDER", {"oneOfCategories": ["Electrical"]}
        )
        subscribe(
            http, "by-id", "NEW_CATEGORY_ON_WORK_ORDER", {"oneOfCategories": [electrical["id"]]}
        )
        subscribe(http, "other", "NEW_CATEGORY_ON_WORK_ORDER", {"oneOfCategories": ["Safety"]})
        subscribe(
            http, "kitted", "WORK_ORDER_PART_STATUS_CHANGE", {"oneOfPartStatuses": ["kitted"]}
        )
        subscribe(
            http,
            "approved",
            "PURCHASE_ORDER_STATUS_CHANGE",
            {"oneOfStatuses": ["APPROVED"], "vendors": [vendors[1]]},
        )
        wo = http.post("/workorders", json={"title": "Pump"}).json()["id"]
        http.patch(f"/workorders/{wo}", json={"categories": ["Electrical"]})
        http.patch(f"/workorders/{wo}/partStatus", json={"partStatus": "STAGED"})
        http.patch(f"/workorders/{wo}/partStatus", json={"partStatus": "KITTED"})
        orders = []
        for vendor in vendors[:2]:
            body = {"vendorId": vendor, "items": [{"name": "bolts", "quantityOrdered": 2}]}
            orders.append(http.post("/purchaseorders", json=body).json()["id"])
        for order in orders:
            http.patch(f"/purchaseorders/{order}/status", json={"status": "APPROVED"})
    got = received(sim, sent)
    assert len(got["by-name"]) == len(got["by-id"]) == 1
    assert "other" not in got
    assert [p["newPartStatus"] for p in got["kitted"]] == ["KITTED"]
    assert [p["purchaseOrderId"] for p in got["approved"]] == [orders[1]]


def test_emitted_events_are_filtered_by_their_payload(sim: Simulator, sent: Sent) -> None:
    """emit() delivers any event type; filters are matched against its payload."""
    with client(sim) as http:
        subscribe(http, "offline", "ASSET_STATUS_CHANGE", {"oneOfAssetStatusTypes": ["OFFLINE"]})
    online = {"assetId": 1, "orgId": 1, "newStatus": {"status": "ONLINE"}}
    offline = {"assetId": 1, "orgId": 1, "newStatus": {"status": "OFFLINE"}}
    assert sim.webhooks.emit("ASSET_STATUS_CHANGE", online) == 0
    assert sim.webhooks.emit("ASSET_STATUS_CHANGE", offline) == 1
    assert [p["newStatus"]["status"] for p in received(sim, sent)["offline"]] == ["OFFLINE"]


@pytest.mark.parametrize(
    ("filters", "payload", "old", "new", "expected"),
    [
        (None, {}, None, None, True),
        ({"oneOfStatuses": []}, {"newStatus": "DONE"}, None, None, True),
        ({"oneOfStatuses": ["DONE"]}, {"newStatus": "DONE"}, None, None, True),
        ({"oneOfStatuses": ["DONE"]}, {"newStatus": "DONE"}, {}, {"status": "CANCELED"}, False),
        ({"oneOfStates": ["TRIGGERED"]}, {"newState": "STABLE"}, None, None, False),
        ({"command": "jira"}, {"command": "jira"}, None, None, True),
        ({"oneOfPartProperties": ["UNIT_COST"]}, {}, {"unitCost": 1}, {"unitCost": 2}, True),
        ({"oneOfPartProperties": ["UNIT_COST"]}, {}, {"unitCost": 1}, {"unitCost": 1}, False),
        ({"oneOfPurchaseOrderProperties": ["VENDOR"]}, {}, {"vendorId": 1}, {"vendorId": 2}, True),
        ({"oneOfProperties": ["PARTS"]}, {}, {"_partIds": []}, {"_partIds": [3]}, True),
        ({"oneOfProperties": ["PRIORITY"]}, {}, None, None, True),  # unknown change: delivered
        ({"somethingNew": ["x"]}, {}, None, None, True),
    ],
)
def test_filter_rules(
    filters: Any, payload: dict[str, Any], old: Any, new: Any, expected: bool
) -> None:
    assert passes(filters, payload, old, new) is expected
