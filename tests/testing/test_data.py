"""Seeded data: deterministic, sized as asked, shaped like the API's records."""

from __future__ import annotations

import re
from typing import Any

import pytest

from maintainx_resilient.testing import ApiKey, SeedSizes, Simulator

from ._support import SMALL

ISO_MS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
TABLES = {
    "workOrders": "work_orders",
    "assets": "assets",
    "locations": "locations",
    "parts": "parts",
    "users": "users",
    "teams": "teams",
    "vendors": "vendors",
    "categories": "categories",
    "meters": "meters",
    "purchaseOrders": "purchase_orders",
    "workRequests": "work_requests",
}


def test_the_same_seed_gives_the_same_data() -> None:
    """Two simulators with one seed hold identical records; another seed differs."""
    one, two, other = (Simulator(seed=s, **SMALL) for s in (4, 4, 5))
    for table in TABLES:
        assert one.records(table) == two.records(table), table
    assert one.records("workOrders") != other.records("workOrders")


def test_each_resource_has_the_requested_count() -> None:
    """The size arguments are the number of records per organization."""
    sim = Simulator(seed=1, **SMALL)
    for table, size in TABLES.items():
        assert len(sim.records(table)) == SMALL[size], table


def test_the_default_size_is_thousands_of_work_orders() -> None:
    """Out of the box a simulator has 3000 work orders (enough for real pagination)."""
    assert SeedSizes().work_orders == 3000


def test_timestamps_are_iso_utc_milliseconds_before_the_epoch() -> None:
    """Every createdAt/updatedAt looks like 2024-01-01T00:00:00.000Z, created <= updated < epoch."""
    sim = Simulator(seed=2, **SMALL)
    for table in ("workOrders", "assets", "parts", "purchaseOrders", "workRequests"):
        for record in sim.records(table):
            assert ISO_MS.match(record["createdAt"]) and ISO_MS.match(record["updatedAt"])
            assert record["createdAt"] <= record["updatedAt"] < "2025-01-01T00:00:00.000Z"


def test_ids_ascend_with_creation_time() -> None:
    """Like a real database, a later id was created later."""
    sim = Simulator(seed=3, **SMALL)
    created = [w["createdAt"] for w in sim.records("workOrders")]
    assert created == sorted(created)


def test_money_is_integer_cents_and_durations_integer_seconds() -> None:
    """unitCost, prices and estimatedTime are integers (cents, seconds) or null."""
    sim = Simulator(seed=1, work_orders=200, parts=50, purchase_orders=20)
    for part in sim.records("parts"):
        assert part["unitCost"] is None or isinstance(part["unitCost"], int)
    for order in sim.records("purchaseOrders"):
        for item in order["items"]:
            assert isinstance(item["price"], int) and isinstance(item["unitCost"], int)
            assert item["priceDecimal"] == f"{item['price'] / 100:.6f}"
    for work_order in sim.records("workOrders"):
        estimated = work_order["estimatedTime"]
        assert estimated is None or (isinstance(estimated, int) and estimated % 900 == 0)


def test_references_point_at_existing_records() -> None:
    """Seeded work orders reference assets, locations, users and categories that exist."""
    sim = Simulator(seed=1, **SMALL)
    assets = {a["id"] for a in sim.records("assets")}
    locations = {loc["id"] for loc in sim.records("locations")}
    users = {u["id"] for u in sim.records("users")}
    labels = {c["label"] for c in sim.records("categories")}
    for work_order in sim.records("workOrders"):
        assert work_order["assetId"] is None or work_order["assetId"] in assets
        assert work_order["locationId"] is None or work_order["locationId"] in locations
        assert set(work_order["assigneeIds"]) <= users
        assert set(work_order["categories"]) <= labels
        assert (work_order["status"] == "DONE") == (work_order["completedAt"] is not None)


def test_each_organization_gets_its_own_data() -> None:
    """Organization 2 has different records (and ids) from organization 1."""
    sim = Simulator(seed=1, api_keys={"k": ApiKey(1, (1, 2))}, **SMALL)
    first, second = sim.records("workOrders", org_id=1), sim.records("workOrders", org_id=2)
    assert len(first) == len(second)
    assert not {w["id"] for w in first} & {w["id"] for w in second}
    assert [w["title"] for w in first] != [w["title"] for w in second]


def test_empty_simulators_are_allowed() -> None:
    """Every size can be zero."""
    empty: dict[str, Any] = dict.fromkeys(SMALL, 0)
    sim = Simulator(seed=1, **empty)
    assert all(sim.records(table) == [] for table in TABLES)


def test_negative_sizes_fail_at_construction() -> None:
    """A negative count is a ValueError naming the argument."""
    with pytest.raises(ValueError, match="work_orders"):
        Simulator(work_orders=-1)
