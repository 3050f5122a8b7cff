"""Pages and cursor-following. Pure: the sync and async iterators only send and loop.

MaintainX lists answer ``{"<items>": [...], "nextCursor": str|null}``. A :class:`Page` holds
one answer. :class:`CursorWalk` is the state of a walk through all pages: it keeps the same
filters on every page (the API requires it) and stops when ``nextCursor`` is null, or when a
server bug hands back the cursor it was given (which would otherwise loop forever).
Only the current cursor is kept, so a walk over any number of records uses constant memory.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from ._meta import FRESH, ResponseMeta

__all__ = ["MAX_PAGE_SIZE", "AsyncPager", "CursorWalk", "Page", "SyncPager"]

T = TypeVar("T")

#: The API's largest page (``limit`` is 1..200).
MAX_PAGE_SIZE = 200


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a list: its ``items`` and the cursor of the next page (None at the end)."""

    items: list[T]
    next_cursor: str | None = None
    meta: ResponseMeta = field(default=FRESH)

    @property
    def has_more(self) -> bool:
        return self.next_cursor is not None

    def __iter__(self) -> Iterator[T]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


class CursorWalk:
    """Where a walk through a paged list stands. ``cursor`` is what to send next."""

    __slots__ = ("cursor", "done", "pages")

    def __init__(self, cursor: str | None = None) -> None:
        self.cursor = cursor
        self.done = False
        self.pages = 0

    def advance(self, page: Page[T]) -> None:
        """Record a fetched page and move to the next cursor."""
        self.pages += 1
        nxt = page.next_cursor
        if not nxt or nxt == self.cursor:
            self.done = True
            self.cursor = None
            return
        self.cursor = nxt


class SyncPager(Generic[T]):
    """All records of a list, fetched lazily page by page with the same filters.

    Iterate it for records, or call :meth:`pages` for pages (e.g. to checkpoint cursors).
    Only one page is held at a time, so memory stays flat whatever the record count.
    """

    __slots__ = ("_fetch",)

    def __init__(self, fetch: Callable[[str | None], Page[T]]) -> None:
        self._fetch = fetch

    def pages(self, cursor: str | None = None) -> Iterator[Page[T]]:
        """Every page from ``cursor`` (the first page when None) to the last."""
        walk = CursorWalk(cursor)
        while not walk.done:
            page = self._fetch(walk.cursor)
            walk.advance(page)
            yield page

    def __iter__(self) -> Iterator[T]:
        for page in self.pages():
            yield from page.items


class AsyncPager(Generic[T]):
    """The async twin of :class:`SyncPager`: ``async for record in pager``."""

    __slots__ = ("_fetch",)

    def __init__(self, fetch: Callable[[str | None], Awaitable[Page[T]]]) -> None:
        self._fetch = fetch

    async def pages(self, cursor: str | None = None) -> AsyncIterator[Page[T]]:
        """Every page from ``cursor`` (the first page when None) to the last."""
        walk = CursorWalk(cursor)
        while not walk.done:
            page = await self._fetch(walk.cursor)
            walk.advance(page)
            yield page

    async def __aiter__(self) -> AsyncIterator[T]:
        async for page in self.pages():
            for item in page.items:
                yield item
