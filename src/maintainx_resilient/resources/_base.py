"""The shared base of every resource family.

A :class:`ResourceSpec` declares a family once: its routes, wrapper keys, model, the Python
names that do not follow the wire rule, and what the sync engine may do with it. It builds
the family's :class:`~maintainx_resilient.Operation` objects; that is all the logic there is.
:class:`Resource` (list only) and :class:`ItemResource` (with ``get`` and ``delete``) hand
them to the client's :meth:`~maintainx_resilient.MaintainXClient.send`; the async families
are the same classes over the async client (see :mod:`._twins`).

Python names are snake_case and are turned into the spec's wire names here, in one place:
``updated_at_gte`` -> ``updatedAt[gte]``, ``asset_id`` -> ``assetId``; a family lists the few
names that do not follow the rule (``show_upcoming`` stays as it is).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import httpx
import pydantic
from pydantic.alias_generators import to_camel, to_snake
from typing_extensions import TypedDict

from .._exceptions import ConfigurationError
from .._meta import meta_of
from .._operation import (
    Operation,
    Parser,
    encode_query,
    expect_id,
    expect_model,
    expect_none,
    expect_page,
)
from .._pagination import MAX_PAGE_SIZE, Page, SyncPager
from .._response import validate_json
from ..models._base import MaintainXModel

if TYPE_CHECKING:
    from .._client import MaintainXClient

__all__ = [
    "ItemResource",
    "Resource",
    "ResourceSpec",
    "SyncSupport",
    "TimeRangeParams",
    "expect_object",
    "to_wire_body",
    "wire_name",
    "write_params",
]

T = TypeVar("T")
M = TypeVar("M", bound=pydantic.BaseModel)

_RANGE_SUFFIXES = ("_gte", "_lte", "_gt", "_lt")


def wire_name(name: str, overrides: Mapping[str, str] | None = None) -> str:
    """The spec's name for a Python parameter name."""
    if overrides and name in overrides:
        return overrides[name]
    for suffix in _RANGE_SUFFIXES:
        if name.endswith(suffix):
            return f"{to_camel(name[: -len(suffix)])}[{suffix[1:]}]"
    return to_camel(name)


class TimeRangeParams(TypedDict, total=False):
    """The ``updatedAt``/``createdAt`` range filters of the lists that take them (a
    :class:`SyncSupport` family's ``incremental`` and ``by_created``)."""

    updated_at_gte: datetime | str
    updated_at_lte: datetime | str
    created_at_gte: datetime | str
    created_at_lte: datetime | str


def _wire_value(value: Any) -> Any:
    if isinstance(value, pydantic.BaseModel):
        return value.model_dump(mode="json", by_alias=True, exclude_unset=True)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, list | tuple):
        return [_wire_value(v) for v in value]
    return value


def to_wire_body(
    fields: Mapping[str, Any],
    *,
    overrides: Mapping[str, str] | None = None,
    extra_body: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A JSON body with wire names. Nested dicts are sent as given (they are wire already)."""
    body = {wire_name(k, overrides): _wire_value(v) for k, v in fields.items()}
    if extra_body:
        body.update(extra_body)
    return body


def expect_object(model: type[M], *, wrapper_key: str | None = None) -> Parser[M]:
    """A single object sent bare (``{"id": n, ...}``), as a few create answers are.

    With ``wrapper_key`` the wrapped form ``{wrapper_key: {...}}`` that the other answers use
    is accepted too, so the call keeps working whichever of the two the server sends.
    """
    annotation: Any = model
    envelope: Any = None
    if wrapper_key is not None:
        envelope = pydantic.create_model(
            f"{model.__name__}Wrapped",
            __config__=pydantic.ConfigDict(extra="ignore"),
            **{wrapper_key: (model, ...)},  # type: ignore[call-overload]
        )
        annotation = model | envelope
    adapter: pydantic.TypeAdapter[Any] = pydantic.TypeAdapter(annotation)

    def parse(response: httpx.Response, op: Operation[Any]) -> M:
        value: Any = validate_json(adapter, response, method=op.method, path=op.path)
        if envelope is not None and wrapper_key is not None and isinstance(value, envelope):
            value = getattr(value, wrapper_key)
        result: M = value
        if isinstance(result, MaintainXModel):
            result.attach_meta(meta_of(response))
        return result

    return parse


def write_params(skip_webhook: bool) -> list[tuple[str, str]]:
    """The query of a write: ``skipWebhook=true`` when asked, else nothing."""
    return [("skipWebhook", "true")] if skip_webhook else []


@dataclass(frozen=True)
class SyncSupport:
    """What the sync engine may do with a family (``ResourceSpec.sync``).

    ``incremental``: the list takes ``updatedAt[gte]`` and ``sort=updatedAt`` (incremental
    sync, and the full sync's starting high-water mark); ``by_created``: it takes
    ``createdAt[gte]`` and ``sort=createdAt`` (sampled reconciliation reads random windows of
    creation time); ``offset_paged``: the API documents offset pagination behind the cursor,
    so records can move between pages while one pages through them.
    """

    incremental: bool = True
    by_created: bool = True
    offset_paged: bool = False


@dataclass(frozen=True)
class ResourceSpec(Generic[M]):
    """One resource family, declared once; the client, the sync engine and the tests read
    it. ``attribute`` is the client attribute (default: ``list_key`` in snake_case);
    ``sync`` is None for a family a local copy does not hold."""

    route: str
    list_key: str
    item_key: str
    model: type[M]
    name_overrides: Mapping[str, str] = field(default_factory=dict)
    attribute: str = ""
    sync: SyncSupport | None = None

    def __post_init__(self) -> None:
        if not self.attribute:
            object.__setattr__(self, "attribute", to_snake(self.list_key))
        object.__setattr__(self, "_page_parser", expect_page(self.model, self.list_key))
        object.__setattr__(self, "_item_parser", expect_model(self.model, self.item_key))
        object.__setattr__(self, "_item_route", f"{self.route}/{{id}}")

    @property
    def name(self) -> str:
        """The API's name of the family: its list key (``workOrders``)."""
        return self.list_key

    @property
    def label(self) -> str:
        """A human name for messages: ``work orders``."""
        return self.attribute.replace("_", " ")

    @property
    def item_route(self) -> str:
        route: str = self._item_route  # type: ignore[attr-defined]
        return route

    def query(self, params: Mapping[str, Any]) -> list[tuple[str, str]]:
        limit = params.get("limit")
        if limit is not None and (
            isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE_SIZE
        ):
            raise ConfigurationError(
                f"limit must be a whole number between 1 and {MAX_PAGE_SIZE}, got {limit!r}"
            )
        return encode_query({wire_name(k, self.name_overrides): v for k, v in params.items()})

    def list_op(self, params: Mapping[str, Any], cursor: str | None = None) -> Operation[Page[M]]:
        query = self.query(params)
        if cursor:
            query.append(("cursor", cursor))
        return Operation.make("GET", self.route, self._page_parser, params=query)  # type: ignore[attr-defined]

    def get_op(self, id: int, params: Mapping[str, Any] | None = None) -> Operation[M]:
        return Operation.make(
            "GET",
            self.item_route,
            self._item_parser,  # type: ignore[attr-defined]
            path_params={"id": id},
            params=self.query(params) if params else (),
        )

    def create_op(
        self,
        fields: Mapping[str, Any],
        *,
        extra_body: Mapping[str, Any] | None = None,
        skip_webhook: bool = False,
        idempotent: bool = False,
    ) -> Operation[int]:
        return self.post_op(expect_id, fields, extra_body, skip_webhook, idempotent)

    def post_op(
        self,
        answer: Parser[T],
        fields: Mapping[str, Any],
        extra_body: Mapping[str, Any] | None,
        skip_webhook: bool,
        idempotent: bool,
    ) -> Operation[T]:
        """``POST {route}`` with ``fields`` as its body; ``answer`` parses the response (the
        id for :meth:`create_op`, the record or another object for the few creates that
        answer one)."""
        return Operation.make(
            "POST",
            self.route,
            answer,
            params=write_params(skip_webhook),
            json=to_wire_body(fields, overrides=self.name_overrides, extra_body=extra_body),
            idempotent=idempotent,
        )

    def update_op(
        self,
        id: int,
        fields: Mapping[str, Any],
        *,
        extra_body: Mapping[str, Any] | None = None,
        skip_webhook: bool = False,
    ) -> Operation[M]:
        return Operation.make(
            "PATCH",
            self.item_route,
            self._item_parser,  # type: ignore[attr-defined]
            path_params={"id": id},
            params=write_params(skip_webhook),
            json=to_wire_body(fields, overrides=self.name_overrides, extra_body=extra_body),
            idempotent=True,  # a PATCH sets fields to given values: sending it twice is harmless
        )

    def delete_op(self, id: int, *, skip_webhook: bool = False) -> Operation[None]:
        return Operation.make(
            "DELETE",
            self.item_route,
            expect_none,
            path_params={"id": id},
            params=write_params(skip_webhook),
        )


class Resource(Generic[M]):
    """A family's calls through a client: each method builds an operation and sends it.

    A family without ``GET {route}/{id}`` and ``DELETE`` (organizations is list-only)
    subclasses this; the others subclass :class:`ItemResource`. The same class serves the
    async client: its ``_run`` returns an awaitable there (see :mod:`._twins`).
    """

    spec: ResourceSpec[M]

    def __init__(self, client: MaintainXClient) -> None:
        self._client = client

    def _run(self, op: Operation[T]) -> T:
        return self._client.send(op)

    def _pager(
        self, page_op: Callable[[str | None], Operation[Page[T]]], path: str = ""
    ) -> SyncPager[T]:
        return SyncPager(lambda cursor: self._run(page_op(cursor)), path=path or self.spec.route)

    def _list(self, params: Mapping[str, Any], cursor: str | None) -> Page[M]:
        return self._run(self.spec.list_op(params, cursor))

    def _iter(self, params: Mapping[str, Any]) -> SyncPager[M]:
        kept = dict(params)
        return self._pager(lambda cursor: self.spec.list_op(kept, cursor))

    def _create(
        self,
        fields: Mapping[str, Any],
        extra_body: Mapping[str, Any] | None,
        skip_webhook: bool,
        idempotent: bool,
    ) -> int:
        op = self.spec.create_op(
            fields, extra_body=extra_body, skip_webhook=skip_webhook, idempotent=idempotent
        )
        return self._run(op)

    def _update(
        self,
        id: int,
        fields: Mapping[str, Any],
        extra_body: Mapping[str, Any] | None,
        skip_webhook: bool,
    ) -> M:
        op = self.spec.update_op(id, fields, extra_body=extra_body, skip_webhook=skip_webhook)
        return self._run(op)


class ItemResource(Resource[M]):
    """A family with ``GET`` and ``DELETE {route}/{id}``."""

    def get(self, id: int) -> M:
        """One record by id. Raises :class:`~maintainx_resilient.NotFoundError` if absent."""
        return self._run(self.spec.get_op(id))

    def delete(self, id: int, *, skip_webhook: bool = False) -> None:
        """Delete a record (the API answers 204)."""
        return self._run(self.spec.delete_op(id, skip_webhook=skip_webhook))
