"""Workers: take events from the queue, run the user's handlers, retry, dead-letter.

One :class:`Worker` class serves threads and asyncio: :meth:`Worker.run` calls plain
handlers on the calling thread, :meth:`Worker.arun` awaits ``async def`` handlers (and calls
plain ones) on the event loop, with the queue's blocking calls in a worker thread. The steps
and the decisions are shared:

1. ``claim`` a batch (nothing while the queue is paused);
2. per event: an event claimed more than ``max_deliveries`` times without an outcome (its
   handler keeps killing the worker) goes to the dead letters; otherwise it is parsed
   (:func:`~maintainx_resilient.webhooks.events.parse_event`) and handed to the handler of
   its route, else of its type, else the default handler. No handler: dead letter (replay
   it once a handler exists), never a silent drop;
3. :func:`~maintainx_resilient.webhooks.backoff.decide` turns the outcome into ``ack``,
   ``retry`` (after a backoff) or ``dead`` (after ``max_attempts`` or a
   :class:`~maintainx_resilient.webhooks.backoff.PermanentError`).

Delivery to handlers is **at least once**: a worker killed between the end of a handler and
its ``ack`` makes the event run again. Make handlers idempotent with ``event.dedupe_key``
(:class:`~maintainx_resilient.webhooks.idempotency.SqliteLedger` does it for SQLite).

Give each worker a stable ``consumer`` name (``"worker-1"``): on start, :meth:`Worker.run`
calls ``queue.recover(consumer)``, so the events a killed predecessor of the same name held
run again at once instead of after the lease.

**A worker outlives its queue's outages.** When the queue fails (Redis down or hanging, a
damaged SQLite file), :meth:`Worker.run` and :meth:`Worker.arun` do not exit: they log the
outage once, record it (:attr:`Worker.outage`, and ``worker_outages`` in the metrics, which
RB-003 reports), wait ``reconnect`` (0.5 s doubling to 15 s, jittered) and try again, then
log the recovery. Events stay in the queue meanwhile; an event whose ``ack`` failed runs
again after its lease (at least once).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import os
import random
import socket
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any, TypeVar, overload

from .._clock import SYSTEM_CLOCK, Clock, SystemClock
from .._deprecated import renamed
from .._exceptions import StorageError
from .backoff import DEFAULT_RETRY_SCHEDULE, Decision, RetrySchedule, decide, describe
from .events import WebhookEvent, parse_event
from .metrics import WebhookMetrics
from .queue import DEFAULT_LEASE, WebhookQueue
from .records import Delivery

__all__ = [
    "DEFAULT_RECONNECT_SCHEDULE",
    "BatchResult",
    "Handler",
    "QueueOutage",
    "WebhookHandlers",
    "Worker",
]

logger = logging.getLogger("maintainx_resilient.webhooks")

#: How long a worker waits before trying a failing queue again: 0.5 s doubling to 15 s.
DEFAULT_RECONNECT_SCHEDULE = RetrySchedule(base_delay=0.5, max_delay=15.0)

E = TypeVar("E", bound=WebhookEvent)
#: A handler takes an event; it may be ``async def``. Raising means "failed".
Handler = Callable[[Any], object]
F = TypeVar("F", bound=Callable[..., object])


class WebhookHandlers:
    """Which handler runs for which event: by route first, then by event type, then the
    default.

    >>> handlers = WebhookHandlers()
    >>> @handlers.on(WorkOrderStatusChange)  # doctest: +SKIP
    ... def status_changed(event: WorkOrderStatusChange) -> None: ...
    """

    def __init__(self) -> None:
        self._by_route: dict[str, Handler] = {}
        self._by_type: dict[str, Handler] = {}
        self._default: Handler | None = None

    @overload
    def on(self, event: type[E]) -> Callable[[Callable[[E], object]], Callable[[E], object]]: ...

    @overload
    def on(self, event: str) -> Callable[[F], F]: ...

    def on(self, event: type[WebhookEvent] | str) -> Callable[[Any], Any]:
        """Register a handler for an event model (``WorkOrderStatusChange``) or a type name
        (``"WORK_ORDER_STATUS_CHANGE"``)."""
        name = event if isinstance(event, str) else event.EVENT_TYPE
        if not name:
            raise ValueError("this event model has no EVENT_TYPE; register by type name")

        def register(fn: Any) -> Any:
            self._by_type[name] = fn
            return fn

        return register

    def route(self, name: str) -> Callable[[F], F]:
        """Register a handler for every event arriving on route ``name``."""

        def register(fn: F) -> F:
            self._by_route[name] = fn
            return fn

        return register

    def default(self, fn: F) -> F:
        """Register the handler of events no other handler takes."""
        self._default = fn
        return fn

    def resolve(self, route: str, event_type: str) -> Handler | None:
        return self._by_route.get(route) or self._by_type.get(event_type) or self._default


@dataclass
class BatchResult:
    """What one batch (or a whole run, summed) did."""

    claimed: int = 0
    processed: int = 0
    retried: int = 0
    dead: int = 0
    lost_lease: int = 0
    #: claimed, then given back unstarted because ``stop`` was set mid-batch (those the
    #: queue took back: if it failed, they stay leased and are not counted)
    released: int = 0

    def add(self, other: BatchResult) -> None:
        self.claimed += other.claimed
        self.processed += other.processed
        self.retried += other.retried
        self.dead += other.dead
        self.lost_lease += other.lost_lease
        self.released += other.released


@dataclass(frozen=True)
class QueueOutage:
    """The queue has failed ``failures`` times in a row since ``since`` (wall-clock Unix
    time); ``error`` is the last error's kind (:attr:`StorageError.kind`, else its type)
    and ``detail`` its message."""

    since: float
    failures: int
    error: str
    detail: str


def _default_consumer() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


class Worker:
    """Runs handlers for the events of ``queue``. See the module docstring."""

    def __init__(
        self,
        queue: WebhookQueue,
        handlers: WebhookHandlers | Handler,
        *,
        consumer: str | None = None,
        retry: RetrySchedule = DEFAULT_RETRY_SCHEDULE,
        batch_size: int = 16,
        lease: float = DEFAULT_LEASE,
        idle_wait: float = 0.5,
        clock: Clock = SYSTEM_CLOCK,
        metrics: WebhookMetrics | None = None,
        rand: Callable[[], float] = random.random,
        reconnect: RetrySchedule = DEFAULT_RECONNECT_SCHEDULE,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        if lease <= 0:
            raise ValueError("lease must be > 0 seconds")
        if isinstance(handlers, WebhookHandlers):
            self.handlers = handlers
        else:
            self.handlers = WebhookHandlers()
            self.handlers.default(handlers)
        self.queue = queue
        self.consumer = consumer or _default_consumer()
        self.retry_policy = retry
        self.batch_size = batch_size
        self.lease = lease
        self.idle_wait = idle_wait
        self.clock = clock
        self.metrics = metrics or WebhookMetrics()
        self._rand = rand
        self.reconnect = reconnect
        self.totals = BatchResult()
        #: the queue's current outage, None while it answers
        self.outage: QueueOutage | None = None

    def __repr__(self) -> str:
        return f"Worker(consumer={self.consumer!r}, queue={self.queue!r})"

    # -- shared steps -----------------------------------------------------------------------

    def recover(self) -> int:
        """Make the events this consumer name still holds claimable now (after a restart)."""
        return self.queue.recover(self.consumer)

    def _prepare(self, delivery: Delivery) -> tuple[WebhookEvent, Handler] | Decision:
        env = delivery.envelope
        if delivery.deliveries > self.retry_policy.max_deliveries:
            return Decision(
                "dead",
                error=f"claimed {delivery.deliveries} times without an outcome "
                f"(the handler may be killing its worker); last error: {delivery.last_error}",
            )
        event = parse_event(env.event_type, env.body)
        event._dedupe_key = env.key
        event._route = env.route
        event._attempt = delivery.attempt
        event._received_at = env.received_at
        handler = self.handlers.resolve(env.route, event.event_type)
        if handler is None:
            return Decision(
                "dead", error=f"no handler for route {env.route!r} / type {env.event_type!r}"
            )
        return event, handler

    def _start(self, delivery: Delivery) -> Decision | Awaitable[object]:
        """Run the handler of ``delivery``: the decision, or what an ``async def`` handler
        returned (not awaited yet)."""
        prepared = self._prepare(delivery)
        if isinstance(prepared, Decision):
            return prepared
        event, handler = prepared
        try:
            outcome = handler(event)
        except Exception as exc:
            return self._decide(delivery, exc)
        return outcome if inspect.isawaitable(outcome) else self._decide(delivery, None)

    def _decide(self, delivery: Delivery, error: BaseException | None) -> Decision:
        env = delivery.envelope
        if error is not None:
            self.metrics.handler_failed(env.route, env.event_type, type(error).__name__)
            logger.warning(
                "webhook handler failed: %s (route %r, type %s, attempt %d, event %s)",
                type(error).__name__,
                env.route,
                env.event_type,
                delivery.attempt,
                delivery.id,
            )
        return decide(self.retry_policy, delivery.attempt, error, self._rand())

    def _apply(self, delivery: Delivery, decision: Decision, result: BatchResult) -> None:
        env = delivery.envelope
        if decision.action == "ack":
            done = self.queue.ack(delivery)
            if done:
                result.processed += 1
                self.metrics.processed(env.route, env.event_type)
        elif decision.action == "retry":
            done = self.queue.retry(delivery, delay=decision.delay, error=decision.error or "")
            result.retried += int(done)
        else:
            done = self.queue.dead_letter(delivery, error=decision.error or "")
            if done:
                result.dead += 1
                self.metrics.dead_lettered(env.route, env.event_type)
                logger.error(
                    "webhook dead-lettered (route %r, type %s, event %s) after %d attempt(s)",
                    env.route,
                    env.event_type,
                    delivery.id,
                    delivery.attempt,
                )
        if not done:
            result.lost_lease += 1

    def _queue_failed(self, exc: Exception) -> float:
        """Record a failure of the queue; the seconds to wait before the next attempt."""
        kind = exc.kind if isinstance(exc, StorageError) else type(exc).__name__
        detail = describe(exc, 500)
        if self.outage is None:
            self.outage = QueueOutage(self.clock.time(), 1, kind, detail)
            logger.error(
                "webhook worker %s cannot use the queue (%s): %s; retrying with backoff "
                "(events wait in the queue)",
                self.consumer,
                kind,
                detail,
            )
        else:
            self.outage = replace(
                self.outage, failures=self.outage.failures + 1, error=kind, detail=detail
            )
            logger.debug("webhook worker %s: queue still failing: %s", self.consumer, detail)
        self.metrics.queue_failed(self.consumer, kind, since=self.outage.since)
        return self.reconnect.delay(self.outage.failures, self._rand())

    def _queue_answered(self) -> None:
        outage, self.outage = self.outage, None
        if outage is None:
            return
        logger.warning(
            "webhook worker %s uses the queue again after %.1f s (%d failed attempts)",
            self.consumer,
            max(0.0, self.clock.time() - outage.since),
            outage.failures,
        )
        self.metrics.queue_recovered(self.consumer)

    def _counted(
        self,
        run: BatchResult,
        result: BatchResult,
        batches: int,
        until_idle: bool,
        max_batches: int | None,
    ) -> bool:
        """Add ``result``, the ``batches``-th batch of ``run``, to it; False once the run ends."""
        self._queue_answered()
        run.add(result)
        if max_batches is not None and batches >= max_batches:
            return False
        return not (until_idle and result.claimed == 0)

    # -- threads ----------------------------------------------------------------------------

    def _release(self, unstarted: list[Delivery], result: BatchResult) -> None:
        """Give back the events of a batch that ``stop`` cut short: claimable at once by
        another worker, not after the lease, their attempts unchanged. A queue failing here
        leaves them to the lease (they run later, never twice at once) and counts none."""
        try:
            result.released += self.queue.recover(self.consumer, ids=[d.id for d in unstarted])
        except Exception as exc:  # the lease takes over; the stop goes on
            logger.warning(
                "webhook worker %s: %d unstarted event(s) stay leased (%s)",
                self.consumer,
                len(unstarted),
                describe(exc, 200),
            )

    def run_once(self, stop: threading.Event | None = None) -> BatchResult:
        """Claim one batch and process it on this thread; plain handlers only. Once ``stop``
        is set, the event in hand is finished and the rest are given back to the queue."""
        result = BatchResult()
        deliveries = self.queue.claim(self.consumer, self.batch_size, lease=self.lease)
        result.claimed = len(deliveries)
        for index, delivery in enumerate(deliveries):
            if stop is not None and stop.is_set():
                self._release(deliveries[index:], result)
                break
            step = self._start(delivery)
            if not isinstance(step, Decision):
                if inspect.iscoroutine(step):
                    step.close()
                error = TypeError("an async handler needs Worker.arun(), not Worker.run()")
                step = self._decide(delivery, error)
            self._apply(delivery, step, result)
        self.totals.add(result)
        return result

    def run(
        self,
        *,
        stop: threading.Event | None = None,
        until_idle: bool = False,
        max_batches: int | None = None,
    ) -> BatchResult:
        """Process batches until ``stop`` is set (or, with ``until_idle``, until a claim
        comes back empty). Calls :meth:`recover` first. Returns what this run did. A failing
        queue never ends it (see the module docstring). A ``stop`` set mid-batch ends the
        run after the event in hand: the rest of the batch goes back to the queue at once
        (``released``), so a SIGTERM's grace period is one handler long, not a batch."""
        run, recovered, batches = BatchResult(), False, 0
        while stop is None or not stop.is_set():
            try:
                if not recovered:
                    self.recover()
                    recovered = True
                result = self.run_once(stop)
            except Exception as exc:  # the queue failed: wait, try again, never exit
                self._pause(stop, self._queue_failed(exc))
                continue
            batches += 1
            if not self._counted(run, result, batches, until_idle, max_batches):
                break
            if result.claimed == 0:
                self._pause(stop, self.idle_wait, idle=True)
        return run

    def _pause(self, stop: threading.Event | None, seconds: float, *, idle: bool = False) -> None:
        """Wait ``seconds``; a ``stop`` ends the wait early, but after a queue failure only
        on the system clock (an injected clock, FakeClock in tests, sleeps instead)."""
        if stop is not None and (idle or isinstance(self.clock, SystemClock)):
            stop.wait(seconds)
        else:
            self.clock.sleep(seconds)

    # -- asyncio ----------------------------------------------------------------------------

    async def arun_once(self, stop: asyncio.Event | None = None) -> BatchResult:
        """Claim one batch and process it; awaits ``async def`` handlers. ``stop`` as for
        :meth:`run_once`."""
        result = BatchResult()
        deliveries = await asyncio.to_thread(
            self.queue.claim, self.consumer, self.batch_size, lease=self.lease
        )
        result.claimed = len(deliveries)
        for index, delivery in enumerate(deliveries):
            if stop is not None and stop.is_set():
                await asyncio.to_thread(self._release, deliveries[index:], result)
                break
            step = self._start(delivery)
            if not isinstance(step, Decision):
                error: BaseException | None = None
                try:
                    await step
                except Exception as exc:
                    error = exc
                step = self._decide(delivery, error)
            await asyncio.to_thread(self._apply, delivery, step, result)
        self.totals.add(result)
        return result

    async def arun(
        self,
        *,
        stop: asyncio.Event | None = None,
        until_idle: bool = False,
        max_batches: int | None = None,
    ) -> BatchResult:
        """The asyncio twin of :meth:`run`."""
        run, recovered, batches = BatchResult(), False, 0
        while stop is None or not stop.is_set():
            try:
                if not recovered:
                    await asyncio.to_thread(self.recover)
                    recovered = True
                result = await self.arun_once(stop)
            except Exception as exc:  # the queue failed: wait, try again, never exit
                await self._apause(stop, self._queue_failed(exc))
                continue
            batches += 1
            if not self._counted(run, result, batches, until_idle, max_batches):
                break
            if result.claimed == 0:
                await self._apause(stop, self.idle_wait, idle=True)
        return run

    async def _apause(
        self, stop: asyncio.Event | None, seconds: float, *, idle: bool = False
    ) -> None:
        """The asyncio twin of :meth:`_pause`."""
        if stop is not None and (idle or isinstance(self.clock, SystemClock)):
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), seconds)
        else:
            await self.clock.asleep(seconds)


#: Renamed public names, still answered (with a DeprecationWarning).
_RENAMED = {"DEFAULT_RECONNECT_POLICY": "DEFAULT_RECONNECT_SCHEDULE"}


def __getattr__(name: str) -> Any:
    return renamed(__name__, name, _RENAMED, globals())
