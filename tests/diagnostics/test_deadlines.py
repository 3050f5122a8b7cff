"""Diagnostics hold their deadline against a trickling server: ``diagnose``, ``health`` (sync
and async) and the CLI return within the deadline plus half a second, with a finding for
the probe that did not answer. Real loopback sockets and real time, a couple of seconds."""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections.abc import Iterator

import pytest

from maintainx_resilient import AsyncMaintainXClient, ConfigurationError, MaintainXClient
from maintainx_resilient.cli import main
from maintainx_resilient.diagnostics import DiagnosticsConfig
from maintainx_resilient.diagnostics._runner import run_sync
from maintainx_resilient.diagnostics.rb001_unreachable import HTTP_TIMEOUT

from .. import _hostile as hostile
from ..conftest import CANARY_KEY

DEADLINE = 1.5
QUIET = DiagnosticsConfig(status_page_url=None, deadline=DEADLINE)


@pytest.fixture
def trickling() -> Iterator[hostile.HostileServer]:
    """A server that sends its answer one byte every 0.2 s (about 15 s in all)."""
    with hostile.HostileServer(hostile.trickle_all(every=0.2)) as server:
        yield server


def rb001_codes(report: object) -> set[str]:
    result = report.result("RB-001")  # type: ignore[attr-defined]
    assert result is not None
    return {f.code for f in result.findings}


@pytest.mark.socket
def test_sync_diagnose_returns_by_its_deadline(trickling: hostile.HostileServer) -> None:
    with MaintainXClient(
        api_key=CANARY_KEY, base_url=trickling.base_url, diagnostics=QUIET
    ) as client:
        started = time.monotonic()
        report = client.diagnose(deadline=DEADLINE)
        elapsed = time.monotonic() - started
    assert elapsed < DEADLINE + 0.5, elapsed
    assert HTTP_TIMEOUT in rb001_codes(report)


@pytest.mark.socket
async def test_async_diagnose_returns_by_its_deadline(trickling: hostile.HostileServer) -> None:
    async with AsyncMaintainXClient(
        api_key=CANARY_KEY, base_url=trickling.base_url, diagnostics=QUIET
    ) as client:
        started = time.monotonic()
        report = await client.diagnose(deadline=DEADLINE)
        elapsed = time.monotonic() - started
    assert elapsed < DEADLINE + 0.5, elapsed
    assert HTTP_TIMEOUT in rb001_codes(report)


@pytest.mark.socket
def test_sync_health_returns_by_its_deadline(trickling: hostile.HostileServer) -> None:
    with MaintainXClient(
        api_key=CANARY_KEY, base_url=trickling.base_url, diagnostics=QUIET
    ) as client:
        started = time.monotonic()
        report = client.health()
        elapsed = time.monotonic() - started
    assert elapsed < DEADLINE + 0.5, elapsed
    assert report.status == "unhealthy"
    assert report.probe_error == "TimeoutError"


@pytest.mark.socket
async def test_async_health_returns_by_its_deadline(trickling: hostile.HostileServer) -> None:
    async with AsyncMaintainXClient(
        api_key=CANARY_KEY, base_url=trickling.base_url, diagnostics=QUIET
    ) as client:
        started = time.monotonic()
        report = await client.health()
        elapsed = time.monotonic() - started
    assert elapsed < DEADLINE + 0.5, elapsed
    assert report.status == "unhealthy"


@pytest.mark.socket
@pytest.mark.parametrize("command", ["diagnose", "health"])
def test_cli_returns_by_its_deadline(
    command: str,
    trickling: hostile.HostileServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``diagnose --deadline 1.5`` and ``health --deadline 1.5``: an answer, in time."""
    monkeypatch.setenv("MAINTAINX_API_KEY", CANARY_KEY)
    monkeypatch.setenv("MAINTAINX_BASE_URL", trickling.base_url)
    extra = ["--no-status-page"] if command == "diagnose" else []
    started = time.monotonic()
    code = main([command, "--json", "--deadline", str(DEADLINE), *extra])
    elapsed = time.monotonic() - started
    assert elapsed < DEADLINE + 0.5, elapsed
    out = capsys.readouterr().out
    assert code != 0
    assert (HTTP_TIMEOUT in out) if command == "diagnose" else ('"unhealthy"' in out)


@pytest.mark.parametrize("command", ["diagnose", "health", "report"])
@pytest.mark.parametrize("value", ["-1", "0", "nan", "inf", "soon"])
def test_cli_refuses_a_deadline_that_is_not_positive_seconds(
    command: str, value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A usage error: exit 64 and a hint, before anything is sent."""
    assert main([command, f"--deadline={value}"]) == 64
    err = capsys.readouterr().err
    assert "positive, finite seconds" in err and "hint:" in err


@pytest.mark.parametrize("bad", [0, -1.0, math.nan, math.inf])
def test_library_refuses_bad_diagnostic_deadlines(bad: float) -> None:
    with pytest.raises(ConfigurationError, match="deadline"):
        DiagnosticsConfig(deadline=bad)
    with (
        MaintainXClient(api_key=CANARY_KEY, diagnostics=QUIET) as client,
        pytest.raises(ConfigurationError, match="deadline"),
    ):
        client.diagnose(deadline=bad)


def test_run_sync_does_not_wait_for_a_thread_it_gave_up_on() -> None:
    """A coroutine that stops waiting for a worker thread returns at once; the thread is
    left to finish by itself (asyncio.run would have joined it)."""
    release = threading.Event()

    async def impatient() -> str:
        try:
            await asyncio.wait_for(asyncio.to_thread(release.wait, 5), timeout=0.1)
        except asyncio.TimeoutError:
            return "gave up"
        return "answered"

    started = time.monotonic()
    try:
        assert run_sync(impatient()) == "gave up"
        assert time.monotonic() - started < 1.0
    finally:
        release.set()
