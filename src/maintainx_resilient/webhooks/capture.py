"""A captured webhook request, for checking it after the fact (``webhooks verify``).

Two formats are read:

- JSON: ``{"method": "POST", "url": "https://app.example/webhooks/maintainx/wo",
  "headers": {"x-maintainx-webhook-body-signature": "t=...,v1=...", ...},
  "body": "<the body as text>"}`` (or ``"bodyBase64"`` for the exact bytes);
- a raw HTTP/1.1 request as it came off the wire (``POST /path HTTP/1.1``, headers, blank
  line, body), e.g. saved by ``nc -l`` or a proxy; the URL is rebuilt from the ``Host``
  header (scheme ``https`` unless told otherwise).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["CapturedRequest", "parse_capture"]


@dataclass(frozen=True)
class CapturedRequest:
    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""


def _from_json(data: Mapping[str, Any]) -> CapturedRequest:
    headers = {str(k).lower(): str(v) for k, v in (data.get("headers") or {}).items()}
    if "bodyBase64" in data:
        body = base64.b64decode(data["bodyBase64"])
    else:
        raw = data.get("body", "")
        body = (
            raw.encode("utf-8")
            if isinstance(raw, str)
            else json.dumps(raw, separators=(",", ":")).encode()
        )
    return CapturedRequest(
        str(data.get("method", "POST")).upper(), str(data.get("url", "")), headers, body
    )


def _from_http(raw: bytes, scheme: str) -> CapturedRequest:
    head, sep, body = raw.partition(b"\r\n\r\n")
    if not sep:
        head, sep, body = raw.partition(b"\n\n")
    lines = head.decode("latin-1").replace("\r\n", "\n").split("\n")
    try:
        method, target, _version = lines[0].split(" ", 2)
    except ValueError:
        raise ValueError(
            "not an HTTP request: the first line is not 'METHOD /path HTTP/1.1'"
        ) from None
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if colon:
            headers[name.strip().lower()] = value.strip()
    length = headers.get("content-length", "")
    if length.isdigit():
        body = body[: int(length)]
    if target.startswith(("http://", "https://")):
        url = target
    else:
        url = f"{scheme}://{headers.get('host', 'localhost')}{target}"
    return CapturedRequest(method.upper(), url, headers, body)


def parse_capture(raw: bytes, *, scheme: str = "https") -> CapturedRequest:
    """A capture in either format (see the module docstring)."""
    text = raw.lstrip()
    if text.startswith(b"{"):
        try:
            data = json.loads(raw)
        except ValueError:
            data = None
        if isinstance(data, dict):
            return _from_json(data)
    return _from_http(raw, scheme)
