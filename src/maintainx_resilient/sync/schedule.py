"""Incremental sync on a schedule: a loop with an interval, woken early by webhooks.

:meth:`Scheduler.tick` is one round (an incremental run per resource); :meth:`Scheduler.run`
repeats it every ``interval`` seconds (measured from the start of a round) until
:meth:`Scheduler.stop` or ``runs`` rounds. With a :class:`~.feed.WebhookFeed` the wait ends
as soon as a webhook names a record, so webhook-triggered fetches happen within moments,
while the poll still catches whatever webhooks missed. A failing round is reported to
``on_error`` and the loop carries on (the watermark did not move, so nothing is lost).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from .._clock import Clock, SystemClock

if TYPE_CHECKING:
    from .engine import SyncEngine
    from .feed import WebhookFeed
    from .incremental import IncrementalResult

__all__ = ["Scheduler"]


class Scheduler:
    """Runs ``engine.incremental`` for ``resources`` every ``interval`` seconds."""

    def __init__(
        self,
        engine: SyncEngine,
        resources: Sequence[str],
        *,
        interval: float,
        on_result: Callable[[IncrementalResult], None] | None = None,
        on_error: Callable[[str, Exception], None] | None = None,
    ) -> None:
        if not interval > 0:
            raise ValueError(f"interval must be > 0 seconds, got {interval!r}")
        self.engine = engine
        self.resources = tuple(resources)
        self.interval = interval
        self.on_result = on_result
        self.on_error = on_error
        self.rounds = 0
        self.errors = 0
        self._stop = threading.Event()

    @property
    def clock(self) -> Clock:
        return self.engine.clock

    @property
    def feed(self) -> WebhookFeed | None:
        return self.engine.feed

    def tick(self) -> list[IncrementalResult]:
        """One round: an incremental run of every resource (errors reported, not raised)."""
        results: list[IncrementalResult] = []
        for resource in self.resources:
            try:
                result = self.engine.incremental(resource)
            except Exception as exc:
                self.errors += 1
                if self.on_error is None:
                    raise
                self.on_error(resource, exc)
                continue
            results.append(result)
            if self.on_result is not None:
                self.on_result(result)
        self.rounds += 1
        return results

    def run(self, *, runs: int | None = None) -> int:
        """Loop until :meth:`stop` (or ``runs`` rounds); returns the rounds run."""
        done = 0
        while not self._stop.is_set() and (runs is None or done < runs):
            started = self.clock.monotonic()
            errors = self.errors
            self.tick()
            done += 1
            if runs is not None and done >= runs:
                break
            remaining = max(0.0, self.interval - (self.clock.monotonic() - started))
            # after a failed round the ids it put back are pending: a webhook must not end
            # the wait early, or a lasting failure would repeat without a pause
            self._wait(remaining, early=self.errors == errors)
        return done

    def stop(self) -> None:
        """End :meth:`run` after the current round (safe from any thread)."""
        self._stop.set()
        if self.feed is not None:
            self.feed.wake()

    def _wait(self, seconds: float, *, early: bool = True) -> None:
        if self.feed is not None and early:
            self.feed.wait(seconds)  # a webhook ends the wait early
        elif isinstance(self.clock, SystemClock):
            self._stop.wait(seconds)
        else:
            self.clock.sleep(seconds)  # an injected clock (FakeClock in tests)
