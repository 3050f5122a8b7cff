"""``maintainx-resilient sync full|incremental|reconcile|repair|status`` against the simulator
over a real socket: progress, --json, exit statuses, and resuming after Ctrl-C."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from maintainx_resilient._console import make_console
from maintainx_resilient.cli import _sync, main
from maintainx_resilient.cli._output import Output
from maintainx_resilient.cli._progress import ProgressView, describe_sync
from maintainx_resilient.sync import Batch, Progress, RateLimit, SQLiteStore
from maintainx_resilient.testing import Simulator

from ._support import make_sim, remote_iso

pytestmark = pytest.mark.socket


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> Iterator[Simulator]:
    sim = make_sim(1000)
    with sim.serve() as server:
        monkeypatch.setenv("MAINTAINX_API_KEY", Simulator.API_KEY)
        monkeypatch.setenv("MAINTAINX_BASE_URL", server.base_url)
        yield sim


@pytest.fixture
def db(tmp_path: Path) -> str:
    return str(tmp_path / "copy.db")


def run(*argv: str) -> int:
    return main(["sync", *argv, "--rate-limit", "0"] if argv[0] != "status" else ["sync", *argv])


def test_full_then_status_then_incremental(
    served: Simulator, db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("full", "--db", db, "--json") == 0
    result = json.loads(capsys.readouterr().out)
    assert result["records"] == 1000 and result["pages"] == 5
    with SQLiteStore(db) as store:
        assert store.updated_at_by_id("workorders") == remote_iso(served)
    assert run("status", "--db", db) == 0
    out = capsys.readouterr().out
    assert "1,000 records" in out and "last full sync: 0:00:0" in out
    assert "RB-004 Data Sync Out of Sync: OK" in out
    served.update_record("workOrders", 3, {"title": "x"})
    assert run("incremental", "--db", db, "--every", "0.001", "--runs", "2") == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and "1 updated" in lines[0] and "0 updated" in lines[1]


def test_status_creates_nothing_and_says_what_to_run(
    db: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`sync status` is read-only: on a missing file it creates none, exits 64 and says
    how to make one. It needs no API key."""
    monkeypatch.delenv("MAINTAINX_API_KEY", raising=False)
    assert run("status", "--db", db, "--json") == _sync.EXIT_USAGE
    assert not Path(db).exists()
    err = capsys.readouterr().err
    assert f"no local copy at {db}" in err and "sync full --db" in err


def test_reconcile_exit_status_json_and_repair_from_the_report(
    served: Simulator, db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("full", "--db", db) == 0
    assert run("reconcile", "--db", db) == 0
    assert "no drift" in capsys.readouterr().out
    with SQLiteStore(db) as store:
        store.commit("workOrders", Batch(deletes=[1, 2]))
    served.update_record("workOrders", 9, {"title": "stale now"})
    assert run("reconcile", "--db", db, "--json") == _sync.EXIT_DRIFT
    report = json.loads(capsys.readouterr().out)
    assert report["command"] == "sync reconcile" and report["schema_version"] == 1
    assert report["missing_locally"] == [1, 2]
    assert [s["id"] for s in report["stale"]] == [9]
    assert report["generated_at"].endswith("Z")  # ISO-8601 UTC, not epoch seconds
    saved = tmp_path / "report.json"
    saved.write_text(json.dumps(report))
    assert run("status", "--db", db) == 1  # the saved drift: 3 of 1000 records, SEV3
    capsys.readouterr()
    assert run("repair", "--db", db, "--report", str(saved)) == 0
    assert "3 fetched again" in capsys.readouterr().out
    assert run("status", "--db", db) == 0  # repaired since the reconciliation
    assert run("reconcile", "--db", db) == 0
    assert run("reconcile", "--db", db, "--sample", "300", "--seed", "1") == 0
    out = capsys.readouterr().out
    assert "estimate from a sample of" in out


def test_a_full_sync_that_would_delete_a_fifth_exits_4_until_confirmed(
    served: Simulator, db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("full", "--db", db) == 0
    for i in range(1, 201):
        served.delete_record("workOrders", i)
    capsys.readouterr()
    assert run("full", "--db", db) == _sync.EXIT_DELETES_REFUSED
    err = capsys.readouterr().err
    assert "would delete 200 of 1000" in err and "--confirm-deletes" in err
    assert run("status", "--db", db) == 0
    assert "DELETIONS REFUSED: full would delete 200 of 1000" in capsys.readouterr().out
    assert run("full", "--db", db, "--confirm-deletes", "100") == _sync.EXIT_DELETES_REFUSED
    assert run("full", "--db", db, "--confirm-deletes", "--json") == 0
    assert len(json.loads(capsys.readouterr().out)["deleted"]) == 200
    with SQLiteStore(db) as store:
        assert store.count("workOrders") == 800


def test_a_damaged_database_file_is_an_error_that_names_it(
    db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    Path(db).write_bytes(b"this is not a SQLite database, " * 100)
    assert run("status", "--db", db) == _sync.EXIT_ERROR
    err = capsys.readouterr().err
    assert db in err and "damaged" in err and "Traceback" not in err


def test_ctrl_c_says_how_to_resume_and_the_same_command_resumes(
    served: Simulator, db: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    original = ProgressView.sync

    def interrupting(self: ProgressView, p: Progress) -> None:
        original(self, p)
        if p.pages == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(ProgressView, "sync", interrupting)
    assert run("full", "--db", db, "--progress", "json") == _sync.EXIT_INTERRUPTED
    err = capsys.readouterr().err
    assert "400 records in 2 pages are stored" in err
    assert "again to resume from page 3" in err
    assert "Traceback" not in err
    monkeypatch.setattr(ProgressView, "sync", original)
    assert run("status", "--db", db) == 1  # the first full sync is unfinished: SEV3
    out = capsys.readouterr().out
    assert "unfinished full sync: 2 pages" in out and "RB004.FULL_SYNC_UNFINISHED" in out
    assert run("full", "--db", db, "--json") == 0
    captured = capsys.readouterr()
    assert "resuming the unfinished full sync of workOrders after page 2" in captured.err
    assert json.loads(captured.out)["resumed_from_page"] == 2


def test_json_progress_goes_to_stderr_and_the_result_is_one_document(
    served: Simulator, db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--json --progress json`: stdout holds one JSON document, the NDJSON progress lines
    are on stderr."""
    assert run("full", "--db", db, "--progress", "json", "--json") == 0
    captured = capsys.readouterr()
    result = json.loads(captured.out)  # the whole of stdout is one document
    assert result["command"] == "sync full" and result["records"] == 1000
    progress = [json.loads(line) for line in captured.err.splitlines()]
    assert [p["pages"] for p in progress] == [0, 1, 2, 3, 4, 5]
    assert progress[-1]["done"] is True and progress[-1]["command"] == "sync full"


def test_bad_settings_exit_64_with_a_hint(
    served: Simulator, db: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("full", "--db", db, "--resource", "widgets") == _sync.EXIT_USAGE
    err = capsys.readouterr().err
    assert "known resources" in err and "hint: --resource is one of" in err
    monkeypatch.delenv("MAINTAINX_API_KEY")
    assert run("full", "--db", db) == _sync.EXIT_USAGE
    err = capsys.readouterr().err
    assert "export MAINTAINX_API_KEY" in err and "api_key=" not in err
    monkeypatch.setenv("MAINTAINX_API_KEY", Simulator.API_KEY)
    assert main(["sync", "full", "--db", db, "--rate-limit", "-1"]) == _sync.EXIT_USAGE
    assert main(["sync", "full", "--db", db, "--no-such-flag"]) == _sync.EXIT_USAGE
    assert run("incremental", "--db", db, "--resource", "locations") == _sync.EXIT_ERROR
    assert "full sync" in capsys.readouterr().err


def test_a_finished_run_without_an_expected_total_renders() -> None:
    """Issue 12: the first `sync full` in a terminal (done, no --expect) crashed in the
    progress renderer (None formatted with ','). Every state now renders."""
    rate = RateLimit(99, 60, "the client's throttle")
    done = Progress("workOrders", "full", 5, 1000, 3.0, 5, rate, done=True)
    _, completed, total, parts = describe_sync(done)
    assert (completed, total) == (1000.0, 1000.0)
    assert parts == ["1,000 records", "done in 0:00:03", "5 pages", "333 rec/s"]
    half = Progress("workOrders", "full", 50, 10_000, 30.0, 50, rate, 200, 20_000)
    assert describe_sync(half)[3][:2] == ["10,000/20,000 records", "ETA 0:00:30"]
    unknown = Progress("workOrders", "full", 5, 1000, 3.0, 5, rate)
    assert describe_sync(unknown)[1:3] == (None, None)
    assert describe_sync(unknown)[3][1] == "ETA ?"


def test_the_progress_line_fits_and_drops_detail_before_the_bar() -> None:
    """At any width the line fits; the bar keeps at least 10 columns by leaving out the
    least important figures first."""
    rate = RateLimit(99, 60, "the client's throttle")
    half = Progress("workOrders", "full", 50, 10_000, 30.0, 50, rate, 200, 20_000)
    for width in (40, 60, 80, 120):
        output = Output(
            make_console(io.StringIO(), False, width), make_console(io.StringIO(), False, width)
        )
        view = ProgressView(output, "bar", command="sync full")
        with output.err.capture() as captured:
            output.err.print(view._line(*describe_sync(half)))
        line = captured.get().rstrip("\n")
        assert len(line) <= width, (width, line)
        if width >= 60:  # narrower, the label and counts are cut with an ellipsis
            assert "10,000/20,000 records" in line and "━" in line
            assert ("rec/s" in line) == (width >= 120)


def test_the_sync_command_registers_on_a_parser() -> None:
    import argparse

    parser = argparse.ArgumentParser()
    _sync.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["sync", "reconcile", "--sample", "5", "--db", "x.db"])
    assert args.sample == 5 and args.run is _sync._dispatch
