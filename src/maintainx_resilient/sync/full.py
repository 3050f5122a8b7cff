"""Full sync: read every record of a resource, page by page, into the store.

- **Maximum page size** (200): one request per 200 records, paced by the client's throttle.
- **A checkpoint after every page**, committed in the same store transaction as the page's
  records: a run killed at any point resumes from the cursor of the last committed page, so
  it re-fetches at most the one page that was in flight.
- **Deletion detection**: every record a run writes (or finds unchanged) is stamped with the
  store's write sequence; when the last page is in, whatever the store holds for the resource
  with a sequence older than the run's start was not returned by MaintainX and is deleted,
  in the same transaction as that last page.
- **The delete guard** (:mod:`.guard`): if that would delete more than the guard allows (10%
  of the local copy), the last page's transaction is refused whole and
  :class:`~.errors.MassDeleteError` raised: nothing is deleted, the checkpoint stays before
  the last page, and ``confirm_deletes=True`` on the next run (which re-reads only that page)
  lets the deletions through.
- **A high-water mark for incremental sync**: before its first page, a run asks for the
  most recently updated record (``sort=-updatedAt&limit=1``). Everything changed after that
  instant has a later ``updatedAt``, so an incremental sync started from it misses nothing
  that changed while the full sync was paging (a run pages by id, so the largest
  ``updatedAt`` it happened to see would not be safe).

A saved cursor that MaintainX no longer accepts (400) restarts the walk from the first page
within the same run (and deletion detection with it): more requests, still an exact copy.
A cursor the walk already followed (a server bug: A -> B -> A) stops the run with
:class:`~maintainx_resilient.CursorCycleError` before that page is committed: the
checkpoint stays on the last good page and nothing is deleted.
The decisions are in :class:`FullSyncState` (pure); :func:`run_full_sync` only fetches and
commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any

from .._clock import SYSTEM_CLOCK, Clock
from .._exceptions import BadRequestError
from .._iso8601 import format_timestamp
from .._pagination import MAX_PAGE_SIZE, SeenCursors
from ._fetch import Fetcher, RawPage
from .guard import DEFAULT_DELETE_GUARD, DeleteGuard, guarded_commit
from .progress import Progress, ProgressHook, RateLimit, rate_limit_of
from .resources import support
from .store import Batch, SyncStore, state_key

__all__ = ["FullSyncResult", "FullSyncState", "run_full_sync"]


@dataclass(frozen=True)
class FullSyncState:
    """The checkpoint of an unfinished full sync (stored as JSON after every page)."""

    run: str
    #: records stamped before this write sequence are deleted at the end
    start_seq: int
    #: wall-clock time the run began (Unix seconds)
    started_at: float
    #: largest ``updatedAt`` on MaintainX when the run began (microseconds), if known
    high_water: int | None
    cursor: str | None = None
    pages: int = 0
    records: int = 0
    #: local count when the run began (the ETA's estimate of the total)
    expected: int | None = None
    resumes: int = 0
    cursor_restarts: int = 0

    @classmethod
    def begin(
        cls,
        *,
        start_seq: int,
        started_at: float,
        high_water: int | None,
        expected: int | None,
        run: str | None = None,
    ) -> FullSyncState:
        return cls(
            run=run or uuid.uuid4().hex,
            start_seq=start_seq,
            started_at=started_at,
            high_water=high_water,
            expected=expected,
        )

    def after_page(self, count: int, next_cursor: str | None) -> FullSyncState:
        """The state once a page of ``count`` records is stored."""
        return replace(self, cursor=next_cursor, pages=self.pages + 1, records=self.records + count)

    def resumed(self) -> FullSyncState:
        return replace(self, resumes=self.resumes + 1)

    def restart_walk(self, start_seq: int) -> FullSyncState:
        """The saved cursor was refused: walk again from the first page, same run. The new
        walk sees everything again, so what it does not see is gone: deletion detection
        starts over from ``start_seq``."""
        return replace(
            self, cursor=None, start_seq=start_seq, cursor_restarts=self.cursor_restarts + 1
        )

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Any) -> FullSyncState | None:
        """The state saved by :meth:`to_json`, or None when ``data`` is not one."""
        if not isinstance(data, Mapping):
            return None
        try:
            return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})
        except TypeError:
            return None


@dataclass(frozen=True)
class FullSyncResult:
    """What a full sync did.

    ``pages``/``records`` count the whole run (resumed parts included); ``requests`` only
    what this call sent (pages and the high-water probe). ``deleted`` lists the ids removed
    because MaintainX no longer returns them.
    """

    resource: str
    pages: int
    records: int
    requests: int
    inserted: int
    updated: int
    unchanged: int
    deleted: tuple[int, ...]
    resumed_from_page: int | None
    watermark: str | None
    elapsed: float
    cursor_restarts: int = 0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["deleted"] = list(self.deleted)
        return data


def _high_water(fetcher: Fetcher) -> int | None:
    if not support(fetcher.resource).incremental:
        return None
    page = fetcher.page({"limit": 1, "sort": "-updatedAt"})
    return page.records[0].updated_us if page.records else None


def run_full_sync(
    fetcher: Fetcher,
    store: SyncStore,
    *,
    page_size: int = MAX_PAGE_SIZE,
    restart: bool = False,
    on_progress: ProgressHook | None = None,
    clock: Clock = SYSTEM_CLOCK,
    rate: RateLimit | None = None,
    expected: int | None = None,
    guard: DeleteGuard | None = DEFAULT_DELETE_GUARD,
    confirm_deletes: bool | int = False,
) -> FullSyncResult:
    """Sync every record of ``fetcher.resource`` into ``store``; resumes an unfinished run
    unless ``restart``. Returns when the copy is complete (deletions included).

    ``expected`` is the total the ETA assumes (default: the local count when the run began).
    ``guard`` limits the deletions (None: no limit); ``confirm_deletes`` lifts it for this
    run (True) or raises it to a number (see :func:`.guard.deletion_limit`).
    """
    name = fetcher.resource.name
    key = state_key("checkpoint:full", name)
    rate = rate or rate_limit_of(fetcher.client)
    requests_before = fetcher.requests
    began = clock.monotonic()
    saved = None if restart else FullSyncState.from_json(store.state(key))
    resumed_from = saved.pages if saved is not None else None
    if saved is None:
        state = FullSyncState.begin(
            start_seq=store.sequence() + 1,
            started_at=clock.time(),
            high_water=_high_water(fetcher),
            expected=expected or store.count(name) or None,
        )
    else:
        state = saved.resumed()
        if expected:
            state = replace(state, expected=expected)
    store.commit(name, Batch(state={key: state.to_json()}))
    totals = {"inserted": 0, "updated": 0, "unchanged": 0}
    pages_here = 0
    loaded_cursor = state.cursor
    seen = _seen(fetcher, state.cursor)

    def report(done: bool) -> None:
        if on_progress is not None:
            on_progress(
                Progress(
                    name,
                    "full",
                    state.pages,
                    state.records,
                    clock.monotonic() - began,
                    pages_here,
                    rate,
                    page_size,
                    state.expected,
                    done,
                )
            )

    report(False)
    while True:
        try:
            page: RawPage = fetcher.page({"limit": page_size}, state.cursor)
        except BadRequestError:
            if state.cursor is None or state.cursor != loaded_cursor:
                raise
            state = state.restart_walk(store.sequence() + 1)  # cursor expired: from page 1
            loaded_cursor = None
            seen = _seen(fetcher, None)
            store.commit(name, Batch(state={key: state.to_json()}))
            continue
        loaded_cursor = None
        if page.next_cursor is not None:
            seen.follow(page.next_cursor, state.pages + 1)  # before anything is committed
        pages_here += 1
        state = state.after_page(len(page.records), page.next_cursor)
        last = page.next_cursor is None
        batch_state: dict[str, Any] = {key: None if last else state.to_json()}
        if not last:
            result = store.commit(name, Batch(upserts=page.records, state=batch_state))
        else:
            batch_state.update(_finish_state(name, state, clock))
            final = Batch(upserts=page.records, prune_before=state.start_seq, state=batch_state)
            result = guarded_commit(
                store,
                name,
                final,
                operation="full",
                guard=guard,
                confirm=confirm_deletes,
                clock=clock,
            )
        totals["inserted"] += result.inserted
        totals["updated"] += result.updated
        totals["unchanged"] += result.unchanged
        report(last)
        if last:
            break
    return FullSyncResult(
        resource=name,
        pages=state.pages,
        records=state.records,
        requests=fetcher.requests - requests_before,
        deleted=result.deleted,
        resumed_from_page=resumed_from,
        watermark=None if state.high_water is None else format_timestamp(state.high_water),
        elapsed=clock.monotonic() - began,
        cursor_restarts=state.cursor_restarts,
        **totals,
    )


def _seen(fetcher: Fetcher, cursor: str | None) -> SeenCursors:
    """A new walk's memory of its cursors (the one it resumes from included)."""
    seen = SeenCursors(path=fetcher.route)
    if cursor is not None:
        seen.follow(cursor, 0)
    return seen


def _finish_state(name: str, state: FullSyncState, clock: Clock) -> dict[str, Any]:
    """The watermark and summary written with the last page."""
    finished = {
        "run": state.run,
        "started_at": state.started_at,
        "finished_at": clock.time(),
        "pages": state.pages,
        "records": state.records,
        "resumes": state.resumes,
        "cursor_restarts": state.cursor_restarts,
    }
    out: dict[str, Any] = {state_key("last:full", name): finished}
    if state.high_water is not None:
        out[state_key("watermark", name)] = {
            "us": state.high_water,
            "at": format_timestamp(state.high_water),
            "set_by": "full",
            "set_at": clock.time(),
        }
    return out
