"""The innermost layer: send over httpx, read the whole body within bounds, map httpx errors.

Reading the body here means every network failure, including one in the middle of a body,
surfaces inside the pipeline, where the retry and breaker layers can see it, and always as
one of the library's own exceptions (:class:`~maintainx_resilient.ConnectionError`,
:class:`~maintainx_resilient.TimeoutError`). ``sent`` / ``phase`` on those errors tell the
retry layer whether a POST could have reached the server.

Nothing a server sends can hold this layer longer than the call's deadline or make it hold
more than ``max_response_bytes`` (:mod:`._deadline`, :mod:`._body`):

- every phase's timeout is cut to what is left of the deadline, the deadline is checked
  between body chunks, and :data:`~._deadline.CURRENT_DEADLINE` lets the default network
  transport bound each socket wait by it (:mod:`._net`);
- the body is streamed and counted; past the cap, reading stops with
  :class:`~maintainx_resilient.ResponseTooLargeError`;
- a body its ``Content-Encoding`` cannot decode is a
  :class:`~maintainx_resilient.DecodeError`, like any other garbage from a server.

The response handed up is fully read; when it had a ``Content-Encoding`` that header is
removed and ``Content-Length`` is the decoded length (nothing above decodes it again).
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator

import httpx

from ._body import DEFAULT_MAX_RESPONSE_BYTES, BodyReader, BodyTooLarge, BodyUndecodable
from ._deadline import CURRENT_DEADLINE, Deadline, deadline_of
from ._exceptions import (
    ConnectionError,
    DecodeError,
    MaintainXError,
    ResponseTooLargeError,
    TimeoutError,
    TransportError,
)
from ._extensions import BASE_EXTENSION, ROUTE_EXTENSION
from ._headers import HeaderNames, pick

__all__ = ["AsyncHTTPLayer", "HTTPLayer", "map_transport_error"]

_TIMEOUT_PHASES: tuple[tuple[type[httpx.TimeoutException], str], ...] = (
    (httpx.ConnectTimeout, "connect"),
    (httpx.PoolTimeout, "pool"),
    (httpx.WriteTimeout, "write"),
    (httpx.ReadTimeout, "read"),
)
#: A timeout this close to the deadline is the deadline's doing (socket timers are coarse).
_DEADLINE_SLACK = 0.02
#: Headers that describe an encoded body as it was on the wire, not as it is handed up.
_WIRE_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding"})
_NO_BODY_STATUSES = frozenset({204, 304})
_BODY_HEADERS = HeaderNames(["Content-Encoding", "Content-Length"])
_PHASES = ("connect", "read", "write", "pool")


def route_of(request: httpx.Request) -> str:
    route = request.extensions.get(ROUTE_EXTENSION)
    return route if isinstance(route, str) else request.url.path


def origin_of(request: httpx.Request) -> str:
    """``scheme://host[:port]`` of the request URL (from the client's base URL when the
    client stamped it: the same origin, worked out once per base)."""
    base = request.extensions.get(BASE_EXTENSION)
    if isinstance(base, str):
        return base_parts(base)[0]
    url = request.url
    return f"{url.scheme}://{url.netloc.decode('ascii')}"


@functools.lru_cache(maxsize=64)
def base_parts(base: str) -> tuple[str, tuple[str, ...]]:
    """The origin of a base URL and the decoded, non-empty segments of its path (a client
    has one base URL: this runs once per client, not per request)."""
    url = httpx.URL(base)
    origin = f"{url.scheme}://{url.netloc.decode('ascii')}"
    return origin, tuple(s for s in url.path.split("/") if s)


def map_transport_error(exc: httpx.TransportError, request: httpx.Request) -> MaintainXError:
    """The library's error for an httpx transport failure (never includes headers)."""
    method, path = request.method, request.url.path
    if isinstance(exc, httpx.TimeoutException):
        phase = next((p for cls, p in _TIMEOUT_PHASES if isinstance(exc, cls)), "read")
        deadline = deadline_of(request)
        if deadline is not None and deadline.left() <= _DEADLINE_SLACK:
            return deadline.exceeded(request, phase)
        return TimeoutError(f"{phase} timeout", method=method, path=path, phase=phase)
    text = type(exc).__name__ + (f": {exc}" if str(exc) else "")
    if isinstance(exc, httpx.ConnectError):
        return ConnectionError(f"could not connect ({text})", method=method, path=path, sent=False)
    if isinstance(exc, httpx.UnsupportedProtocol):
        return TransportError(f"unsupported URL ({text})", method=method, path=path)
    # ReadError, WriteError, RemoteProtocolError, ProxyError...: the request may have left.
    return ConnectionError(f"connection failed ({text})", method=method, path=path, sent=True)


def _start(request: httpx.Request, deadline: Deadline | None) -> None:
    """Cut every phase's timeout to what is left of the deadline (or fail: none is left)."""
    if deadline is None:
        return
    left = deadline.left()
    if left <= 0:
        raise deadline.exceeded(request, "pool")
    given = request.extensions.get("timeout")
    timeouts = given if isinstance(given, dict) else {}
    request.extensions["timeout"] = {
        phase: left if (t := timeouts.get(phase)) is None else min(t, left) for phase in _PHASES
    }


def _body_headers(headers: httpx.Headers) -> tuple[str | None, str | None]:
    """``Content-Encoding`` and ``Content-Length``, read in one pass over the headers."""
    found = pick(headers, _BODY_HEADERS)
    return found.get("content-encoding"), found.get("content-length")


def _reader(
    response: httpx.Response,
    encoding: str | None,
    length: str | None,
    limit: int,
    request: httpx.Request,
) -> BodyReader:
    has_body = request.method != "HEAD" and response.status_code not in _NO_BODY_STATUSES
    try:
        return BodyReader(limit, encoding, length if has_body else None)
    except BodyTooLarge as exc:
        raise _too_large(exc, limit, request, response) from None


def _too_large(
    exc: BodyTooLarge, limit: int, request: httpx.Request, response: httpx.Response
) -> ResponseTooLargeError:
    how = f"declares a {exc.seen}-byte body" if exc.declared else f"body passed {limit} bytes"
    return ResponseTooLargeError(
        f"the response {how}, over the client's max_response_bytes={limit}; reading "
        "stopped (raise it with MaintainXClient(max_response_bytes=...) if such answers "
        "are expected)",
        method=request.method,
        path=request.url.path,
        status_code=response.status_code,
        request_id=response.headers.get("x-request-id"),
        limit=limit,
    )


def _undecodable(
    exc: Exception,
    reader: BodyReader | None,
    request: httpx.Request,
    response: httpx.Response | None,
) -> DecodeError:
    """The error for a body its ``Content-Encoding`` cannot decode (``response`` is None when
    a transport that decodes by itself raised ``httpx.DecodingError``)."""
    if response is None:
        return DecodeError(
            f"response body could not be decoded ({exc})",
            method=request.method,
            path=request.url.path,
        )
    encoding = response.headers.get("content-encoding", "none")
    excerpt = reader.excerpt.decode("utf-8", errors="replace") if reader else ""
    return DecodeError(
        f"response body is not valid {encoding} ({exc})",
        method=request.method,
        path=request.url.path,
        status_code=response.status_code,
        body_excerpt=" ".join(excerpt.split()),
        request_id=response.headers.get("x-request-id"),
    )


def _finished(response: httpx.Response, reader: BodyReader, encoded: bool) -> httpx.Response:
    """``response``, read: it carries the decoded body. Its headers are the wire's, except
    that one that had a ``Content-Encoding`` (``encoded``: decoded here, or left as it was:
    no decoding is left to do) loses it, and its ``Content-Length`` becomes the decoded
    length."""
    body = reader.finish()
    if encoded:
        headers = response.headers
        for name in _WIRE_HEADERS:
            if name in headers:
                del headers[name]
        headers["content-length"] = str(len(body))
    # httpx keeps a read body in ``_content`` (``Response.read`` fills it, ``.content``
    # returns it). Setting it here rather than building a second Response around the
    # bytes saves about 9 us a request (httpx < 1 is pinned; the tests read ``.content``).
    response._content = body
    return response


def _already_read(response: httpx.Response, limit: int, request: httpx.Request) -> httpx.Response:
    """A response whose body is already in memory (mock and in-process transports)."""
    if len(response.content) > limit:
        exc = BodyTooLarge(len(response.content), declared=False)
        raise _too_large(exc, limit, request, response)
    return response


def _check(deadline: Deadline | None, request: httpx.Request) -> None:
    if deadline is not None and deadline.left() <= 0:
        raise deadline.exceeded(request, "read")


class HTTPLayer(httpx.BaseTransport):
    """Sends with the wrapped transport and returns a fully read, bounded response."""

    def __init__(
        self,
        transport: httpx.BaseTransport,
        *,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    ) -> None:
        self.transport = transport
        self.max_response_bytes = max_response_bytes

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        deadline = deadline_of(request)
        token = CURRENT_DEADLINE.set(deadline)
        try:
            _start(request, deadline)
            return self._send(request, deadline)
        finally:
            CURRENT_DEADLINE.reset(token)

    def _send(self, request: httpx.Request, deadline: Deadline | None) -> httpx.Response:
        limit = self.max_response_bytes
        reader: BodyReader | None = None
        response: httpx.Response | None = None
        try:
            response = self.transport.handle_request(request)
            try:
                if response.is_stream_consumed:
                    _check(deadline, request)
                    return _already_read(response, limit, request)
                encoding, length = _body_headers(response.headers)
                reader = _reader(response, encoding, length, limit, request)
                for chunk in response.iter_raw():
                    reader.feed(chunk)
                    _check(deadline, request)
                return _finished(response, reader, encoding is not None)
            finally:
                response.close()
        except httpx.TransportError as exc:
            raise map_transport_error(exc, request) from exc
        except (BodyUndecodable, httpx.DecodingError) as exc:
            raise _undecodable(exc, reader, request, response) from None
        except BodyTooLarge as exc:
            assert response is not None
            raise _too_large(exc, limit, request, response) from None

    def close(self) -> None:
        self.transport.close()


class AsyncHTTPLayer(httpx.AsyncBaseTransport):
    """The async twin of :class:`HTTPLayer`."""

    def __init__(
        self,
        transport: httpx.AsyncBaseTransport,
        *,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    ) -> None:
        self.transport = transport
        self.max_response_bytes = max_response_bytes

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        deadline = deadline_of(request)
        token = CURRENT_DEADLINE.set(deadline)
        try:
            _start(request, deadline)
            return await self._send(request, deadline)
        finally:
            CURRENT_DEADLINE.reset(token)

    async def _send(self, request: httpx.Request, deadline: Deadline | None) -> httpx.Response:
        limit = self.max_response_bytes
        reader: BodyReader | None = None
        response: httpx.Response | None = None
        try:
            response = await self.transport.handle_async_request(request)
            try:
                if response.is_stream_consumed:
                    _check(deadline, request)
                    return _already_read(response, limit, request)
                encoding, length = _body_headers(response.headers)
                reader = _reader(response, encoding, length, limit, request)
                chunks: AsyncIterator[bytes] = response.aiter_raw()
                async for chunk in chunks:
                    reader.feed(chunk)
                    _check(deadline, request)
                return _finished(response, reader, encoding is not None)
            finally:
                await response.aclose()
        except httpx.TransportError as exc:
            raise map_transport_error(exc, request) from exc
        except (BodyUndecodable, httpx.DecodingError) as exc:
            raise _undecodable(exc, reader, request, response) from None
        except BodyTooLarge as exc:
            assert response is not None
            raise _too_large(exc, limit, request, response) from None

    async def aclose(self) -> None:
        await self.transport.aclose()
