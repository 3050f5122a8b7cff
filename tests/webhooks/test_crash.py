"""Crash safety: a worker process killed with SIGKILL mid-batch, 12 times, loses no event and
applies none twice, with the SQLite and with the Redis backend.

How "applies none twice" is made honest: the worker's handler adds each event's value to a
running total in a SQLite table **in the same transaction** that records the event's dedupe
key (:class:`~maintainx_resilient.webhooks.SqliteLedger`). Delivery to handlers is
at-least-once (an event whose handler committed but whose ``ack`` never happened runs again
after the restart); the ledger turns that into exactly-once *application*. The test checks:

- nothing lost: every event's key is in the ledger, the queue is empty, no dead letters;
- nothing applied twice: the total count and the sum of values equal those of the events
  (a double application would overshoot both);
- the dangerous path really ran: some events were handed to a handler again after a kill
  ("skipped" by the ledger), at least once per kill between apply and ack.

The kills land at random points (seeded): right after a handler applied an event and before
its ``ack`` (the worker waits there), after the k-th handler start, or after the k-th apply.
"""

from __future__ import annotations

import json
import os
import random
import select
import signal
import sqlite3
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from maintainx_resilient.webhooks import Envelope, SqliteQueue, WebhookQueue, dedupe_key

from .conftest import require_redis

EVENTS = 300
KILLS = 12
BATCH = 10
WORKER_SCRIPT = Path(__file__).with_name("_crash_worker.py")


class Zygote:
    """The helper process that forks workers (see ``_crash_worker.py``)."""

    def __init__(self, log: Path) -> None:
        self._log = log.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, str(WORKER_SCRIPT)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
        )

    def ask(self, command: dict[str, Any]) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(command) + "\n")
        self.proc.stdin.flush()
        answer: dict[str, Any] = json.loads(self.proc.stdout.readline())
        return answer

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write('{"op": "exit"}\n')
        self.proc.stdin.close()
        self.proc.wait(30)
        assert self.proc.stdout is not None
        self.proc.stdout.close()
        self._log.close()


class Lines:
    """Lines written by a worker on a FIFO; reading never hangs the test (30 s guard)."""

    def __init__(self, path: Path) -> None:
        self.fd = os.open(path, os.O_RDWR)  # never blocks, never sees EOF: we hold a writer
        self.buffer = b""

    def read(self, timeout: float = 30.0) -> str:
        while b"\n" not in self.buffer:
            ready, _, _ = select.select([self.fd], [], [], timeout)
            if not ready:
                raise TimeoutError("the worker said nothing for 30 s")
            self.buffer += os.read(self.fd, 65536)
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line.decode()

    def rest(self) -> list[str]:
        """What is left after the writer is gone."""
        while select.select([self.fd], [], [], 0)[0]:
            chunk = os.read(self.fd, 65536)
            if not chunk:
                break
            self.buffer += chunk
        lines = [part.decode() for part in self.buffer.split(b"\n") if part]
        self.buffer = b""
        return lines

    def close(self) -> None:
        os.close(self.fd)


@pytest.fixture
def zygote(tmp_path: Path) -> Iterator[Zygote]:
    helper = Zygote(tmp_path / "zygote.log")
    yield helper
    helper.close()


def envelopes() -> list[Envelope]:
    out = []
    for n in range(1, EVENTS + 1):
        body = json.dumps({"workOrderId": n, "orgId": 1, "value": n}).encode()
        out.append(
            Envelope(
                dedupe_key("crash", "NEW_WORK_ORDER", body), "crash", "NEW_WORK_ORDER", body, 1.0
            )
        )
    return out


def crash_repeatedly(queue: WebhookQueue, queue_url: str, zygote: Zygote, tmp_path: Path) -> None:
    ledger_path = tmp_path / "ledger.db"
    with sqlite3.connect(ledger_path) as db:
        db.execute("CREATE TABLE totals (id INTEGER PRIMARY KEY, n INTEGER, s INTEGER)")
        db.execute("INSERT INTO totals VALUES (1, 0, 0)")
    db.close()
    assert all(queue.enqueue(envelopes()))
    rng = random.Random(f"crash:{queue.backend}")
    starts: Counter[str] = Counter()
    outcomes: Counter[str] = Counter()
    paused_kills = 0

    def launch(round_: int, pause_after: int) -> tuple[int, Lines]:
        fifo = tmp_path / f"worker-{round_}.fifo"
        os.mkfifo(fifo)
        lines = Lines(fifo)
        config = {
            "op": "fork",
            "queue": queue_url,
            "ledger": str(ledger_path),
            "fifo": str(fifo),
            "consumer": "crash-worker",
            "batch": BATCH,
            "pause_after": pause_after,
        }
        return int(zygote.ask(config)["pid"]), lines

    def tally(line: str) -> None:
        word, _, key = line.partition(" ")
        if word == "start":
            starts[key] += 1
        elif word in ("applied", "skipped"):
            outcomes[word] += 1

    for round_ in range(KILLS):
        mode = ("between_apply_and_ack", "after_start", "after_apply")[round_ % 3]
        k = rng.randint(1, BATCH + 3)
        pid, lines = launch(round_, k if mode == "between_apply_and_ack" else 0)
        seen = 0
        while True:
            line = lines.read()
            tally(line)
            if mode == "between_apply_and_ack" and line == "paused":
                paused_kills += 1
                break
            if mode == "after_start" and line.startswith("start "):
                seen += 1
            if mode == "after_apply" and line.startswith(("applied ", "skipped ")):
                seen += 1
            if mode != "between_apply_and_ack" and seen >= k:
                break
            assert line != "done", "the queue drained before the kill"
        os.kill(pid, signal.SIGKILL)
        status = zygote.ask({"op": "wait", "pid": pid})
        assert status["signal"] == signal.SIGKILL
        for line in lines.rest():
            tally(line)
        lines.close()

    pid, lines = launch(KILLS, 0)  # the survivor drains the queue
    while (line := lines.read()) != "done":
        tally(line)
    assert zygote.ask({"op": "wait", "pid": pid}) == {"signal": None, "code": 0}
    lines.close()

    with sqlite3.connect(ledger_path) as db:
        n, total = db.execute("SELECT n, s FROM totals").fetchone()
        keys = {row[0] for row in db.execute("SELECT key FROM mx_webhook_applied")}
    db.close()
    expected = {env.key for env in envelopes()}
    assert keys == expected, "an acknowledged event was lost"
    assert n == EVENTS, f"applied {n} times for {EVENTS} events"
    assert total == EVENTS * (EVENTS + 1) // 2, "an event was applied twice"
    stats = queue.stats()
    assert (stats.depth, stats.dead) == (0, 0)
    # A kill can land between a commit and its "applied" line: lines undercount, never over.
    assert outcomes["applied"] <= EVENTS
    assert paused_kills == KILLS // 3
    assert outcomes["skipped"] >= paused_kills, "no redelivery after a kill between apply and ack"
    assert max(starts.values()) >= 2
    print(f"{queue.backend}: {sum(starts.values())} handler starts, {dict(outcomes)}")


@pytest.mark.slow
def test_sigkill_mid_batch_sqlite(tmp_path: Path, zygote: Zygote) -> None:
    path = tmp_path / "queue.db"
    queue = SqliteQueue(path)
    try:
        crash_repeatedly(queue, f"sqlite://{path}", zygote, tmp_path)
    finally:
        queue.close()


@pytest.mark.slow
@pytest.mark.redis
def test_sigkill_mid_batch_redis(tmp_path: Path, zygote: Zygote) -> None:
    from maintainx_resilient.webhooks.queue.redis import RedisQueue

    url = require_redis()
    prefix = f"mxtest:crash:{uuid.uuid4().hex}"
    queue = RedisQueue(url, prefix=prefix)
    try:
        crash_repeatedly(queue, f"{url}?prefix={prefix}", zygote, tmp_path)
    finally:
        queue.clear()
        queue.close()
