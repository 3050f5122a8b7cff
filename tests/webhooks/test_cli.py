"""``maintainx-resilient webhooks status|replay|verify|dead-letters|pause|resume``."""

from __future__ import annotations

import argparse
import json
import re
import time
from pathlib import Path

import pytest

from maintainx_resilient._clock import FakeClock
from maintainx_resilient.cli import main
from maintainx_resilient.cli._common import parse_duration
from maintainx_resilient.webhooks import SqliteQueue, SubscriptionRegistry

from ._support import envelope, payload, signed_headers

URL = "https://hooks.example/webhooks/maintainx/wo"
SECRET = "cli-secret"


def run(*argv: str) -> int:
    return main(["webhooks", *argv])


@pytest.fixture
def queue_url(tmp_path: Path, clock: FakeClock) -> str:
    """A queue with 2 events waiting and 3 dead letters (failed long ago by the wall clock)."""
    path = tmp_path / "q.db"
    queue = SqliteQueue(path, clock=clock, synchronous="NORMAL")
    queue.enqueue([envelope(n, at=clock.time()) for n in range(5)])
    for delivery in queue.claim("w", 3):
        queue.dead_letter(delivery, error="KeyError: 'x'")
    queue.close()
    return f"sqlite://{path}"


def test_status(queue_url: str, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """RB-003 on the queue: 3 dead letters are a SEV3 finding, and the exit status says so."""
    registry = SubscriptionRegistry(tmp_path / "subs.json")
    registry.register("wo", id=1, event_type="NEW_WORK_ORDER", url=URL, secret=SECRET)
    assert run("status", "--queue", queue_url, "--registry", registry.path) == 1
    out = capsys.readouterr().out
    assert "pending: 2" in out
    assert "failed (dead letters): 3" in out
    assert "RB003.FAILED_WEBHOOKS" in out
    assert re.search(r"^ok +Signature self-test +passed$", out, re.MULTILINE)
    assert run("status", "--queue", queue_url, "--json") == 1
    data = json.loads(capsys.readouterr().out)
    assert (data["queue_depth"], data["failed"], data["paused"]) == (2, 3, False)
    assert data["oldest_pending_age_s"] > 0
    assert data["severity"] == "SEV3"
    # the fixture's events are from 2025 by the wall clock: an old backlog too
    assert [f["code"] for f in data["findings"]] == ["RB003.FAILED_WEBHOOKS", "RB003.BACKLOG"]


def test_status_applies_the_backlog_thresholds(
    tmp_path: Path, clock: FakeClock, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 12: 2,000 pending deliveries were shown as "ok". Above the queue-depth alert
    (1,000 by default, --depth-alert N) they are RB-003's backlog, SEV3, exit status 1."""
    path = tmp_path / "deep.db"
    queue = SqliteQueue(path, clock=clock, synchronous="NORMAL")
    queue.enqueue([envelope(n, at=time.time()) for n in range(2000)])
    queue.close()
    url = f"sqlite://{path}"
    assert run("status", "--queue", url, "--json") == 1
    data = json.loads(capsys.readouterr().out)
    assert data["queue_depth"] == 2000 and data["severity"] == "SEV3"
    assert [f["code"] for f in data["findings"]] == ["RB003.BACKLOG"]
    assert run("status", "--queue", url, "--depth-alert", "5000", "--oldest-alert", "1d") == 0
    assert "webhook processing healthy" in capsys.readouterr().out


def test_read_only_commands_create_no_queue(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A mistyped queue path is a usage error (64), and no file appears."""
    missing = tmp_path / "typo.db"
    for action in ("status", "dead-letters", "pause", "resume"):
        assert run(action, "--queue", f"sqlite://{missing}") == 64
    assert run("replay", "--queue", f"sqlite://{missing}", "--all") == 64
    assert not missing.exists()
    assert "no webhook queue at" in capsys.readouterr().err


def test_dead_letters_pause_resume(queue_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("dead-letters", "--queue", queue_url) == 0
    out = capsys.readouterr().out
    assert out.count("KeyError") == 3
    assert out.splitlines()[0].split() == ["ID", "ROUTE", "EVENT", "TRIES", "FAILED", "ERROR"]
    assert run("dead-letters", "--queue", queue_url, "--json", "--limit", "1") == 0
    data = json.loads(capsys.readouterr().out)
    assert data["command"] == "webhooks dead-letters" and len(data["dead_letters"]) == 1
    letter = data["dead_letters"][0]
    assert letter["event_type"] and letter["failed_at"].endswith("Z")  # snake_case, ISO
    assert run("pause", "--queue", queue_url) == 0
    assert run("status", "--queue", queue_url, "--json") == 1
    status = json.loads(capsys.readouterr().out.split("\n", 1)[1])
    assert status["paused"] is True
    assert "RB003.PAUSED" in {f["code"] for f in status["findings"]}
    assert run("resume", "--queue", queue_url) == 0
    assert "resumed" in capsys.readouterr().out


def test_replay(queue_url: str, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert run("replay", "--queue", queue_url) == 64  # must say what (the docs say 64)
    assert "hint: add --all, --id ID" in capsys.readouterr().err
    assert run("replay", "--queue", queue_url, "--newer-than", "1h") == 0
    assert "0 of 0" in capsys.readouterr().out
    assert run("replay", "--queue", queue_url, "--older-than", "1d", "--dry-run") == 0
    assert "3 dead letter(s) would be replayed" in capsys.readouterr().out
    queue = SqliteQueue(tmp_path / "q.db")
    first = queue.dead_letters()[0].id
    queue.close()
    assert run("replay", "--queue", queue_url, "--id", first) == 0
    assert "1 of 1" in capsys.readouterr().out
    assert run("replay", "--queue", queue_url, "--all", "--progress", "json") == 0
    captured = capsys.readouterr()
    assert "2 of 2 dead letter(s) back in the queue" in captured.out
    steps = [json.loads(line) for line in captured.err.splitlines()]
    assert [(s["done"], s["total"]) for s in steps] == [(0, 2), (2, 2)]


def test_no_queue(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MAINTAINX_WEBHOOK_QUEUE", raising=False)
    for action in ("status", "dead-letters", "pause", "resume"):
        assert run(action) == 64
    assert run("replay", "--all") == 64
    assert "MAINTAINX_WEBHOOK_QUEUE" in capsys.readouterr().err


def write_capture(tmp_path: Path, stamp: int, *, raw: bool = False, secret: str = SECRET) -> Path:
    body = payload(1)
    headers = signed_headers(secret, body, URL, stamp)
    path = tmp_path / ("capture.http" if raw else "capture.json")
    if raw:
        lines = [
            "POST /webhooks/maintainx/wo HTTP/1.1",
            "Host: hooks.example",
            f"Content-Length: {len(body)}",
            *(f"{k}: {v}" for k, v in headers.items()),
        ]
        path.write_bytes(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
    else:
        path.write_text(json.dumps({"url": URL, "headers": headers, "body": body.decode()}))
    return path


def test_verify_json_and_raw_captures(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MX_SECRET", SECRET)
    now = int(time.time())
    assert run("verify", str(write_capture(tmp_path, now)), "--secret-env", "MX_SECRET") == 0
    assert "ACCEPTED: body and URI signature valid" in capsys.readouterr().out
    raw = write_capture(tmp_path, now, raw=True)
    assert run("verify", str(raw), "--secret-env", "MX_SECRET", "--json") == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] and report["uri_checked"] and report["signed_at"].endswith("Z")
    secret_file = tmp_path / "secret.txt"
    secret_file.write_text("wrong\n")
    assert run("verify", str(raw), "--secret-file", str(secret_file)) == 1
    assert "REJECTED: bad_signature" in capsys.readouterr().out


def test_verify_old_capture_and_registry(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    registry = SubscriptionRegistry(tmp_path / "subs.json")
    registry.register("wo", id=1, event_type="NEW_WORK_ORDER", url=URL, secret=SECRET)
    old = write_capture(tmp_path, 1_700_000_000)
    assert run("verify", str(old), "--registry", registry.path) == 1
    out = capsys.readouterr().out
    assert "REJECTED: too_old" in out
    assert "the signatures themselves are valid" in out
    assert run("verify", str(old), "--registry", registry.path, "--at", "1700000100") == 0
    assert run("verify", str(old), "--registry", registry.path, "--route", "missing") == 64


def test_verify_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capture = write_capture(tmp_path, 1)
    assert run("verify", str(capture)) == 64
    garbage = tmp_path / "garbage"
    garbage.write_bytes(b"nonsense")
    assert run("verify", str(garbage), "--secret-file", str(capture)) == 64
    assert run("verify", str(capture), "--secret-env", "SURELY_NOT_SET_ANYWHERE") == 64
    assert run("verify", str(capture), "--secret-file", str(tmp_path / "absent")) == 64
    assert "not set" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "seconds"), [("90", 90), ("90s", 90), ("15m", 900), ("2h", 7200), ("1d", 86400)]
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


def test_parse_duration_rejects() -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        parse_duration("soon")


def test_a_damaged_queue_file_is_reported_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from maintainx_resilient.cli import main

    damaged = tmp_path / "q.db"
    damaged.write_bytes(b"not a queue at all " * 100)
    assert main(["webhooks", "status", "--queue", f"sqlite://{damaged}"]) == 1
    err = capsys.readouterr().err
    assert str(damaged) in err and "damaged" in err and "Traceback" not in err
