"""The package's SQLite files (sync store, webhook queue, fallback cache): owner-only modes,
and typed errors naming the file and what to do, for damaged files, full disks and
directories that cannot be written. Hostile conditions are real: a corrupt file written here,
SQLite's own "database or disk is full" (its page limit, since a test cannot fill a disk),
a path under a regular file, and a directory this process cannot write (``chmod``; as root,
which ``chmod`` does not stop, a child process without ``CAP_DAC_OVERRIDE``)."""

from __future__ import annotations

import json
import logging
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from maintainx_resilient import MaintainXError, StorageError
from maintainx_resilient._sqlite import storage_kind
from maintainx_resilient.policies._fallback_store import FallbackStore, StoredAnswer
from maintainx_resilient.sync import Batch, LocalRecord, SQLiteStore
from maintainx_resilient.webhooks import Envelope, SqliteQueue

Opener = Callable[[Path], Any]
OPENERS: dict[str, Opener] = {
    "sync store": lambda path: SQLiteStore(path),
    "webhook queue": lambda path: SqliteQueue(path, synchronous="NORMAL"),
}


def rec(i: int) -> LocalRecord:
    return LocalRecord(i, 1_000_000 + i, 1_000_000, json.dumps({"id": i, "text": "x" * 400}))


def env(i: int) -> Envelope:
    return Envelope(f"key-{i}", "wo", "NEW_WORK_ORDER", b'{"workOrderId": %d}' % i, 1.0)


def write_some(store: Any, n: int = 50) -> None:
    if isinstance(store, SQLiteStore):
        store.commit("workOrders", Batch(upserts=[rec(i) for i in range(1, n + 1)]))
    else:
        store.enqueue([env(i) for i in range(1, n + 1)])


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


# -- modes ------------------------------------------------------------------------------------


@pytest.mark.usefixtures("umask_022")
@pytest.mark.parametrize("kind", OPENERS)
def test_the_file_and_its_wal_and_shm_are_owner_only(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "data.db"
    store = OPENERS[kind](path)
    try:
        write_some(store)
        files = sorted(p.name for p in tmp_path.iterdir())
        assert files == ["data.db", "data.db-shm", "data.db-wal"]
        for name in files:
            assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600, name
    finally:
        store.close()


@pytest.mark.usefixtures("umask_022")
@pytest.mark.parametrize("kind", OPENERS)
def test_a_world_readable_file_from_an_older_version_is_tightened(
    tmp_path: Path, kind: str
) -> None:
    path = tmp_path / "data.db"
    OPENERS[kind](path).close()
    side = tmp_path / "data.db-wal"
    side.write_bytes(b"")  # left behind by a crash, world-readable
    for file in (path, side):
        os.chmod(file, 0o644)
    OPENERS[kind](path).close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    if side.exists():  # SQLite may have removed the empty WAL on close
        assert stat.S_IMODE(side.stat().st_mode) == 0o600


# -- damaged files ----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", OPENERS)
def test_a_file_that_is_not_a_database_is_a_typed_error_that_says_what_to_do(
    tmp_path: Path, kind: str
) -> None:
    path = tmp_path / "data.db"
    path.write_bytes(b"not a SQLite database at all. " * 200)
    with pytest.raises(StorageError) as caught:
        OPENERS[kind](path)
    error = caught.value
    assert isinstance(error, MaintainXError) and isinstance(error.__cause__, sqlite3.Error)
    assert (error.kind, error.location) == ("corrupt", str(path))
    assert str(path) in str(error) and "move it aside" in str(error) and kind in str(error)
    assert path.read_bytes() == b"not a SQLite database at all. " * 200  # left as it was


def test_damaged_pages_in_the_sync_store_are_a_typed_error(tmp_path: Path) -> None:
    path = tmp_path / "sync.db"
    with SQLiteStore(path) as store:
        write_some(store, 2000)
    assert path.stat().st_size > 16384 * 40
    with open(path, "r+b") as file:  # three pages of the table's data overwritten
        file.seek(16384 * 30)
        file.write(b"\xa5" * 16384 * 3)
    with SQLiteStore(path) as store, pytest.raises(StorageError) as caught:
        store.entries("workOrders")  # opening works: the damage shows when it is read
    assert caught.value.kind == "corrupt" and "full sync" in str(caught.value)


def test_damaged_pages_in_the_queue_are_a_typed_error(tmp_path: Path) -> None:
    path = tmp_path / "queue.db"
    with SqliteQueue(path, synchronous="NORMAL") as queue:
        for start in range(0, 2000, 500):
            queue.enqueue([env(i) for i in range(start, start + 500)])
    with open(path, "r+b") as file:
        file.seek(4096 * 20)
        file.write(b"\xa5" * 4096 * 40)
    with SqliteQueue(path, synchronous="NORMAL") as queue, pytest.raises(StorageError) as caught:
        queue.claim("w", 2000)
    assert caught.value.kind == "corrupt" and "not processed yet" in str(caught.value)


# -- full disk --------------------------------------------------------------------------------


def fill_up(conn: sqlite3.Connection) -> None:
    """Make this connection's database full: SQLite answers SQLITE_FULL ("database or disk
    is full") exactly as on a full disk."""
    (pages,) = conn.execute("PRAGMA page_count").fetchone()
    conn.execute(f"PRAGMA max_page_count = {pages}")


def test_a_full_disk_under_the_sync_store_loses_nothing(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "sync.db") as store:
        write_some(store, 10)
        fill_up(store._conn())
        big = Batch(upserts=[rec(i) for i in range(100, 400)], state={"k": 1})
        with pytest.raises(StorageError) as caught:
            store.commit("workOrders", big)
        assert caught.value.kind == "disk_full" and "free space" in str(caught.value)
        assert store.count("workOrders") == 10 and store.state("k") is None
        store._conn().execute("PRAGMA max_page_count = 1000000")  # space freed
        store.commit("workOrders", big)  # the same batch, retried
        assert store.count("workOrders") == 310


def test_a_full_disk_under_the_queue_is_a_typed_error(tmp_path: Path) -> None:
    with SqliteQueue(tmp_path / "queue.db", synchronous="NORMAL") as queue:
        write_some(queue, 5)
        fill_up(queue._connect(writer=True))
        with pytest.raises(StorageError) as caught:
            queue.enqueue([env(i) for i in range(100, 400)])
        assert caught.value.kind == "disk_full"
        assert queue.stats().depth == 5


def test_the_fallback_cache_warns_once_about_a_full_disk_not_on_every_write(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = FallbackStore(tmp_path / "fallback.sqlite")
    try:
        fill_up(store._db)
        with caplog.at_level(logging.DEBUG, logger="maintainx_resilient"):
            for i in range(5):
                answer = StoredAnswer(200, (), b"x" * 20_000, 1.0 + i)
                store.put(f"GET /workorders/{i}", answer)
                assert store.flush()
        warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
        assert len(warnings) == 1
        assert "disk" in warnings[0].getMessage() and "memory only" in warnings[0].getMessage()
        assert sum(r.levelno == logging.DEBUG for r in caplog.records) == 4
        caplog.clear()
        store._db.execute("PRAGMA max_page_count = 1000000")
        with caplog.at_level(logging.WARNING, logger="maintainx_resilient"):
            store.put("GET /workorders/9", StoredAnswer(200, (), b"ok", 9.0))
            assert store.flush()
        assert "writable again" in caplog.text
    finally:
        store.close()


# -- directories that cannot be written ------------------------------------------------------


@pytest.mark.parametrize("kind", OPENERS)
def test_a_path_under_a_regular_file_is_a_typed_error(tmp_path: Path, kind: str) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a regular file")
    with pytest.raises(StorageError) as caught:
        OPENERS[kind](blocker / "data.db")
    assert caught.value.kind == "cannot_open" and "is a directory" in str(caught.value)


_CHILD = """
import json, sys
from maintainx_resilient import StorageError
from maintainx_resilient.sync import Batch, SQLiteStore
from maintainx_resilient.webhooks import SqliteQueue
folder = sys.argv[1]
out = {}
attempts = {
    "existing store": lambda: SQLiteStore(folder + "/store.db").commit("assets", Batch()),
    "existing queue": lambda: SqliteQueue(folder + "/queue.db").stats(),
    "new store": lambda: SQLiteStore(folder + "/new.db"),
}
for name, attempt in attempts.items():
    try:
        attempt()
        out[name] = ["opened", ""]
    except StorageError as exc:
        out[name] = [exc.kind, str(exc)]
    except Exception as exc:
        out[name] = ["raw " + type(exc).__name__, str(exc)]
print(json.dumps(out))
"""


def without_write_permission(folder: Path) -> list[str]:
    """The command prefix under which ``folder`` (mode 0555) really is read-only."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: cannot make a directory read-only")
    return [setpriv, "--bounding-set", "-dac_override,-dac_read_search,-fowner", "--"]


def test_a_read_only_directory_is_a_typed_error(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    SQLiteStore(folder / "store.db").close()
    SqliteQueue(folder / "queue.db").close()
    assert sorted(p.name for p in folder.iterdir()) == ["queue.db", "store.db"]  # no WAL left
    prefix = without_write_permission(folder)
    folder.chmod(0o555)
    try:
        done = subprocess.run(
            [*prefix, sys.executable, "-c", _CHILD, str(folder)],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
    finally:
        folder.chmod(0o755)
    out = json.loads(done.stdout)
    for name, (kind, message) in out.items():
        assert kind == "read_only", (name, kind, message)
        assert "writable" in message and str(folder) in message


def test_classify_reads_messages_when_there_is_no_error_code() -> None:
    """Python 3.10 has no ``sqlite_errorcode``: the message decides."""
    assert storage_kind(sqlite3.DatabaseError("file is not a database")) == "corrupt"
    assert storage_kind(sqlite3.OperationalError("database or disk is full")) == "disk_full"
    assert storage_kind(sqlite3.OperationalError("attempt to write a readonly database")) == (
        "read_only"
    )
    assert storage_kind(sqlite3.OperationalError("database is locked")) == "locked"
    assert storage_kind(OSError(28, "No space left on device")) == "disk_full"


def test_one_connection_per_thread_all_closed_at_once(tmp_path: Path) -> None:
    """The stores' shared connection handling: WAL, one connection per thread and slot,
    close() from any thread closes them all, and nothing opens after it."""
    import threading

    from maintainx_resilient._sqlite import ThreadConnections

    connections = ThreadConnections(str(tmp_path / "t.db"), owner="the test store")
    mine = connections.get()
    assert connections.get() is mine
    assert connections.get("writer", synchronous="FULL") is not mine
    assert mine.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    theirs: list[sqlite3.Connection] = []
    worker = threading.Thread(target=lambda: theirs.append(connections.get()))
    worker.start()
    worker.join()
    assert theirs[0] is not mine
    closer = threading.Thread(target=connections.close)
    closer.start()
    closer.join()
    for conn in (mine, theirs[0]):
        with pytest.raises(sqlite3.ProgrammingError):
            conn.execute("SELECT 1")
    with pytest.raises(RuntimeError, match="the test store is closed"):
        connections.get()


def test_an_immediate_transaction_commits_or_rolls_back(tmp_path: Path) -> None:
    from maintainx_resilient._sqlite import connect_sqlite, immediate

    conn = connect_sqlite(str(tmp_path / "t.db"))
    conn.execute("CREATE TABLE t (x INTEGER)")
    with immediate(conn):
        conn.execute("INSERT INTO t VALUES (1)")

    def insert_then_fail() -> None:
        with immediate(conn):
            conn.execute("INSERT INTO t VALUES (2)")
            raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        insert_then_fail()
    assert conn.execute("SELECT x FROM t").fetchall() == [(1,)]
    assert not conn.in_transaction
    conn.close()
