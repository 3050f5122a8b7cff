"""A discrete-event run of the throttle against a fixed-window server: callers loop
(reserve, wait, confirm, send), requests and answers take a random latency each way (so
answers come back out of order), the server counts per window and answers with
``X-Rate-Limit-*`` (Reset rounded up to whole seconds) or without. No threads, no sleeping:
time is the event queue's."""

from __future__ import annotations

import heapq
import itertools
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from maintainx_resilient._exceptions import ThrottledError
from maintainx_resilient.policies.throttle import Reservation, Throttle, ThrottleConfig
from maintainx_resilient.testing._ratelimit import Bucket, FixedWindowLimiter


@dataclass(frozen=True)
class Run:
    callers: int = 8
    limit: int = 100
    window: float = 60.0
    windows: int = 3
    headers: bool = True
    seed: int = 1
    latency: tuple[float, float] = (0.005, 0.05)
    phase: float = 17.3  # where the server's windows start, relative to the run's start
    margin: int = 1


@dataclass
class Outcome:
    run: Run
    ok: int = 0
    rejected: int = 0
    refused: int = 0
    per_window: dict[int, int] = field(default_factory=dict)

    @property
    def goodput(self) -> float:
        return self.ok / (self.run.windows * self.run.limit)

    @property
    def share_429(self) -> float:
        sent = self.ok + self.rejected
        return self.rejected / sent if sent else 0.0


def simulate(run: Run) -> Outcome:
    rng = random.Random(run.seed)
    config = ThrottleConfig(
        per_user=run.limit,
        per_org=run.limit * 5,
        window=run.window,
        safety_margin=run.margin,
        max_wait=1e9,
    )
    throttle = Throttle(config, jitter=rng.random)
    server = FixedWindowLimiter()
    scopes = ("key:k", "org:o")
    queue: list[tuple[float, int, Callable[[float], None]]] = []
    order = itertools.count()
    outcome = Outcome(run)
    start = 1000.0
    end = start + run.windows * run.window

    def at(time: float, action: Callable[[float], None]) -> None:
        heapq.heappush(queue, (time, next(order), action))

    def loop(now: float) -> None:
        if now >= end:
            return
        try:
            reservation = throttle.reserve(scopes, now=now)
        except ThrottledError:
            outcome.refused += 1
            return
        at(reservation.slot, lambda t: wake(t, reservation))

    def wake(now: float, reservation: Reservation) -> None:
        confirmed = throttle.confirm(reservation, now=now)
        if confirmed.wait > 0:
            at(confirmed.slot, lambda t: wake(t, confirmed))
            return
        at(now + rng.uniform(*run.latency), lambda t: serve(t, confirmed))

    def serve(now: float, reservation: Reservation) -> None:
        decision = server.check([Bucket("user", run.limit, run.window)], now + run.phase)
        index = int((now + run.phase) // run.window)
        if decision.allowed:
            outcome.per_window[index] = outcome.per_window.get(index, 0) + 1
        answer = decision.headers() if run.headers else {}
        status = 200 if decision.allowed else 429
        at(now + rng.uniform(*run.latency), lambda t: answered(t, reservation, status, answer))

    def answered(now: float, reservation: Reservation, status: int, answer: dict[str, str]) -> None:
        throttle.settle(reservation, status, answer, now=now)
        if status == 429:
            outcome.rejected += 1
        elif now < end:
            outcome.ok += 1
        loop(now)

    for _ in range(run.callers):
        at(start, loop)
    while queue:
        time, _, action = heapq.heappop(queue)
        action(time)
    assert max(outcome.per_window.values()) <= run.limit
    return outcome
