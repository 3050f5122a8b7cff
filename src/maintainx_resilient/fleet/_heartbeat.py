"""Each client's heartbeat: say "alive" to the fleet and apply its mitigations, twice a second.

:class:`FleetHeartbeat` runs one daemon thread per client that joined a fleet (started with
the client, stopped by ``close()``). Every ``FleetConfig.heartbeat`` seconds (0.5 s) one
round trip (:meth:`FleetBoard.beat`) writes the worker's heartbeat, prunes workers gone
silent and reads the fleet's mitigations, which are handed to the client's incident desk to
apply: so every worker applies a change within about one heartbeat, also a worker that sends
no request. The first beat runs at once, in the thread that builds the client: a worker
started while the fleet is in fallback mode never sends a request first.

While Redis is out the beats cost nothing (the link keeps Redis out of the path and tries it
again once per ``retry_interval``), what was applied stays applied, and the first beat that
gets through rejoins the fleet and applies what changed meanwhile. The thread never dies of
an error: it logs the first one of each kind and keeps beating. It holds the desk weakly: a
client dropped without ``close()`` stops its heartbeat when it is collected.

A client built before ``fork()`` (``gunicorn --preload``) keeps beating in each child: the
child gets a worker id of its own (its pid) and a new heartbeat thread.
"""

from __future__ import annotations

import logging
import os
import threading
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING

from .._clock import SYSTEM_CLOCK, Clock
from ._mitigations import FleetBoard, FleetView, stale_after

if TYPE_CHECKING:
    from ._member import Member

__all__ = ["FleetHeartbeat"]

logger = logging.getLogger("maintainx_resilient")

Apply = Callable[[FleetView], None]
#: ``stop()`` waits this long for a beat in flight (each Redis command is bounded anyway).
STOP_WAIT = 2.0


class FleetHeartbeat:
    """A worker's heartbeat thread; :meth:`beat` is one round, callable directly (tests)."""

    def __init__(
        self,
        board: FleetBoard,
        worker: Member,
        apply: Apply,
        *,
        interval: float,
        clock: Clock = SYSTEM_CLOCK,
        renew: Callable[[], Member] | None = None,
    ) -> None:
        self.board = board
        self._renew = renew
        self.worker = worker
        self.interval = interval
        self.stale_after = stale_after(interval)
        self.clock = clock
        self._apply: Callable[[], Apply | None]
        if hasattr(apply, "__self__"):
            self._apply = weakref.WeakMethod(apply)
        else:
            self._apply = lambda: apply
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._logged: set[str] = set()
        #: The last view read from Redis (None until one got through).
        self.last: FleetView | None = None
        self.beats = 0
        _LIVE.add(self)

    def beat(self) -> FleetView | None:
        """One round: heartbeat, prune, read the mitigations and apply them; None while
        Redis is out (nothing changes then)."""
        with self._lock:
            view = self.board.beat(self.worker, self.clock.time(), self.stale_after)
            self.beats += 1
            if view is None:
                return None
            self.last = view
            apply = self._apply()
            if apply is not None:
                apply(view)
            return view

    @property
    def running(self) -> bool:
        thread = self._thread
        return thread is not None and thread.is_alive()

    def start(self) -> None:
        """Beat once now, then every ``interval`` seconds in a daemon thread."""
        if self._thread is not None:
            return
        self.beat_now()
        thread = threading.Thread(
            target=self._run, name=f"maintainx-fleet-heartbeat-{self.worker.id}", daemon=True
        )
        self._thread = thread
        thread.start()

    def stop(self) -> None:
        """Stop the thread (waiting at most :data:`STOP_WAIT` s) and leave the fleet's list
        of live workers. Idempotent."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(STOP_WAIT)
        if thread is not None:
            self.board.leave(self.worker)

    def _after_fork(self) -> None:
        """In a forked child: fresh locks, and a heartbeat of the child's own (as a worker
        with its own id) if the parent's was running."""
        self._lock = threading.Lock()
        self._stop = threading.Event()
        running, self._thread = self._thread is not None, None
        if not running:
            return
        if self._renew is not None:
            self.worker = self._renew()
        thread = threading.Thread(
            target=self._run,
            args=(True,),
            name=f"maintainx-fleet-heartbeat-{self.worker.id}",
            daemon=True,
        )
        self._thread = thread
        thread.start()

    def _run(self, now: bool = False) -> None:
        if now:
            self.beat_now()
        while not self._stop.wait(self.interval):
            if self._apply() is None:  # the client was collected without close()
                self.board.leave(self.worker)
                return
            self.beat_now()

    def beat_now(self) -> None:
        """One round now; an error is logged (once per kind), never raised."""
        try:
            self.beat()
        except Exception as exc:  # a bug must not stop the heartbeat: log it once
            kind = type(exc).__name__
            if kind not in self._logged:
                self._logged.add(kind)
                logger.warning(
                    "maintainx_resilient fleet: a heartbeat of %s failed (%s); it keeps beating",
                    self.worker.id,
                    kind,
                    exc_info=True,
                )

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"FleetHeartbeat({self.worker.id!r}, every {self.interval:g} s, {state})"


_LIVE: weakref.WeakSet[FleetHeartbeat] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for heartbeat in list(_LIVE):
        heartbeat._after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
