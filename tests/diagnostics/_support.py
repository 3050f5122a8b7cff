"""Helpers shared by the diagnostics tests: a context with a fake clock, and no network."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from maintainx_resilient._clock import FakeClock
from maintainx_resilient.diagnostics._context import DiagnosticContext, ProbeResult


async def no_probe(method: str, path: str, headers: Mapping[str, str]) -> ProbeResult:
    raise AssertionError("this procedure must not send probes")


def make_context(clock: FakeClock | None = None, **kwargs: Any) -> DiagnosticContext:
    return DiagnosticContext(
        base_url="https://api.getmaintainx.com/v1",
        probe=no_probe,
        transport_kind="in_process",
        clock=clock if clock is not None else FakeClock(),
        **kwargs,
    )
