"""Labels on answers: fresh from MaintainX, or served stale by the fallback cache.

The fallback layer puts a :class:`ResponseMeta` in ``httpx.Response.extensions`` under
:data:`META_EXTENSION`; the parsing layer copies it onto the returned model or page, so
application code can tell a degraded answer from a fresh one (hishel does the same with
``hishel_from_cache``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import httpx

from ._extensions import META_EXTENSION

__all__ = ["FRESH", "META_EXTENSION", "ResponseMeta", "meta_of"]


FallbackReason = Literal[
    "circuit_open",
    "connection_error",
    "timeout",
    "server_error",
    "retries_exhausted",
    "undecodable",
    "fallback_mode",
]


@dataclass(frozen=True, slots=True)
class ResponseMeta:
    """The answer behind a result: ``result.response_meta`` on every record and page a call
    returns (the one way to read the raw answer's facts).

    ``status_code`` and ``headers`` are the answer's; ``request_id`` its ``x-request-id``.
    ``stale`` is True when the answer came from the fallback cache instead of MaintainX; then
    ``age`` is its age in seconds and ``reason`` says why the cache was used (the headers are
    the few the cache keeps).
    """

    stale: bool = False
    age: float = 0.0
    reason: FallbackReason | None = None
    request_id: str | None = None
    status_code: int | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


FRESH = ResponseMeta()


def meta_of(response: httpx.Response) -> ResponseMeta:
    """The label of a response (fresh unless a layer said otherwise)."""
    meta = response.extensions.get(META_EXTENSION)
    if isinstance(meta, ResponseMeta):
        return meta
    headers = response.headers
    return ResponseMeta(
        request_id=headers.get("x-request-id"), status_code=response.status_code, headers=headers
    )
