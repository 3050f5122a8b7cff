"""Reading a resource through the client, as raw JSON records. The only I/O of the engine
besides the store.

Pages are requested with the resource family's own operations (same routes, same
parameter encoding) and sent through the client's whole pipeline, so the throttle, retries,
the circuit breaker and the fallback cache apply as to any other call. Only the parsing
differs: records stay the JSON objects MaintainX sent (decoded and re-encoded by
pydantic-core, fields and values unchanged) instead of being turned into models and back,
which is what keeps a full sync close to the speed of a bare pagination loop. An answer
served stale by the fallback cache raises :class:`~maintainx_resilient.sync.StaleAnswerError`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import httpx
from pydantic_core import from_json

from .._clock import SYSTEM_CLOCK, Clock
from .._exceptions import DecodeError, NotFoundError, ThrottledError
from .._meta import meta_of
from .._operation import Operation, Parser
from .._response import decode_json
from .errors import StaleAnswerError
from .resources import SyncResource
from .store import LocalRecord

if TYPE_CHECKING:
    from .._client import MaintainXClient
    from ..resources import ResourceSpec

__all__ = ["Fetcher", "RawPage"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RawPage:
    """One page: its records (as stored) and the next cursor (None on the last page)."""

    records: list[LocalRecord]
    next_cursor: str | None


def _fresh(response: httpx.Response, op: Operation[Any]) -> Any:
    """The decoded body of a fresh answer; ``StaleAnswerError`` for a cached one."""
    meta = meta_of(response)
    if meta.stale:
        raise StaleAnswerError(
            f"answer served from the fallback cache ({meta.reason}, {meta.age:.0f}s old); "
            "not syncing from it",
            method=op.method,
            path=op.path,
        )
    try:
        return from_json(response.content, cache_strings="keys")
    except ValueError:  # not JSON: let the client's decoder say what it is
        return decode_json(response, method=op.method, path=op.path)


def _record(value: Any, op: Operation[Any], status: int) -> LocalRecord:
    if type(value) is not dict or type(value.get("id")) is not int:
        raise DecodeError(
            "a record without an integer id", method=op.method, path=op.path, status_code=status
        )
    return LocalRecord.from_wire(value)


class Fetcher:
    """Pages and single records of one resource, through ``client``'s pipeline."""

    def __init__(
        self, client: MaintainXClient, resource: SyncResource[Any], *, clock: Clock | None = None
    ) -> None:
        self.client = client
        self.resource = resource
        self.clock: Clock = clock or getattr(client.policies, "clock", None) or SYSTEM_CLOCK
        self._spec: ResourceSpec[Any] = resource
        # A sync takes as long as the rate limit requires: its calls may wait for a slot up
        # to the longest block an answer can impose plus a window (never longer), within a
        # deadline stretched by as much.
        throttle = client.policies.throttle
        wait = throttle.config.max_block + throttle.config.window if throttle else 0.0
        deadline = client.config.deadline
        self._client = client.with_options(
            max_wait=wait, deadline=None if deadline is None else deadline + wait
        )
        list_key, item_key = self._spec.list_key, self._spec.item_key

        def parse_page(response: httpx.Response, op: Operation[Any]) -> RawPage:
            status = response.status_code
            body = _fresh(response, op)
            items = body.get(list_key) if isinstance(body, dict) else None
            if not isinstance(items, list):
                raise DecodeError(
                    f"expected a {list_key!r} list",
                    method=op.method,
                    path=op.path,
                    status_code=status,
                )
            cursor = body.get("nextCursor")
            return RawPage(
                [_record(item, op, status) for item in items],
                cursor if isinstance(cursor, str) and cursor else None,
            )

        def parse_item(response: httpx.Response, op: Operation[Any]) -> LocalRecord:
            body = _fresh(response, op)
            value = body.get(item_key) if isinstance(body, dict) else None
            return _record(value, op, response.status_code)

        self._parse_page = parse_page
        self._parse_item = parse_item
        #: requests sent by this fetcher (pages and single records)
        self.requests = 0

    @property
    def route(self) -> str:
        """The list's route (``/workorders``): what a cursor-cycle error names."""
        return self._spec.route

    def page(self, params: Mapping[str, Any], cursor: str | None = None) -> RawPage:
        """One page of the list with ``params`` (snake_case, e.g. ``updated_at_gte``)."""
        return self._send(_reparse(self._spec.list_op(params, cursor), self._parse_page))

    def one(self, id: int) -> LocalRecord | None:
        """The record ``id`` as MaintainX has it now, or None if it no longer exists."""
        try:
            return self._send(_reparse(self._spec.get_op(id), self._parse_item))
        except NotFoundError:
            return None

    def _send(self, op: Operation[T]) -> T:
        """Send ``op`` through the client's pipeline; a refusal by the throttle (nothing was
        sent) does not count as a request."""
        try:
            result = self._client.send(op)
        except ThrottledError:
            raise
        except BaseException:
            self.requests += 1  # it was sent (or at least tried): it counts
            raise
        self.requests += 1
        return result


def _reparse(op: Operation[Any], parse: Parser[T]) -> Operation[T]:
    """The same request as ``op``, read by ``parse``."""
    return Operation(
        method=op.method,
        route=op.route,
        path=op.path,
        parse=parse,
        params=op.params,
        json=op.json,
        idempotent=op.idempotent,
        cacheable=op.cacheable,
    )
