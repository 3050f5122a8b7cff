"""What the command-line tests run against: the simulator over a socket, a status page on a
local port, a synced SQLite copy, a webhook queue with pending events and dead letters, and
a signed capture. Everything lives on 127.0.0.1 and in a temporary directory."""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from maintainx_resilient.cli import main
from maintainx_resilient.testing import Simulator
from maintainx_resilient.webhooks import SqliteQueue

from ..webhooks._support import envelope, payload, signed_headers

SECRET = "cli-test-secret"
HOOK_URL = "https://hooks.example/webhooks/maintainx/wo"
STATUS_DOC = {
    "data": {"id": "1", "type": "status_page", "attributes": {"aggregate_state": "operational"}},
    "included": [
        {
            "id": str(i),
            "type": "status_page_resource",
            "attributes": {"public_name": name, "status": "operational"},
        }
        for i, name in enumerate(("REST API", "MaintainX App", "GraphQL API", "Website"))
    ],
}


class _StatusPage(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps(STATUS_DOC).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return


@dataclass
class World:
    """Paths and environment for one test's commands."""

    root: Path
    env: dict[str, str]
    status_url: str
    db: Path
    queue: Path
    capture: Path
    sim: Simulator

    def fresh_queue(self) -> str:
        """A copy of the queue (replay and pause change it), as a --queue URL."""
        copy = self.root / f"queue-{time.monotonic_ns()}.db"
        shutil.copyfile(self.queue, copy)
        return f"sqlite://{copy}"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("cli")
    sim = Simulator(seed=3, work_orders=400, rate_limit=None)
    page = ThreadingHTTPServer(("127.0.0.1", 0), _StatusPage)
    thread = threading.Thread(target=page.serve_forever, daemon=True)
    thread.start()
    with sim.serve() as server:
        env = {
            "MAINTAINX_API_KEY": Simulator.API_KEY,
            "MAINTAINX_BASE_URL": server.base_url,
            "MX_WEBHOOK_SECRET": SECRET,
        }
        db = root / "copy.db"
        queue = root / "queue.db"
        q = SqliteQueue(queue, synchronous="NORMAL")
        now = time.time()
        q.enqueue([envelope(n, at=now) for n in range(6)])
        for delivery in q.claim("w", 3):
            q.dead_letter(delivery, error="KeyError: 'assetId'")
        q.close()
        body = payload(1)
        capture = root / "capture.json"
        headers = signed_headers(SECRET, body, HOOK_URL, int(now))
        capture.write_text(json.dumps({"url": HOOK_URL, "headers": headers, "body": body.decode()}))
        mp = pytest.MonkeyPatch()
        for key, value in env.items():
            mp.setenv(key, value)
        assert main(["sync", "full", "--db", str(db), "--rate-limit", "0"]) == 0
        assert main(["sync", "reconcile", "--db", str(db), "--rate-limit", "0"]) == 0
        mp.undo()
        yield World(
            root=root,
            env=env,
            status_url=f"http://127.0.0.1:{page.server_address[1]}/en/index.json",
            db=db,
            queue=queue,
            capture=capture,
            sim=sim,
        )
    page.shutdown()
    page.server_close()


@pytest.fixture(scope="session", autouse=True)
def _forget_the_cli_fleet() -> Iterator[None]:
    """The `fleet` commands of ``_commands.py`` write to one fleet: delete its keys after."""
    yield
    import redis

    from ..webhooks.conftest import REDIS_URL
    from ._commands import CLI_FLEET

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        keys = list(client.scan_iter(f"mx:{{{CLI_FLEET}}}:*"))
        if keys:
            client.delete(*keys)
    except (redis.RedisError, OSError):
        pass  # no Redis: the fleet commands were skipped
    finally:
        client.close()


@pytest.fixture
def in_world(world: World, monkeypatch: pytest.MonkeyPatch) -> World:
    """``world`` with its environment set in this process (for in-process runs)."""
    for key, value in world.env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("NO_COLOR", raising=False)
    return world
