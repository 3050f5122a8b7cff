"""Workers route events to handlers, retry with backoff on the injected clock, dead-letter what
keeps failing (with the error), respect pause, and run async handlers under asyncio."""

from __future__ import annotations

import asyncio
import logging
import threading

import pytest

from maintainx_resilient._clock import FakeClock
from maintainx_resilient.webhooks import (
    PermanentError,
    RawEvent,
    RetrySchedule,
    WebhookEvent,
    WebhookHandlers,
    WebhookMetrics,
    WebhookQueue,
    Worker,
)
from maintainx_resilient.webhooks.events import NewWorkOrder, WorkOrderStatusChange

from ._support import FlakyQueue, StoppingClock, envelope

NO_JITTER = RetrySchedule(max_attempts=3, base_delay=10, jitter=0, max_deliveries=5)


def test_handlers_by_route_then_type_then_default(any_queue: WebhookQueue) -> None:
    seen: list[tuple[str, str]] = []
    handlers = WebhookHandlers()

    @handlers.on(NewWorkOrder)
    def typed(event: NewWorkOrder) -> None:
        seen.append(("type", str(event.work_order_id)))

    @handlers.route("special")
    def special(event: WebhookEvent) -> None:
        seen.append(("route", event.route))

    @handlers.default
    def fallback(event: WebhookEvent) -> None:
        seen.append(("default", event.event_type))

    other = envelope(3)
    other = type(other)(other.key + "x", "misc", "SOMETHING_NEW", other.body, other.received_at)
    any_queue.enqueue([envelope(1), envelope(2, route="special"), other])
    result = Worker(any_queue, handlers, consumer="w").run(until_idle=True)
    assert result.processed == 3
    assert sorted(seen) == [("default", "SOMETHING_NEW"), ("route", "special"), ("type", "1")]


def test_event_carries_its_delivery_facts(any_queue: WebhookQueue) -> None:
    got: list[WebhookEvent] = []
    any_queue.enqueue([envelope(4)])
    Worker(any_queue, got.append, consumer="w").run(until_idle=True)
    (event,) = got
    assert isinstance(event, NewWorkOrder)
    assert event.dedupe_key == envelope(4).key
    assert (event.route, event.attempt) == ("wo", 1)
    assert event.received_at == envelope(4).received_at


def test_retry_with_backoff_then_dead_letter(any_queue: WebhookQueue, clock: FakeClock) -> None:
    attempts: list[int] = []

    def flaky(event: WebhookEvent) -> None:
        attempts.append(event.attempt)
        raise ConnectionError("downstream unavailable")

    metrics = WebhookMetrics()
    worker = Worker(any_queue, flaky, consumer="w", retry=NO_JITTER, clock=clock, metrics=metrics)
    any_queue.enqueue([envelope(1)])
    assert worker.run_once().retried == 1
    assert worker.run_once().claimed == 0  # waits 10 s
    clock.advance(10)
    assert worker.run_once().retried == 1
    clock.advance(19)
    assert worker.run_once().claimed == 0  # then 20 s
    clock.advance(1)
    assert worker.run_once().dead == 1
    assert attempts == [1, 2, 3]
    (letter,) = any_queue.dead_letters()
    assert letter.attempts == 3
    assert letter.error == "ConnectionError: downstream unavailable"
    snap = metrics.snapshot()
    assert (snap["failed"], snap["dead_lettered"], snap["webhook_failures"]) == (3, 1, 3)


def test_success_after_a_retry(any_queue: WebhookQueue, clock: FakeClock) -> None:
    calls: list[int] = []

    def once_broken(event: WebhookEvent) -> None:
        calls.append(event.attempt)
        if event.attempt == 1:
            raise TimeoutError

    worker = Worker(any_queue, once_broken, consumer="w", retry=NO_JITTER, clock=clock)
    any_queue.enqueue([envelope(1)])
    worker.run_once()
    clock.advance(10)
    assert worker.run_once().processed == 1
    assert calls == [1, 2]
    assert any_queue.stats().depth == 0


def test_permanent_error_and_missing_handler_go_straight_to_dead_letters(
    any_queue: WebhookQueue,
) -> None:
    handlers = WebhookHandlers()

    @handlers.on("NEW_WORK_ORDER")
    def refuse(event: WebhookEvent) -> None:
        raise PermanentError("schema changed")

    odd = envelope(2)
    odd = type(odd)(odd.key + "y", "misc", "UNHANDLED", odd.body, odd.received_at)
    any_queue.enqueue([envelope(1), odd])
    result = Worker(any_queue, handlers, consumer="w").run(until_idle=True)
    assert result.dead == 2
    errors = sorted(letter.error for letter in any_queue.dead_letters())
    assert errors[0].startswith("PermanentError: schema changed")
    assert "no handler" in errors[1]


def test_events_that_keep_killing_workers_are_dead_lettered(any_queue: WebhookQueue) -> None:
    any_queue.enqueue([envelope(1)])
    for _ in range(NO_JITTER.max_deliveries):  # claimed, then the worker "dies"
        assert any_queue.claim("w", 1, lease=3600)
        any_queue.recover("w")
    ran: list[object] = []
    result = Worker(any_queue, ran.append, consumer="w", retry=NO_JITTER).run(until_idle=True)
    assert result.dead == 1
    assert ran == []
    assert "without an outcome" in any_queue.dead_letters()[0].error


def test_unparseable_payload_still_reaches_the_handler(any_queue: WebhookQueue) -> None:
    bad = envelope(1)
    bad = type(bad)(bad.key, bad.route, bad.event_type, b"not json", bad.received_at)
    got: list[WebhookEvent] = []
    any_queue.enqueue([bad])
    Worker(any_queue, got.append, consumer="w").run(until_idle=True)
    assert isinstance(got[0], RawEvent)
    assert got[0].parse_error


def test_pause_holds_events(any_queue: WebhookQueue) -> None:
    any_queue.enqueue([envelope(1)])
    any_queue.pause()
    got: list[WebhookEvent] = []
    worker = Worker(any_queue, got.append, consumer="w")
    assert worker.run(until_idle=True).claimed == 0
    any_queue.resume()
    assert worker.run(until_idle=True).processed == 1


def test_run_stops_on_event_and_max_batches(any_queue: WebhookQueue, clock: FakeClock) -> None:
    stop = threading.Event()
    stop.set()
    worker = Worker(any_queue, lambda e: None, consumer="w", clock=clock)
    assert worker.run(stop=stop).claimed == 0
    any_queue.enqueue([envelope(n) for n in range(5)])
    worker.batch_size = 2
    assert worker.run(max_batches=1).processed == 2
    assert worker.totals.processed == 2
    idle = Worker(any_queue, lambda e: None, consumer="w2", clock=clock, idle_wait=7)
    idle.run(max_batches=3)
    assert clock.sleeps == [7]  # the third batch found nothing: one idle wait


def test_a_stop_mid_batch_finishes_the_event_in_hand_and_gives_the_rest_back(
    any_queue: WebhookQueue, clock: FakeClock
) -> None:
    stop = threading.Event()
    ran: list[str] = []

    def handler(event: WebhookEvent) -> None:
        ran.append(event.dedupe_key)
        stop.set()  # SIGTERM arrives while the first event of the batch runs

    any_queue.enqueue([envelope(n) for n in range(5)])
    worker = Worker(any_queue, handler, consumer="w1", clock=clock, batch_size=5)
    result = worker.run(stop=stop)
    assert (result.claimed, result.processed, result.released) == (5, 1, 4)
    assert len(ran) == 1
    # another worker takes the four at once, not after the 60 s lease, none retried
    rest: list[int] = []
    other = Worker(any_queue, lambda e: rest.append(e.attempt), consumer="w2", clock=clock)
    assert other.run(until_idle=True).processed == 4
    assert rest == [1, 1, 1, 1]


def test_a_stop_mid_batch_when_the_queue_fails_leaves_the_rest_leased(
    any_queue: WebhookQueue, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    """The give-back fails: the run still stops after the event in hand, nothing is counted
    as released, and the events come back after their lease (never twice at once)."""
    flaky = FlakyQueue(any_queue, failures=0)
    stop = threading.Event()

    def handler(event: WebhookEvent) -> None:
        flaky.failures = 1  # the queue goes down while the first event runs
        stop.set()

    any_queue.enqueue([envelope(n) for n in range(3)])
    worker = Worker(flaky, handler, consumer="w1", clock=clock, batch_size=3, lease=60)
    result = worker.run(stop=stop)
    assert (result.claimed, result.processed, result.released) == (3, 1, 0)
    assert "2 unstarted event(s) stay leased" in caplog.text
    other = Worker(any_queue, lambda e: None, consumer="w2", clock=clock)
    assert other.run(until_idle=True).processed == 0  # still leased to w1
    if any_queue.backend == "sqlite":  # leases follow the injected clock
        clock.advance(61)
        taken = any_queue.claim("w2", 10, lease=60)
    else:  # Redis measures idleness itself: a lease of 0 takes over at once
        taken = any_queue.claim("w2", 10, lease=0)
    assert len(taken) == 2


async def test_an_async_stop_mid_batch_gives_the_rest_back(
    any_queue: WebhookQueue, clock: FakeClock
) -> None:
    stop = asyncio.Event()

    async def handler(event: WebhookEvent) -> None:
        stop.set()

    any_queue.enqueue([envelope(n) for n in range(3)])
    worker = Worker(any_queue, handler, consumer="a1", clock=clock, batch_size=3)
    result = await worker.arun(stop=stop)
    assert (result.processed, result.released) == (1, 2)
    other = Worker(any_queue, lambda e: None, consumer="a2", clock=clock)
    assert other.run(until_idle=True).processed == 2


def test_sync_worker_refuses_async_handlers(any_queue: WebhookQueue) -> None:
    async def handler(event: WebhookEvent) -> None:  # pragma: no cover - never awaited
        return None

    any_queue.enqueue([envelope(1)])
    policy = RetrySchedule(max_attempts=1)
    assert Worker(any_queue, handler, consumer="w", retry=policy).run(until_idle=True).dead == 1
    assert "arun" in any_queue.dead_letters()[0].error


async def test_async_worker_awaits_async_handlers(any_queue: WebhookQueue) -> None:
    got: list[int | None] = []
    handlers = WebhookHandlers()

    @handlers.on(WorkOrderStatusChange)
    async def status(event: WorkOrderStatusChange) -> None:  # pragma: no cover - not sent
        got.append(event.work_order_id)

    @handlers.on(NewWorkOrder)
    async def created(event: NewWorkOrder) -> None:
        await asyncio.sleep(0)
        got.append(event.work_order_id)

    @handlers.default
    def plain(event: WebhookEvent) -> None:  # pragma: no cover - not sent
        got.append(None)

    any_queue.enqueue([envelope(n) for n in range(3)])
    result = await Worker(any_queue, handlers, consumer="a").arun(until_idle=True)
    assert result.processed == 3
    assert sorted(v for v in got if v is not None) == [0, 1, 2]


async def test_async_worker_retries_and_stops(any_queue: WebhookQueue, clock: FakeClock) -> None:
    async def broken(event: WebhookEvent) -> None:
        raise ValueError("no")

    any_queue.enqueue([envelope(1)])
    worker = Worker(any_queue, broken, consumer="a", retry=NO_JITTER, clock=clock)
    assert (await worker.arun_once()).retried == 1
    stop = asyncio.Event()
    stop.set()
    assert (await worker.arun(stop=stop)).claimed == 0
    assert (await worker.arun(max_batches=2)).claimed == 0


def test_bad_worker_options(any_queue: WebhookQueue) -> None:
    with pytest.raises(ValueError, match="batch_size"):
        Worker(any_queue, lambda e: None, batch_size=0)
    with pytest.raises(ValueError, match="lease"):
        Worker(any_queue, lambda e: None, lease=0)
    with pytest.raises(ValueError, match="EVENT_TYPE"):
        WebhookHandlers().on(WebhookEvent)
    assert "Worker(consumer=" in repr(Worker(any_queue, lambda e: None))


def test_a_worker_waits_out_a_queue_outage_and_reports_it(
    any_queue: WebhookQueue, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    any_queue.enqueue([envelope(1)])
    got: list[WebhookEvent] = []
    metrics = WebhookMetrics()
    flaky = FlakyQueue(any_queue, failures=4)
    worker = Worker(flaky, got.append, consumer="w", clock=clock, metrics=metrics, rand=lambda: 0)
    with caplog.at_level(logging.DEBUG, logger="maintainx_resilient.webhooks"):
        result = worker.run(until_idle=True)
    assert result.processed == 1 and len(got) == 1
    assert clock.sleeps == [0.5, 1.0, 2.0, 4.0]  # the reconnect backoff, on the injected clock
    assert worker.outage is None
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "cannot use the queue (unavailable)" in errors[0].getMessage()
    assert "uses the queue again after 7.5 s (4 failed attempts)" in caplog.text
    snapshot = metrics.snapshot()
    assert (snapshot["queue_errors"], snapshot["queue_outages_recovered"]) == (4, 1)
    assert snapshot["worker_outages"] == [] and snapshot["webhook_failures"] == 4


def test_an_outage_in_progress_is_visible_on_the_worker_and_in_the_metrics(
    any_queue: WebhookQueue,
) -> None:
    stop = threading.Event()
    clock = StoppingClock(stop, after=3)
    metrics = WebhookMetrics()
    flaky = FlakyQueue(any_queue, failures=100)
    worker = Worker(flaky, lambda e: None, consumer="w", clock=clock, metrics=metrics)
    started = clock.time()
    assert worker.run(stop=stop).claimed == 0  # ends on stop, not on the outage
    outage = worker.outage
    assert outage is not None and (outage.since, outage.failures) == (started, 3)
    assert outage.error == "unavailable" and "down" in outage.detail
    [reported] = metrics.snapshot()["worker_outages"]
    assert reported == {"consumer": "w", "since": started, "failures": 3, "error": "unavailable"}


async def test_an_async_worker_waits_out_a_queue_outage(
    any_queue: WebhookQueue, clock: FakeClock
) -> None:
    any_queue.enqueue([envelope(1)])
    got: list[WebhookEvent] = []
    flaky = FlakyQueue(any_queue, failures=2)
    worker = Worker(flaky, got.append, consumer="a", clock=clock, rand=lambda: 0)
    assert (await worker.arun(until_idle=True)).processed == 1
    assert clock.sleeps == [0.5, 1.0] and worker.outage is None


def test_a_payload_nested_too_deep_reaches_its_handler_raw_and_stalls_nothing(
    any_queue: WebhookQueue,
) -> None:
    """A signed body nested deeper than Python's parser follows is a RawEvent for its handler
    (raw None, a parse error said), not an exception that leaves the whole claimed batch in
    flight until its lease ends (QA: the good events beside it were dead-lettered)."""
    deep = envelope(7)
    deep = type(deep)(
        deep.key + "deep", "wo", "NEW_WORK_ORDER", b"[" * 100_000 + b"]" * 100_000, deep.received_at
    )
    got: list[WebhookEvent] = []
    any_queue.enqueue([deep, envelope(8)])
    worker = Worker(any_queue, got.append, consumer="w")
    result = worker.run(until_idle=True)
    assert result.processed == 2 and worker.outage is None
    raw = next(e for e in got if e.dedupe_key == deep.key)
    assert isinstance(raw, RawEvent) and raw.raw is None and raw.parse_error
    assert any(isinstance(e, NewWorkOrder) for e in got)


def test_an_exception_that_cannot_be_printed_is_a_failed_handler_not_an_outage(
    any_queue: WebhookQueue,
) -> None:
    class Unprintable(Exception):
        def __str__(self) -> str:
            raise ValueError("no message")

    def handler(event: WebhookEvent) -> None:
        raise Unprintable

    any_queue.enqueue([envelope(9)])
    worker = Worker(any_queue, handler, consumer="w")
    worker.run(max_batches=1)
    assert worker.outage is None
    assert any_queue.stats().delayed == 1  # to be retried, like any failed handler
