"""Ctrl-C as a person presses it, in a terminal (the signal goes to the whole process group):
``interrupted`` on stderr, exit status 130, no traceback and no asyncio warning, whether it
comes while ``diagnose`` waits on a slow or hung server (once or twice), or while the command
is still starting (QA finding 5). And start-up imports only the command being run."""

from __future__ import annotations

import fcntl
import os
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from maintainx_resilient.cli import COMMANDS, _command_in, build_parser
from maintainx_resilient.testing import Simulator

from ._terminal import COMMAND, _env

pytestmark = [pytest.mark.socket, pytest.mark.slow]

NOISE = ("Traceback", "Task was destroyed", "never retrieved", "Exception ignored")


def _ctrl_c_in_terminal(
    argv: list[str],
    env: dict[str, str],
    *,
    ready: Callable[[], bool],
    presses: int = 1,
    timeout: float = 60.0,
) -> tuple[int, str, float]:
    """Run in a pseudo-terminal; once ``ready()``, press Ctrl-C ``presses`` times (SIGINT
    to the process group, 20 ms apart). Returns the status, what the terminal showed and
    how long the process took to end after the first press."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 80, 0, 0))
    proc = subprocess.Popen(
        [*COMMAND, *argv],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=_env(env, 80),
        start_new_session=True,
    )
    os.close(slave)
    chunks: list[bytes] = []
    pressed_at: float | None = None
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if pressed_at is None and ready():
                for n in range(presses):
                    if n:
                        time.sleep(0.02)
                    os.killpg(proc.pid, signal.SIGINT)
                pressed_at = time.monotonic()
            readable, _, _ = select.select([master], [], [], 0.05)
            if readable:
                try:
                    data = os.read(master, 65536)
                except OSError:  # EIO: the other side closed
                    break
                if not data:
                    break
                chunks.append(data)
            elif proc.poll() is not None:
                break
        code = proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        ended = time.monotonic()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        os.close(master)
    assert pressed_at is not None, "the command never got to the point to interrupt"
    return code, b"".join(chunks).decode("utf-8", "replace"), ended - pressed_at


@contextmanager
def _server(fault: str) -> Iterator[tuple[Simulator, dict[str, str]]]:
    sim = Simulator(seed=1, work_orders=30)
    with sim.serve() as server:
        if fault == "slow":
            sim.faults.latency(3)
        else:
            sim.faults.hang(n=1000)
        env = {"MAINTAINX_API_KEY": Simulator.API_KEY, "MAINTAINX_BASE_URL": server.base_url}
        try:
            yield sim, env
        finally:
            sim.faults.heal()


@pytest.mark.parametrize(("fault", "presses"), [("slow", 1), ("hung", 1), ("hung", 2)])
def test_ctrl_c_while_diagnose_waits_on_the_server(fault: str, presses: int) -> None:
    """5a: once, while a probe waits (asyncio warned of destroyed tasks); 5b: twice, as
    `timeout -s INT` in a terminal does (a second traceback from inside the printing). The
    process ends at once: it does not wait for the probe's thread to give up."""
    with _server(fault) as (sim, env):
        code, text, took = _ctrl_c_in_terminal(
            ["diagnose", "--no-status-page"],
            env,
            ready=lambda: len(sim.request_log) > 0,  # a probe is waiting on the server
            presses=presses,
        )
    assert code == 130, text
    assert "interrupted" in text
    assert not [n for n in NOISE if n in text], text
    assert took < 2.5, f"{took:.1f} s after Ctrl-C"


def test_ctrl_c_while_the_command_is_loaded_is_quiet() -> None:
    """5c: Ctrl-C while the command's module is being imported (the first 1.6 s of every
    command, when the CLI imported them all before `main`): `interrupted`, 130."""
    script = (
        "import sys\n"
        "class CtrlC:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'maintainx_resilient.cli._diagnose':\n"
        "            raise KeyboardInterrupt\n"
        "sys.meta_path.insert(0, CtrlC())\n"
        "sys.argv = ['maintainx-resilient', 'health']\n"
        "from maintainx_resilient.cli import main\n"
        "sys.exit(main())\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert run.returncode == 130, run.stderr
    assert run.stderr.strip() == "interrupted"


def _imported_by(argv: list[str]) -> set[str]:
    """The CLI's command modules in ``sys.modules`` after ``main(argv)`` in a new process."""
    script = (
        "import sys\n"
        "from maintainx_resilient.cli import main\n"
        f"code = main({argv!r})\n"
        "print(sorted(m for m in sys.modules if m.startswith('maintainx_resilient.cli._')))\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    found: list[str] = eval(run.stdout.strip().splitlines()[-1])  # a printed list of names
    return {name.rsplit(".", 1)[1] for name in found} & {m for m, _ in COMMANDS.values()}


def test_start_up_imports_only_the_command_being_run() -> None:
    """`--version` and `--help` import no command module; a command imports its own."""
    assert _imported_by(["--version"]) == set()
    assert _imported_by(["--help"]) == set()
    assert _imported_by(["sync", "status", "--help"]) == {"_sync"}
    assert _imported_by(["--fleet-name", "demo", "fleet", "--help"]) == {"_fleet"}


def test_help_lists_every_command_as_the_full_parser_does() -> None:
    """The lines `--help` shows without importing a command are the commands' own."""
    full = build_parser().format_help()
    assert build_parser(()).format_help() == full
    for name in COMMANDS:
        assert build_parser([name]).format_help() == full
        assert f"    {name} " in full


@pytest.mark.parametrize(
    ("argv", "command"),
    [
        (["health"], "health"),
        (["--no-color", "sync", "full"], "sync"),
        (["--fleet", "redis://h/0", "--fleet-name", "demo", "fleet", "status"], "fleet"),
        (["--fleet-n", "demo", "health"], "health"),  # an abbreviation argparse accepts
        (["--fleet=redis://h/0", "diagnose"], "diagnose"),
        (["--version"], None),
        (["nonsense"], None),
    ],
)
def test_the_command_is_found_before_parsing(argv: list[str], command: str | None) -> None:
    assert _command_in(argv) == command
