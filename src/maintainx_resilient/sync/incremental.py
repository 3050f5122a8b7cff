"""Incremental sync, as the spec's "Polling for Changes" guide describes it.

One run:

1. reads the watermark (the largest ``updatedAt`` stored by the last run, or the high-water
   mark of the last full sync) and asks for ``updatedAt[gte]=<watermark - overlap>``,
   ``sort=updatedAt``, 200 a page, with that same filter on every page;
2. stores every record (the store keeps the newer copy per id, which is the dedupe);
3. after the last page, advances the watermark to the largest ``updatedAt`` seen;
4. then fetches each record a webhook named (see :mod:`.feed`): stored if MaintainX has it,
   deleted locally if MaintainX answers 404. Those deletions are committed together, under
   the delete guard (:mod:`.guard`): more 404s than it allows and none is deleted (the ids
   go back to the feed) and :class:`~.errors.MassDeleteError` is raised.

Why ascending ``updatedAt`` order: a record updated while the run pages through the list gets
a newer ``updatedAt`` and moves *ahead* of the cursor, so it is still read in this run (or its
new ``updatedAt`` is past the new watermark and the next run reads it). Paging by id instead,
the run could see a later change of one record and then advance past an earlier change of
another it had already passed.

A run that stops half way stores what it read but leaves the watermark where it was: the
next run reads that window again (deduplicated by the store).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from .._clock import SYSTEM_CLOCK, Clock
from .._iso8601 import format_timestamp
from .._pagination import MAX_PAGE_SIZE, SeenCursors
from ._fetch import Fetcher
from .errors import SyncError
from .feed import WebhookFeed
from .guard import DEFAULT_DELETE_GUARD, DeleteGuard, blocked_key, guarded_commit
from .progress import Progress, ProgressHook, RateLimit, rate_limit_of
from .resources import support
from .store import Batch, CommitResult, LocalRecord, SyncStore, state_key
from .watermark import DEFAULT_OVERLAP, advance, window_start

__all__ = ["IncrementalResult", "read_watermark", "run_incremental"]

_WEBHOOK_BATCH = 50


@dataclass(frozen=True)
class IncrementalResult:
    """What one incremental run did.

    ``since`` is the window's ``updatedAt[gte]`` (None: no watermark yet, everything was
    read); ``fetched`` counts records in the pages, ``unique`` distinct ids among them;
    ``webhook_fetched``/``webhook_deleted`` the records fetched because a webhook named them
    and the ids deleted because MaintainX no longer has them.
    """

    resource: str
    since: str | None
    watermark: str | None
    pages: int
    fetched: int
    unique: int
    inserted: int
    updated: int
    unchanged: int
    webhook_fetched: int
    webhook_deleted: tuple[int, ...]
    requests: int
    elapsed: float

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["webhook_deleted"] = list(self.webhook_deleted)
        return data


def read_watermark(store: SyncStore, resource: str) -> int | None:
    """The stored watermark of ``resource`` (microseconds), or None."""
    value = store.state(state_key("watermark", resource))
    if isinstance(value, dict) and isinstance(value.get("us"), int):
        us: int = value["us"]
        return us
    return None


def run_incremental(
    fetcher: Fetcher,
    store: SyncStore,
    *,
    overlap: float = DEFAULT_OVERLAP,
    page_size: int = MAX_PAGE_SIZE,
    feed: WebhookFeed | None = None,
    on_progress: ProgressHook | None = None,
    clock: Clock = SYSTEM_CLOCK,
    rate: RateLimit | None = None,
    guard: DeleteGuard | None = DEFAULT_DELETE_GUARD,
    confirm_deletes: bool | int = False,
) -> IncrementalResult:
    """One incremental run of ``fetcher.resource`` (see the module docstring). ``guard``
    and ``confirm_deletes`` as for :func:`~.full.run_full_sync`."""
    resource = fetcher.resource
    name = resource.name
    if not support(resource).incremental:
        raise SyncError(
            f"{resource.label} cannot be synced incrementally (the API has no updatedAt "
            "filter for them): use a full sync"
        )
    rate = rate or rate_limit_of(fetcher.client)
    began = clock.monotonic()
    requests_before = fetcher.requests
    watermark = read_watermark(store, name)
    since = window_start(watermark, overlap)
    params: dict[str, Any] = {"limit": page_size, "sort": "updatedAt"}
    if since is not None:
        params["updated_at_gte"] = format_timestamp(since)
    best = watermark
    ids: set[int] = set()
    totals = {"inserted": 0, "updated": 0, "unchanged": 0}
    fetched = pages = 0
    cursor: str | None = None
    seen = SeenCursors(path=fetcher.route)
    while True:
        page = fetcher.page(params, cursor)
        pages += 1
        fetched += len(page.records)
        ids.update(r.id for r in page.records)
        best = advance(best, (r.updated_us for r in page.records))
        _add(totals, store.commit(name, Batch(upserts=page.records)))
        if on_progress is not None:
            on_progress(
                Progress(
                    name, "incremental", pages, fetched, clock.monotonic() - began, pages, rate
                )
            )
        if page.next_cursor is None:
            break
        seen.follow(page.next_cursor, pages)
        cursor = page.next_cursor
    webhook_fetched, webhook_deleted = _from_feed(
        fetcher,
        store,
        feed,
        totals,
        lambda batch: guarded_commit(
            store,
            name,
            batch,
            operation="incremental",
            guard=guard,
            confirm=confirm_deletes,
            clock=clock,
        ),
    )
    summary: dict[str, Any] = {
        "finished_at": clock.time(),
        "since": None if since is None else format_timestamp(since),
        "pages": pages,
        "fetched": fetched,
        "webhook_fetched": webhook_fetched,
    }
    final_state: dict[str, Any] = {
        state_key("last:incremental", name): summary,
        blocked_key("incremental", name): None,
    }
    if best is not None and best != watermark:
        final_state[state_key("watermark", name)] = {
            "us": best,
            "at": format_timestamp(best),
            "set_by": "incremental",
            "set_at": clock.time(),
        }
    store.commit(name, Batch(state=final_state))
    return IncrementalResult(
        resource=name,
        since=None if since is None else format_timestamp(since),
        watermark=None if best is None else format_timestamp(best),
        pages=pages,
        fetched=fetched,
        unique=len(ids),
        webhook_fetched=webhook_fetched,
        webhook_deleted=tuple(webhook_deleted),
        requests=fetcher.requests - requests_before,
        elapsed=clock.monotonic() - began,
        **totals,
    )


def _add(totals: dict[str, int], result: Any) -> None:
    totals["inserted"] += result.inserted
    totals["updated"] += result.updated
    totals["unchanged"] += result.unchanged


def _from_feed(
    fetcher: Fetcher,
    store: SyncStore,
    feed: WebhookFeed | None,
    totals: dict[str, int],
    delete: Callable[[Batch], CommitResult],
) -> tuple[int, list[int]]:
    """Fetch every record the feed names, storing them in batches, then delete (with
    ``delete``, the guarded commit) those MaintainX no longer has. If a fetch or the
    deletion fails, what was fetched is stored and the ids not yet handled go back to the
    feed."""
    if feed is None:
        return 0, []
    name = fetcher.resource.name
    pending = feed.drain(name)
    upserts: list[LocalRecord] = []
    gone: list[int] = []

    def flush() -> None:
        if upserts:
            _add(totals, store.commit(name, Batch(upserts=list(upserts))))
            upserts.clear()

    fetched = 0
    try:
        for record_id in pending:
            record = fetcher.one(record_id)
            fetched += 1
            if record is None:
                gone.append(record_id)
            else:
                upserts.append(record)
            if len(upserts) >= _WEBHOOK_BATCH:
                flush()
    except BaseException:
        feed.requeue(name, [*gone, *pending[fetched:]])
        flush()
        raise
    flush()
    try:
        result = delete(Batch(deletes=gone))
    except BaseException:
        feed.requeue(name, gone)
        raise
    return fetched, list(result.deleted)
