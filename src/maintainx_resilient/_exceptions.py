"""The one exception tree of maintainx-resilient.

Every error the library raises is a :class:`MaintainXError`::

    MaintainXError
    ├── ConfigurationError            bad or missing settings (raised at construction), or a
    │                                 call argument refused before sending (``limit=500``, an
    │                                 id that is not an integer); also a ``ValueError``
    ├── ClientClosedError             a call on a client after ``close()``; also a
    │                                 ``RuntimeError`` (httpx's error here before)
    ├── TransportError                the request never produced an HTTP response
    │   ├── ConnectionError           DNS, refused, reset, TLS; ``sent`` says if it left
    │   └── TimeoutError              connect / read / write / pool timeout
    │       └── DeadlineExceededError the call's total deadline passed (a trickling server)
    ├── ResponseError                 a response arrived but is not what the API promises
    │   ├── DecodeError               non-JSON (HTML proxy pages), truncated, ill-typed or
    │   │                             too deeply nested JSON; a body its encoding cannot decode
    │   ├── ResponseTooLargeError     the body passed ``max_response_bytes`` (not all read)
    │   └── CursorCycleError          a list walk was handed a cursor it had already followed
    ├── CircuitOpenError              the breaker is open: failed fast, ``retry_after`` says when
    ├── FallbackModeError             fallback mode is on and this call cannot be served locally
    ├── StorageError                  a local store (SQLite file, Redis) cannot be used:
    │                                 ``location`` says which, ``kind`` what, the message what to do
    ├── APIStatusError                the API answered with a non-2xx status
    │   ├── BadRequestError           400 (shape A: ``errors[]`` with field paths)
    │   ├── AuthenticationError       401 (bad, revoked or missing key)
    │   ├── PermissionDeniedError     403
    │   ├── NotFoundError             404
    │   ├── ConflictError             409
    │   ├── PayloadTooLargeError      413
    │   ├── RateLimitError            429 (``retry_after`` when known)
    │   │   └── ThrottledError        refused locally: the wait would pass the caller's deadline
    │   └── ServerError               5xx

``ConnectionError`` and ``TimeoutError`` are also the built-in exceptions of those names (and
so ``OSError``): code that catches the built-ins catches ours. The last real error reaches the
caller; retry layers attach ``attempts`` and ``waited``
to it rather than wrapping it. No exception carries an API key: messages are built from the
method, path, status and the server's own error messages only.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from typing import Any, TypeAlias

#: A JSON value as Python holds it (what an error body or a raw call's answer decodes to).
JSONValue: TypeAlias = "dict[str, JSONValue] | list[JSONValue] | str | int | float | bool | None"

__all__ = [
    "APIStatusError",
    "AuthenticationError",
    "BadRequestError",
    "CircuitOpenError",
    "ClientClosedError",
    "ConfigurationError",
    "ConflictError",
    "ConnectionError",
    "CursorCycleError",
    "DeadlineExceededError",
    "DecodeError",
    "ErrorDetail",
    "FallbackModeError",
    "JSONValue",
    "MaintainXError",
    "NotFoundError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "RateLimitError",
    "ResponseError",
    "ResponseTooLargeError",
    "ServerError",
    "StorageError",
    "ThrottledError",
    "TimeoutError",
    "TransportError",
]


@dataclass(frozen=True)
class ErrorDetail:
    """One message from a MaintainX error body.

    Shape A (``{"errors": [{"error", "fieldPath", "fieldValue"}]}``) gives one detail per
    entry; shape B (``{"error": "..."}``) gives a single detail with no field path.
    """

    message: str
    field_path: str | None = None
    field_value: JSONValue = None


class MaintainXError(Exception):
    """Base class of every error raised by maintainx-resilient."""

    #: How many attempts were made before this error was raised (set by the retry layer).
    attempts: int = 1
    #: Seconds spent waiting between attempts (set by the retry layer).
    waited: float = 0.0


class ConfigurationError(MaintainXError, ValueError):
    """A setting is missing or invalid, or a call's argument is (refused before anything is
    sent). The message says how to fix it."""


class ClientClosedError(MaintainXError, RuntimeError):
    """A call on a client that was closed (``close()``, ``aclose()`` or the end of its
    ``with`` block): nothing was sent. Make a new client."""


class _RequestError(MaintainXError):
    """An error tied to one request (method and path, never headers)."""

    def __init__(self, message: str, *, method: str = "", path: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.method = method
        self.path = path

    def __str__(self) -> str:
        where = f"{self.method} {self.path}: " if self.method else ""
        return f"{where}{self.message}"


class TransportError(_RequestError):
    """No HTTP response was received."""


class ConnectionError(TransportError, builtins.ConnectionError):
    """The connection failed.

    Also a built-in :class:`ConnectionError` (so an ``OSError``): ``except ConnectionError``
    without our import catches it too. ``sent`` is False when the request provably never
    reached the server (a connect failure), which is what makes retrying a non-idempotent
    POST safe.
    """

    def __init__(self, message: str, *, method: str = "", path: str = "", sent: bool) -> None:
        super().__init__(message, method=method, path=path)
        self.sent = sent


class TimeoutError(TransportError, builtins.TimeoutError):
    """The request timed out. ``phase`` is ``connect``, ``read``, ``write`` or ``pool``.

    Also a built-in :class:`TimeoutError` (so an ``OSError``, and from Python 3.11 what
    ``asyncio.TimeoutError`` names): ``except TimeoutError`` without our import catches it.
    """

    def __init__(self, message: str, *, method: str = "", path: str = "", phase: str) -> None:
        super().__init__(message, method=method, path=path)
        self.phase = phase

    @property
    def sent(self) -> bool:
        """False when the request cannot have reached the server."""
        return self.phase not in ("connect", "pool")


class DeadlineExceededError(TimeoutError):
    """The call's total deadline (client keyword ``deadline``) passed.

    It bounds everything one call does: waiting for a rate-limit slot, connecting, every
    read of the answer (a server trickling one byte a second cannot stretch it) and every
    retry. ``deadline`` is the total in seconds; ``phase`` is what was running when it
    passed (``pool`` when nothing had been sent yet).
    """

    def __init__(
        self, message: str, *, method: str = "", path: str = "", phase: str, deadline: float
    ) -> None:
        super().__init__(message, method=method, path=path, phase=phase)
        self.deadline = deadline


class ResponseError(_RequestError):
    """A response arrived but could not be understood."""

    def __init__(
        self,
        message: str,
        *,
        method: str = "",
        path: str = "",
        status_code: int | None = None,
        body_excerpt: str = "",
        request_id: str | None = None,
    ) -> None:
        super().__init__(message, method=method, path=path)
        self.status_code = status_code
        self.body_excerpt = body_excerpt
        self.request_id = request_id


class DecodeError(ResponseError):
    """The body is not the JSON the API documents (HTML error page, truncated, wrong types)."""


class ResponseTooLargeError(ResponseError):
    """The body passed the client's ``max_response_bytes``; reading stopped there.

    ``limit`` is the cap in bytes (after decompression). Raise it with the client keyword
    ``max_response_bytes=`` when such answers are expected (they are not, from MaintainX).
    """

    def __init__(self, message: str, *, limit: int, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.limit = limit


class CursorCycleError(ResponseError):
    """Following ``nextCursor`` led back to a cursor this walk had already followed.

    Without this check a server bug (A -> B -> A) would be followed until the server stops.
    ``cursor`` is the repeated cursor (shortened when long); ``pages`` is how many pages the
    walk had read when it saw it. Records already yielded are correct; the rest are missing.
    """

    def __init__(self, message: str, *, cursor: str, pages: int, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.cursor = cursor
        self.pages = pages


class APIStatusError(_RequestError):
    """MaintainX answered with a non-success status.

    ``errors`` holds every message of the body (both MaintainX error shapes are parsed);
    ``body`` is the decoded JSON body, or None when it was not JSON.
    """

    status_code: int = 0

    def __init__(
        self,
        message: str,
        *,
        method: str = "",
        path: str = "",
        status_code: int,
        errors: tuple[ErrorDetail, ...] = (),
        body: JSONValue = None,
        request_id: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message, method=method, path=path)
        self.status_code = status_code
        self.errors = errors
        self.body = body
        self.request_id = request_id
        #: Response headers worth keeping (rate limit, retry-after, request id). Never auth.
        self.headers = headers or {}

    @property
    def field_paths(self) -> tuple[str, ...]:
        """The ``fieldPath`` of every shape-A error that has one."""
        return tuple(e.field_path for e in self.errors if e.field_path)

    def __str__(self) -> str:
        rid = f" (request id {self.request_id})" if self.request_id else ""
        return f"{self.method} {self.path} -> {self.status_code}: {self.message}{rid}"


class BadRequestError(APIStatusError):
    """400: the request was rejected; see ``errors`` and ``field_paths``."""


class AuthenticationError(APIStatusError):
    """401: the API key is missing, invalid or revoked."""


class PermissionDeniedError(APIStatusError):
    """403: the key's user may not do this."""


class NotFoundError(APIStatusError):
    """404: no such record (or not visible to this organization)."""


class ConflictError(APIStatusError):
    """409: the request conflicts with the current state."""


class PayloadTooLargeError(APIStatusError):
    """413: the request body is too large."""


class RateLimitError(APIStatusError):
    """429, or a request the throttle refused to send.

    ``retry_after`` is the number of seconds after which a retry may succeed, when known.
    """

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ThrottledError(RateLimitError):
    """The throttle refused to send: waiting for the rate limit would pass the deadline.

    Nothing was sent. ``retry_after`` is how long the wait would have been. It is a
    :class:`RateLimitError` (``status_code`` 429) so that code handling MaintainX's 429s
    handles it too, but its message does not claim an answer came.
    """

    def __str__(self) -> str:
        where = f"{self.method} {self.path}: " if self.method else ""
        return f"{where}not sent (client-side throttle): {self.message}"


class CircuitOpenError(_RequestError):
    """The circuit breaker for ``scope`` is open; the call failed fast without sending.

    ``retry_after`` is the number of seconds until the breaker lets a probe through.
    """

    def __init__(
        self, message: str, *, scope: str, retry_after: float, method: str = "", path: str = ""
    ) -> None:
        super().__init__(message, method=method, path=path)
        self.scope = scope
        self.retry_after = retry_after


class FallbackModeError(_RequestError):
    """Fallback mode is on and this call cannot be answered from the cache.

    Writes always raise it in fallback mode (nothing is sent); reads raise it when the cache
    has no entry, or none younger than ``max_stale``.
    """


class StorageError(MaintainXError):
    """A local store cannot be used: the sync store's or the webhook queue's SQLite file
    (damaged, disk full, read-only, locked), or the Redis server behind a queue (down,
    hanging).

    ``location`` names it (a file path, or a Redis address without credentials); ``kind`` is
    one of :data:`STORAGE_KINDS`; the message says what to do. The original error (from
    ``sqlite3``, the OS or ``redis``) is chained as ``__cause__``.
    """

    def __init__(self, message: str, *, location: str, kind: str) -> None:
        super().__init__(message)
        self.location = location
        self.kind = kind


#: The values of :attr:`StorageError.kind`.
STORAGE_KINDS = (
    "corrupt",  # not a SQLite database, or damaged pages
    "disk_full",  # no space left (or quota)
    "read_only",  # the file or its directory cannot be written by this user
    "cannot_open",  # missing or unusable directory, a path under a regular file...
    "locked",  # another connection held the lock past the busy timeout
    "io",  # a disk I/O error
    "unavailable",  # the server (Redis) refused or dropped the connection
    "timeout",  # the server (Redis) did not answer in time
    "error",  # anything else the store reported
)


class ServerError(APIStatusError):
    """5xx: MaintainX (or a proxy in front of it) failed."""


_STATUS_CLASSES: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    413: PayloadTooLargeError,
    429: RateLimitError,
}


def status_error_class(status_code: int) -> type[APIStatusError]:
    """The exception class for an HTTP status code."""
    if status_code >= 500:
        return ServerError
    return _STATUS_CLASSES.get(status_code, APIStatusError)


#: Errors of calls refused without being sent (the client reports them as ``RequestRefused``).
REFUSALS = (CircuitOpenError, ThrottledError, FallbackModeError)
