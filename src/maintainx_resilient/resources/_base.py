"""The shared base of every resource family.

A :class:`ResourceSpec` describes a family once (routes, wrapper keys, model) and builds its
:class:`~maintainx_resilient._operation.Operation` objects; that is all the logic there is.
:class:`SyncResource` and :class:`AsyncResource` are the two thin shells that send them: the
only difference between them is ``await``.

Python names are snake_case and are turned into the spec's wire names here, in one place:
``updated_at_gte`` -> ``updatedAt[gte]``, ``asset_id`` -> ``assetId``; a family lists the few
names that do not follow the rule (``show_upcoming`` stays as it is).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum
from functools import partial
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import httpx
import pydantic
from pydantic.alias_generators import to_camel

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
from .._pagination import MAX_PAGE_SIZE, AsyncPager, Page, SyncPager
from .._response import validate_json

if TYPE_CHECKING:
    from .._client import AsyncMaintainXClient, MaintainXClient

__all__ = [
    "AsyncResource",
    "AsyncResourceCore",
    "ResourceSpec",
    "SyncResource",
    "SyncResourceCore",
    "expect_object",
    "to_wire_body",
    "wire_name",
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
        if hasattr(result, "_meta"):
            result._meta = meta_of(response)
        return result

    return parse


def _write_params(skip_webhook: bool) -> list[tuple[str, str]]:
    return [("skipWebhook", "true")] if skip_webhook else []


@dataclass(frozen=True)
class ResourceSpec(Generic[M]):
    """Everything about one resource family that is the same for every call."""

    route: str
    list_key: str
    item_key: str
    model: type[M]
    name_overrides: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_page_parser", expect_page(self.model, self.list_key))
        object.__setattr__(self, "_item_parser", expect_model(self.model, self.item_key))

    @property
    def item_route(self) -> str:
        return f"{self.route}/{{id}}"

    def query(self, params: Mapping[str, Any]) -> list[tuple[str, str]]:
        limit = params.get("limit")
        if limit is not None and not 1 <= int(limit) <= MAX_PAGE_SIZE:
            raise ValueError(f"limit must be between 1 and {MAX_PAGE_SIZE}, got {limit}")
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
            params=self.query(params or {}),
        )

    def create_op(
        self,
        fields: Mapping[str, Any],
        *,
        extra_body: Mapping[str, Any] | None = None,
        skip_webhook: bool = False,
        idempotent: bool = False,
    ) -> Operation[int]:
        return Operation.make(
            "POST",
            self.route,
            expect_id,
            params=_write_params(skip_webhook),
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
            params=_write_params(skip_webhook),
            json=to_wire_body(fields, overrides=self.name_overrides, extra_body=extra_body),
            idempotent=True,  # a PATCH sets fields to given values: sending it twice is harmless
        )

    def delete_op(self, id: int, *, skip_webhook: bool = False) -> Operation[None]:
        return Operation.make(
            "DELETE",
            self.item_route,
            expect_none,
            path_params={"id": id},
            params=_write_params(skip_webhook),
        )


class SyncResourceCore(Generic[M]):
    """Sends a family's operations through a :class:`MaintainXClient`.

    The shell with no public method: a family whose spec has neither ``GET {route}/{id}``
    nor ``DELETE`` (organizations is list-only) subclasses this, not :class:`SyncResource`.
    """

    spec: ResourceSpec[M]

    def __init__(self, client: MaintainXClient) -> None:
        self._client = client

    def _run(self, op: Operation[T]) -> T:
        return self._client._execute(op)

    def _list(self, params: Mapping[str, Any], cursor: str | None) -> Page[M]:
        return self._run(self.spec.list_op(params, cursor))

    def _pager(self, params: Mapping[str, Any]) -> SyncPager[M]:
        return SyncPager(partial(self._list, dict(params)), path=self.spec.route)

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


class SyncResource(SyncResourceCore[M]):
    """A family with ``GET`` and ``DELETE {route}/{id}``."""

    def get(self, id: int) -> M:
        """One record by id. Raises :class:`~maintainx_resilient.NotFoundError` if absent."""
        return self._run(self.spec.get_op(id))

    def delete(self, id: int, *, skip_webhook: bool = False) -> None:
        """Delete a record (the API answers 204)."""
        self._run(self.spec.delete_op(id, skip_webhook=skip_webhook))


class AsyncResourceCore(Generic[M]):
    """Sends a family's operations through an :class:`AsyncMaintainXClient`.

    The async twin of :class:`SyncResourceCore`.
    """

    spec: ResourceSpec[M]

    def __init__(self, client: AsyncMaintainXClient) -> None:
        self._client = client

    async def _run(self, op: Operation[T]) -> T:
        return await self._client._execute(op)

    async def _list(self, params: Mapping[str, Any], cursor: str | None) -> Page[M]:
        return await self._run(self.spec.list_op(params, cursor))

    def _pager(self, params: Mapping[str, Any]) -> AsyncPager[M]:
        return AsyncPager(partial(self._list, dict(params)), path=self.spec.route)

    async def _create(
        self,
        fields: Mapping[str, Any],
        extra_body: Mapping[str, Any] | None,
        skip_webhook: bool,
        idempotent: bool,
    ) -> int:
        op = self.spec.create_op(
            fields, extra_body=extra_body, skip_webhook=skip_webhook, idempotent=idempotent
        )
        return await self._run(op)

    async def _update(
        self,
        id: int,
        fields: Mapping[str, Any],
        extra_body: Mapping[str, Any] | None,
        skip_webhook: bool,
    ) -> M:
        op = self.spec.update_op(id, fields, extra_body=extra_body, skip_webhook=skip_webhook)
        return await self._run(op)


class AsyncResource(AsyncResourceCore[M]):
    """A family with ``GET`` and ``DELETE {route}/{id}``."""

    async def get(self, id: int) -> M:
        """One record by id. Raises :class:`~maintainx_resilient.NotFoundError` if absent."""
        return await self._run(self.spec.get_op(id))

    async def delete(self, id: int, *, skip_webhook: bool = False) -> None:
        """Delete a record (the API answers 204)."""
        await self._run(self.spec.delete_op(id, skip_webhook=skip_webhook))
