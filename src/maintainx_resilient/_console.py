"""Rich consoles that behave in terminals and in pipes: the CLI's output and the text
rendering of a diagnosis (:func:`maintainx_resilient.diagnostics.render_text`) share them.

- :func:`make_console`: colour forced, forbidden or left to the terminal and ``NO_COLOR``
  (https://no-color.org); markup off (text from MaintainX or a queue is printed as it is);
  a terminal's width is its own, a pipe's is ``COLUMNS`` or :data:`PIPE_WIDTH`.
- :class:`PipeGuard`: a stream that ends output quietly once the reader has gone away.
- :func:`table` and :func:`emit`: plain tables, and printing without trailing spaces.

Imported only by the CLI and by ``render_text`` when called: importing the library does not
import rich.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping, Sequence
from typing import IO, TextIO, cast

from rich.console import Console, RenderableType
from rich.table import Table
from rich.text import Text

__all__ = ["PIPE_WIDTH", "PipeGuard", "emit", "make_console", "table"]


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
