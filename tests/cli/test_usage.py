"""Mistakes a shell user makes exit 64 with a hint written for a shell; read-only commands
create no file; importing the library does not import the CLI's rendering."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from maintainx_resilient.cli import main

from .conftest import World

pytestmark = pytest.mark.socket


@pytest.mark.parametrize(
    ("argv", "env", "says"),
    [
        (["nonsense"], {}, "invalid choice"),
        (["diagnose", "--no-such-flag"], {}, "unrecognized arguments"),
        (["diagnose", "--runbook", "RB-009"], {}, "choose from RB-001"),
        (["health"], {"MAINTAINX_API_KEY": ""}, "export MAINTAINX_API_KEY"),
        (["diagnose"], {"MAINTAINX_BASE_URL": "ftp://example.com"}, "MAINTAINX_BASE_URL"),
        (["health"], {"MAINTAINX_BASE_URL": "http://[::1"}, "MAINTAINX_BASE_URL"),
        (["health"], {"MAINTAINX_BASE_URL": "http://127.0.0.1:99999/v1"}, "port 99999"),
        (["health"], {"MAINTAINX_ORG_ID": "acme"}, "MAINTAINX_ORG_ID"),
        (["status", "--url", "ftp://x"], {}, "expected an http(s) URL"),
        (["status", "--url", "http://[::1"], {}, "expected an http(s) URL"),
        (["webhooks", "status"], {"MAINTAINX_WEBHOOK_QUEUE": ""}, "--queue sqlite://"),
        (["webhooks", "replay", "--queue", "sqlite:///nowhere/q.db"], {}, "add --all"),
        (["sync", "full", "--resource", "widgets"], {}, "--resource is one of"),
        (["sync", "status", "--db", "/nowhere/copy.db"], {}, "sync full --db"),
        (["sync", "repair", "--report", "/nowhere/r.json"], {}, "sync reconcile --json"),
        (["webhooks", "verify", "/nowhere/capture.json"], {}, "captured request"),
    ],
)
def test_usage_errors_exit_64_with_a_shell_hint(
    argv: list[str],
    env: dict[str, str],
    says: str,
    in_world: World,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Every usage or configuration error: status 64, the problem and a hint on stderr,
    nothing on stdout, never Python's own spelling (api_key=...)."""
    monkeypatch.chdir(in_world.root)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert main(argv) == 64
    captured = capsys.readouterr()
    assert captured.out == ""
    assert says in captured.err and "hint" in captured.err
    assert "api_key=" not in captured.err and "Traceback" not in captured.err
    assert not (in_world.root / "maintainx-sync.db").exists()  # nothing made on the way


def test_help_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    assert main(["sync", "status", "--help"]) == 0
    assert "--stale-after" in capsys.readouterr().out


def test_read_only_commands_create_nothing(world: World, tmp_path: Path) -> None:
    """health, diagnose, status, report and every status / listing command leave the
    working directory and the files they read as they found them (issue 12: `sync status`
    created ./maintainx-sync.db)."""
    shutil.copyfile(world.db, tmp_path / "copy.db")
    shutil.copyfile(world.queue, tmp_path / "queue.db")
    shutil.copyfile(world.capture, tmp_path / "capture.json")
    before = sorted(p.name for p in tmp_path.iterdir())
    commands = [
        ["health"],
        ["diagnose", "--no-status-page", "--runbook", "RB-001"],
        ["status", "--url", world.status_url],
        ["sync", "status"],  # the default --db: ./maintainx-sync.db does not exist
        ["sync", "status", "--db", "copy.db"],
        ["webhooks", "status", "--queue", "sqlite:queue.db"],
        ["webhooks", "dead-letters", "--queue", "sqlite:queue.db"],
        ["webhooks", "verify", "capture.json", "--secret-env", "MX_WEBHOOK_SECRET"],
    ]
    env = {k: v for k, v in os.environ.items() if k != "MAINTAINX_SYNC_DB"}
    for argv in commands:
        subprocess.run(
            [sys.executable, "-m", "maintainx_resilient.cli", *argv],
            cwd=tmp_path,
            env={**env, **world.env},
            capture_output=True,
            timeout=60,
            check=False,
        )
        assert sorted(p.name for p in tmp_path.iterdir()) == before, argv


def test_importing_the_library_does_not_import_rich() -> None:
    """rich is the command line's: `import maintainx_resilient` (and its diagnostics) stays
    without it; render_text imports it only when called."""
    # httpx imports its own command line (rich included) when click and pygments happen to
    # be installed: only what our modules add counts.
    code = (
        "import sys, httpx\n"
        "rich = lambda: {m for m in sys.modules if m == 'rich' or m.startswith('rich.')}\n"
        "before = rich()\n"
        "import maintainx_resilient, maintainx_resilient.diagnostics\n"
        "import maintainx_resilient.sync, maintainx_resilient.webhooks\n"
        "print(sorted(rich() - before))"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert run.stdout.strip() == "[]"
