"""What the package's SQLite files share: connections, transactions, owner-only modes and
typed errors.

Four stores keep SQLite files: the sync store (:mod:`.sync.sqlite`), the webhook queue
(:mod:`.webhooks.queue.sqlite`), the webhook ledger (:mod:`.webhooks.idempotency`) and the
fallback cache (:mod:`.policies._fallback_store`). They open connections one way
(:func:`connect_sqlite`: autocommit, WAL, a busy timeout, the store's ``synchronous``), one per
thread where several threads use a store (:class:`ThreadConnections`), and write in
``BEGIN IMMEDIATE`` transactions (:func:`immediate`). They hold organization data, so:

- :func:`secure_file` creates the database file owner-only (0600) before SQLite opens it, and
  tightens an existing one (and its ``-wal``/``-shm``/``-journal`` files) that is readable by
  others. SQLite gives the ``-wal`` and ``-shm`` files it creates later the mode of the
  database file, so they are 0600 too.
- :func:`storage_error` turns what ``sqlite3`` or the OS raised into a
  :class:`~maintainx_resilient.StorageError` that names the file, says what happened
  (``kind``) and what to do; :class:`StorageErrors` does it for every method of a store
  (``@StorageErrors.wrap``) or a block (``with errors:``).

Classification is pure (:func:`storage_kind`): the SQLite result code when Python exposes it
(3.11+), else the message, or the ``errno`` of an :class:`OSError`.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import logging
import os
import sqlite3
import stat
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Concatenate, ParamSpec, Protocol, TypeVar

from ._exceptions import StorageError

__all__ = [
    "FILE_MODE",
    "StorageErrors",
    "ThreadConnections",
    "connect_sqlite",
    "immediate",
    "secure_file",
    "storage_error",
    "storage_kind",
]

logger = logging.getLogger("maintainx_resilient")

#: Owner read/write only.
FILE_MODE = 0o600
_SIDE_FILES = ("-wal", "-shm", "-journal")

# SQLite primary result codes (https://sqlite.org/rescode.html)
_CODES = {
    3: "read_only",  # SQLITE_PERM
    5: "locked",  # SQLITE_BUSY
    6: "locked",  # SQLITE_LOCKED
    8: "read_only",  # SQLITE_READONLY
    10: "io",  # SQLITE_IOERR
    11: "corrupt",  # SQLITE_CORRUPT
    13: "disk_full",  # SQLITE_FULL
    14: "cannot_open",  # SQLITE_CANTOPEN
    26: "corrupt",  # SQLITE_NOTADB
}
# The same, from the message (Python 3.10 has no ``sqlite_errorcode``); first match wins.
_MESSAGES = (
    ("malformed", "corrupt"),
    ("not a database", "corrupt"),
    ("disk is full", "disk_full"),
    ("readonly", "read_only"),
    ("read-only", "read_only"),
    ("unable to open", "cannot_open"),
    ("locked", "locked"),
    ("i/o error", "io"),
)
_ERRNOS = {
    errno.ENOSPC: "disk_full",
    errno.EDQUOT: "disk_full",
    errno.EROFS: "read_only",
    errno.EACCES: "read_only",
    errno.EPERM: "read_only",
    errno.ENOENT: "cannot_open",
    errno.ENOTDIR: "cannot_open",
    errno.EISDIR: "cannot_open",
    errno.EEXIST: "cannot_open",
    errno.EIO: "io",
}


def storage_kind(exc: BaseException) -> str:
    """The :attr:`~maintainx_resilient.StorageError.kind` of a ``sqlite3`` or OS error."""
    if isinstance(exc, sqlite3.Error):
        code = getattr(exc, "sqlite_errorcode", None)
        if isinstance(code, int) and (code & 0xFF) in _CODES:
            return _CODES[code & 0xFF]
        text = str(exc).lower()
        for needle, kind in _MESSAGES:
            if needle in text:
                return kind
        return "error"
    if isinstance(exc, OSError) and exc.errno is not None:
        return _ERRNOS.get(exc.errno, "io")
    return "error"


def _advice(kind: str, path: str, recover: str) -> str:
    name = os.path.basename(path) or path
    if kind == "corrupt":
        return (
            "the file is damaged (not a SQLite database, or corrupt pages). Stop every process "
            f"using it, move it aside together with {name}-wal and {name}-shm, then {recover}"
        )
    if kind == "disk_full":
        return "the disk (or quota) holding it is full: free space; this write was not stored"
    if kind == "read_only":
        return (
            "this user cannot write it or its directory: SQLite writes the file and creates "
            f"{name}-wal and {name}-shm next to it, so both must be writable"
        )
    if kind == "cannot_open":
        return (
            "it cannot be opened: check that its directory exists, is a directory, and is "
            "writable by this user (SQLite creates -wal/-shm files next to the database)"
        )
    if kind == "locked":
        return (
            "another connection held a lock on it past the busy timeout: retry, or find the "
            "process holding it"
        )
    if kind == "io":
        return (
            "a disk I/O error: check the system log; keep SQLite files on a local disk, not "
            "on a network filesystem"
        )
    return "see the chained error"


def storage_error(exc: BaseException, *, path: str, store: str, recover: str) -> StorageError:
    """A :class:`StorageError` for ``exc`` raised while using ``path``. ``store`` names the
    store (``"sync store"``); ``recover`` says how to rebuild it after moving a damaged file
    aside (``"run a full sync to rebuild the copy"``)."""
    kind = storage_kind(exc)
    detail = f"{type(exc).__name__}: {exc}"
    message = f"{store} {path}: {detail}; {_advice(kind, path, recover)}"
    return StorageError(message, location=path, kind=kind)


class _Store(Protocol):
    @property
    def storage_errors(self) -> StorageErrors: ...


S = TypeVar("S", bound=_Store)
P = ParamSpec("P")
R = TypeVar("R")


class StorageErrors:
    """Turns ``sqlite3`` and OS errors about one file into :class:`StorageError`."""

    def __init__(self, path: str, *, store: str, recover: str) -> None:
        self.path = path
        self.store = store
        self.recover = recover

    def error(self, exc: BaseException) -> StorageError:
        return storage_error(exc, path=self.path, store=self.store, recover=self.recover)

    @contextmanager
    def __call__(self) -> Iterator[None]:
        try:
            yield
        except (sqlite3.Error, OSError) as exc:
            raise self.error(exc) from exc

    @staticmethod
    def wrap(method: Callable[Concatenate[S, P], R]) -> Callable[Concatenate[S, P], R]:
        """Decorate a method of a store that has a ``storage_errors`` attribute."""

        @functools.wraps(method)
        def wrapper(self: S, /, *args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return method(self, *args, **kwargs)
            except (sqlite3.Error, OSError) as exc:
                raise self.storage_errors.error(exc) from exc

        return wrapper


def secure_file(path: str) -> None:
    """Create ``path`` owner-only (0600) if it is missing; tighten it and its
    ``-wal``/``-shm``/``-journal`` files to 0600 if others may read them. Raises
    :class:`OSError` when the file cannot be created or opened."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, FILE_MODE)
    try:
        _tighten(path, fd)
    finally:
        os.close(fd)
    for suffix in _SIDE_FILES:
        side = path + suffix
        try:
            fd = os.open(side, os.O_RDONLY)
        except OSError:
            continue  # absent (the usual case), or not ours to open
        try:
            _tighten(side, fd)
        finally:
            os.close(fd)


def _tighten(path: str, fd: int) -> None:
    mode = stat.S_IMODE(os.fstat(fd).st_mode)
    if not mode & 0o077:
        return
    try:
        if hasattr(os, "fchmod"):
            os.fchmod(fd, FILE_MODE)
        else:  # pragma: no cover - Windows before 3.13
            os.chmod(path, FILE_MODE)
    except PermissionError:  # another user's file: say so, keep going
        logger.warning("maintainx_resilient: %s is readable by others (mode %o)", path, mode)


def connect_sqlite(
    path: str,
    *,
    busy_timeout: float = 30.0,
    synchronous: str = "NORMAL",
    page_size: int | None = None,
) -> sqlite3.Connection:
    """A connection to ``path`` in autocommit mode (transactions are explicit), WAL, waiting
    up to ``busy_timeout`` seconds for a lock. ``page_size`` takes on a new file only. The
    connection may be closed from another thread than the one that uses it."""
    conn = sqlite3.connect(
        path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
    )
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        if page_size is not None:
            conn.execute(f"PRAGMA page_size = {int(page_size)}")  # before WAL, or never
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute(f"PRAGMA synchronous = {synchronous}")
    except BaseException:
        conn.close()
        raise
    return conn


class ThreadConnections:
    """One connection per thread (and per ``slot``: a store may keep a reader and a writer)
    to one file, opened on first use by :func:`connect_sqlite`; :meth:`close` closes them all, from
    any thread. ``owner`` names the store in the error raised once it is closed."""

    def __init__(
        self,
        path: str,
        *,
        owner: str,
        busy_timeout: float = 30.0,
        page_size: int | None = None,
    ) -> None:
        self.path = path
        self.owner = owner
        self.busy_timeout = busy_timeout
        self.page_size = page_size
        self.closed = False
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()

    def get(self, slot: str = "conn", *, synchronous: str = "NORMAL") -> sqlite3.Connection:
        """This thread's connection of ``slot`` (``synchronous`` applies when it opens)."""
        conn: sqlite3.Connection | None = getattr(self._local, slot, None)
        if conn is not None:
            return conn
        if self._is_closed():
            raise RuntimeError(f"{self.owner} is closed")
        conn = connect_sqlite(
            self.path,
            busy_timeout=self.busy_timeout,
            synchronous=synchronous,
            page_size=self.page_size,
        )
        with self._lock:
            if self.closed:  # closed while this one opened: do not leak it
                conn.close()
                raise RuntimeError(f"{self.owner} is closed")
            self._all.append(conn)
        setattr(self._local, slot, conn)
        return conn

    def _is_closed(self) -> bool:
        with self._lock:
            return self.closed

    def close(self) -> None:
        """Close every connection opened so far, in every thread; no new one opens."""
        with self._lock:
            self.closed = True
            connections, self._all = self._all, []
        for conn in connections:
            conn.close()
        self._local = threading.local()


@contextmanager
def immediate(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """A ``BEGIN IMMEDIATE`` transaction (the write lock taken at once): committed when the
    block ends, rolled back when it raises (the block's error is the one that propagates)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            with contextlib.suppress(sqlite3.Error):  # keep the first error
                conn.execute("ROLLBACK")
        raise
