"""The simulator over a real socket: a threaded HTTP/1.1 server with keep-alive on 127.0.0.1.

Started in a background thread on a free port; ``stop()`` closes the listener and every open
connection (idle keep-alive ones included), so it returns promptly. A dropped-connection fault
closes the socket without answering; a hanging one keeps the connection silent until
``hang_seconds`` pass or the server stops.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlsplit

from ._messages import SimRequest, SimResponse

if TYPE_CHECKING:
    from ._simulator import Simulator

__all__ = ["SimulatorServer"]

_REASONS = {status.value: status.phrase for status in HTTPStatus}


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], simulator: Simulator) -> None:
        self.simulator = simulator
        self.stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        self.accepted = 0
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            if self.stopping.is_set():
                self.shutdown_request(request)
                return
            self._connections.add(request)
            self.accepted += 1
        super().process_request(request, client_address)

    def forget(self, connection: socket.socket) -> None:
        with self._connections_lock:
            self._connections.discard(connection)

    def close_connections(self) -> None:
        with self._connections_lock:
            connections = list(self._connections)
            self._connections.clear()
        for connection in connections:
            _close(connection)


def _close(connection: socket.socket) -> None:
    with contextlib.suppress(OSError):
        connection.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        connection.close()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _HTTPServer
    timeout = None

    def setup(self) -> None:
        super().setup()
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def handle(self) -> None:
        try:
            super().handle()
        except (ConnectionError, OSError, ValueError):
            self.close_connection = True  # the client went away, or stop() closed the socket

    def finish(self) -> None:
        with contextlib.suppress(OSError):
            super().finish()
        self.server.forget(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        """No per-request logging."""

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_PATCH = do_PUT = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _serve(self) -> None:
        simulator = self.server.simulator
        body = self._read_body()
        url = urlsplit(self.path)
        request = SimRequest(
            method=self.command,
            path=unquote(url.path),
            query=parse_qsl(url.query, keep_blank_values=True),
            headers={name.lower(): value for name, value in self.headers.items()},
            body=body,
        )
        response = simulator.handle(request)
        if response.delay > 0:
            simulator.sleep(response.delay)
        if response.action == "hang":
            self.server.stopping.wait(simulator.hang_seconds)
        if response.action != "respond":
            self.close_connection = True
            _close(self.connection)
            return
        self._send(response)

    def _send(self, response: SimResponse) -> None:
        reason = _REASONS.get(response.status, "Unknown")
        lines = [f"HTTP/1.1 {response.status} {reason}"]
        lines.extend(f"{name}: {value}" for name, value in response.headers.items())
        if response.status != 204 and response.status >= 200:
            lines.append(f"Content-Length: {len(response.body)}")
        if self.close_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        payload = b"" if self.command == "HEAD" or response.status == 204 else response.body
        self.wfile.write(head + payload)


class SimulatorServer:
    """A ``Simulator`` served on ``http://127.0.0.1:<free port>``; a context manager."""

    def __init__(self, simulator: Simulator, host: str = "127.0.0.1", port: int = 0) -> None:
        self.simulator = simulator
        self._address = (host, port)
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._accepted = 0
        self._port: int | None = None

    @property
    def host(self) -> str:
        return self._address[0]

    @property
    def port(self) -> int:
        """The bound port (still known after ``stop()``)."""
        if self._port is None:
            raise RuntimeError("the server was never started")
        return self._port

    @property
    def connections_accepted(self) -> int:
        """How many TCP connections the server has accepted (keep-alive reuses them)."""
        return self._httpd.accepted if self._httpd is not None else self._accepted

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``"""
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/v1``: what a MaintainX client uses as its base URL."""
        return f"{self.url}/v1"

    def start(self) -> SimulatorServer:
        """Bind and serve in a daemon thread; returns self."""
        if self._httpd is not None:
            return self
        httpd = _HTTPServer(self._address, self.simulator)
        self._httpd = httpd
        self._port = int(httpd.server_address[1])
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"maintainx-simulator-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close every connection; returns promptly."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self._accepted = httpd.accepted
        httpd.stopping.set()
        # shutdown() waits for the serve loop to wake up; a throwaway connection wakes it now
        # instead of at the next poll.
        stopper = threading.Thread(target=httpd.shutdown, daemon=True)
        stopper.start()
        with contextlib.suppress(OSError), socket.create_connection((self.host, self.port), 0.5):
            pass
        stopper.join()
        httpd.server_close()
        httpd.close_connections()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> SimulatorServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = self.url if self._httpd is not None else "stopped"
        return f"<SimulatorServer {state}>"
