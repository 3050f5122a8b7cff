"""The worker processes of the crash test, forked from a "zygote" so that each start is fast.

Run as a script (``python tests/webhooks/_crash_worker.py``), it imports the library once,
then reads JSON commands on stdin, one per line, and answers JSON lines on stdout:

- ``{"op": "fork", "queue": URL, "ledger": PATH, "fifo": PATH, "consumer": NAME,
  "batch": N, "pause_after": K}`` forks a worker process and answers ``{"pid": ...}``;
- ``{"op": "wait", "pid": P}`` reaps it and answers ``{"signal": S, "code": C}``;
- ``{"op": "exit"}``.

A worker drains the queue with a real :class:`Worker` (same consumer name every time, so a
restart recovers what its killed predecessor held). Its handler applies each event through a
:class:`SqliteLedger`: it adds the event's value to a running total **in the same transaction**
that records the event's dedupe key, so an event redelivered after a kill is recognised and
not applied again. It reports on the FIFO: ``start <key>`` before applying, ``applied <key>``
or ``skipped <key>`` after, ``paused`` when told to stop between apply and ack (where the test
kills it), ``done`` when the queue is empty. Nothing crosses processes but argv-free JSON text.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import traceback
from typing import Any


def run_worker(config: dict[str, Any]) -> None:
    from maintainx_resilient.webhooks import (
        RetrySchedule,
        SqliteLedger,
        WebhookEvent,
        Worker,
        open_queue,
    )

    out = open(config["fifo"], "w", buffering=1)  # noqa: SIM115 - lives as long as the process
    queue = open_queue(config["queue"])
    ledger = SqliteLedger(config["ledger"])
    handled = 0
    pause_after = int(config.get("pause_after") or 0)

    def handle(event: WebhookEvent) -> None:
        nonlocal handled
        key = event.dedupe_key
        out.write(f"start {key}\n")
        value = int(event.raw["value"])
        applied = ledger.apply_once(
            key,
            lambda db: db.execute("UPDATE totals SET n = n + 1, s = s + ? WHERE id = 1", (value,)),
        )
        out.write(f"{'applied' if applied else 'skipped'} {key}\n")
        handled += 1
        if handled == pause_after:
            out.write("paused\n")
            signal.pause()  # applied, not acknowledged: the test kills us here

    worker = Worker(
        queue,
        handle,
        consumer=config["consumer"],
        batch_size=int(config["batch"]),
        lease=3600,
        retry=RetrySchedule(max_attempts=3, max_deliveries=1000),
    )
    worker.run(until_idle=True)
    out.write("done\n")
    out.close()
    queue.close()
    ledger.close()


def main() -> None:
    import maintainx_resilient.webhooks  # noqa: F401 - imported once, before any fork

    with contextlib.suppress(ImportError):
        import redis  # noqa: F401

    def reply(data: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(data) + "\n")
        sys.stdout.flush()

    for line in sys.stdin:
        command = json.loads(line)
        if command["op"] == "fork":
            pid = os.fork()
            if pid == 0:  # the worker
                code = 0
                try:
                    run_worker(command)
                except BaseException:
                    traceback.print_exc()
                    code = 1
                finally:
                    sys.stderr.flush()
                    os._exit(code)
            reply({"pid": pid})
        elif command["op"] == "wait":
            _, status = os.waitpid(int(command["pid"]), 0)
            reply(
                {
                    "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
                    "code": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
                }
            )
        else:
            return


if __name__ == "__main__":
    main()
