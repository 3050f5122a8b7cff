"""How every command writes: the one place that decides colour, width, pipes and JSON.

- :class:`Output` holds two rich consoles, ``out`` (stdout: results) and ``err`` (stderr:
  progress, hints, errors). Colour is decided once per invocation: ``--no-color`` off,
  ``--color`` on (even when piped), otherwise on only for a terminal and when ``NO_COLOR``
  is unset or empty (https://no-color.org). Markup is off: text from MaintainX or a queue is
  printed as it is, never read as rich markup.
- Width: a terminal's own width (``COLUMNS`` wins when set); rich wraps at word boundaries.
  Piped output is plain text: no colour, no cursor movement, tables without box lines, and
  200 columns (or ``COLUMNS``) so that a result stays on one line for ``grep``.
- A closed pipe (``diagnose | head -1``) ends output quietly: :class:`PipeGuard` swallows
  ``BrokenPipeError``, points the descriptor at ``/dev/null`` so the interpreter's last
  flush is silent too, and the command still returns its own exit status.
- JSON (:meth:`Output.json`): one document per invocation on stdout, indented, snake_case
  keys, times as ISO-8601 UTC strings, and ``schema_version``/``generator``/``command``
  first (:func:`document`). Each command's document has a JSON Schema in ``cli/schemas/``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, TextIO, cast

from rich.console import Console, RenderableType
from rich.table import Table
from rich.text import Text

from .._iso8601 import iso_utc
from .._version import __version__

__all__ = [
    "SCHEMA_DIR",
    "SCHEMA_VERSION",
    "Output",
    "PipeGuard",
    "add_output_flags",
    "document",
    "emit",
    "iso",
    "make_console",
    "schema",
    "table",
    "with_units",
]

#: The version of every command's JSON document (bumped only for breaking changes).
SCHEMA_VERSION = 1
#: Where the JSON Schemas of the commands' ``--json`` documents live.
SCHEMA_DIR = Path(__file__).with_name("schemas")


class PipeGuard:
    """A text stream that stops writing, quietly, once the reader has gone away."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self.broken = False

    def _broke(self) -> None:
        self.broken = True
        # The interpreter flushes stdout at exit: make that flush go nowhere.
        with contextlib.suppress(OSError, ValueError, AttributeError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._stream.fileno())
            os.close(devnull)

    def write(self, text: str) -> int:
        if not self.broken:
            try:
                self._stream.write(text)
            except BrokenPipeError:
                self._broke()
        return len(text)

    def flush(self) -> None:
        if not self.broken:
            try:
                self._stream.flush()
            except BrokenPipeError:
                self._broke()

    def isatty(self) -> bool:
        try:
            return bool(self._stream.isatty())
        except (ValueError, OSError):
            return False

    def fileno(self) -> int:
        return self._stream.fileno()

    @property
    def encoding(self) -> str:
        return getattr(self._stream, "encoding", None) or "utf-8"


def add_output_flags(parser: argparse.ArgumentParser) -> None:
    """``--color`` / ``--no-color`` on a command (accepted before or after its arguments)."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--color",
        dest="color",
        action="store_const",
        const=True,
        default=argparse.SUPPRESS,
        help="colour even when piped",
    )
    group.add_argument(
        "--no-color",
        dest="color",
        action="store_const",
        const=False,
        default=argparse.SUPPRESS,
        help="no colour (also: NO_COLOR=1)",
    )


#: The width of output that goes to a pipe or a file (unless ``COLUMNS`` says otherwise):
#: wide enough that a result stays on one line for ``grep``, tables take their natural width.
PIPE_WIDTH = 200


def _pipe_width() -> int:
    try:
        columns = int(os.environ.get("COLUMNS", ""))
    except ValueError:
        return PIPE_WIDTH
    return columns if columns > 0 else PIPE_WIDTH


def make_console(
    stream: TextIO | IO[str] | PipeGuard, color: bool | None, width: int | None = None
) -> Console:
    """A console on ``stream``: ``color`` True forces colour, False forbids it, None lets
    the terminal and ``NO_COLOR`` decide. A terminal's width is its own; a pipe's is
    ``COLUMNS`` or :data:`PIPE_WIDTH`."""
    if width is None:
        isatty = getattr(stream, "isatty", None)
        if not (callable(isatty) and isatty()):
            width = _pipe_width()
    return Console(
        file=cast("IO[str]", stream),
        force_terminal=True if color else None,
        no_color=True if color is False else None,
        color_system=None if color is False else "auto",
        markup=False,
        highlight=False,
        emoji=False,
        width=width,
        soft_wrap=False,
    )


@dataclass
class Output:
    """Where one invocation writes. Build it with :meth:`from_args`."""

    out: Console
    err: Console

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Output:
        color: bool | None = getattr(args, "color", None)
        return cls(
            make_console(PipeGuard(sys.stdout), color), make_console(PipeGuard(sys.stderr), color)
        )

    def print(self, text: str | Text = "", style: str | None = None) -> None:
        """A line (or paragraph, wrapped at words) on stdout."""
        emit(self.out, Text(text, style=style or "") if isinstance(text, str) else text)

    def note(self, text: str, style: str | None = None) -> None:
        """A line on stderr (progress notes, hints)."""
        emit(self.err, Text(text, style=style or ""))

    def json(self, doc: Mapping[str, Any]) -> None:
        """The invocation's one JSON document, on stdout, never wrapped."""
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
        "schema_version": SCHEMA_VERSION,
        "generator": {"name": "maintainx-resilient", "version": __version__},
        "command": command,
        **payload,
    }


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


def table(
    columns: Sequence[str],
    rows: Sequence[Sequence[str | Text]],
    *,
    no_wrap: Sequence[str] = (),
    ratios: Mapping[str, int] | None = None,
) -> Table:
    """A plain table: bold header, no box lines, cells wrapped at words to fit the width.

    Columns named in ``no_wrap`` keep their cells on one line (codes, states); ``ratios``
    share the remaining width between the others.
    """
    grid = Table(
        box=None,
        show_header=True,
        header_style="bold",
        pad_edge=False,
        padding=(0, 2, 0, 0),
        expand=False,
        show_edge=False,
        safe_box=True,
    )
    for name in columns:
        grid.add_column(
            name,
            no_wrap=name in no_wrap,
            overflow="fold",
            ratio=(ratios or {}).get(name),
        )
    for row in rows:
        grid.add_row(*row)
    return grid


def emit(console: Console, renderable: RenderableType) -> None:
    """Print ``renderable``; without colour, table cells' padding is not left at line ends
    (plain text should not end in spaces)."""
    if console.color_system is not None:
        console.print(renderable)
        return
    with console.capture() as captured:
        console.print(renderable)
    text = "\n".join(line.rstrip() for line in captured.get().split("\n"))
    console.file.write(text)
    console.file.flush()
