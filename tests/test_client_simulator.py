"""The real clients against the simulator over a real socket: exact pagination, filters,
and a full work-order life cycle, sync and async, through the whole default pipeline."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from maintainx_resilient import AsyncMaintainXClient, MaintainXClient, NotFoundError
from maintainx_resilient.testing import Simulator, SimulatorServer

pytestmark = pytest.mark.socket

SEEDED = 450
# The simulator's rate limit is off here: pagination exactness is under test, not the
# throttle (its own integration tests run against the real limit shape).
PIPELINE: dict[str, Any] = {"throttle": None}


@pytest.fixture(scope="module")
def sim() -> Simulator:
    return Simulator(seed=3, work_orders=SEEDED, assets=20, rate_limit=None)


@pytest.fixture(scope="module")
def server(sim: Simulator) -> Iterator[SimulatorServer]:
    with sim.serve() as served:
        yield served


def seeded(sim: Simulator) -> list[dict[str, Any]]:
    return sim.records("workOrders")


@pytest.mark.parametrize("limit", [1, 7, 100, 200])
def test_sync_pagination_returns_exactly_the_seeded_set(
    sim: Simulator, server: SimulatorServer, limit: int
) -> None:
    """Every seeded work order comes back once, none missing, at every page size."""
    with MaintainXClient(api_key=sim.API_KEY, base_url=server.base_url, **PIPELINE) as client:
        ids = [wo.id for wo in client.work_orders.iter(limit=limit)]
    expected = [r["id"] for r in seeded(sim)]
    assert len(ids) == len(set(ids))
    assert sorted(ids) == sorted(expected)


@pytest.mark.parametrize("limit", [1, 7, 100, 200])
async def test_async_pagination_returns_exactly_the_seeded_set(
    sim: Simulator, server: SimulatorServer, limit: int
) -> None:
    """The async client pages to the same exact set."""
    async with AsyncMaintainXClient(
        api_key=sim.API_KEY, base_url=server.base_url, **PIPELINE
    ) as client:
        ids = [wo.id async for wo in client.work_orders.iter(limit=limit)]
    assert sorted(ids) == sorted(r["id"] for r in seeded(sim))
    assert len(ids) == len(set(ids))


def test_filters_return_exactly_the_matching_records(
    sim: Simulator, server: SimulatorServer
) -> None:
    """statuses, priorities and assets filters match the simulator's own selection."""
    records = seeded(sim)
    asset_ids = sorted({r["assetId"] for r in records if r.get("assetId")})[:2]
    with MaintainXClient(api_key=sim.API_KEY, base_url=server.base_url, **PIPELINE) as client:
        by_status = {wo.id for wo in client.work_orders.iter(statuses=["OPEN", "ON_HOLD"])}
        by_priority = {wo.id for wo in client.work_orders.iter(priorities=["HIGH"], limit=50)}
        by_asset = {wo.id for wo in client.work_orders.iter(assets=asset_ids)}
        combined = {
            wo.id for wo in client.work_orders.iter(statuses=["OPEN"], priorities=["LOW", "HIGH"])
        }
    assert by_status == {r["id"] for r in records if r["status"] in ("OPEN", "ON_HOLD")}
    assert by_priority == {r["id"] for r in records if r.get("priority") == "HIGH"}
    assert by_asset == {r["id"] for r in records if r.get("assetId") in asset_ids}
    assert combined == {
        r["id"] for r in records if r["status"] == "OPEN" and r.get("priority") in ("LOW", "HIGH")
    }
    assert by_status
    assert by_asset


def test_work_order_life_cycle_sync(sim: Simulator, server: SimulatorServer) -> None:
    """Create, fetch, update, move to DONE via the status endpoint, comment, delete."""
    with MaintainXClient(api_key=sim.API_KEY, base_url=server.base_url, **PIPELINE) as client:
        new_id = client.work_orders.create(title="Replace belt", priority="HIGH")
        fetched = client.work_orders.get(new_id)
        assert (fetched.title, fetched.priority) == ("Replace belt", "HIGH")
        updated = client.work_orders.update(new_id, description="frayed")
        assert updated.description == "frayed"
        done = client.work_orders.set_status(new_id, "DONE")
        assert done.status == "DONE"
        comment_id = client.work_orders.add_comment(new_id, "fixed")
        assert comment_id in [c.id for c in client.work_orders.comments(new_id)]
        client.work_orders.delete(new_id)
        with pytest.raises(NotFoundError):
            client.work_orders.get(new_id)


async def test_work_order_life_cycle_async(sim: Simulator, server: SimulatorServer) -> None:
    """The async client runs the same life cycle."""
    async with AsyncMaintainXClient(
        api_key=sim.API_KEY, base_url=server.base_url, **PIPELINE
    ) as client:
        new_id = await client.work_orders.create(title="Async belt")
        assert (await client.work_orders.get(new_id)).title == "Async belt"
        assert (await client.work_orders.set_status(new_id, "IN_PROGRESS")).status == "IN_PROGRESS"
        await client.work_orders.delete(new_id)
        with pytest.raises(NotFoundError):
            await client.work_orders.get(new_id)


def test_every_family_lists_through_the_client(sim: Simulator, server: SimulatorServer) -> None:
    """Each list-capable family pages against the simulator without a parsing error."""
    with MaintainXClient(api_key=sim.API_KEY, base_url=server.base_url, **PIPELINE) as client:
        for family in (
            client.assets, client.locations, client.parts, client.users, client.teams,
            client.vendors, client.categories, client.meters, client.purchase_orders,
            client.work_requests, client.organizations,
        ):  # fmt: skip
            items = list(family.iter(limit=200))
            assert items, family
