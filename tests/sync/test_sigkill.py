"""A full sync killed with SIGKILL at ten random points, and resumed each time, ends with an
exact copy and re-fetches no more than one page per interruption. The sync runs in a
subprocess (the CLI), against one simulator server in this process, whose request counters
say how many pages were fetched."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from maintainx_resilient.sync import SQLiteStore
from maintainx_resilient.testing import Simulator

from ._support import make_sim, remote_iso

pytestmark = [
    pytest.mark.socket,
    pytest.mark.slow,
    pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL"),
]

RECORDS = 20_000
PAGES = RECORDS // 200
KILLS = 10


def start_sync(base_url: str, db: Path) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "MAINTAINX_API_KEY": Simulator.API_KEY,
        "MAINTAINX_BASE_URL": base_url,
    }
    command = [sys.executable, "-m", "maintainx_resilient.cli", "sync", "full", "--db", str(db)]
    return subprocess.Popen(
        [*command, "--progress", "json", "--rate-limit", "0"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def kill_after(proc: subprocess.Popen[str], page: int, sim: Simulator, in_flight: bool) -> int:
    """Read progress lines until the run has stored ``page`` pages, then SIGKILL it: at
    once (between a commit and the next request), or ``in_flight``: as soon as the server
    has answered the next page (while the run reads and stores it). Returns the pages the
    run had reported."""
    assert proc.stdout is not None and proc.stderr is not None
    with proc, proc.stdout, proc.stderr:
        for line in proc.stderr:  # progress is on stderr, one JSON line per page
            if not line.startswith("{"):
                continue  # "resuming the unfinished full sync..."
            pages = int(json.loads(line)["pages"])
            if pages >= page:
                if in_flight:
                    answered = sim.stats.route("GET", "/workorders")
                    while sim.stats.route("GET", "/workorders") == answered and proc.poll() is None:
                        pass  # spins for the few milliseconds one page takes
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(timeout=30)
                return pages
        proc.wait(timeout=30)
        raise AssertionError(f"the sync ended before page {page}: {proc.stdout.read()}")


def test_sigkill_at_random_points_then_resume(tmp_path: Path) -> None:
    sim = make_sim(RECORDS, seed=30)
    db = tmp_path / "copy.db"
    rng = random.Random(2024)
    # distinct kill points spread over the run, at least three pages apart
    targets = sorted(3 * k for k in rng.sample(range(PAGES // 3), KILLS))
    reached: list[int] = []
    with sim.serve() as server:
        for target in targets:
            proc = start_sync(server.base_url, db)
            reached.append(kill_after(proc, target, sim, in_flight=rng.random() < 0.5))
            assert proc.returncode == -signal.SIGKILL
        with start_sync(server.base_url, db) as final:
            out, err = final.communicate(timeout=120)
        assert final.returncode == 0, err
    assert "resuming the unfinished full sync" in err
    assert out.startswith(f"full sync of workOrders: {RECORDS:,} records")
    last = json.loads(err.splitlines()[-1])
    assert last["done"] and last["pages"] == PAGES
    with SQLiteStore(db) as store:
        assert store.updated_at_by_id("workOrders") == remote_iso(sim)  # an exact copy
        assert store.state("checkpoint:full:workOrders") is None
        assert store.state("last:full:workOrders")["resumes"] == KILLS
    fetched = sim.stats.route("GET", "/workorders")
    refetched = fetched - PAGES - 1  # one high-water probe, when the run began
    print(f"kill points {reached}: {fetched} list requests, {refetched} pages fetched twice")
    assert 0 <= refetched <= KILLS
