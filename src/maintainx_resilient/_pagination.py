"""Pages and cursor-following. Pure: the sync and async iterators only send and loop.

MaintainX lists answer ``{"<items>": [...], "nextCursor": str|null}``. A :class:`Page` holds
one answer. :class:`CursorWalk` is the state of a walk through all pages: it keeps the same
filters on every page (the API requires it) and stops when ``nextCursor`` is null.

A server bug that hands back a cursor the walk already followed (the one it was given, or
A -> B -> A) would otherwise be followed until the server stops: :class:`SeenCursors`
remembers every cursor of one walk and raises
:class:`~maintainx_resilient.CursorCycleError` naming the repeated one. It keeps a 16-byte
digest per page, not the cursors themselves: 10,000 pages (two million records) cost about
1 MB. The sync engine's walks use it too.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from ._exceptions import CursorCycleError
from ._meta import FRESH, ResponseMeta

__all__ = ["MAX_PAGE_SIZE", "AsyncPager", "CursorWalk", "Page", "SeenCursors", "SyncPager"]

T = TypeVar("T")

#: The API's largest page (``limit`` is 1..200).
MAX_PAGE_SIZE = 200


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a list: its ``items``, the cursor of the next page (None at the end), and
    the answer it came from (``response_meta``, as on records)."""

    items: list[T]
    next_cursor: str | None = None
    response_meta: ResponseMeta = field(default=FRESH)

    @property
    def meta(self) -> ResponseMeta:
        """Deprecated: ``response_meta``, the name records use too."""
        warnings.warn(
            "Page.meta is now Page.response_meta (the same name as on records)",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.response_meta

    @property
    def has_more(self) -> bool:
        return self.next_cursor is not None

    def __iter__(self) -> Iterator[T]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


_SHOWN = 48  # characters of a repeated cursor an error shows


class SeenCursors:
    """Every cursor one walk has followed; following one twice is a :class:`CursorCycleError`.

    ``path`` (the list's route) and ``method`` name the list in the error.
    """

    __slots__ = ("_digests", "method", "path")

    def __init__(self, *, path: str = "", method: str = "GET") -> None:
        self._digests: set[bytes] = set()
        self.path = path
        self.method = method

    def __len__(self) -> int:
        return len(self._digests)

    def follow(self, cursor: str, pages: int) -> None:
        """Note that the walk, ``pages`` pages in, is about to follow ``cursor``."""
        digest = hashlib.blake2b(cursor.encode("utf-8", "surrogatepass"), digest_size=16).digest()
        if digest in self._digests:
            shown = cursor if len(cursor) <= _SHOWN else cursor[: _SHOWN - 3] + "..."
            raise CursorCycleError(
                f"nextCursor {shown!r} was already followed in this walk ({pages} pages "
                "read): the server's cursors loop; stopping instead of reading the same "
                "pages forever",
                method=self.method,
                path=self.path,
                cursor=shown,
                pages=pages,
            )
        self._digests.add(digest)


class CursorWalk:
    """Where a walk through a paged list stands. ``cursor`` is what to send next."""

    __slots__ = ("cursor", "done", "pages", "seen")

    def __init__(self, cursor: str | None = None, *, path: str = "") -> None:
        self.cursor = cursor
        self.done = False
        self.pages = 0
        self.seen = SeenCursors(path=path)
        if cursor:
            self.seen.follow(cursor, 0)

    def advance(self, page: Page[T]) -> None:
        """Record a fetched page and move to the next cursor (:class:`CursorCycleError` when
        the server hands back one this walk already followed)."""
        self.pages += 1
        nxt = page.next_cursor
        if not nxt:
            self.done = True
            self.cursor = None
            return
        self.seen.follow(nxt, self.pages)
        self.cursor = nxt


class SyncPager(Generic[T]):
    """All records of a list, fetched lazily page by page with the same filters.

    Iterate it for records, or call :meth:`pages` for pages (e.g. to checkpoint cursors).
    Only one page is held at a time, so memory stays flat whatever the record count.
    """

    __slots__ = ("_fetch", "_path")

    def __init__(self, fetch: Callable[[str | None], Page[T]], *, path: str = "") -> None:
        self._fetch = fetch
        self._path = path

    def pages(self, cursor: str | None = None) -> Iterator[Page[T]]:
        """Every page from ``cursor`` (the first page when None) to the last."""
        walk = CursorWalk(cursor, path=self._path)
        while not walk.done:
            page = self._fetch(walk.cursor)
            yield page  # its records are good even when its nextCursor loops
            walk.advance(page)
            del page  # not held while the next page is fetched and validated

    def __iter__(self) -> Iterator[T]:
        for page in self.pages():
            yield from page.items
            del page  # (the same: one page alive at a time, not two)


class AsyncPager(Generic[T]):
    """The async twin of :class:`SyncPager`: ``async for record in pager``."""

    __slots__ = ("_fetch", "_path")

    def __init__(
        self, fetch: Callable[[str | None], Awaitable[Page[T]]], *, path: str = ""
    ) -> None:
        self._fetch = fetch
        self._path = path

    async def pages(self, cursor: str | None = None) -> AsyncIterator[Page[T]]:
        """Every page from ``cursor`` (the first page when None) to the last."""
        walk = CursorWalk(cursor, path=self._path)
        while not walk.done:
            page = await self._fetch(walk.cursor)
            yield page
            walk.advance(page)
            del page  # not held while the next page is fetched and validated

    async def __aiter__(self) -> AsyncIterator[T]:
        async for page in self.pages():
            for item in page.items:
                yield item
            del page  # one page alive at a time, not two
