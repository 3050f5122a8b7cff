"""Group commit: concurrent deliveries share one durable write.

The receiver hands each accepted envelope to :meth:`GroupCommitter.submit` and waits for the
future (``concurrent.futures.Future``; ``asyncio.wrap_future`` makes it awaitable). One
thread takes everything waiting, up to ``max_batch``, and stores it with a single
``queue.enqueue(batch)``: one transaction and one fsync for the whole batch. Under load the
batches grow by themselves; alone, a delivery waits for exactly one write.
"""

from __future__ import annotations

import queue as _stdqueue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future

from ..records import Envelope

__all__ = ["GroupCommitter"]

_Item = tuple[Envelope, "Future[bool]"]


class GroupCommitter:
    """One writer thread in front of ``write`` (``WebhookQueue.enqueue``)."""

    def __init__(
        self,
        write: Callable[[Sequence[Envelope]], list[bool]],
        *,
        max_batch: int = 256,
        name: str = "maintainx-webhook-commit",
    ) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be >= 1")
        self._write = write
        self._max_batch = max_batch
        self._name = name
        self._items: _stdqueue.SimpleQueue[_Item | None] = _stdqueue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._closed = False
        self.batches = 0
        self.largest_batch = 0

    def submit(self, envelope: Envelope) -> Future[bool]:
        """Queue ``envelope`` for the next write; the future says whether it was new."""
        future: Future[bool] = Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("the committer is closed")
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()
            self._items.put((envelope, future))
        return future

    def _run(self) -> None:
        while True:
            first = self._items.get()
            if first is None:
                return
            batch = [first]
            stop = False
            while len(batch) < self._max_batch:
                try:
                    item = self._items.get_nowait()
                except _stdqueue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                batch.append(item)
            self._commit(batch)
            if stop:
                return

    def _commit(self, batch: list[_Item]) -> None:
        live = [(env, fut) for env, fut in batch if fut.set_running_or_notify_cancel()]
        if not live:
            return
        try:
            results = self._write([env for env, _ in live])
        except BaseException as exc:  # the store failed: every waiter learns it
            for _, fut in live:
                fut.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        self.batches += 1
        self.largest_batch = max(self.largest_batch, len(live))
        for (_, fut), stored in zip(live, results, strict=True):
            fut.set_result(stored)

    def close(self, timeout: float = 10.0) -> None:
        """Write what is queued, then stop the thread."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            thread = self._thread
            self._items.put(None)
        if thread is not None:
            thread.join(timeout)
