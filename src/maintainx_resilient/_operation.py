"""Operations: what one API call sends and how its answer is read. Pure: no I/O.

A resource method builds an :class:`Operation`; the sync or async client sends it through
the pipeline and hands the response back to ``operation.parse``. Everything about a call
except the sending itself lives here, so the two clients share it.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from enum import Enum
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import httpx
import pydantic

from ._exceptions import ConfigurationError, DecodeError, JSONValue
from ._extensions import (
    BASE_EXTENSION,
    CACHEABLE_EXTENSION,
    IDEMPOTENT_EXTENSION,
    ROUTE_EXTENSION,
)
from ._meta import ResponseMeta, meta_of
from ._pagination import Page
from ._response import decode_json, validate_json

__all__ = [
    "Operation",
    "encode_query",
    "expect_id",
    "expect_json",
    "expect_model",
    "expect_none",
    "expect_page",
    "expect_value",
]

T = TypeVar("T")
M = TypeVar("M", bound=pydantic.BaseModel)

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


Parser = Callable[[httpx.Response, "Operation[Any]"], T]


@dataclass(frozen=True, slots=True)
class Operation(Generic[T]):
    """One API call, fully described; build one with :meth:`make` and send it with
    ``client.send(op)``::

        op = Operation.make("GET", "/workorders/{id}/comments", expect_json, path_params={"id": 7})
        body = client.send(op)


    ``route`` is the path template from the spec (``/workorders/{id}``): statistics, breaker
    scopes and logs group by it. ``idempotent`` decides whether a response may be retried;
    it defaults to the HTTP method's semantics and callers may mark a POST idempotent.
    ``cacheable=False`` keeps the answer out of the fallback cache (a secret must never be
    kept in memory longer than the call, nor written to its file).
    """

    method: str
    route: str
    path: str
    parse: Parser[T]
    params: tuple[tuple[str, str], ...] = ()
    json: JSONValue = None
    idempotent: bool = field(default=False)
    cacheable: bool = True

    @classmethod
    def make(
        cls,
        method: str,
        route: str,
        parse: Parser[T],
        *,
        path_params: Mapping[str, Any] | None = None,
        params: Iterable[tuple[str, str]] = (),
        json: JSONValue = None,
        idempotent: bool | None = None,
        cacheable: bool = True,
    ) -> Operation[T]:
        path = route.format(**{k: _path_segment(k, v) for k, v in (path_params or {}).items()})
        method = method.upper()
        return cls(
            method=method,
            route=route,
            path=path,
            parse=parse,
            params=tuple(params),
            json=json,
            idempotent=(method in IDEMPOTENT_METHODS) if idempotent is None else idempotent,
            cacheable=cacheable,
        )

    def build_request(self, client: httpx.Client | httpx.AsyncClient) -> httpx.Request:
        """The httpx request for this operation, with the operation's facts attached."""
        path = self.path.lstrip("/")
        base = client.base_url
        extensions: dict[str, Any] = {
            ROUTE_EXTENSION: self.route,
            IDEMPOTENT_EXTENSION: self.idempotent,
            CACHEABLE_EXTENSION: self.cacheable,
        }
        if base.query or base.fragment or client.params or client.cookies:
            # A base with a ?query or a #fragment is joined by httpx (text after it would
            # belong to them); client-wide params and cookies are merged by it too.
            url = path if base.query or base.fragment else f"{base}{path}"
            return client.build_request(
                self.method, url, params=self.params or None, json=self.json, extensions=extensions
            )
        # What ``client.build_request`` makes of it, built directly (public httpx API only):
        # the base is canonical and ends in "/", so its text plus the path is the joined URL,
        # parsed once (httpx parses the path, then the joined URL: about 11 us); the client's
        # headers (copied by ``Request``) and timeout are all it would merge in when it has no
        # params and no cookies. Skipping its merging saves about 18 us more a call.
        extensions["timeout"] = client.timeout.as_dict()
        base_text = str(base)
        if not base.userinfo:  # a base with user:password@ is not shared with the layers
            extensions[BASE_EXTENSION] = base_text
        return httpx.Request(
            self.method,
            f"{base_text}{path}",
            params=self.params or None,
            json=self.json,
            headers=client.headers,
            extensions=extensions,
        )


def _is_id(name: str) -> bool:
    """``id``, ``assetId``, ``team_id``: the spec's ids in paths are all integers."""
    return name == "id" or name.endswith(("Id", "_id"))


def _path_segment(name: str, value: Any) -> str:
    if type(value) is int:  # an id (most calls): digits and "-", nothing to check or quote
        return str(value)
    if _is_id(name):  # None, "abc", True, 1.5 would be sent as /workorders/None
        if isinstance(value, bool) or not hasattr(value, "__index__"):
            raise ConfigurationError(
                f"invalid path parameter {name}={value!r}: MaintainX ids are integers"
            )
        return str(operator.index(value))
    text = str(value.value if isinstance(value, Enum) else value)
    if not text or "/" in text or text in (".", ".."):
        raise ConfigurationError(f"invalid path parameter {name}={value!r}")
    return quote(text, safe="")


def _query_value(value: Any) -> str:
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ConfigurationError(
                f"naive datetime {value.isoformat()} in a filter: MaintainX filters are UTC; "
                "pass an aware datetime (e.g. datetime.now(timezone.utc))"
            )
        utc = value.astimezone(timezone.utc)
        return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def encode_query(params: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Wire query pairs: sequences become repeated keys, None values are left out."""
    pairs: list[tuple[str, str]] = []
    for key, value in params.items():
        if value is None:
            continue
        if isinstance(value, (list, tuple, set, frozenset)):
            pairs.extend((key, _query_value(v)) for v in value)
        else:
            pairs.append((key, _query_value(value)))
    return pairs


# ---- parsers: each returns a function (response, operation) -> result -------------------


def _attach(obj: Any, meta: ResponseMeta) -> None:
    attach = getattr(obj, "attach_meta", None)
    if attach is not None:
        attach(meta)


def _envelope(name: str, key: str, annotation: Any, *, paged: bool) -> pydantic.TypeAdapter[Any]:
    fields: dict[str, Any] = {key: (annotation, ...)}
    if paged:
        fields["nextCursor"] = (str | None, None)
    model = pydantic.create_model(
        name, __config__=pydantic.ConfigDict(extra="ignore", cache_strings="keys"), **fields
    )
    return pydantic.TypeAdapter(model)


def expect_model(model: type[M], key: str) -> Parser[M]:
    """A single object wrapped as ``{key: {...}}``."""
    adapter = _envelope(f"{model.__name__}Envelope", key, model, paged=False)

    def parse(response: httpx.Response, op: Operation[Any]) -> M:
        envelope = validate_json(adapter, response, method=op.method, path=op.path)
        result: M = getattr(envelope, key)
        _attach(result, meta_of(response))
        return result

    return parse


def expect_page(model: type[M], key: str) -> Parser[Page[M]]:
    """A list page ``{key: [...], "nextCursor": str|null}``."""
    adapter = _envelope(f"{model.__name__}Page", key, list[model], paged=True)  # type: ignore[valid-type]

    def parse(response: httpx.Response, op: Operation[Any]) -> Page[M]:
        envelope = validate_json(adapter, response, method=op.method, path=op.path)
        return Page(
            items=getattr(envelope, key),
            next_cursor=envelope.nextCursor or None,
            response_meta=meta_of(response),
        )

    return parse


class _Created(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="ignore")
    id: int


_CREATED = pydantic.TypeAdapter(_Created)


def expect_id(response: httpx.Response, op: Operation[Any]) -> int:
    """A create answer ``{"id": n, ...}``: the new record's id."""
    return validate_json(_CREATED, response, method=op.method, path=op.path).id


def expect_json(response: httpx.Response, op: Operation[Any]) -> JSONValue:
    """The decoded JSON body as Python values (for calls the families do not have)."""
    value: JSONValue = decode_json(response, method=op.method, path=op.path)
    return value


def expect_none(response: httpx.Response, op: Operation[Any]) -> None:
    """Any 2xx, body ignored (204 has none)."""
    return


def expect_value(key: str) -> Parser[Any]:
    """One top-level value of a JSON object, e.g. ``{"secret": "..."}``."""

    def parse(response: httpx.Response, op: Operation[Any]) -> Any:
        body = decode_json(response, method=op.method, path=op.path)
        if not isinstance(body, dict) or key not in body:
            raise DecodeError(
                f"response has no {key!r} field",
                method=op.method,
                path=op.path,
                status_code=response.status_code,
            )
        return body[key]

    return parse
