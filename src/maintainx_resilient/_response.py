"""Turning an ``httpx.Response`` into a result or a typed error. Pure: no I/O.

Both MaintainX error shapes are understood:

- shape A: ``{"errors": [{"error": str, "fieldPath": str|null, "fieldValue": any}]}``
- shape B: ``{"error": str}``

and so is anything else a proxy may put in front of the API (HTML pages, empty bodies,
truncated JSON, JSON nested deeper than a parser should follow): those become
:class:`~maintainx_resilient.DecodeError` (on a 2xx) or the status's own error class with the
body excerpt as the message. Every body is parsed by pydantic-core, whose depth limit (about
200 levels) turns a hostile ``[[[[...]]]]`` into a parse error, where the standard library's
``json`` would raise ``RecursionError``.
"""

from __future__ import annotations

from typing import Any, TypeVar

import httpx
import pydantic
from pydantic_core import from_json

from ._exceptions import (
    APIStatusError,
    DecodeError,
    ErrorDetail,
    RateLimitError,
    status_error_class,
)
from ._retry_after import parse_retry_after

__all__ = [
    "build_status_error",
    "decode_json",
    "excerpt",
    "parse_error_details",
    "validate_json",
]

T = TypeVar("T")

_EXCERPT = 200
# Response headers that may be copied onto an error: useful, and never secret.
_KEPT_HEADERS = (
    "retry-after",
    "x-rate-limit-limit",
    "x-rate-limit-remaining",
    "x-rate-limit-reset",
    "x-request-id",
    "content-type",
)


def excerpt(content: bytes, limit: int = _EXCERPT) -> str:
    """The first ``limit`` bytes of a body as one line of text (what messages quote)."""
    text = content[:limit].decode("utf-8", errors="replace")
    return " ".join(text.split())


def request_id_of(response: httpx.Response) -> str | None:
    value = response.headers.get("x-request-id") or response.headers.get("request-id")
    return str(value) if value else None


def parse_error_details(body: Any) -> tuple[ErrorDetail, ...]:
    """Every message in a MaintainX error body, whichever shape it has."""
    if not isinstance(body, dict):
        return ()
    details: list[ErrorDetail] = []
    errors = body.get("errors")
    if isinstance(errors, list):
        for entry in errors:
            if isinstance(entry, dict):
                details.append(
                    ErrorDetail(
                        message=str(entry.get("error") or entry.get("message") or entry),
                        field_path=entry.get("fieldPath")
                        if isinstance(entry.get("fieldPath"), str)
                        else None,
                        field_value=entry.get("fieldValue"),
                    )
                )
            elif isinstance(entry, str):
                details.append(ErrorDetail(message=entry))
    single = body.get("error")
    if isinstance(single, str):
        details.append(ErrorDetail(message=single))
    elif isinstance(body.get("message"), str):
        details.append(ErrorDetail(message=body["message"]))
    return tuple(details)


def build_status_error(response: httpx.Response, *, method: str, path: str) -> APIStatusError:
    """The typed error for a non-2xx response. Never raises while building it."""
    status = response.status_code
    body: Any = None
    content = response.content
    if content:
        try:
            body = from_json(content)
        except ValueError:  # not JSON, or nested too deep
            body = None
    details = parse_error_details(body)
    if details:
        message = "; ".join(
            f"{d.field_path}: {d.message}" if d.field_path else d.message for d in details
        )
    elif body is not None:  # JSON, in a shape that names no message
        message = f"error body without a message: {excerpt(content)}"
    elif content:
        kind = response.headers.get("content-type", "unknown content type").split(";")[0]
        message = f"non-JSON error body ({kind}): {excerpt(content)}"
    else:
        message = response.reason_phrase or "no body"
    headers = {k: response.headers[k] for k in _KEPT_HEADERS if k in response.headers}
    cls = status_error_class(status)
    kwargs: dict[str, Any] = {
        "method": method,
        "path": path,
        "status_code": status,
        "errors": details,
        "body": body,
        "request_id": request_id_of(response),
        "headers": headers,
    }
    if cls is RateLimitError:
        return RateLimitError(message, retry_after=retry_after_of(response), **kwargs)
    return cls(message, **kwargs)


def retry_after_of(response: httpx.Response, now: float | None = None) -> float | None:
    """Seconds to wait before retrying, from ``Retry-After`` or ``X-Rate-Limit-Reset``."""
    value = parse_retry_after(response.headers.get("retry-after"), now=now)
    if value is not None:
        return value
    reset = response.headers.get("x-rate-limit-reset")
    if reset is not None:
        try:
            return max(0.0, float(reset))
        except ValueError:
            return None
    return None


def _decode_error(response: httpx.Response, method: str, path: str, why: str) -> DecodeError:
    kind = response.headers.get("content-type", "no content type").split(";")[0]
    return DecodeError(
        f"{why} (status {response.status_code}, {kind}): {excerpt(response.content)!r}",
        method=method,
        path=path,
        status_code=response.status_code,
        body_excerpt=excerpt(response.content),
        request_id=request_id_of(response),
    )


def decode_json(response: httpx.Response, *, method: str, path: str) -> Any:
    """The JSON body of a success response, or :class:`DecodeError`."""
    try:
        return from_json(response.content)
    except ValueError as exc:  # not JSON, or nested too deep
        why = f"response is not valid JSON ({exc})"
        raise _decode_error(response, method, path, why) from None


def validate_json(
    adapter: pydantic.TypeAdapter[T], response: httpx.Response, *, method: str, path: str
) -> T:
    """Parse and validate a success body in one pass; any failure is a :class:`DecodeError`."""
    try:
        # Answers always use the wire names: not trying the Python names too is faster.
        return adapter.validate_json(response.content, by_alias=True, by_name=False)
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        if first["type"] == "json_invalid":
            why = f"response is not valid JSON ({first['msg']})"
        else:
            loc = ".".join(str(p) for p in first["loc"])
            why = f"response does not match the API schema at {loc or 'top level'}: "
            why += first["msg"]
        raise _decode_error(response, method, path, why) from None
