"""``MAINTAINX_LOG=debug maintainx-resilient health`` (the example of docs/policies/
telemetry.md) logs: each probe is one DEBUG line, without a key; a bad ``MAINTAINX_LOG`` value
is one warning line in the CLI's style, not Python's warning with a source line (QA finding 7).
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import warnings

import pytest

from maintainx_resilient import MaintainXClient
from maintainx_resilient.diagnostics import DiagnosticsConfig
from maintainx_resilient.telemetry import _logging
from maintainx_resilient.telemetry._logging import LOG_ENV
from maintainx_resilient.testing import Simulator

from .conftest import CANARY_KEY


def test_each_probe_logs_one_debug_line_without_the_key(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sim = Simulator(seed=1, work_orders=5)
    sim.add_key(CANARY_KEY, user_id=1, org_ids=(1,))
    client = MaintainXClient(
        api_key=CANARY_KEY,
        transport=sim.transport(),
        diagnostics=DiagnosticsConfig(status_page_url=None),
    )
    with caplog.at_level(logging.DEBUG, logger="maintainx_resilient"):
        client.health()
    probes = [r.getMessage() for r in caplog.records if r.getMessage().startswith("probe ")]
    assert len(probes) == 1
    assert probes[0].startswith("probe GET /organizations?limit=1 -> 200 in ")
    caplog.clear()
    sim.faults.outage(status=503)
    with caplog.at_level(logging.DEBUG, logger="maintainx_resilient"):
        client.diagnose(only=["RB-001", "RB-005"])
    probes = [r.getMessage() for r in caplog.records if r.getMessage().startswith("probe ")]
    assert len(probes) == 5  # RB-001's and RB-005's four
    assert all(" -> 503 in " in line for line in probes)
    assert CANARY_KEY not in caplog.text
    client.close()


def _cli(*argv: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MAINTAINX_")}
    return subprocess.run(
        [sys.executable, "-m", "maintainx_resilient.cli", *argv],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_cli_health_at_debug_logs_its_probe_and_a_bad_value_is_one_line() -> None:
    sim = Simulator(seed=1, work_orders=5)
    sim.add_key(CANARY_KEY, user_id=1, org_ids=(1,))
    with sim.serve() as server:
        env = {"MAINTAINX_API_KEY": CANARY_KEY, "MAINTAINX_BASE_URL": server.base_url}
        debug = _cli("health", env={**env, LOG_ENV: "debug"})
        bad = _cli("health", env={**env, LOG_ENV: "verbose"})
    assert debug.returncode == 0, debug.stderr
    assert "DEBUG] probe GET /organizations?limit=1 -> 200 in " in debug.stderr
    assert CANARY_KEY not in debug.stderr + debug.stdout
    assert bad.returncode == 0, bad.stderr
    assert bad.stderr.splitlines() == [
        "maintainx-resilient: warning: MAINTAINX_LOG must be one of debug, info, warning, "
        "error; got 'verbose': ignored"
    ]


def test_the_library_warning_points_at_the_line_that_built_the_client(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(LOG_ENV, "verbose")
    monkeypatch.setattr(_logging, "_warned", [])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        MaintainXClient(api_key=CANARY_KEY).close()  # this line
    assert len(caught) == 1
    assert caught[0].filename == __file__
