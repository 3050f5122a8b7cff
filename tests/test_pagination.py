"""Pagination follows nextCursor with the same filters and stops at the end."""

from __future__ import annotations

import tracemalloc

import httpx
import pytest

from maintainx_resilient import AsyncMaintainXClient, MaintainXClient
from maintainx_resilient._pagination import CursorWalk, Page

from .conftest import CANARY_KEY, NO_POLICIES


def paged_handler(total: int, seen: list[httpx.Request] | None) -> httpx.MockTransport:
    """A fake list endpoint: ids 1..total, cursor = last id sent."""

    def handler(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        limit = int(request.url.params.get("limit", "100"))
        after = int(request.url.params.get("cursor", "0"))
        ids = range(after + 1, min(after + limit, total) + 1)
        nxt = str(ids[-1]) if ids and ids[-1] < total else None
        items = [{"id": i, "title": f"wo {i}", "status": "OPEN"} for i in ids]
        return httpx.Response(200, json={"workOrders": items, "nextCursor": nxt})

    return httpx.MockTransport(handler)


def test_walk_stops_on_null_or_repeated_cursor() -> None:
    """A null cursor ends the walk; a cursor handed back unchanged also ends it (no loop)."""
    walk = CursorWalk()
    walk.advance(Page(items=[1], next_cursor="a"))
    assert (walk.cursor, walk.done) == ("a", False)
    walk.advance(Page(items=[2], next_cursor="a"))
    assert walk.done
    walk = CursorWalk()
    walk.advance(Page(items=[], next_cursor=None))
    assert walk.done


@pytest.mark.parametrize("limit", [1, 7, 100, 200])
def test_sync_iter_returns_everything_once(limit: int) -> None:
    """Every record comes back exactly once, with the filters repeated on every page."""
    seen: list[httpx.Request] = []
    client = MaintainXClient(api_key=CANARY_KEY, transport=paged_handler(450, seen), **NO_POLICIES)
    ids = [wo.id for wo in client.work_orders.iter(limit=limit, statuses=["OPEN", "DONE"])]
    assert ids == list(range(1, 451))
    for request in seen:
        assert request.url.params.get_list("statuses") == ["OPEN", "DONE"]
        assert request.url.params["limit"] == str(limit)


async def test_async_iter_returns_everything_once() -> None:
    """The async iterator yields the same records as the sync one."""
    seen: list[httpx.Request] = []
    transport = paged_handler(250, seen)
    async with AsyncMaintainXClient(
        api_key=CANARY_KEY, transport=transport, **NO_POLICIES
    ) as client:
        ids = [wo.id async for wo in client.work_orders.iter(limit=100)]
        page = await client.work_orders.list(limit=10)
    assert ids == list(range(1, 251))
    assert len(page.items) == 10
    assert page.next_cursor == "10"


def test_pages_resume_from_a_cursor() -> None:
    """pages(cursor) starts where a previous walk stopped."""
    seen: list[httpx.Request] = []
    client = MaintainXClient(api_key=CANARY_KEY, transport=paged_handler(30, seen), **NO_POLICIES)
    first = client.work_orders.list(limit=10)
    rest = [
        wo.id for page in client.work_orders.iter(limit=10).pages(first.next_cursor) for wo in page
    ]
    assert rest == list(range(11, 31))


def test_iteration_memory_is_flat() -> None:
    """Walking 20x more records does not hold more memory: only one page lives at a time."""
    client = MaintainXClient(
        api_key=CANARY_KEY, transport=paged_handler(20_000, None), **NO_POLICIES
    )

    def peak(n: int) -> int:
        tracemalloc.start()
        for count, _wo in enumerate(client.work_orders.iter(limit=200), start=1):
            if count >= n:
                break
        _, high = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return high

    peak(1_000)  # warm up: first-use allocations are not per-record memory
    small, large = peak(1_000), peak(20_000)
    assert large < small * 1.5, (small, large)
