"""The ``maintainx-resilient`` console script.

Configured from the same environment variables as the client (``MAINTAINX_API_KEY``,
``MAINTAINX_ORG_ID``, ``MAINTAINX_BASE_URL``). ``demo`` needs none of them: it runs against
the bundled simulator.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import NoReturn

from .._exceptions import ConfigurationError, StorageError
from .._version import __version__
from . import _demo, _diagnose, _simulate, _sync, _webhooks

__all__ = ["main"]


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="maintainx-resilient",
        description="A resilient MaintainX API client: demo, health and diagnostics.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _demo.register(commands)
    _diagnose.register(commands)
    _webhooks.register(commands)
    _sync.register(commands)
    _simulate.register(commands)
    return parser


#: Exit code for usage and configuration errors (sysexits' EX_USAGE); severities use 0-4.
USAGE_ERROR = _diagnose.USAGE_ERROR


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(USAGE_ERROR, f"{self.prog}: error: {message}\n")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.run(args)
    except ConfigurationError as exc:
        print(f"maintainx-resilient: {exc}", file=sys.stderr)
        return USAGE_ERROR
    except StorageError as exc:  # a damaged queue file, Redis down...: say which and what to do
        print(f"maintainx-resilient: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return code
