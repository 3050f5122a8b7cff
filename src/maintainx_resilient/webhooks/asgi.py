"""The receiver as an ASGI application, mountable in any ASGI framework.

::

    app = WebhookApp(receiver)                       # serves /webhooks/maintainx[/<route>]
                                                     # and /webhooks/maintainx/health
    # Starlette / FastAPI:
    #     api.mount("/webhooks/maintainx", app)       # or any other mount point

Mounted at the receiver's prefix, at the root, or below any other path (the path after the
mount point is then taken relative to the prefix), the same routes answer. The URI signature
is checked against the URL the request really arrived at (scheme, ``Host`` header, full path
and query), the subscription's registered URL, and ``public_url`` when set.

Lifespan events are acknowledged (starting and stopping the receiver is the application's
business). Non-HTTP scopes (websockets) are refused. A body larger than the receiver's
``max_body`` is answered 413 as soon as it is known to be: from its ``Content-Length``, or
while a chunked body is read (reading stops there; nothing of it is verified or kept).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from .receiver import WebhookReceiver, WebhookResponse, _response

__all__ = ["ASGIApp", "WebhookApp", "create_app"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def _host(scope: Scope, headers: dict[str, str]) -> str:
    host = headers.get("host")
    if host:
        return host
    server = scope.get("server")
    if server:
        name, port = server[0], server[1]
        default = 443 if scope.get("scheme") == "https" else 80
        return name if port in (None, default) else f"{name}:{port}"
    return "localhost"


_TOO_LARGE = _response(413, {"error": "payload too large"}, "body_too_large")


class _BodyTooLarge(Exception):
    """The body passed the receiver's ``max_body`` while it was read."""


class WebhookApp:
    """ASGI 3 application around a :class:`~maintainx_resilient.webhooks.WebhookReceiver`."""

    def __init__(self, receiver: WebhookReceiver) -> None:
        self.receiver = receiver

    def __repr__(self) -> str:
        return f"WebhookApp({self.receiver!r})"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope.get("type")
        if kind == "lifespan":
            await self._lifespan(receive, send)
            return
        if kind != "http":
            if kind == "websocket":
                await send({"type": "websocket.close", "code": 1000})
            return
        headers: dict[str, str] = {}
        for raw_name, raw_value in scope.get("headers") or ():
            name = raw_name.decode("latin-1").lower()
            value = raw_value.decode("latin-1")
            headers[name] = f"{headers[name]},{value}" if name in headers else value
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.receiver.max_body:
            await self._send(send, _TOO_LARGE)
            return
        try:
            body = await self._read_body(receive)
        except _BodyTooLarge:
            await self._send(send, _TOO_LARGE)
            return
        if body is None:
            return  # the client went away
        path: str = scope.get("path") or "/"
        root: str = scope.get("root_path") or ""
        full = path if not root or path.startswith(root) else root + path
        route_path = full
        if root and self.receiver.relative_path(full) is None:
            inner = full[len(root) :]
            route_path = self.receiver.prefix + ("" if inner in ("", "/") else inner)
        query = scope.get("query_string") or b""
        url = f"{scope.get('scheme', 'http')}://{_host(scope, headers)}{full}"
        if query:
            url += "?" + query.decode("latin-1")
        response = await self.receiver.ahandle(
            scope.get("method", "GET"), url, headers, body, route_path=route_path
        )
        await self._send(send, response)

    async def _read_body(self, receive: Receive) -> bytes | None:
        """The whole body; None if the client went away; :class:`_BodyTooLarge` as soon as
        it passes ``max_body`` (the rest is not read)."""
        chunks: list[bytes] = []
        size = 0
        limit = self.receiver.max_body
        while True:
            message = await receive()
            if message.get("type") == "http.disconnect":
                return None
            chunk = message.get("body") or b""
            size += len(chunk)
            if size > limit:
                raise _BodyTooLarge
            chunks.append(chunk)
            if not message.get("more_body"):
                break
        return b"".join(chunks)

    @staticmethod
    async def _send(send: Send, response: WebhookResponse) -> None:
        headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers]
        headers.append((b"content-length", str(len(response.body)).encode()))
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        await send({"type": "http.response.body", "body": response.body})

    @staticmethod
    async def _lifespan(receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message.get("type") == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message.get("type") == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return


def create_app(receiver: WebhookReceiver) -> WebhookApp:
    """``WebhookApp(receiver)``."""
    return WebhookApp(receiver)
