"""Running the console script as a user would: under a pseudo-terminal of a given size, into
a pipe, and into a pipe whose reader leaves after one line (``| head -1``). Every run is
bounded in time; a run that overstays is killed and fails the test."""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

ANSI = re.compile(r"\x1b(\[[0-9;?]*[ -/]*[@-~]|\][^\x07]*\x07|[@-Z\\-_])")
COMMAND = [sys.executable, "-m", "maintainx_resilient.cli"]


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str = ""

    @property
    def text(self) -> str:
        """What a person saw: escape sequences removed, carriage returns as line starts."""
        return ANSI.sub("", self.out).replace("\r\n", "\n")

    def screen_lines(self) -> list[str]:
        """Every stretch of text between line starts (a ``\\r`` redraw starts a new one)."""
        return [seg for line in self.text.split("\n") for seg in line.split("\r")]


def _env(extra: Mapping[str, str] | None, columns: int | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR", "COLUMNS")}
    env["PYTHONUNBUFFERED"] = "1"
    env["TERM"] = "xterm-256color"
    if columns is not None:
        env["COLUMNS"] = str(columns)
        env["LINES"] = "40"
    env.update(extra or {})
    return env


def in_terminal(
    argv: Sequence[str],
    *,
    columns: int = 80,
    env: Mapping[str, str] | None = None,
    timeout: float = 30.0,
) -> Run:
    """Run with stdin, stdout and stderr on one pseudo-terminal ``columns`` wide."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    proc = subprocess.Popen(
        [*COMMAND, *argv],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=_env(env, columns),
        close_fds=True,
        start_new_session=True,
    )
    os.close(slave)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{argv} still running after {timeout} s")
            ready, _, _ = select.select([master], [], [], min(left, 0.5))
            if not ready:
                if proc.poll() is not None:
                    break
                continue
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the terminal's other side closed
                break
            if not data:
                break
            chunks.append(data)
        code = proc.wait(timeout=max(0.1, deadline - time.monotonic()))
    finally:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        os.close(master)
    return Run(code, b"".join(chunks).decode("utf-8", "replace"))


def piped(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    timeout: float = 30.0,
    stdin: bytes = b"",
) -> Run:
    """Run with stdout and stderr into pipes (no terminal anywhere)."""
    proc = subprocess.run(
        [*COMMAND, *argv],
        input=stdin,
        capture_output=True,
        env=_env(env, None),
        timeout=timeout,
        check=False,
    )
    return Run(proc.returncode, proc.stdout.decode(), proc.stderr.decode())


def head_1(
    argv: Sequence[str], *, env: Mapping[str, str] | None = None, timeout: float = 30.0
) -> Run:
    """``COMMAND | head -1``: the reader takes one line, then closes the pipe."""
    proc = subprocess.Popen(
        [*COMMAND, *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_env(env, None),
    )
    assert proc.stdout is not None and proc.stderr is not None
    try:
        first = proc.stdout.readline()
        proc.stdout.close()  # what head does after its line
        err = proc.stderr.read()
        code = proc.wait(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stderr.close()
    return Run(code, first.decode(), err.decode())
