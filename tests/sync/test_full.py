"""Full sync: an exact copy at the maximum page size, a checkpoint per page so a crash costs
at most the page in flight, deletions detected, and a pace set by the throttle."""

from __future__ import annotations

import math
from typing import Any

import httpx
import pytest

from maintainx_resilient import BadRequestError, CursorCycleError, MaintainXClient
from maintainx_resilient._clock import FakeClock
from maintainx_resilient._extensions import META_EXTENSION
from maintainx_resilient._meta import ResponseMeta
from maintainx_resilient.policies.breaker import BreakerConfig
from maintainx_resilient.policies.fallback import FallbackConfig
from maintainx_resilient.policies.retry import RetryConfig
from maintainx_resilient.policies.throttle import ThrottleConfig
from maintainx_resilient.sync import (
    Batch,
    CommitResult,
    FullSyncState,
    Progress,
    RateLimit,
    StaleAnswerError,
    SyncEngine,
    SyncStore,
)
from maintainx_resilient.sync._fetch import Fetcher, RawPage
from maintainx_resilient.sync.full import run_full_sync
from maintainx_resilient.sync.resources import resolve
from maintainx_resilient.sync.store import state_key
from maintainx_resilient.testing import RateLimitConfig, Simulator

from ._support import (
    Crash,
    CrashingFetcher,
    RecordingTransport,
    client_for,
    local_view,
    make_sim,
    remote_view,
)

WO = resolve("workOrders")
#: undo BARE: the client's own defaults for every policy
DEFAULT_POLICIES: dict[str, Any] = {
    "throttle": ThrottleConfig(),
    "retry": RetryConfig(),
    "breaker": BreakerConfig(),
    "fallback": FallbackConfig(),
}
CHECKPOINT = state_key("checkpoint:full", "workOrders")


def test_a_full_sync_copies_every_record_at_200_a_page(sim: Simulator, store: SyncStore) -> None:
    recording = RecordingTransport(sim.transport())
    with client_for(sim, recording) as client:
        result = SyncEngine(client, store).full()
    assert local_view(store) == remote_view(sim)
    assert (result.records, result.pages, result.requests) == (1000, 5, 6)
    assert result.inserted == 1000 and result.deleted == ()
    pages = [q for q in recording.queries if ("sort", "-updatedAt") not in q]
    assert all(("limit", "200") in q for q in pages)
    newest = max(r["updatedAt"] for r in sim.records("workOrders"))
    assert result.watermark == newest
    assert store.state(state_key("watermark", "workOrders"))["at"] == newest
    assert store.state(CHECKPOINT) is None  # finished: no checkpoint left
    stored = store.get("workOrders", 1)
    assert stored is not None and stored.json()["id"] == 1


def test_every_page_is_checkpointed_with_its_records(
    client: MaintainXClient, store: SyncStore
) -> None:
    seen: list[tuple[int, int, int]] = []

    def look(p: Progress) -> None:
        saved = FullSyncState.from_json(store.state(CHECKPOINT))
        if saved is not None:
            seen.append((p.pages, saved.pages, store.count("workOrders")))

    SyncEngine(client, store, on_progress=look).full()
    assert seen == [(0, 0, 0), (1, 1, 200), (2, 2, 400), (3, 3, 600), (4, 4, 800)]


class CrashingStore:
    """Wraps a store; dies instead of making its ``crash_at``-th commit (counted from 1)."""

    def __init__(self, inner: SyncStore, crash_at: int) -> None:
        self.inner = inner
        self.crash_at = crash_at
        self.commits = 0

    def commit(self, resource: str, batch: Batch) -> CommitResult:
        self.commits += 1
        if self.commits == self.crash_at:
            raise Crash(f"killed before commit {self.commits}")
        return self.inner.commit(resource, batch)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


@pytest.mark.parametrize("crash_at", [2, 3, 5, 6])
def test_a_crash_before_a_commit_costs_one_page(
    sim: Simulator, client: MaintainXClient, store: SyncStore, crash_at: int
) -> None:
    fetcher = Fetcher(client, WO)
    with pytest.raises(Crash):
        run_full_sync(fetcher, CrashingStore(store, crash_at))
    first = fetcher.requests
    result = run_full_sync(fetcher, store)
    assert local_view(store) == remote_view(sim)
    # commit 1 is the checkpoint of the start; commit n+1 stores page n
    assert result.resumed_from_page == max(0, crash_at - 2)
    assert first + result.requests == 1 + 5 + (1 if crash_at > 1 else 0)


@pytest.mark.parametrize("crash_at", [1, 2, 4, 6])
def test_a_crash_while_fetching_costs_nothing(
    sim: Simulator, client: MaintainXClient, store: SyncStore, crash_at: int
) -> None:
    crashing = CrashingFetcher(client, WO, crash_at=crash_at)
    with pytest.raises(Crash):
        run_full_sync(crashing, store)
    fetcher = Fetcher(client, WO)
    assert run_full_sync(fetcher, store).records == 1000
    assert local_view(store) == remote_view(sim)
    assert crashing.requests + fetcher.requests == 6  # probe + 5 pages, nothing twice


def test_records_missing_from_maintainx_are_deleted(
    sim: Simulator, client: MaintainXClient, store: SyncStore
) -> None:
    engine = SyncEngine(client, store)
    engine.full()
    for gone in (3, 500, 1000):
        sim.delete_record("workOrders", gone)
    new_id = client.work_orders.create(title="After the first sync")
    result = engine.full()
    assert result.deleted == (3, 500, 1000)
    assert local_view(store) == remote_view(sim)
    assert new_id in local_view(store)


def test_deletions_are_detected_across_a_resumed_run(
    sim: Simulator, client: MaintainXClient, store: SyncStore
) -> None:
    engine = SyncEngine(client, store)
    engine.full()
    with pytest.raises(Crash):
        run_full_sync(CrashingFetcher(client, WO, crash_at=4), store)
    sim.delete_record("workOrders", 999)  # not reached yet: never returned, so deleted
    sim.delete_record("workOrders", 2)  # read before it was deleted: this run cannot know
    result = engine.full()
    assert result.deleted == (999,)
    assert local_view(store).keys() - remote_view(sim).keys() == {2}
    assert engine.full().deleted == (2,)  # the next full sync (or a webhook, or repair) does


def test_an_expired_cursor_restarts_the_walk_within_the_run(
    sim: Simulator, client: MaintainXClient, store: SyncStore
) -> None:
    with pytest.raises(Crash):
        run_full_sync(CrashingFetcher(client, WO, crash_at=4), store)
    saved = FullSyncState.from_json(store.state(CHECKPOINT))
    assert saved is not None and saved.pages == 2
    broken = FullSyncState(**{**saved.to_json(), "cursor": "not-a-cursor"})
    store.commit("workOrders", Batch(state={CHECKPOINT: broken.to_json()}))
    sim.delete_record("workOrders", 1)
    result = SyncEngine(client, store).full()
    assert result.cursor_restarts == 1
    assert result.deleted == (1,)
    assert local_view(store) == remote_view(sim)


def test_other_bad_requests_are_not_mistaken_for_an_expired_cursor(
    sim: Simulator, client: MaintainXClient, store: SyncStore
) -> None:
    sim.faults.fail_next(1, status=400, path="/v1/workorders")
    with pytest.raises(BadRequestError):
        SyncEngine(client, store).full()


class CyclingFetcher(Fetcher):
    """Hands back, as the ``loop_at``-th page's nextCursor, the cursor the walk followed
    first: the server bug A -> B -> A."""

    def __init__(self, *args: Any, loop_at: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.loop_at = loop_at
        self.sent: list[str | None] = []

    def page(self, params: Any, cursor: str | None = None) -> RawPage:
        self.sent.append(cursor)
        page = super().page(params, cursor)
        followed = [c for c in self.sent if c is not None]
        if params.get("limit") != 1 and len(self.sent) >= self.loop_at and followed:
            return RawPage(page.records, followed[0])
        return page


def test_a_cursor_cycle_stops_the_full_sync_before_committing_the_page(
    sim: Simulator, client: MaintainXClient, store: SyncStore
) -> None:
    """A -> B -> A: CursorCycleError naming the cursor, the checkpoint left on the last good
    page, nothing deleted; a resumed run meets the same loop and stops the same way."""
    local_before = local_view(store)
    fetcher = CyclingFetcher(client, WO, loop_at=4)  # the high-water probe + 3 pages
    with pytest.raises(CursorCycleError) as info:
        run_full_sync(fetcher, store)
    first_cursor = next(c for c in fetcher.sent if c is not None)
    assert first_cursor is not None and len(first_cursor) > 48
    assert info.value.cursor == first_cursor[:45] + "..."  # shortened in the error
    assert (info.value.pages, info.value.path) == (3, "/workorders")
    saved = FullSyncState.from_json(store.state(CHECKPOINT))
    assert saved is not None and saved.pages == 2 and saved.records == 400
    assert set(local_before) <= set(local_view(store))  # nothing deleted
    again = CyclingFetcher(client, WO, loop_at=2)
    with pytest.raises(CursorCycleError):
        run_full_sync(again, store)
    assert len(again.sent) == 2  # the resumed cursor counts as followed: no loop either


def test_a_cursor_handed_back_unchanged_is_a_cycle_of_one(
    sim: Simulator, client: MaintainXClient, store: SyncStore
) -> None:
    """The cursor the walk was given, handed back, is caught by the same check."""

    class Stuck(Fetcher):
        def page(self, params: Any, cursor: str | None = None) -> RawPage:
            page = super().page(params, cursor)
            return RawPage(page.records, cursor) if cursor else page

    with pytest.raises(CursorCycleError, match="already followed"):
        run_full_sync(Stuck(client, WO), store)
    assert FullSyncState.from_json({"nonsense": 1}) is None
    assert FullSyncState.from_json([1, 2]) is None
    state = FullSyncState.begin(start_seq=1, started_at=0.0, high_water=None, expected=None)
    assert FullSyncState.from_json(state.to_json()) == state


def test_incremental_and_reconcile_walks_stop_on_a_cursor_cycle(
    sim: Simulator, client: MaintainXClient, store: SyncStore
) -> None:
    """The sync engine's other walks use the same check."""
    from maintainx_resilient.sync.incremental import run_incremental
    from maintainx_resilient.sync.reconcile import run_reconcile

    with pytest.raises(CursorCycleError):
        run_incremental(CyclingFetcher(client, WO, loop_at=3), store)
    fetcher = CyclingFetcher(client, WO, loop_at=3)
    with pytest.raises(CursorCycleError):
        run_reconcile(fetcher, store, save=False)
    assert len(fetcher.sent) == 3


class StaleAfter(httpx.BaseTransport):
    """Labels every answer after the first ``fresh`` as served from the fallback cache."""

    def __init__(self, inner: httpx.BaseTransport, fresh: int) -> None:
        self.inner = inner
        self.fresh = fresh

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        self.fresh -= 1
        if self.fresh < 0:
            response.extensions = {
                **response.extensions,
                META_EXTENSION: ResponseMeta(stale=True, age=42.0, reason="circuit_open"),
            }
        return response


def test_nothing_is_stored_or_deleted_from_a_cached_answer(
    sim: Simulator, store: SyncStore
) -> None:
    stale = StaleAfter(sim.transport(), fresh=3)
    with client_for(sim, stale) as client, pytest.raises(StaleAnswerError, match="fallback"):
        SyncEngine(client, store).full()
    saved = FullSyncState.from_json(store.state(CHECKPOINT))
    assert saved is not None and saved.pages == 2 and store.count("workOrders") == 400
    with client_for(sim) as client:
        result = SyncEngine(client, store).full()
    assert result.resumed_from_page == 2 and result.requests == 3
    assert local_view(store) == remote_view(sim)


def test_restart_discards_an_unfinished_run(
    sim: Simulator, client: MaintainXClient, store: SyncStore
) -> None:
    with pytest.raises(Crash):
        run_full_sync(CrashingFetcher(client, WO, crash_at=3), store)
    result = SyncEngine(client, store).full(restart=True)
    assert result.resumed_from_page is None and result.requests == 6
    assert local_view(store) == remote_view(sim)


def test_an_empty_organization_syncs_to_an_empty_store(store: SyncStore) -> None:
    sim = make_sim(0)
    with client_for(sim) as client:
        result = SyncEngine(client, store).full()
    assert (result.records, result.pages, result.watermark) == (0, 1, None)


def test_locations_sync_in_full_without_a_watermark(
    sim: Simulator, client: MaintainXClient, store: SyncStore
) -> None:
    result = SyncEngine(client, store).full("locations")
    assert result.requests == 1 and result.watermark is None
    assert local_view(store, "locations") == remote_view(sim, "locations")


def test_progress_reports_an_eta_from_the_rate_limit(
    client: MaintainXClient, store: SyncStore
) -> None:
    reports: list[Progress] = []
    clock = FakeClock()
    engine = SyncEngine(
        client, store, on_progress=reports.append, clock=clock, rate=RateLimit(100, 60)
    )
    engine.full(expected=1000)
    assert [p.pages for p in reports] == [0, 1, 2, 3, 4, 5]
    assert reports[1].eta == pytest.approx(4 * 0.6)  # 4 pages left at 0.6 s each
    assert reports[-1].done and reports[-1].eta == 0
    assert engine.full().pages == 5  # the next run expects the local count
    assert engine.status().last_full is not None


def test_the_client_throttle_paces_a_large_sync_without_429s(store: SyncStore) -> None:
    """With the client's own throttle (its default policies, at a limit of 10 requests a
    minute here so that 31 requests span several windows), a sync against a simulator
    enforcing that limit gets no 429 and takes as long as the limit requires (9 a window: 31
    requests cross at least three window boundaries, the first possibly at once), close to
    what the ETA said. Time is a FakeClock shared by the client and the simulator."""
    clock = FakeClock()
    limit = RateLimitConfig(per_user=10, per_org=50, window=60.0)
    sim = make_sim(6000, rate_limit=limit, clock=clock.monotonic)
    throttle = ThrottleConfig(per_user=10, per_org=50, window=60.0)
    reports: list[tuple[float, Progress]] = []
    options = {**DEFAULT_POLICIES, "throttle": throttle}
    with client_for(sim, clock=clock, **options) as client:
        engine = SyncEngine(
            client, store, on_progress=lambda p: reports.append((clock.monotonic(), p))
        )
        assert (engine.rate.requests, engine.rate.window) == (9, 60)  # read from the client
        start = clock.monotonic()
        result = engine.full(expected=6000)
        end = clock.monotonic()
    assert result.records == 6000 and result.requests == 31
    assert sim.stats.rate_limited == 0  # no 429 at all, let alone a storm
    assert (math.ceil(31 / 9) - 2) * 60 < end - start <= math.ceil(31 / 9) * 60
    at, first = reports[1]
    assert first.eta is not None and 0.75 <= first.eta / (end - at) <= 1.5
    assert local_view(store) == remote_view(sim)


def test_the_watermark_is_the_high_water_mark_from_before_the_first_page(
    sim: Simulator, client: MaintainXClient, store: SyncStore
) -> None:
    """Pages go by id; a record updated after the run began must be newer than the
    watermark, whatever the run saw later."""
    with pytest.raises(Crash):
        run_full_sync(CrashingFetcher(client, WO, crash_at=3), store)
    before = max(r["updatedAt"] for r in sim.records("workOrders"))
    sim.update_record("workOrders", 5, {"title": "changed after page 1"})
    result = SyncEngine(client, store).full()
    assert result.watermark == before
    changed = store.get("workOrders", 5)
    assert changed is not None and changed.updated_at is not None
    assert changed.updated_at < before  # page 1 was stored before the change...
    assert sim.records("workOrders")[4]["updatedAt"] > before  # ...which the next window has


def test_the_real_fallback_cache_never_feeds_a_sync(store: SyncStore) -> None:
    """With the client's fallback cache on, an outage makes it answer list pages from cache
    (labelled stale): the sync refuses them instead of storing or pruning on them."""
    sim = make_sim(600)
    policies = {**DEFAULT_POLICIES, "throttle": None, "retry": None, "breaker": None}
    with client_for(sim, **policies) as client:
        engine = SyncEngine(client, store)
        engine.full()
        sim.delete_record("workOrders", 1)
        sim.faults.outage()
        with pytest.raises(StaleAnswerError):
            engine.full()
        sim.faults.heal()
        assert 1 in local_view(store)  # nothing was pruned on the strength of the cache
        assert engine.full().deleted == (1,)
