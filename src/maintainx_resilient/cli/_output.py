"""How every command writes: the one place that decides colour, width, pipes and JSON.

- :class:`Output` holds two rich consoles, ``out`` (stdout: results) and ``err`` (stderr:
  progress, hints, errors). Colour is decided once per invocation: ``--no-color`` off,
  ``--color`` on (even when piped), otherwise on only for a terminal and when ``NO_COLOR``
  is unset or empty (https://no-color.org). Markup is off: text from MaintainX or a queue is
  printed as it is, never read as rich markup.
- Width: a terminal's own width (``COLUMNS`` wins when set); rich wraps at word boundaries.
  Piped output is plain text: no colour, no cursor movement, tables without box lines, and
  200 columns (or ``COLUMNS``) so that a result stays on one line for ``grep``.
- A closed pipe (``diagnose | head -1``) ends output quietly: ``PipeGuard`` swallows
  ``BrokenPipeError``, points the descriptor at ``/dev/null`` so the interpreter's last
  flush is silent too, and the command still returns its own exit status.
- JSON (:meth:`Output.json`): one document per invocation on stdout, indented, snake_case
  keys, times as ISO-8601 UTC strings, and ``schema_version``/``generator``/``command``
  first (:func:`document`). Each command's document has a JSON Schema in ``cli/schemas/``.

The consoles, tables and the pipe guard are :mod:`maintainx_resilient._console`'s (shared
with the text rendering of a diagnosis).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.text import Text

from .._console import PipeGuard, emit, make_console
from .._iso8601 import iso_utc
from .._version import __version__

__all__ = [
    "DOCUMENT_SCHEMA_VERSION",
    "SCHEMA_DIR",
    "Output",
    "add_output_flags",
    "document",
    "error_document",
    "iso",
    "schema",
    "with_units",
]

#: The version of every command's JSON document (bumped only for breaking changes).
DOCUMENT_SCHEMA_VERSION = 1
#: Where the JSON Schemas of the commands' ``--json`` documents live.
SCHEMA_DIR = Path(__file__).with_name("schemas")


def add_output_flags(parser: argparse.ArgumentParser) -> None:
    """``--color`` / ``--no-color`` on a command (accepted before or after its arguments)."""
    group = parser.add_mutually_exclusive_group()
    for flag, value, helptext in (
        ("--color", True, "colour even when piped"),
        ("--no-color", False, "no colour (also: NO_COLOR=1)"),
    ):
        group.add_argument(
            flag,
            dest="color",
            action="store_const",
            const=value,
            default=argparse.SUPPRESS,
            help=helptext,
        )


@dataclass
class Output:
    """Where one invocation writes. Build it with :meth:`from_args`."""

    out: Console
    err: Console
    #: The command's name (``"sync incremental"``) when ``--json`` was given, else None.
    json_command: str | None = None
    #: True once the invocation's JSON document is out (a failure then adds none).
    json_written: bool = False

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Output:
        color: bool | None = getattr(args, "color", None)
        command = getattr(args, "json_command", None) if getattr(args, "json", False) else None
        return cls(
            make_console(PipeGuard(sys.stdout), color),
            make_console(PipeGuard(sys.stderr), color),
            json_command=command,
        )

    def error(self, message: str, *, kind: str, code: int, hint: str | None = None) -> None:
        """A failed command: ``maintainx-resilient: error: ...`` (and ``hint: ...``) on
        stderr, and with ``--json`` the invocation's one document says so on stdout (see
        :meth:`failed`)."""
        message = _redacted(message)
        self.note(f"maintainx-resilient: error: {message}")
        if hint:
            self.note(f"hint: {hint}")
        self.failed(kind, message, code, hint)

    def failed(self, kind: str, message: str, code: int, hint: str | None = None) -> None:
        """With ``--json`` and no document out yet: the error document on stdout
        (:func:`error_document`), so that a script always reads one JSON document."""
        if self.json_command is not None and not self.json_written:
            self.json(error_document(self.json_command, kind, _redacted(message), code, hint))

    def print(self, text: str | Text = "", style: str | None = None) -> None:
        """A line (or paragraph, wrapped at words) on stdout."""
        emit(self.out, Text(text, style=style or "") if isinstance(text, str) else text)

    def note(self, text: str, style: str | None = None) -> None:
        """A line on stderr (progress notes, hints)."""
        emit(self.err, Text(text, style=style or ""))

    def json(self, doc: Mapping[str, Any]) -> None:
        """The invocation's one JSON document, on stdout, never wrapped."""
        self.json_written = True
        file = self.out.file
        file.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
        file.flush()

    def json_line(self, doc: Mapping[str, Any]) -> None:
        """One compact JSON line on stderr (``--progress json``)."""
        file = self.err.file
        file.write(json.dumps(doc, separators=(",", ":"), ensure_ascii=False) + "\n")
        file.flush()


def document(command: str, payload: Mapping[str, Any]) -> dict[str, Any]:
    """A command's JSON document: the common head, then ``payload``."""
    return {
        "schema_version": DOCUMENT_SCHEMA_VERSION,
        "generator": {"name": "maintainx-resilient", "version": __version__},
        "command": command,
        **payload,
    }


def error_document(
    command: str, kind: str, message: str, code: int, hint: str | None = None
) -> dict[str, Any]:
    """What a failed ``--json`` command prints instead of its result (schema ``error``):
    the common head, ``"ok": false`` and ``error`` (``type``, ``message``, ``hint``,
    ``exit_code``)."""
    error = {"type": kind, "message": message, "hint": hint, "exit_code": code}
    return document(command, {"ok": False, "error": error})


def _redacted(text: str) -> str:
    """``text`` with bearer tokens, registered secrets and this process's API key masked."""
    from ..telemetry._logging import redact, register_secret

    key = os.environ.get("MAINTAINX_API_KEY", "").strip()
    forget = register_secret(key) if key else None
    try:
        return redact(text)
    finally:
        if forget is not None:
            forget()


def iso(wall: Any) -> str | None:
    """Unix time as ISO-8601 UTC with milliseconds; None (or anything not a number) as None."""
    if isinstance(wall, bool) or not isinstance(wall, int | float):
        return None
    return iso_utc(float(wall))


def with_units(data: dict[str, Any], *names: str) -> dict[str, Any]:
    """Rename duration fields ``x`` (seconds) to ``x_s``: the unit in the name."""
    for name in names:
        if name in data:
            value = data.pop(name)
            data[f"{name}_s"] = None if value is None else round(float(value), 3)
    return data


def schema(name: str) -> dict[str, Any]:
    """The JSON Schema of a command's document (``"sync-status"``, ``"health"``...)."""
    if name == "diagnose":
        from ..diagnostics.render import json_schema

        return json_schema()
    loaded: dict[str, Any] = json.loads((SCHEMA_DIR / f"{name}.json").read_text("utf-8"))
    return loaded
