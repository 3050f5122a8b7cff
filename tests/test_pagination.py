"""Pagination follows nextCursor with the same filters and stops at the end."""

from __future__ import annotations

import tracemalloc
import weakref
from collections.abc import Callable

import httpx
import pytest

from maintainx_resilient import AsyncMaintainXClient, CursorCycleError, MaintainXClient
from maintainx_resilient._pagination import AsyncPager, CursorWalk, Page, SeenCursors, SyncPager

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


def test_walk_stops_on_null_and_refuses_a_cursor_handed_back_unchanged() -> None:
    """A null cursor ends the walk; the cursor it was given, handed back, is a cycle of one
    (it used to end the walk silently, hiding the pages behind it)."""
    walk = CursorWalk()
    walk.advance(Page(items=[1], next_cursor="a"))
    assert (walk.cursor, walk.done) == ("a", False)
    with pytest.raises(CursorCycleError) as info:
        walk.advance(Page(items=[2], next_cursor="a"))
    assert (info.value.cursor, info.value.pages) == ("a", 2)
    walk = CursorWalk()
    walk.advance(Page(items=[], next_cursor=None))
    assert walk.done


def test_walk_refuses_any_repeated_cursor() -> None:
    """A -> B -> A is caught on the first repeat, with the cursor (shortened) and the page
    count in the error; the cursor a walk resumes from counts as followed."""
    walk = CursorWalk(path="/workorders")
    for cursor in ("A", "B"):
        walk.advance(Page(items=[], next_cursor=cursor))
    with pytest.raises(CursorCycleError, match=r"'A' was already followed .*3 pages") as info:
        walk.advance(Page(items=[], next_cursor="A"))
    assert (info.value.method, info.value.path) == ("GET", "/workorders")
    resumed = CursorWalk("start")
    resumed.advance(Page(items=[], next_cursor="x" * 500))
    with pytest.raises(CursorCycleError) as long_info:
        resumed.advance(Page(items=[], next_cursor="x" * 500))
    assert long_info.value.cursor == "x" * 45 + "..."
    assert "x" * 49 not in str(long_info.value)
    with pytest.raises(CursorCycleError):
        CursorWalk("start").advance(Page(items=[], next_cursor="start"))


def test_seen_cursors_memory_is_bounded_per_page() -> None:
    """A walk remembers a fixed-size digest per page, however long the cursors are."""
    seen = SeenCursors()
    tracemalloc.start()
    for n in range(10_000):
        seen.follow(f"{n:08d}" + "c" * 2_000, n)
    _, high = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert len(seen) == 10_000
    assert high < 2_000_000, high  # about 1.2 MB; the cursors themselves would be 20 MB


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


def cycling_handler(cursors: dict[str, str], seen: list[str]) -> httpx.MockTransport:
    """A list endpoint whose nextCursor follows ``cursors`` (page cursor -> next cursor)."""

    def handler(request: httpx.Request) -> httpx.Response:
        cursor = request.url.params.get("cursor", "")
        seen.append(cursor)
        item = {"id": len(seen), "title": f"wo {len(seen)}", "status": "OPEN"}
        return httpx.Response(200, json={"workOrders": [item], "nextCursor": cursors[cursor]})

    return httpx.MockTransport(handler)


def test_sync_iter_stops_on_a_cursor_cycle() -> None:
    """iter() against A -> B -> A raises CursorCycleError after three pages instead of
    walking the loop until the server stops."""
    sent: list[str] = []
    transport = cycling_handler({"": "A", "A": "B", "B": "A"}, sent)
    client = MaintainXClient(api_key=CANARY_KEY, transport=transport, **NO_POLICIES)
    got: list[int] = []
    with pytest.raises(CursorCycleError) as info:
        got.extend(wo.id for wo in client.work_orders.iter())
    assert sent == ["", "A", "B"]
    assert got == [1, 2, 3]
    assert (info.value.cursor, info.value.pages, info.value.path) == ("A", 3, "/workorders")


async def test_async_iter_stops_on_a_cursor_cycle() -> None:
    """The async iterator catches the same cycle after the same three pages."""
    sent: list[str] = []
    transport = cycling_handler({"": "A", "A": "B", "B": "A"}, sent)
    async with AsyncMaintainXClient(
        api_key=CANARY_KEY, transport=transport, **NO_POLICIES
    ) as client:
        with pytest.raises(CursorCycleError) as info:
            _ = [wo async for wo in client.work_orders.iter()]
    assert sent == ["", "A", "B"]
    assert info.value.pages == 3


class _Record:
    """A record that can be watched (weak references) to see when nothing holds it."""

    def __init__(self, n: int) -> None:
        self.n = n


def _watched_pages(
    alive: list[list[weakref.ref[_Record]]],
) -> Callable[[str | None], Page[_Record]]:
    """Three pages of two records; each fetch notes which earlier records are still held."""
    refs: list[weakref.ref[_Record]] = []

    def fetch(cursor: str | None) -> Page[_Record]:
        alive.append([r for r in refs if r() is not None])
        start = int(cursor or 0)
        items = [_Record(start), _Record(start + 1)]
        refs.extend(weakref.ref(i) for i in items)
        return Page(items=items, next_cursor=str(start + 2) if start < 4 else None)

    return fetch


def test_sync_iteration_lets_go_of_a_page_before_fetching_the_next() -> None:
    """While page N+1 is fetched (and validated), nothing holds page N's records but the one
    the caller is holding: one page in memory at a time, not two."""
    alive: list[list[weakref.ref[_Record]]] = []
    seen = []
    for record in SyncPager(_watched_pages(alive)):
        seen.append(record.n)
        del record
    assert seen == [0, 1, 2, 3, 4, 5]
    assert [len(a) for a in alive] == [0, 0, 0]
    alive.clear()
    for page in SyncPager(_watched_pages(alive)).pages():
        assert len(page) == 2
    assert [len(a) for a in alive] == [0, 2, 2]  # only the page the caller holds itself


async def test_async_iteration_lets_go_of_a_page_before_fetching_the_next() -> None:
    alive: list[list[weakref.ref[_Record]]] = []
    fetch = _watched_pages(alive)

    async def afetch(cursor: str | None) -> Page[_Record]:
        return fetch(cursor)

    seen = []
    async for record in AsyncPager(afetch):
        seen.append(record.n)
        del record
    assert seen == [0, 1, 2, 3, 4, 5]
    assert [len(a) for a in alive] == [0, 1, 1]  # the record last handed out, not its page
