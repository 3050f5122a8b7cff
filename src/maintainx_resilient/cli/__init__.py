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
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Sequence
from typing import NoReturn

from .._exceptions import ConfigurationError, StorageError
from .._version import __version__
from . import _demo, _diagnose, _fleet, _simulate, _sync, _webhooks
from ._common import INTERRUPTED, USAGE_ERROR, UsageError, fleet_scope
from ._output import Output, add_output_flags

__all__ = ["USAGE_ERROR", "build_parser", "main"]


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


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="maintainx-resilient",
        description="A resilient MaintainX API client: demo, health and diagnostics.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    add_output_flags(parser)
    _fleet.add_fleet_flags(parser, top=True)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _demo.register(commands)
    _diagnose.register(commands)
    _webhooks.register(commands)
    _sync.register(commands)
    _fleet.register(commands)
    _simulate.register(commands)
    for leaf in _leaves(parser):
        add_output_flags(leaf)
        # the name its --json document carries ("sync incremental"), also when it fails
        leaf.set_defaults(json_command=leaf.prog.removeprefix(f"{parser.prog} "))
    return parser


def run(args: argparse.Namespace) -> int:
    """Run parsed arguments; usage errors, Ctrl-C and closed pipes end here, quietly."""
    output = Output.from_args(args)
    try:
        with fleet_scope(args):
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
        output.note("interrupted")
        output.failed("Interrupted", "interrupted", INTERRUPTED)
        return INTERRUPTED
    if code == INTERRUPTED:  # stopped by Ctrl-C with nothing to show (`sync full`)
        output.failed("Interrupted", "interrupted", INTERRUPTED)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the process exit code."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error (64)
        if exc.code is None:
            return 0
        return exc.code if isinstance(exc.code, int) else USAGE_ERROR
    return run(args)
