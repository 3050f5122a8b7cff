"""Each command as a person runs it: in an 80-column terminal (nothing wider, no traceback,
colour on), into a pipe (plain text, no escape codes) and into ``| head -1`` (a quiet end
with the command's own exit status). Real processes, bounded in time."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from ._commands import COMMANDS, Command
from ._terminal import COMMAND, head_1, in_terminal, piped
from .conftest import World

pytestmark = [pytest.mark.socket, pytest.mark.slow]

ESC = "\x1b"


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c.name)
def test_in_an_80_column_terminal(command: Command, world: World) -> None:
    """Under a pseudo-terminal 80 columns wide: no line (nor any redraw of a progress bar)
    is wider, nothing is a traceback, and the exit status is the command's."""
    run = in_terminal(command.argv(world), columns=80, env=world.env)
    assert "Traceback" not in run.text, run.text
    assert run.code == command.code, run.text
    widest = max(run.screen_lines(), key=len)
    assert len(widest) <= 80, widest
    assert run.text.strip()


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c.name)
def test_piped(command: Command, world: World) -> None:
    """Into a pipe: plain text, not one escape code on stdout or stderr."""
    run = piped(command.argv(world), env=world.env)
    assert run.code == command.code, run.err
    assert ESC not in run.out and ESC not in run.err
    assert "Traceback" not in run.err
    assert run.out.strip()


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c.name)
def test_head_1(command: Command, world: World) -> None:
    """`| head -1`: the reader leaves after one line; the command ends quietly (no
    BrokenPipeError, no traceback) with its own exit status."""
    run = head_1(command.argv(world), env=world.env)
    assert run.code == command.code, run.err
    assert "Traceback" not in run.err and "BrokenPipe" not in run.err, run.err
    assert run.out.strip()


def test_simulate_in_a_terminal_pipe_and_head(world: World) -> None:
    """`simulate` serves until interrupted: its first line says where, it fits 80 columns,
    and Ctrl-C (SIGINT) or SIGTERM stops it with status 0 and no traceback."""
    for stop in (signal.SIGINT, signal.SIGTERM):
        proc = subprocess.Popen(
            [*COMMAND, "simulate", "--work-orders", "10"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, "COLUMNS": "80"},
        )
        assert proc.stdout is not None and proc.stderr is not None
        try:
            first = proc.stdout.readline().decode()
            assert first.startswith("listening http://127.0.0.1:") and len(first) <= 81
            proc.stdout.close()  # a reader that left: the server must not mind
            os.kill(proc.pid, stop)
            code = proc.wait(timeout=10)
            err = proc.stderr.read().decode()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            proc.stderr.close()
        assert code == 0 and "Traceback" not in err, err


def test_colour_follows_the_terminal_no_color_and_the_flags(world: World) -> None:
    """Colour on a terminal for every command alike (diagnose and health), none with
    NO_COLOR or --no-color, and --color forces it into a pipe (the demo's help says so)."""
    for argv in (["health"], ["diagnose", "--runbook", "RB-001", "--no-status-page"]):
        assert ESC + "[" in in_terminal(argv, env=world.env).out
        assert ESC + "[" not in in_terminal(argv, env={**world.env, "NO_COLOR": "1"}).text
        quiet = in_terminal([*argv, "--no-color"], env=world.env)
        assert "[1m" not in quiet.out and "[3" not in quiet.out.replace("\x1b[?25", "")
    forced = piped(["--color", "health"], env=world.env)
    assert ESC + "[" in forced.out
    demo = piped(["demo", "--fast", "--work-orders", "300", "--color"], env=world.env)
    assert ESC + "[" in demo.out


def test_ctrl_c_ends_quietly_with_130(world: World) -> None:
    """Ctrl-C in a long-running command: exit status 130, one line, no traceback; with
    --json the runs done so far are still one document."""
    argv = ["sync", "incremental", "--db", str(world.db), "--rate-limit", "0", "--every", "30"]
    proc = subprocess.Popen(
        [*COMMAND, *argv, "--json", "--progress", "json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, **world.env},
    )
    assert proc.stderr is not None
    try:
        first = proc.stderr.readline()  # the first page's progress line: the loop is running
        assert first.startswith(b"{"), first
        os.kill(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    assert b"Traceback" not in err and b"interrupted" in err
    assert out.count(b'"schema_version"') == 1


def test_python_dash_m_and_the_module_entry_agree() -> None:
    """`python -m maintainx_resilient.cli` is the console script (used by every test here)."""
    run = subprocess.run(
        [sys.executable, "-m", "maintainx_resilient.cli", "--version"],
        capture_output=True,
        check=False,
        timeout=30,
    )
    assert run.returncode == 0 and run.stdout.startswith(b"maintainx-resilient ")
