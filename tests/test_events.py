"""The one hook list: order, failures isolated and logged, (un)subscribing while emitting."""

from __future__ import annotations

import logging

import pytest

from maintainx_resilient._events import EventBus, Hooks, RetryScheduled
from maintainx_resilient.diagnostics import Severity, SeverityTracker


def test_hooks_run_in_order_and_a_failing_one_is_logged_and_skipped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Every hook sees the value, in subscription order, even after one raised."""
    hooks: Hooks[int] = Hooks("test")
    seen: list[tuple[str, int]] = []

    def broken(value: int) -> None:
        raise RuntimeError("boom")

    hooks.subscribe(lambda v: seen.append(("first", v)))
    hooks.subscribe(broken)
    hooks.subscribe(lambda v: seen.append(("last", v)))
    with caplog.at_level(logging.ERROR, logger="maintainx_resilient"):
        hooks.emit(7)
    assert seen == [("first", 7), ("last", 7)]
    assert "maintainx_resilient test hook" in caplog.text


def test_unsubscribing_while_emitting_is_safe() -> None:
    """A hook that removes itself is called this time and never again."""
    hooks: Hooks[str] = Hooks()
    calls: list[str] = []

    def once(value: str) -> None:
        calls.append(value)
        remove()

    remove = hooks.subscribe(once)
    active_before = hooks.active
    hooks.emit("a")
    hooks.emit("b")
    assert calls == ["a"]
    assert (active_before, hooks.active) == (True, False)
    remove()  # twice is harmless


def test_event_bus_and_severity_tracker_share_it() -> None:
    """The client's event bus and a severity tracker's hooks are the same mechanism."""
    assert issubclass(EventBus, Hooks)
    bus = EventBus()
    got: list[object] = []
    bus.subscribe(got.append)
    event = RetryScheduled(1.0, 2.0, "GET", "/workorders", 1, 0.5, "status 503")
    bus.emit(event)
    assert got == [event]

    changes: list[object] = []
    tracker = SeverityTracker(notify=changes.append)
    change = tracker.observe(Severity.SEV2, ["RB002.ERROR_RATE"])
    assert changes == [change]
