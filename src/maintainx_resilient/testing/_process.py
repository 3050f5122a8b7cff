"""The simulator in a child process: for benchmarks (so the server's CPU is not the
measured process's) and for tests of code that must not share a process with it."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator

__all__ = ["simulator_process"]


@contextlib.contextmanager
def simulator_process(
    *, work_orders: int = 3000, rate_limit: int = 0, window: float = 60.0, seed: int = 1
) -> Iterator[str]:
    """Run ``maintainx-resilient simulate`` in a child process; yield its base URL.

    ``rate_limit`` is requests per ``window`` per key (0: no rate limit). The child is
    terminated when the block ends.
    """
    cmd = [
        sys.executable, "-m", "maintainx_resilient.cli", "simulate",
        "--work-orders", str(work_orders), "--rate-limit", str(rate_limit),
        "--window", str(window), "--seed", str(seed),
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)  # noqa: S603 - our own CLI
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        if not line.startswith("listening "):
            raise RuntimeError(f"the simulator did not start: {line!r}")
        yield line.split(" ", 1)[1]
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
