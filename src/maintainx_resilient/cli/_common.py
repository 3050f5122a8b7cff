"""What every command shares: exit codes, usage errors for a shell user, the client from the
environment, and the severity exit status."""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._exceptions import ConfigurationError
from ..fleet._config import FleetConfig, env_fleet_name

if TYPE_CHECKING:  # imported when used: `--version` and `--help` stay fast
    from .._client import MaintainXClient
    from ..diagnostics._model import Severity

__all__ = [
    "INTERRUPTED",
    "USAGE_ERROR",
    "UsageError",
    "add_fleet_flags",
    "env_client",
    "existing_file",
    "fleet_option",
    "fleet_scope",
    "parse_duration",
    "severity_exit",
]

#: Exit status of a usage or configuration error (sysexits' EX_USAGE).
USAGE_ERROR = 64
#: Exit status after Ctrl-C (128 + SIGINT).
INTERRUPTED = 130

_NO_KEY_HINT = (
    "set MAINTAINX_API_KEY to your API key (MaintainX: Settings > Integrations > API Keys), "
    "e.g. `export MAINTAINX_API_KEY=...`; to try the commands without one, run "
    "`maintainx-resilient simulate` and export what it prints"
)


def add_fleet_flags(parser: argparse.ArgumentParser, *, top: bool) -> None:
    """``--fleet URL`` and ``--fleet-name NAME``: on the top parser (for every command that
    builds a client) and on the ``fleet`` commands (accepted after them too)."""
    default = None if top else argparse.SUPPRESS
    parser.add_argument(
        "--fleet",
        metavar="URL",
        default=default,
        help="the fleet's Redis (default: $MAINTAINX_FLEET), e.g. redis://host:6379/0",
    )
    parser.add_argument(
        "--fleet-name",
        metavar="NAME",
        default=default,
        help="the fleet's name (default: $MAINTAINX_FLEET_NAME, else 'default')",
    )


class UsageError(Exception):
    """A mistake in the command line or the environment: exit 64 with ``hint``."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


#: The fleet of this invocation (``--fleet``/``--fleet-name``), for every client it builds.
_FLEET: ContextVar[FleetConfig | str] = ContextVar("maintainx_cli_fleet", default="env")


def fleet_option(args: argparse.Namespace) -> FleetConfig | str:
    """The client option ``fleet=`` of ``--fleet URL`` / ``--fleet-name NAME`` (``"env"``:
    ``MAINTAINX_FLEET`` and ``MAINTAINX_FLEET_NAME``, as every client reads by default)."""
    url: str | None = getattr(args, "fleet", None)
    name: str | None = getattr(args, "fleet_name", None)
    if name is not None and not name.strip():
        raise UsageError(
            '--fleet-name is empty (an unset variable in --fleet-name "$FLEET"?)',
            "name the fleet, e.g. --fleet-name plant-7, or leave --fleet-name out for the "
            "'default' fleet",
        )
    if url is None and name is None:
        return "env"
    url = url if url is not None else os.environ.get("MAINTAINX_FLEET", "").strip()
    if not url:
        raise UsageError(
            "--fleet-name names a fleet, but no fleet URL was given",
            "add --fleet redis://host:6379/0 or export MAINTAINX_FLEET",
        )
    name = name or env_fleet_name(os.environ)
    return FleetConfig(url=url.strip(), name=name)


@contextmanager
def fleet_scope(args: argparse.Namespace) -> Iterator[None]:
    """Within it, :func:`env_client` builds clients in the fleet of ``args``."""
    token = _FLEET.set(fleet_option(args))
    try:
        yield
    finally:
        _FLEET.reset(token)


def env_client(**options: Any) -> MaintainXClient:
    """A client configured from ``MAINTAINX_API_KEY``, ``MAINTAINX_ORG_ID`` and
    ``MAINTAINX_BASE_URL`` (and the invocation's fleet); a missing or bad setting is a
    :class:`UsageError` that names the variable to fix."""
    from .._client import MaintainXClient

    if not os.environ.get("MAINTAINX_API_KEY", "").strip():
        raise UsageError("no API key", _NO_KEY_HINT)
    options.setdefault("fleet", _FLEET.get())
    try:
        return MaintainXClient(**options)
    except ConfigurationError as exc:
        raise UsageError(
            str(exc), "check MAINTAINX_BASE_URL, MAINTAINX_ORG_ID and MAINTAINX_API_KEY"
        ) from None


def existing_file(path: str, what: str, hint: str) -> Path:
    """``path`` when it names an existing file; read-only commands never create one."""
    found = Path(path)
    if not found.is_file():
        raise UsageError(f"no {what} at {path}", hint)
    return found


def severity_exit(severity: Severity | None, *, complete: bool = True) -> int:
    """0 no finding or SEV4, 1 SEV3, 2 SEV2, 3 SEV1; 4 incomplete with nothing worse."""
    from ..diagnostics.render import exit_code

    return exit_code(severity, complete=complete)


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")
_DURATION_UNITS = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}


def parse_duration(text: str) -> float:
    """Seconds of ``90``, ``90s``, ``15m``, ``2h``, ``1d``, ``1w`` (an argparse ``type``)."""
    match = _DURATION.match(text)
    if match is None:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (e.g. 90s, 15m, 2h, 1d)")
    return float(match.group(1)) * _DURATION_UNITS[match.group(2)]
