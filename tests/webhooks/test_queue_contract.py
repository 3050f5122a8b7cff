"""Both queue backends keep the same contract: dedupe on enqueue, leases, ack/retry/dead-letter,
recovery after a crash, replay, pause, stats. Time is a FakeClock."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import pytest

from maintainx_resilient._clock import FakeClock
from maintainx_resilient.webhooks import (
    Delivery,
    ReplayProgress,
    WebhookQueue,
    replay_dead_letters,
)
from maintainx_resilient.webhooks.queue import open_queue

from ._support import envelope


def keys(deliveries: Sequence[Delivery]) -> list[str]:
    return [d.key for d in deliveries]


def test_enqueue_dedupes_by_key(any_queue: WebhookQueue) -> None:
    first = [envelope(1), envelope(2), envelope(1)]
    assert any_queue.enqueue(first) == [True, True, False]
    assert any_queue.enqueue([envelope(2), envelope(3)]) == [False, True]
    assert any_queue.enqueue([]) == []
    assert any_queue.stats().ready == 3


def test_processed_events_stay_deduplicated(any_queue: WebhookQueue) -> None:
    any_queue.enqueue([envelope(1)])
    (delivery,) = any_queue.claim("w1", 10)
    assert any_queue.ack(delivery)
    assert any_queue.enqueue([envelope(1)]) == [False]
    assert any_queue.stats().depth == 0


def test_claim_leases_in_order_and_ack(any_queue: WebhookQueue, clock: FakeClock) -> None:
    any_queue.enqueue([envelope(n, at=clock.time()) for n in range(5)])
    first = any_queue.claim("w1", 3, lease=30)
    assert [d.envelope.body for d in first] == [envelope(n).body for n in range(3)]
    assert all(d.attempt == 1 and d.deliveries == 1 for d in first)
    second = any_queue.claim("w2", 10, lease=30)
    assert len(second) == 2
    assert any_queue.claim("w3", 10) == []
    stats = any_queue.stats()
    assert (stats.ready, stats.in_flight, stats.depth) == (0, 5, 5)
    for delivery in first + second:
        assert any_queue.ack(delivery)
    assert any_queue.stats().depth == 0
    assert not any_queue.ack(first[0])  # twice: nothing left


def test_expired_lease_is_taken_over(any_queue: WebhookQueue, clock: FakeClock) -> None:
    any_queue.enqueue([envelope(1)])
    (held,) = any_queue.claim("crashed", 1, lease=30)
    clock.advance(10)
    if any_queue.backend == "sqlite":  # leases follow the injected clock
        assert any_queue.claim("other", 1, lease=30) == []
        clock.advance(25)
        (taken,) = any_queue.claim("other", 1, lease=30)
    else:  # Redis measures idleness itself: a lease of 0 takes over at once
        (taken,) = any_queue.claim("other", 1, lease=0)
    assert taken.key == held.key
    assert taken.deliveries == 2
    assert any_queue.ack(taken)


def test_recover_after_restart_under_the_same_name(any_queue: WebhookQueue) -> None:
    any_queue.enqueue([envelope(1), envelope(2)])
    held = any_queue.claim("worker-1", 10, lease=3600)
    assert len(held) == 2
    assert any_queue.claim("worker-1", 10, lease=3600) == []
    assert any_queue.recover("worker-1") == 2
    assert any_queue.recover("nobody") == 0
    again = any_queue.claim("worker-1", 10, lease=3600)
    assert sorted(keys(again)) == sorted(keys(held))
    assert all(d.deliveries == 2 for d in again)


def test_recover_gives_back_only_the_ids_named(any_queue: WebhookQueue) -> None:
    any_queue.enqueue([envelope(n) for n in range(4)])
    held = any_queue.claim("worker-1", 10, lease=3600)
    assert any_queue.recover("worker-1", ids=[d.id for d in held[2:]]) == 2
    assert any_queue.recover("worker-1", ids=[]) == 0
    assert any_queue.recover("someone-else", ids=[held[0].id]) == 0  # not theirs
    again = any_queue.claim("worker-2", 10, lease=3600)
    assert sorted(keys(again)) == sorted(keys(held[2:]))
    assert all(d.attempt == 1 for d in again)  # given back unstarted: no attempt spent
    for delivery in held[:2]:
        assert any_queue.ack(delivery)  # the others are still worker-1's


def test_recover_gives_back_a_batch_of_any_size(any_queue: WebhookQueue) -> None:
    # more ids than old SQLite builds allow variables in one statement (999)
    any_queue.enqueue([envelope(n) for n in range(1200)])
    held = any_queue.claim("worker-1", 1200, lease=3600)
    assert len(held) == 1200
    assert any_queue.recover("worker-1", ids=[d.id for d in held]) == 1200
    assert len(any_queue.claim("worker-2", 1200, lease=3600)) == 1200


def test_retry_waits_for_its_delay(any_queue: WebhookQueue, clock: FakeClock) -> None:
    any_queue.enqueue([envelope(1)])
    (delivery,) = any_queue.claim("w", 1)
    assert any_queue.retry(delivery, delay=60, error="ValueError: boom")
    stats = any_queue.stats()
    assert (stats.ready, stats.in_flight, stats.delayed) == (0, 0, 1)
    assert any_queue.claim("w", 1) == []
    clock.advance(61)
    (again,) = any_queue.claim("w", 1)
    assert again.attempt == 2
    assert again.last_error == "ValueError: boom"
    assert again.envelope == delivery.envelope
    assert any_queue.ack(again)


def test_dead_letters_and_replay(any_queue: WebhookQueue, clock: FakeClock) -> None:
    any_queue.enqueue([envelope(n) for n in range(4)])
    deliveries = any_queue.claim("w", 4)
    for n, delivery in enumerate(deliveries):
        assert any_queue.dead_letter(delivery, error=f"KeyError: {n}")
        clock.advance(100)
    stats = any_queue.stats()
    assert stats.dead == 4
    assert stats.depth == 0
    assert stats.oldest_pending_age is None
    letters = any_queue.dead_letters()
    assert [letter.error for letter in letters] == [f"KeyError: {n}" for n in range(4)]
    assert letters[0].envelope == deliveries[0].envelope
    # by age: failures at t0, t0+100, t0+200, t0+300; now is t0+400
    assert len(any_queue.dead_letters(older_than=250)) == 2
    assert len(any_queue.dead_letters(newer_than=150)) == 1
    steps: list[ReplayProgress] = []
    result = replay_dead_letters(any_queue, older_than=250, chunk=1, progress=steps.append)
    assert (result.matched, result.requeued) == (2, 2)
    assert steps == [ReplayProgress(0, 2), ReplayProgress(1, 2), ReplayProgress(2, 2)]
    replayed = any_queue.claim("w", 10)
    assert sorted(keys(replayed)) == sorted(keys(deliveries[:2]))
    assert all(d.attempt == 1 for d in replayed)
    # by id, then all
    remaining = any_queue.dead_letters()
    assert replay_dead_letters(any_queue, ids=[remaining[0].id]).requeued == 1
    assert replay_dead_letters(any_queue, all=True, dry_run=True).matched == 1
    assert replay_dead_letters(any_queue, all=True).requeued == 1
    assert any_queue.stats().dead == 0
    assert any_queue.enqueue([envelope(0)]) == [False]  # replayed keys stay deduplicated


def test_replay_needs_a_selection(any_queue: WebhookQueue) -> None:
    with pytest.raises(ValueError, match="say what to replay"):
        replay_dead_letters(any_queue)


def test_discard_dead_letters(any_queue: WebhookQueue) -> None:
    any_queue.enqueue([envelope(1)])
    (delivery,) = any_queue.claim("w", 1)
    any_queue.dead_letter(delivery, error="x")
    (letter,) = any_queue.dead_letters()
    assert any_queue.discard([letter.id]) == 1
    assert any_queue.stats().dead == 0
    assert any_queue.requeue(["999999999"]) == 0


def test_finishing_a_delivery_another_consumer_took_is_refused(
    any_queue: WebhookQueue, clock: FakeClock
) -> None:
    any_queue.enqueue([envelope(1)])
    (stale,) = any_queue.claim("slow", 1, lease=5)
    clock.advance(6)
    (fresh,) = any_queue.claim("fast", 1, lease=0 if any_queue.backend == "redis" else 5)
    assert any_queue.ack(fresh)
    assert not any_queue.ack(stale)
    assert not any_queue.retry(stale, delay=1, error="x")
    assert not any_queue.dead_letter(stale, error="x")
    assert any_queue.stats().depth == 0
    assert any_queue.stats().dead == 0


def test_pause_stops_claims_not_enqueues(any_queue: WebhookQueue) -> None:
    any_queue.pause()
    assert any_queue.is_paused()
    assert any_queue.enqueue([envelope(1)]) == [True]
    assert any_queue.claim("w", 5) == []
    assert any_queue.stats().paused
    any_queue.resume()
    assert not any_queue.is_paused()
    assert len(any_queue.claim("w", 5)) == 1


def test_oldest_pending_age(any_queue: WebhookQueue, clock: FakeClock) -> None:
    assert any_queue.stats().oldest_pending_age is None
    any_queue.enqueue([envelope(1, at=clock.time())])
    clock.advance(42)
    any_queue.enqueue([envelope(2, at=clock.time())])
    assert any_queue.stats().oldest_pending_age == pytest.approx(42)
    (first, _) = any_queue.claim("w", 2)
    any_queue.retry(first, delay=10, error="x")
    assert any_queue.stats().oldest_pending_age == pytest.approx(42)


def test_concurrent_enqueue_stores_each_key_once(any_queue: WebhookQueue) -> None:
    results: list[bool] = []
    lock = threading.Lock()

    def push(offset: int) -> None:
        for n in range(40):
            stored = any_queue.enqueue([envelope((n + offset) % 60)])
            with lock:
                results.extend(stored)

    threads = [threading.Thread(target=push, args=(i * 20,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(results) == 60
    assert any_queue.stats().ready == 60
    assert any_queue.ping()


def test_dedupe_ttl_expires_keys(tmp_path: object, clock: FakeClock) -> None:
    from pathlib import Path

    from maintainx_resilient.webhooks import SqliteQueue

    assert isinstance(tmp_path, Path)
    queue = SqliteQueue(tmp_path / "q.db", dedupe_ttl=3600, clock=clock, synchronous="NORMAL")
    try:
        queue.enqueue([envelope(1, at=clock.time())])
        (delivery,) = queue.claim("w", 1)
        queue.ack(delivery)
        assert queue.enqueue([envelope(1, at=clock.time())]) == [False]
        clock.advance(7200)
        queue._last_purge = float("-inf")
        assert queue.enqueue([envelope(2, at=clock.time())]) == [True]  # purges old keys
        assert queue.enqueue([envelope(1, at=clock.time())]) == [True]
    finally:
        queue.close()


def test_sqlite_refuses_memory_and_bad_options(tmp_path: object) -> None:
    from maintainx_resilient.webhooks import SqliteQueue

    with pytest.raises(ValueError, match="durable"):
        SqliteQueue(":memory:")
    with pytest.raises(ValueError, match="synchronous"):
        SqliteQueue("x.db", synchronous="OFF")  # type: ignore[arg-type]


def test_open_queue_urls(tmp_path: object) -> None:
    from pathlib import Path

    from maintainx_resilient.webhooks import SqliteQueue

    assert isinstance(tmp_path, Path)
    for url in (
        f"sqlite://{tmp_path}/a.db",
        f"sqlite:///{tmp_path}/b.db?synchronous=normal",
        str(tmp_path / "c.db"),
    ):
        queue = open_queue(url)
        try:
            assert isinstance(queue, SqliteQueue)
            assert queue.path.startswith(str(tmp_path))
        finally:
            queue.close()
    with pytest.raises(ValueError, match="scheme"):
        open_queue("ftp://x")
    with pytest.raises(ValueError, match="synchronous"):
        open_queue(f"sqlite:///{tmp_path}/d.db?synchronous=off")


@pytest.mark.redis
def test_open_queue_redis_url(redis_url: str) -> None:
    queue = open_queue(redis_url + "?prefix=mxtest:open")
    try:
        assert queue.backend == "redis"
        assert queue.ping()
        assert "mxtest:open" in repr(queue)
    finally:
        queue.close()
