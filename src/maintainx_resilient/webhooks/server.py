"""A small HTTP/1.1 server for an ASGI app, on asyncio streams: for tests, examples, demos
and benchmarks, so that they need no third-party server.

In production run :class:`~maintainx_resilient.webhooks.asgi.WebhookApp` under a real ASGI
server (uvicorn, hypercorn, granian...) or mount it in your framework.

``LocalServer(app).start()`` serves on ``127.0.0.1`` and a free port, in a background thread
with its own event loop; ``stop()`` closes the listener and every connection. Keep-alive,
``Content-Length`` and chunked request bodies are supported; nothing else HTTP/1.1 offers
(no pipelining, no ``Expect: 100-continue``, no TLS).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import MutableMapping
from http import HTTPStatus
from typing import Any
from urllib.parse import unquote

from .asgi import ASGIApp

__all__ = ["LocalServer"]

_REASONS = {status.value: status.phrase for status in HTTPStatus}
_MAX_BODY = 16 << 20
_MAX_HEADERS = 100


class _BadRequest(Exception):
    status = b"400 Bad Request"


class _TooLarge(_BadRequest):
    status = b"413 Content Too Large"


async def _read_body(reader: asyncio.StreamReader, headers: dict[str, str]) -> bytes:
    if "chunked" in headers.get("transfer-encoding", "").lower():
        chunks: list[bytes] = []
        size = 0
        while True:
            line = await reader.readline()
            try:
                length = int(line.split(b";")[0].strip() or b"0", 16)
            except ValueError:
                raise _BadRequest("bad chunk size") from None
            if length == 0:
                while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(chunks)
            size += length
            if size > _MAX_BODY:
                raise _TooLarge("body too large")
            chunks.append(await reader.readexactly(length))
            await reader.readline()
    declared = headers.get("content-length", "0").strip() or "0"
    if not declared.isdigit():
        raise _BadRequest("bad content-length")
    if int(declared) > _MAX_BODY:
        raise _TooLarge("body too large")
    length = int(declared)
    return await reader.readexactly(length) if length else b""


class LocalServer:
    """Serve an ASGI app on ``http://host:port`` from a background thread."""

    def __init__(self, app: ASGIApp, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app
        self.host = host
        self._port = port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.AbstractServer | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.requests = 0

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``"""
        return f"http://{self.host}:{self._port}"

    def start(self) -> LocalServer:
        """Bind and serve; returns once the socket listens."""
        if self._thread is not None:
            return self
        self._thread = threading.Thread(target=self._serve, name="maintainx-asgi", daemon=True)
        self._thread.start()
        self._ready.wait(10)
        if self._error is not None:
            raise RuntimeError(f"the server did not start: {self._error!r}") from self._error
        return self

    def _serve(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            self._server = loop.run_until_complete(
                asyncio.start_server(self._connection, self.host, self._port)
            )
            sockets = self._server.sockets
            self._port = int(sockets[0].getsockname()[1])
        except BaseException as exc:  # bind failure: report it to start()
            self._error = exc
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    def stop(self) -> None:
        """Close the listener and every connection, then stop the thread."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        if not loop.is_closed():
            future = asyncio.run_coroutine_threadsafe(self._shutdown(), loop)
            with contextlib.suppress(Exception):
                future.result(10)
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        self._thread = None
        self._loop = None

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
            for writer in list(self._writers):
                writer.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
        current = asyncio.current_task()
        tasks = [t for t in asyncio.all_tasks() if t is not current]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<LocalServer {self.url if self._thread else 'stopped'}>"

    # -- one connection ---------------------------------------------------------------------

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            while await self._one_request(reader, writer):
                pass
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        except _BadRequest as exc:
            with contextlib.suppress(ConnectionError):
                writer.write(b"HTTP/1.1 " + exc.status + b"\r\nContent-Length: 0\r\n\r\n")
                await writer.drain()
        finally:
            self._writers.discard(writer)
            writer.close()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await writer.wait_closed()

    async def _one_request(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        line = await reader.readline()
        if not line.strip():
            return False
        try:
            method, target, version = line.decode("latin-1").rstrip("\r\n").split(" ", 2)
        except ValueError:
            raise _BadRequest("bad request line") from None
        raw_headers: list[tuple[bytes, bytes]] = []
        headers: dict[str, str] = {}
        while True:
            header = await reader.readline()
            if header in (b"\r\n", b"\n", b""):
                break
            if len(raw_headers) >= _MAX_HEADERS:
                raise _BadRequest("too many headers")
            name, sep, value = header.decode("latin-1").partition(":")
            if not sep:
                raise _BadRequest("bad header")
            key, text = name.strip().lower(), value.strip()
            raw_headers.append((key.encode("latin-1"), text.encode("latin-1")))
            headers[key] = text
        body = await _read_body(reader, headers)
        path, _, query = target.partition("?")
        peer = writer.get_extra_info("peername") or ("127.0.0.1", 0)
        scope: dict[str, Any] = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": version.removeprefix("HTTP/") or "1.1",
            "method": method.upper(),
            "scheme": "http",
            "path": unquote(path),
            "raw_path": path.encode("latin-1"),
            "query_string": query.encode("latin-1"),
            "root_path": "",
            "headers": raw_headers,
            "client": (peer[0], peer[1]),
            "server": (self.host, self._port),
        }
        status = 500
        response_headers: list[tuple[bytes, bytes]] = []
        chunks: list[bytes] = []
        sent_body = False

        async def receive() -> MutableMapping[str, Any]:
            nonlocal sent_body
            if sent_body:
                return {"type": "http.disconnect"}
            sent_body = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: MutableMapping[str, Any]) -> None:
            nonlocal status, response_headers
            if message["type"] == "http.response.start":
                status = int(message["status"])
                response_headers = list(message.get("headers") or [])
            elif message["type"] == "http.response.body":
                chunks.append(bytes(message.get("body") or b""))

        await self.app(scope, receive, send)
        self.requests += 1
        payload = b"" if method.upper() == "HEAD" else b"".join(chunks)
        keep_alive = (
            headers.get("connection", "").lower() != "close" and version.upper() != "HTTP/1.0"
        )
        lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Unknown')}".encode("latin-1")]
        has_length = False
        for header_name, header_value in response_headers:
            if header_name.lower() == b"content-length":
                has_length = True
            lines.append(header_name + b": " + header_value)
        if not has_length:
            lines.append(b"content-length: " + str(len(payload)).encode())
        if not keep_alive:
            lines.append(b"connection: close")
        writer.write(b"\r\n".join(lines) + b"\r\n\r\n" + payload)
        await writer.drain()
        return keep_alive
