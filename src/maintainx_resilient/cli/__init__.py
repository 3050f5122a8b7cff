"""The ``maintainx-resilient`` console script.

Configured from the same environment variables as the client (``MAINTAINX_API_KEY``,
``MAINTAINX_ORG_ID``, ``MAINTAINX_BASE_URL``). ``demo`` needs none of them: it runs against
the bundled simulator.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .._version import __version__
from . import _demo, _simulate

__all__ = ["main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="maintainx-resilient",
        description="A resilient MaintainX API client: demo, health and diagnostics.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _demo.register(commands)
    _simulate.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.run(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return code
