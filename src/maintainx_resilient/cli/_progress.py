"""Progress on stderr, for ``sync``, ``webhooks replay`` and the demo.

One line that fits the terminal: what, a bar (a pulse while the total is unknown), counts,
the rate and the ETA. The sync's ETA is the engine's (it knows the rate limit, the real
bound of a full sync); other ETAs come from the observed rate. Drawn with rich's ``Live``
on stderr, so stdout keeps only results: the bar is finished (its last state left on its own
line) before a result is printed. ``--progress json`` writes one JSON line per step on
stderr instead; ``none`` (and ``auto`` when stderr is not a terminal) writes nothing.
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable
from typing import Any, Literal, get_args

from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from ..sync import Progress
from ..webhooks.records import ReplayProgress
from ._output import Output, iso, with_units

__all__ = [
    "ProgressMode",
    "ProgressView",
    "add_progress_flag",
    "clock_text",
    "describe_sync",
    "pick_mode",
]

ProgressMode = Literal["auto", "bar", "json", "none"]

#: The bar's width bounds, in columns; below the minimum the bar is left out.
_BAR_MIN, _BAR_MAX = 10, 40


def clock_text(seconds: float | None) -> str:
    """``1:02:03`` (hours:minutes:seconds); ``?`` when unknown."""
    if seconds is None or not math.isfinite(seconds):
        return "?"
    hours, rest = divmod(max(0, round(seconds)), 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"


def add_progress_flag(parser: argparse.ArgumentParser, helptext: str) -> None:
    """``--progress auto|bar|json|none`` on a command (read it with :func:`pick_mode`)."""
    parser.add_argument("--progress", choices=get_args(ProgressMode), default="auto", help=helptext)


def pick_mode(mode: str, output: Output) -> ProgressMode:
    """``auto`` is a bar when stderr is a terminal, else nothing."""
    if mode == "auto":
        return "bar" if output.err.is_terminal else "none"
    if mode in ("bar", "json", "none"):
        return mode  # type: ignore[return-value]
    return "none"


def describe_sync(p: Progress) -> tuple[str, float | None, float | None, list[str]]:
    """``(label, completed, total, parts)`` for one sync progress record; ``parts`` are the
    texts after the bar, most important first (the narrowest terminal shows the first)."""
    label = f"{p.resource} {p.phase}"
    expected = p.expected_records
    if p.done:
        total: float | None = float(max(p.records, 1))
        completed: float | None = total
    elif expected:
        total, completed = float(expected), float(min(p.records, expected))
    else:
        total, completed = None, None
    counts = f"{p.records:,}" + (f"/{expected:,}" if expected and not p.done else "") + " records"
    timing = f"done in {clock_text(p.elapsed)}" if p.done else f"ETA {clock_text(p.eta)}"
    parts = [counts, timing, f"{p.pages} pages"]
    fetched = min(p.records, p.pages_this_run * p.page_size)
    if p.elapsed > 0 and fetched:
        parts.append(f"{fetched / p.elapsed:,.0f} rec/s")
    return label, completed, total, parts


class ProgressView:
    """Shows progress steps on ``output``'s stderr; :meth:`finish` before printing a result."""

    def __init__(
        self,
        output: Output,
        mode: ProgressMode,
        *,
        command: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.output = output
        self.mode = mode
        self.command = command
        self._clock = clock
        self._live: Live | None = None
        self._started: float | None = None

    # -- the three kinds of steps -----------------------------------------------------------

    def sync(self, p: Progress) -> None:
        """A sync page (the engine's ``on_progress``)."""
        if self.mode == "json":
            self.output.json_line(self._json("page", with_units(p.to_dict(), "elapsed", "eta")))
            return
        label, completed, total, parts = describe_sync(p)
        self._draw(label, completed, total, parts)
        if p.done:
            self.finish()

    def replay(self, step: ReplayProgress) -> None:
        """Dead letters requeued so far (``replay_dead_letters``' ``progress``)."""
        if self.mode == "json":
            self.output.json_line(self._json("replay", {"done": step.done, "total": step.total}))
            return
        self.count("replay", step.done, step.total, "dead letters")

    def count(self, label: str, done: int, total: int | None, unit: str) -> None:
        """A generic step: ``done`` of ``total`` ``unit``, with the observed rate and ETA."""
        now = self._clock()
        if self._started is None:
            self._started = now
        elapsed = now - self._started
        rate = done / elapsed if elapsed > 0 else None
        if self.mode == "json":
            fields = {"label": label, "done": done, "total": total, "elapsed_s": round(elapsed, 3)}
            self.output.json_line(self._json("step", fields))
            return
        parts = [f"{done:,}" + (f"/{total:,}" if total is not None else "") + f" {unit}"]
        if total is not None and done >= total:
            parts.append(f"done in {clock_text(elapsed)}")
        elif rate and total is not None:
            parts.append(f"ETA {clock_text((total - done) / rate)}")
        if rate:
            parts.append(f"{rate:,.0f}/s")
        self._draw(label, float(done), None if total is None else float(total), parts)

    # -- drawing ----------------------------------------------------------------------------

    def _json(self, event: str, fields: dict[str, Any]) -> dict[str, Any]:
        return {
            "schema_version": 1,
            "command": self.command,
            "event": event,
            "at": iso(time.time()),
            **fields,
        }

    def _line(
        self, label: str, completed: float | None, total: float | None, parts: list[str]
    ) -> Table:
        """``label [bar] 42% parts...`` in the console's width: the parts that do not fit
        beside a bar of at least ``_BAR_MIN`` columns are left out, least important first."""
        width = self.output.err.width
        percent = f" {min(1.0, completed / total):4.0%}" if total and completed is not None else ""
        shown = list(parts)
        while True:
            right = "  ".join(shown)
            room = width - len(label) - 1 - len(percent) - 1 - len(right) - 1
            if room >= _BAR_MIN or len(shown) <= 1:
                break
            shown.pop()
        grid = Table.grid(padding=0)
        grid.add_column(no_wrap=True)
        cells: list[Any] = [Text(f"{label} ", style="bold")]
        if room >= _BAR_MIN:
            grid.add_column(no_wrap=True)
            cells.append(
                ProgressBar(total=total, completed=completed or 0, width=min(room, _BAR_MAX))
            )
        grid.add_column(no_wrap=True, overflow="ellipsis")
        cells.append(Text(f"{percent} {right}"))
        grid.add_row(*cells)
        return grid

    def _draw(
        self, label: str, completed: float | None, total: float | None, parts: list[str]
    ) -> None:
        if self.mode != "bar":
            return
        line = self._line(label, completed, total, parts)
        if self._live is None:
            self._live = Live(
                line,
                console=self.output.err,
                auto_refresh=True,
                refresh_per_second=8,
                transient=False,
                redirect_stdout=False,
                redirect_stderr=False,
            )
            self._live.start()
        else:
            self._live.update(line)

    def finish(self) -> None:
        """Leave the last state on its own line; the next output starts on a fresh one."""
        live, self._live = self._live, None
        self._started = None
        if live is not None:
            live.refresh()
            live.stop()
