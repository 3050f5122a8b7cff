"""The ``maintainx-resilient`` console script.

Configured from the same environment variables as the client (``MAINTAINX_API_KEY``,
``MAINTAINX_ORG_ID``, ``MAINTAINX_BASE_URL``). ``demo`` needs none of them: it runs against
the bundled simulator.

``--fleet URL`` / ``--fleet-name NAME`` (or ``MAINTAINX_FLEET`` / ``MAINTAINX_FLEET_NAME``)
put every client the command builds in that fleet; the ``fleet`` commands act on it.

Every command: ``--color`` / ``--no-color`` (``NO_COLOR`` is honoured; piped output is plain
text), ``--json`` where there is a result (one document on stdout, see ``cli/_output.py``),
exit status 64 with a hint for a usage or configuration error, 130 after Ctrl-C, and a quiet
end when the reader of a pipe goes away (``diagnose | head -1``).

Only the module of the command being run is imported (``--version`` and ``--help`` import
none): start-up is fast, and so Ctrl-C at any moment ends with ``interrupted`` and 130.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import signal
import sys
import threading
import warnings
from collections.abc import Collection, Iterator, Sequence
from types import FrameType
from typing import Any, NoReturn

from .._exceptions import ConfigurationError, StorageError
from .._version import __version__
from ._common import INTERRUPTED, USAGE_ERROR, UsageError, add_fleet_flags, fleet_scope
from ._output import Output, add_output_flags

__all__ = ["USAGE_ERROR", "build_parser", "main"]

#: Each command: the module that registers it (``register(commands)``) and the line
#: ``--help`` shows for it, so that listing the commands imports none of them. A module
#: registers its commands in this order (tests/cli/test_ctrl_c.py checks the lines).
COMMANDS: dict[str, tuple[str, str]] = {
    "demo": (
        "_demo",
        "a scripted incident against the bundled MaintainX simulator (no API key needed)",
    ),
    "health": ("_diagnose", "one cheap probe plus the client's state"),
    "diagnose": ("_diagnose", "run the incident runbook's procedures (RB-001..RB-005)"),
    "status": ("_diagnose", "the MaintainX status page"),
    "report": ("_diagnose", "diagnose, then print the post-incident report template filled in"),
    "webhooks": ("_webhooks", "webhook queue: status, replay, verify a captured request (RB-003)"),
    "sync": ("_sync", "keep a local copy of MaintainX data (full, incremental, reconcile, repair)"),
    "fleet": ("_fleet", "the fleet's mitigations and workers (fleet mode on Redis)"),
    "simulate": ("_simulate", "serve the bundled MaintainX simulator on a local port"),
}


class _Parser(argparse.ArgumentParser):
    """argparse with usage errors exiting 64 (argparse's own is 2) and a hint."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(
            USAGE_ERROR,
            f"{self.prog}: error: {message}\nhint: `{self.prog} --help` lists the options\n",
        )


def _leaves(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    found = False
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict.fromkeys(action.choices.values()):
                found = True
                yield from _leaves(sub)
    if not found:
        yield parser


def build_parser(commands: Collection[str] | None = None) -> argparse.ArgumentParser:
    """The command line's parser. ``commands``: the commands whose modules are imported to
    register their options (None: every one); the others are listed by name and help line
    only, which is all ``--help`` and ``--version`` need."""
    parser = _Parser(
        prog="maintainx-resilient",
        description="A resilient MaintainX API client: demo, health and diagnostics.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    add_output_flags(parser)
    add_fleet_flags(parser, top=True)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    wanted = {COMMANDS[c][0] for c in COMMANDS if commands is None or c in commands}
    registered: set[str] = set()
    for name, (module, help_line) in COMMANDS.items():
        if module in wanted:
            if module not in registered:
                importlib.import_module(f"{__name__}.{module}").register(sub)
                registered.add(module)
        else:
            sub.add_parser(name, help=help_line)
    for leaf in _leaves(parser):
        add_output_flags(leaf)
        # the name its --json document carries ("sync incremental"), also when it fails
        leaf.set_defaults(json_command=leaf.prog.removeprefix(f"{parser.prog} "))
    return parser


@contextlib.contextmanager
def _warnings_as_notes(output: Output) -> Iterator[None]:
    """Python warnings (a bad ``MAINTAINX_LOG`` value...) as one line on stderr, in the
    CLI's style, without the file, line number and source line Python would show."""

    def show(message: Warning | str, *args: Any, **kwargs: Any) -> None:
        output.note(f"maintainx-resilient: warning: {message}")

    with warnings.catch_warnings():
        warnings.showwarning = show
        yield


def run(args: argparse.Namespace) -> int:
    """Run parsed arguments; usage errors, Ctrl-C and closed pipes end here, quietly."""
    output = Output.from_args(args)
    try:
        with fleet_scope(args), _warnings_as_notes(output):
            code: int = args.run(args, output)
    except UsageError as exc:
        output.error(str(exc), kind="UsageError", code=USAGE_ERROR, hint=exc.hint)
        return USAGE_ERROR
    except ConfigurationError as exc:
        hint = "check the command's options and the MAINTAINX_* environment variables"
        output.error(str(exc), kind="ConfigurationError", code=USAGE_ERROR, hint=hint)
        return USAGE_ERROR
    except StorageError as exc:  # a damaged queue file, Redis down...: which, and what to do
        output.error(str(exc), kind="StorageError", code=1)
        return 1
    except KeyboardInterrupt:
        _ignore_sigint()  # a second Ctrl-C must not cut the line below with a traceback
        output.note("interrupted")
        output.failed("Interrupted", "interrupted", INTERRUPTED)
        return INTERRUPTED
    if code == INTERRUPTED:  # stopped by Ctrl-C with nothing to show (`sync full`)
        output.failed("Interrupted", "interrupted", INTERRUPTED)
    return code


def _command_in(argv: Sequence[str]) -> str | None:
    """The command named in ``argv`` (None: none, e.g. ``--help``), found without parsing:
    the first word that is not an option nor the value of ``--fleet``/``--fleet-name``
    (or an abbreviation of them, which argparse accepts)."""
    value_next = False
    for token in argv:
        if value_next:
            value_next = False
        elif token.startswith("--") and "=" not in token and len(token) > 2:
            value_next = "--fleet-name".startswith(token)
        elif not token.startswith("-"):
            return token if token in COMMANDS else None
    return None


def _ignore_sigint() -> None:
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def _quiet_exit(signum: int, frame: FrameType | None) -> None:
    """After the first Ctrl-C of the process's own command line, another one ends it."""
    os._exit(INTERRUPTED)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the process exit code.

    Ctrl-C at any point (also while the command's module is imported) is ``interrupted`` on
    stderr and 130, never a traceback. Run on the process's own command line (``argv``
    None), the process then ends at once: it does not wait for threads still blocked on a
    hung server (a probe ends by its own deadline), and a second Ctrl-C is quiet.
    """
    previous = signal.getsignal(signal.SIGINT)
    try:
        code = _main(sys.argv[1:] if argv is None else list(argv))
    except KeyboardInterrupt:  # before the command ran (imports, parsing)
        _ignore_sigint()
        print("interrupted", file=sys.stderr)
        code = INTERRUPTED
    if code == INTERRUPTED and argv is None:
        return _end_interrupted()
    if threading.current_thread() is threading.main_thread() and previous is not None:
        signal.signal(signal.SIGINT, previous)
    return code


def _main(argv: list[str]) -> int:
    try:
        parser = build_parser([c] if (c := _command_in(argv)) else ())
        args = parser.parse_args(argv)
        if not hasattr(args, "run"):  # the command was not where _command_in looked
            args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error (64)
        if exc.code is None:
            return 0
        return exc.code if isinstance(exc.code, int) else USAGE_ERROR
    return run(args)


def _end_interrupted() -> int:
    """Ctrl-C on the process's command line: flush, and end now if a thread would hold the
    interpreter's exit (a probe blocked on a hung server); 130 otherwise."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, _quiet_exit)
    others = [t for t in threading.enumerate() if t is not threading.current_thread()]
    if any(t.is_alive() and not t.daemon for t in others):
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):  # a closed pipe, a closed file
                stream.flush()
        os._exit(INTERRUPTED)
    return INTERRUPTED
