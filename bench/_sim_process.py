"""Run the simulator in its own process, so the server's CPU is not the benchmark's."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator


@contextlib.contextmanager
def simulator_process(
    work_orders: int, *, rate_limit: int = 0, window: float = 60.0
) -> Iterator[str]:
    """Start ``maintainx-resilient simulate`` and yield its base URL."""
    cmd = [
        sys.executable, "-m", "maintainx_resilient.cli", "simulate",
        "--work-orders", str(work_orders), "--rate-limit", str(rate_limit),
        "--window", str(window),
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        if not line.startswith("listening "):
            raise RuntimeError(f"simulator did not start: {line!r}")
        yield line.split(" ", 1)[1]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
