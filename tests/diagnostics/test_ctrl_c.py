"""Ctrl-C while ``run_sync`` runs a diagnosis (``client.diagnose()``, ``client.health()``):
KeyboardInterrupt for the caller, every task of the run finished, and no asyncio noise at
exit ("Task was destroyed but it is pending!", "Task exception was never retrieved": QA
finding 5a)."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys

import pytest

from maintainx_resilient.diagnostics._runner import run_sync

#: A diagnosis whose probe is interrupted while its step runs (as when a probe starts a
#: thread): that task kept the KeyboardInterrupt, and the task waiting on it raised it again
#: while the run was being cleaned up.
_SCRIPT = """
import asyncio, signal
from maintainx_resilient.diagnostics._runner import run_sync
tasks = []
async def probe():
    await asyncio.sleep(0)
    signal.raise_signal(signal.SIGINT)
    await asyncio.sleep(30)
async def bounded():
    await asyncio.wait_for(probe(), timeout=30)
async def slow_to_unwind():
    try:
        await asyncio.sleep(30)
    finally:
        for _ in range(5):
            await asyncio.sleep(0)
async def diagnosis():
    tasks.append(asyncio.create_task(slow_to_unwind()))
    tasks.append(asyncio.create_task(bounded()))
    await asyncio.wait(tasks, timeout=30)
try:
    run_sync(diagnosis())
except KeyboardInterrupt:
    print("interrupted", all(t.done() for t in tasks))
"""


def test_ctrl_c_during_a_run_is_a_keyboard_interrupt_without_asyncio_noise() -> None:
    run = subprocess.run(
        [sys.executable, "-c", _SCRIPT], capture_output=True, text=True, timeout=60, check=False
    )
    assert run.stdout.strip() == "interrupted True", run.stderr
    assert run.stderr == ""


@pytest.mark.skipif(
    signal.getsignal(signal.SIGINT) is not signal.default_int_handler,
    reason="SIGINT has a handler of its own in this run",
)
def test_the_sigint_handler_is_restored_after_a_run() -> None:
    async def answer() -> int:
        await asyncio.sleep(0)
        return 42

    assert run_sync(answer()) == 42
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
