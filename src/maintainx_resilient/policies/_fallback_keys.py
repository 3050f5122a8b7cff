"""Whose answer a fallback-cache entry is, and which entries a write makes wrong. Pure.

An entry's key is four lines::

    <credential id>            32 hex digits of a hash of the key that fetched it (never the key)
    <x-organization-id>        as sent ("" when the key is bound to one organization)
    <x-organization-ids>       sorted, comma-separated ("" when not sent)
    GET <scheme>://<host><path>?<query sorted>

so an answer is only ever served to the same credential asking the same organization(s) for
the same URL. Header values and URLs cannot contain a newline, so no two different scopes
can produce the same key.

A successful write (a 2xx to any method but GET, HEAD, OPTIONS) makes every cached GET of the
same credential and origin wrong whose path is the write's own path or a path above it:
``PATCH /v1/workorders/42/status`` drops ``/v1/workorders/42`` (the record, with any query)
and ``/v1/workorders`` (every list page of the collection, whatever its filters and cursor);
``POST /v1/workorders`` drops the list pages. A ``DELETE`` also drops every path below its own
(``/v1/workorders/42/comments``): the record's sub-resources went with it. The rule needs no
route table, so it covers every resource collection, and raw calls too. Organization headers
are not compared: a list page read with ``x-organization-ids: 1,2`` holds records of
organization 1 as well.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode

import httpx

from .._headers import HeaderNames, pick
from .._http import origin_of

__all__ = ["SAFE_METHODS", "WriteScope", "cache_key", "target_of"]

#: Methods that change nothing on the server: they never invalidate.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_ORGANIZATION_HEADERS = HeaderNames(["X-Organization-Id", "X-Organization-Ids"])


def _origin_and_path(request: httpx.Request) -> tuple[str, str]:
    return origin_of(request), request.url.raw_path.partition(b"?")[0].decode("ascii")


def cache_key(request: httpx.Request, credential: str) -> str:
    """The entry key of ``request`` for ``credential`` (a credential id, never a key)."""
    raw_path, _, raw_query = request.url.raw_path.partition(b"?")
    origin, path = origin_of(request), raw_path.decode("ascii")
    # most reads (a record by id) have no query: nothing to sort
    pairs = (
        sorted(parse_qsl(raw_query.decode("ascii"), keep_blank_values=True)) if raw_query else ()
    )
    query = f"?{urlencode(pairs)}" if pairs else ""
    org, orgs = _organizations(request.headers)
    return f"{credential}\n{org}\n{orgs}\n{request.method} {origin}{path}{query}"


def _organizations(headers: httpx.Headers) -> tuple[str, str]:
    """``x-organization-id`` (stripped) and ``x-organization-ids`` (sorted), read in one pass
    over the headers."""
    found = pick(headers, _ORGANIZATION_HEADERS)
    orgs = found.get("x-organization-ids")
    ids = sorted(p.strip() for p in orgs.split(",") if p) if orgs else ()
    return found.get("x-organization-id", "").strip(), ",".join(ids)


def target_of(key: str) -> str:
    """``GET <origin><path>`` of the entry ``key``: what a write's targets are matched with."""
    return key[key.rfind("\n") + 1 :].partition("?")[0]


@dataclass(frozen=True, slots=True)
class WriteScope:
    """The cached GETs one write makes wrong (see the module docstring)."""

    prefix: str  # "<credential id>\n": the write's credential
    targets: frozenset[str]  # "GET <origin><path>" for its path and every path above it
    below: str | None  # "GET <origin><path>/" for a DELETE, else None

    @classmethod
    def of(cls, request: httpx.Request, credential: str) -> WriteScope:
        origin, path = _origin_and_path(request)
        parts = (path.rstrip("/") or "/").split("/")
        paths = {"/".join(parts[:n]) for n in range(1, len(parts) + 1)}
        # Each with and without a trailing slash ("" is the root "/").
        targets = frozenset(f"GET {origin}{p}{end}" for p in paths for end in ("", "/"))
        below = f"GET {origin}{'/'.join(parts)}/" if request.method == "DELETE" else None
        return cls(f"{credential}\n", targets, below)

    def makes_stale(self, key: str) -> bool:
        """True when the entry ``key`` may hold what this write changed."""
        if not key.startswith(self.prefix):
            return False
        target = target_of(key)
        return target in self.targets or (self.below is not None and target.startswith(self.below))
