"""Every script in ``examples/`` runs to completion and prints what the docs say it shows.

Each example runs in its own interpreter, as ``nox -s examples`` runs it, with a timeout;
the test checks the exit status and one characteristic line of output (numbers that depend
on timing are matched loosely). ``webhooks_*`` and ``sync_*`` examples are tested by their
authors' own suites.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.socket

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
TIMEOUT = 60.0
OTHER_SUITES = ("webhooks_", "sync_")

#: One characteristic line per example: a regular expression searched in its stdout.
EXPECTED: dict[str, str] = {
    "quickstart.py": r"deleted: get -> NotFoundError \(404\)",
    "async_quickstart.py": r"fetched 10 work orders concurrently",
    "throttle.py": r"client, 8 threads x 50 calls: 50 answered in [\d.]+s, (?P<n429>\d+) x 429",
    "retry.py": r"ServerError: attempts=1, POSTs that reached MaintainX: 1 ",
    "circuit_breaker.py": r"half-open -> closed",
    "fallback_cache.py": r"stale=True, age 60 min, reason \w+",
    "key_rotation.py": r"60 calls succeeded; rotate\(\) called 1 time\(s\)",
    "telemetry.py": r"resend_count=1|opentelemetry-sdk is not installed: skipping",
    "diagnostics.py": r"outage: SEV1, exit code 3",
}


def ours() -> list[str]:
    return sorted(p.name for p in EXAMPLES.glob("*.py") if not p.name.startswith(OTHER_SUITES))


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAINTAINX_")}
    return subprocess.run(
        [sys.executable, *args],
        cwd=EXAMPLES.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


def test_every_example_has_an_expected_line() -> None:
    """A new example cannot be added without saying what it must print."""
    assert ours() == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_runs(name: str) -> None:
    """The example exits 0 within the timeout and prints its characteristic line."""
    result = run(str(EXAMPLES / name))
    assert result.returncode == 0, f"{name} failed:\n{result.stdout}\n{result.stderr}"
    match = re.search(EXPECTED[name], result.stdout)
    assert match, f"{name} did not print /{EXPECTED[name]}/:\n{result.stdout}"
    if name == "throttle.py":
        assert int(match["n429"]) <= 3, "the throttle should keep the server's 429s near 0"


def test_telemetry_example_skips_without_the_sdk() -> None:
    """Without opentelemetry-sdk (it is only a test dependency) the example says so, exit 0."""
    code = (
        "import runpy, sys; sys.modules['opentelemetry.sdk'] = None; "
        f"runpy.run_path({str(EXAMPLES / 'telemetry.py')!r}, run_name='__main__')"
    )
    result = run("-c", code)
    assert result.returncode == 0, result.stderr
    assert "opentelemetry-sdk is not installed: skipping" in result.stdout
