"""Small hostile HTTP servers on 127.0.0.1 for the bounds tests.

A :class:`HostileServer` accepts connections on a free port and answers every request with a
*behaviour*: a function that writes whatever it likes to the socket (a trickle, 300 MB, a
lie about the encoding...). Every wait inside a behaviour is on the server's stop event and
is capped at ``MAX_STALL`` seconds, and ``stop()`` shuts every socket down, so a test can
never hang on its server.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlsplit

#: The longest any behaviour keeps a connection busy.
MAX_STALL = 10.0


@dataclass
class Exchange:
    """One request as the behaviour sees it, and the socket to answer on."""

    sock: socket.socket
    method: str
    path: str
    query: dict[str, str]
    stop: threading.Event
    server: HostileServer
    sent: int = 0
    #: set by a behaviour that leaves the connection unusable (the server then closes it)
    close: bool = False

    def send(self, data: bytes) -> bool:
        """Write ``data``; False once the client has gone away."""
        try:
            self.sock.sendall(data)
        except OSError:
            return False
        self.sent += len(data)
        self.server.add_sent(len(data))
        return True

    def wait(self, seconds: float) -> bool:
        """Sleep (bounded); False when the server is stopping."""
        return not self.stop.wait(min(seconds, MAX_STALL))

    def trickle(self, data: bytes, every: float) -> bool:
        """Send ``data`` one byte at a time, ``every`` seconds apart."""
        return all(self.wait(every) and self.send(bytes([byte])) for byte in data)


Behaviour = Callable[[Exchange], None]


def head(
    status: int = 200, headers: dict[str, str] | None = None, length: int | None = None
) -> bytes:
    lines = [f"HTTP/1.1 {status} X"]
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    if length is not None:
        all_headers["Content-Length"] = str(length)
    lines += [f"{k}: {v}" for k, v in all_headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def answer(
    status: int = 200, body: bytes | Any = b"", headers: dict[str, str] | None = None
) -> bytes:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return head(status, headers, len(raw)) + raw


def page(key: str = "organizations", items: int = 0, cursor: str | None = None) -> bytes:
    records = [{"id": i + 1, "name": f"org {i + 1}"} for i in range(items)]
    return json.dumps({key: records, "nextCursor": cursor}).encode()


# ---- behaviours ------------------------------------------------------------------------------


def respond(status: int = 200, body: Any = b"", headers: dict[str, str] | None = None) -> Behaviour:
    message = answer(status, body, headers)

    def behave(ex: Exchange) -> None:
        ex.send(message)

    return behave


def trickle_all(body: bytes | None = None, every: float = 0.25) -> Behaviour:
    """Headers and body one byte at a time: each read gets a byte long before its timeout."""
    message = answer(200, body if body is not None else page())

    def behave(ex: Exchange) -> None:
        ex.trickle(message, every)

    return behave


def trickle_body(body: bytes | None = None, every: float = 0.25) -> Behaviour:
    """Headers at once, then the body one byte at a time."""
    raw = body if body is not None else page()

    def behave(ex: Exchange) -> None:
        if ex.send(head(200, length=len(raw))):
            ex.trickle(raw, every)

    return behave


def endless(total: int, *, chunked: bool = False, declare: bool = True) -> Behaviour:
    """``total`` bytes of a JSON string, as fast as the client reads them."""

    def behave(ex: Exchange) -> None:
        block = b"x" * 65536
        if chunked:
            start = head(200, {"Transfer-Encoding": "chunked"})
        else:
            start = head(200, length=total + 2 if declare else None)
        if not ex.send(start + (b"" if chunked else b'"')):
            return
        left = total
        while left > 0 and not ex.stop.is_set():
            piece = block[: min(left, len(block))]
            data = b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece
            if not ex.send(data):
                return
            left -= len(piece)
        ex.send(b"0\r\n\r\n" if chunked else b'"')

    return behave


def gzip_lie(body: bytes | None = None, status: int = 200) -> Behaviour:
    """``Content-Encoding: gzip`` on a body that is not compressed."""
    return respond(status, body if body is not None else page(), {"Content-Encoding": "gzip"})


def gzipped(body: bytes, status: int = 200) -> Behaviour:
    return respond(status, gzip.compress(body), {"Content-Encoding": "gzip"})


def deep_json(depth: int = 100_000, status: int = 200) -> Behaviour:
    """A JSON array nested ``depth`` levels deep."""
    return respond(status, b"[" * depth + b"]" * depth)


def cursor_cycle(key: str = "organizations", loop: tuple[str, ...] = ("A", "B")) -> Behaviour:
    """A list whose nextCursor goes first -> A -> B -> A -> ... forever."""

    def behave(ex: Exchange) -> None:
        cursor = ex.query.get("cursor", "")
        nxt = loop[0] if cursor not in loop else loop[(loop.index(cursor) + 1) % len(loop)]
        ex.send(answer(200, page(key, 1, nxt)))

    return behave


def _closing(data: bytes | None) -> Behaviour:
    """Send ``data`` (or stay silent, when None) and leave the connection unusable."""

    def behave(ex: Exchange) -> None:
        ex.close = True
        if data is None:
            ex.wait(MAX_STALL)
        else:
            ex.send(data)

    return behave


def drop_mid_body() -> Behaviour:
    """Promise 1000 bytes, send 10, close."""
    return _closing(head(200, length=1000) + b'{"organiza')


def hang() -> Behaviour:
    """Read the request and say nothing."""
    return _closing(None)


def garbage() -> Behaviour:
    """Not HTTP at all."""
    return _closing(b"SSH-2.0-OpenSSH_9.6\r\n\r\n")


def html_502() -> Behaviour:
    page_ = b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
    return respond(502, page_, {"Content-Type": "text/html"})


# ---- the server ------------------------------------------------------------------------------


@dataclass
class HostileServer:
    """Serves ``behaviour`` on ``http://127.0.0.1:<port>``; a context manager."""

    behaviour: Behaviour
    requests: list[str] = field(default_factory=list)
    sent: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _socks: set[socket.socket] = field(default_factory=set)
    _threads: list[threading.Thread] = field(default_factory=list)
    _listener: socket.socket | None = None

    @property
    def url(self) -> str:
        assert self._listener is not None
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}"

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    def add_sent(self, n: int) -> None:
        with self._lock:
            self.sent += n

    def start(self) -> HostileServer:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        self._listener = listener
        self._spawn(self._accept)
        return self

    def _spawn(self, target: Callable[..., None], *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept(self) -> None:
        assert self._listener is not None
        while not self._stop.is_set():
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self._socks.add(sock)
            self._spawn(self._serve, sock)

    def _serve(self, sock: socket.socket) -> None:
        with contextlib.suppress(OSError), sock:
            for method, target in _requests(sock, self._stop):
                url = urlsplit(target)
                with self._lock:
                    self.requests.append(f"{method} {target}")
                exchange = Exchange(
                    sock, method, url.path, dict(parse_qsl(url.query)), self._stop, self
                )
                self.behaviour(exchange)
                if exchange.close or exchange.stop.is_set():
                    break
        with self._lock:
            self._socks.discard(sock)

    def stop(self) -> None:
        self._stop.set()
        if self._listener is not None:
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)  # wakes accept() (close does not)
            with contextlib.suppress(OSError):
                self._listener.close()
        with self._lock:
            socks = list(self._socks)
        for sock in socks:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                sock.close()
        for thread in self._threads:
            thread.join(timeout=MAX_STALL)

    def __enter__(self) -> HostileServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _requests(sock: socket.socket, stop: threading.Event) -> Iterator[tuple[str, str]]:
    """Each request's method and target, until the client closes (keep-alive aware)."""
    buffer = b""
    sock.settimeout(MAX_STALL)
    while not stop.is_set():
        while b"\r\n\r\n" not in buffer:
            data = sock.recv(65536)
            if not data:
                return
            buffer += data
        header, _, buffer = buffer.partition(b"\r\n\r\n")
        lines = header.decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ", 2)
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value.strip())
        while len(buffer) < length:
            data = sock.recv(65536)
            if not data:
                return
            buffer += data
        buffer = buffer[length:]
        yield method, target
