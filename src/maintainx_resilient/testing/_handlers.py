"""The operations: one generic handler per kind of route (list, get, create, update, delete,
set, clear, read, upload, unattach), driven by the catalog read from the spec; the endpoints
served by hand are in ``_special.py``.

Handlers take a ``Call`` (the request, its route, the resolved organizations and user) and
return a ``SimResponse`` or raise ``ApiError``. They run under the simulator's lock.
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol
from urllib.parse import urlencode

from ._catalog import Collection, Route, View, catalog
from ._expand import render
from ._messages import JSON_CONTENT_TYPE, SimRequest, SimResponse, json_response
from ._store import OrgData, QueryError, Record, Table, compile_filters, paginate, query_digest
from ._timeutil import Timestamps
from ._validation import FieldError, Schema, check
from ._writes import WriteContext

__all__ = ["ApiError", "Call", "Handlers", "Services", "error_a", "error_b"]


class ApiError(Exception):
    """An error answer, raised anywhere in a handler."""

    def __init__(self, response: SimResponse) -> None:
        super().__init__(response.status)
        self.response = response


def error_b(status: int, message: str) -> ApiError:
    """Shape B: ``{"error": message}``."""
    return ApiError(json_response(status, {"error": message}))


def error_a(status: int, errors: Sequence[FieldError]) -> ApiError:
    """Shape A: ``{"errors": [{"error", "fieldPath", "fieldValue"}]}``."""
    return ApiError(json_response(status, {"errors": [e.as_json() for e in errors]}))


class Services(Protocol):
    """What handlers need from the simulator."""

    timestamps: Timestamps

    def new_id(self, table: str) -> int: ...
    def random_hex(self, digits: int) -> str: ...
    def count_creation(self, resource: str) -> None: ...
    def pagination_mode(self, resource: str) -> Literal["keyset", "offset"]: ...
    def key_organizations(self, org_ids: Sequence[int]) -> list[OrgData]: ...


@dataclass
class Call:
    """One authenticated request on its way to a handler."""

    request: SimRequest
    route: Route
    params: dict[str, str]
    orgs: list[OrgData]
    user_id: int
    key_org_ids: tuple[int, ...]

    @property
    def org(self) -> OrgData:
        return self.orgs[0]

    @property
    def collection(self) -> Collection:
        return catalog().collections[self.route.resource or ""]

    def bad_request(self, message: str, path: str | None = None, value: Any = None) -> ApiError:
        """400 in the shape the spec documents for this operation."""
        if self.route.error_shape == "B":
            return error_b(400, message)
        if self.route.error_shape == "text":
            return ApiError(json_response(400, message))
        return error_a(400, [FieldError(message, path, value)])


def dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def not_found(label: str) -> ApiError:
    return error_b(404, f"Could not find the specified {label}.")


class Handlers:
    """The operations, dispatched by ``Route.handler``."""

    def __init__(
        self,
        services: Services,
        special: Mapping[str, Callable[[Handlers, Call], SimResponse]],
    ) -> None:
        """``special`` maps handler names to the operations the generic
        handlers do not cover (``_special.SPECIAL_HANDLERS``)."""
        self.services = services
        generic: dict[str, Callable[[Call], SimResponse]] = {
            "list": self.list_records,
            "get": self.get_record,
            "create": self.create_record,
            "update": self.update_record,
            "delete": self.delete_record,
            "set": self.set_fields,
            "clear": self.clear_field,
            "read": self.read_fields,
            "upload": self.upload,
            "unattach": self.unattach,
        }
        bound = {name: _bind(fn, self) for name, fn in special.items()}
        self._dispatch = {**generic, **bound}

    def __call__(self, call: Call) -> SimResponse:
        try:
            for name, choices in call.route.path_enums.items():
                if call.params.get(name) not in choices:
                    raise not_found(name)
            return self._dispatch[call.route.handler](call)
        except QueryError as exc:
            return call.bad_request(str(exc)).response
        except ApiError as exc:
            return exc.response

    @staticmethod
    def versions() -> SimResponse:
        return json_response(200, [{"version": "1"}])

    # -- helpers shared with _special ------------------------------------------------------

    def write_ctx(self, call: Call, *, creating: bool) -> WriteContext:
        org = call.org

        def category_ids(labels: Sequence[str]) -> list[int]:
            wanted = set(labels)
            return [c["id"] for c in org.table("categories") if c.get("label") in wanted]

        return WriteContext(
            org_id=org.id,
            user_id=call.user_id,
            now=self.services.timestamps.next_iso(),
            lookup=org.lookup,
            new_id=self.services.new_id,
            sequence=org.next_sequence,
            random_hex=self.services.random_hex,
            category_ids=category_ids,
            creating=creating,
            store=lambda name, record: org.table(name).put(record),
        )

    @staticmethod
    def record_id(call: Call, name: str | None) -> int:
        raw = call.params.get(name or "id", "")
        try:
            return int(raw)
        except ValueError:
            if call.route.method == "DELETE":
                raise not_found(call.collection.label) from None
            raise call.bad_request(f"Invalid {name}: {raw!r}", name, raw) from None

    def parent(self, call: Call) -> Record | None:
        """The record a nested path hangs under (404 if it does not exist)."""
        route = call.route
        if route.parent is None:
            return None
        parent_id = self.record_id(call, route.parent_param)
        found = call.org.lookup(route.parent, parent_id)
        if found is None:
            raise not_found(catalog().collections[route.parent].label)
        return found

    def find(self, call: Call, collection: str | None = None) -> tuple[Table, Record]:
        """The record the path names, in ``collection`` (default: the route's)."""
        route = call.route
        name = collection or route.resource or ""
        parent = self.parent(call) if collection is None else None
        table = call.org.table(name)
        record_id = self.record_id(call, route.id_param)
        if route.by_sequence and call.request.param("useSequentialId") == "true":
            found = next((r for r in table if r.get("sequentialId") == record_id), None)
        else:
            found = table.get(record_id)
        if found is None or (parent is not None and found.get(route.parent_field) != parent["id"]):
            known = catalog().collections.get(name)
            raise not_found(known.label if known is not None else name)
        return table, found

    @staticmethod
    def json_body(call: Call) -> Any:
        schema = call.route.body or {}
        array = schema.get("type") == "array"
        try:
            body = json.loads(
                call.request.body or (b"[]" if array else b"{}"),
                parse_constant=_not_json,
                parse_float=_finite,
            )
        except (ValueError, RecursionError):
            raise error_a(400, [FieldError("Invalid JSON body")]) from None
        if not isinstance(body, list if array else dict):
            kind = "an array" if array else "an object"
            raise error_a(400, [FieldError(f"The request body must be {kind}")])
        return body

    def checked_body(self, call: Call, *, non_empty: Sequence[str] = ()) -> dict[str, Any]:
        """The request body, checked against the spec's schema (400 shape A if it breaks it)."""
        body: dict[str, Any] = self.json_body(call)
        errors = check(body, call.route.body or {}, non_empty=non_empty)
        if errors:
            raise error_a(400, errors)
        return body

    def limit(self, call: Call) -> int:
        low, high, default = call.route.limits
        raw = call.request.param("limit")
        if raw is None or raw == "":
            return default
        try:
            limit = int(raw)
        except ValueError:
            raise call.bad_request(f"limit must be an integer, got {raw!r}") from None
        if not low <= limit <= high:
            raise call.bad_request(f"limit must be between {low} and {high}, got {limit}")
        return limit

    def page_body(
        self, call: Call, key: str, items: list[bytes], next_cursor: str | None
    ) -> SimResponse:
        next_url = None
        if next_cursor is not None:
            query = [(k, v) for k, v in call.request.query if k != "cursor"]
            query.append(("cursor", next_cursor))
            next_url = f"{call.request.path}?{urlencode(query)}"
        body = b"".join(
            (
                b'{"',
                key.encode(),
                b'":[',
                b",".join(items),
                b'],"nextCursor":',
                dumps(next_cursor),
                b',"nextPageUrl":',
                dumps(next_url),
                b"}",
            )
        )
        return SimResponse(200, {"Content-Type": JSON_CONTENT_TYPE}, body)

    def page(self, call: Call, tables: Sequence[Table], predicates: list[Any]) -> Any:
        """One page of ``tables`` for this request (``limit``, ``cursor``, ``sort``)."""
        route, request = call.route, call.request
        sort_field, descending = "id", False
        sort = request.param("sort")
        if sort and route.sorts:
            name = sort[1:] if sort.startswith("-") else sort
            if name not in route.sorts:
                raise call.bad_request(f"Invalid value for sort: {sort!r}")
            extras = call.collection.extras
            sort_field, descending = extras.sort_alias.get(name, name), sort.startswith("-")
        filters, canonical = compile_filters(route.filters, request.query)
        orgs = ",".join(str(o.id) for o in call.orgs)
        digest = query_digest([("path", request.path), ("orgs", orgs), *canonical])
        return paginate(
            tables,
            predicates=[*predicates, *filters],
            limit=self.limit(call),
            cursor=request.param("cursor") or None,
            sort=sort_field,
            descending=descending,
            filters_fingerprint=digest,
            mode=self.services.pagination_mode(route.resource or ""),
        )

    @staticmethod
    def expands(call: Call, view: View) -> frozenset[str]:
        return frozenset(call.request.params("expand")) & frozenset(view.expanders)

    @staticmethod
    def show(view: View, record: Record, expands: frozenset[str], org: OrgData) -> Any:
        shown = render(record, view.fields)
        for name in sorted(expands):
            shown.update(view.expanders[name](record, org.lookup, expands))
        return shown

    def answer(self, call: Call, record: Record, status: int | None = None) -> SimResponse:
        """The route's documented answer for ``record`` (wrapped, plain, or 204)."""
        route = call.route
        view = route.view
        if view is None:
            return SimResponse(status or route.status)
        shown = self.show(view, record, self.expands(call, view), call.org)
        return json_response(
            status or route.status, {route.wrapper: shown} if route.wrapper else shown
        )

    def check_write(self, call: Call, body: Mapping[str, Any]) -> None:
        """What the schema cannot say: refused fields, and references to missing records."""
        collection = call.collection
        errors = [
            FieldError(message, name, body[name])
            for name, message in collection.extras.forbidden.items()
            if name in body
        ]
        by_label = catalog().by_label
        for name, value in body.items():
            if not name.endswith("Id") or isinstance(value, bool):
                continue
            if not isinstance(value, (int, float)):
                continue
            if name == "parentId" and "parentId" in collection.fields:
                target: str | None = collection.name
            else:
                target = by_label.get(name[:-2].lower())
            if target is not None and call.org.lookup(target, int(value)) is None:
                errors.append(FieldError(f"{name} {value} does not exist", name, value))
        if errors:
            raise error_a(400, errors)

    @staticmethod
    def unwrap(call: Call, body: dict[str, Any]) -> tuple[dict[str, Any], Schema]:
        """A body wrapped in the record's key (``{"meterTrigger": {...}}``), flattened."""
        schema = call.route.body or {}
        label = call.collection.label
        inner = (schema.get("properties") or {}).get(label)
        if isinstance(body.get(label), dict) and inner is not None:
            rest = {k: v for k, v in body.items() if k != label}
            return {**rest, **body[label]}, inner
        return body, schema

    # -- generic operations ----------------------------------------------------------------

    def list_records(self, call: Call) -> SimResponse:
        route = call.route
        parent = self.parent(call)
        predicates = []
        if parent is not None:
            parent_id, field = parent["id"], route.parent_field
            predicates.append(lambda record: record.get(field) == parent_id)
        tables = [org.table(route.resource or "") for org in call.orgs]
        page = self.page(call, tables, predicates)
        view = route.view
        assert view is not None
        assert route.wrapper is not None
        expands = self.expands(call, view)
        if not expands and len(tables) == 1:
            table = tables[0]

            def encode(record: Record) -> bytes:
                return dumps(render(record, view.fields))

            items = [table.encoded(record, view.key, encode) for record in page.records]
        else:
            by_org = {org.id: org for org in call.orgs}
            items = [
                dumps(self.show(view, r, expands, _owner(r, by_org, call.orgs)))
                for r in page.records
            ]
        return self.page_body(call, route.wrapper, items, page.next_cursor)

    def get_record(self, call: Call) -> SimResponse:
        route = call.route
        table, record = self.find(call)
        view = route.view
        assert view is not None
        assert route.wrapper is not None
        if self.expands(call, view):
            return self.answer(call, record)
        inner = table.encoded(record, view.key, lambda r: dumps(render(r, view.fields)))
        body = b'{"' + route.wrapper.encode() + b'":' + inner + b"}"
        return SimResponse(200, {"Content-Type": JSON_CONTENT_TYPE}, body)

    def create_record(self, call: Call) -> SimResponse:
        route, collection = call.route, call.collection
        parent = self.parent(call)
        body = self.checked_body(call)
        data, schema = self.unwrap(call, body)
        self.check_write(call, data)
        ctx = self.write_ctx(call, creating=True)
        record = collection.blank(self.services.new_id(collection.name), ctx)
        if parent is not None:
            record["_parentId"] = parent["id"]
            link = f"{catalog().collections[route.parent or ''].label}Id"
            if link in record:
                record[link] = parent["id"]
        errors = collection.apply(record, data, schema, ctx)
        if errors:
            raise error_a(400, errors)
        call.org.table(collection.name).put(record)
        self.services.count_creation(collection.name)
        if parent is not None:
            self._reflect(call, parent, record)
        return self.answer(call, record)

    def _reflect(self, call: Call, parent: Record, record: Record) -> None:
        """A record created under a parent field of the same name becomes that field's value
        (``POST /assets/{id}/status`` sets the asset's ``status``)."""
        name = call.route.segments[-1]
        parents = catalog().collections[call.route.parent or ""]
        schema = parents.fields.get(name)
        if schema is None or "properties" not in schema:
            return
        updated = dict(parent)
        updated[name] = {k: record.get(k) for k in schema["properties"] if k in record}
        call.org.table(parents.name).put(updated)

    def update_record(self, call: Call) -> SimResponse:
        collection = call.collection
        table, record = self.find(call)
        body = self.checked_body(call, non_empty=collection.required)
        data, schema = self.unwrap(call, body)
        self.check_write(call, data)
        updated = copy.deepcopy(record)
        ctx = self.write_ctx(call, creating=False)
        errors = collection.apply(updated, data, schema, ctx)
        if errors:
            raise error_a(400, errors)
        updated["updatedAt"] = ctx.now
        table.put(updated)
        return self.answer(call, updated)

    def delete_record(self, call: Call) -> SimResponse:
        table, record = self.find(call)
        table.delete(record["id"])
        return SimResponse(204)

    def set_fields(self, call: Call) -> SimResponse:
        """``PATCH /x/{id}/<action>``: change fields of the record (and the action's effects)."""
        collection = call.collection
        table, record = self.find(call)
        body = self.checked_body(call)
        updated = copy.deepcopy(record)
        ctx = self.write_ctx(call, creating=False)
        action = collection.extras.actions.get(call.route.action)
        errors = action(updated, body, ctx) if action is not None else []
        if errors:
            raise error_a(400, errors)
        for key, value in body.items():
            if key in updated and key != "id" and key not in collection.extras.handled:
                updated[key] = copy.deepcopy(value)
        updated["updatedAt"] = ctx.now
        table.put(updated)
        return self.answer(call, updated)

    def clear_field(self, call: Call) -> SimResponse:
        """``DELETE /x/{id}/<field>``: the field goes back to its default (a procedure)."""
        table, record = self.find(call)
        name = call.route.action
        if name in record:
            updated = dict(record)
            updated[name] = None
            updated["updatedAt"] = self.services.timestamps.next_iso()
            table.put(updated)
        return SimResponse(call.route.status)

    def read_fields(self, call: Call) -> SimResponse:
        """``GET /x/{id}/<field>``: the fields the answer lists (a subscription's secret)."""
        _, record = self.find(call)
        names = (call.route.answer or {}).get("properties") or {}
        return json_response(call.route.status, {k: record.get(k) for k in names})

    # -- files -------------------------------------------------------------------------------

    def _slot(self, call: Call) -> str:
        slot = call.route.action
        for name, value in call.params.items():
            slot = slot.replace("{" + name + "}", value)
        return slot

    def upload(self, call: Call) -> SimResponse:
        """``PUT .../attachments/{filename}`` (or ``thumbnail``): keep the file's metadata."""
        table, record = self.find(call)
        filename = call.params.get("filename", "")
        content = call.request.body
        if not content:
            raise call.bad_request("The file is empty", "file", filename)
        ctx = self.write_ctx(call, creating=False)
        key = f"{call.org.id}/{call.route.resource}/{record['id']}/{ctx.random_hex(12)}"
        attachment = {
            "id": ctx.new_id("attachments"),
            "mimeType": call.request.headers.get("content-type", "application/octet-stream"),
            "fileName": filename,
            "url": f"https://files.simulator.invalid/{key}/{filename}",
            "createdAt": ctx.now,
            "width": None,
            "height": None,
            "size": len(content),
        }
        updated = copy.deepcopy(record)
        slot = self._slot(call)
        if slot == "thumbnail" and "thumbnail" in updated:
            updated["thumbnail"] = {k: v for k, v in attachment.items() if k != "size"}
        else:
            files = (
                updated["attachments"]
                if slot == "attachments" and "attachments" in updated
                else updated.setdefault("_files", {}).setdefault(slot, [])
            )
            files[:] = [f for f in files if f.get("fileName") != filename]
            files.append({k: v for k, v in attachment.items() if k != "size"})
        updated["updatedAt"] = ctx.now
        table.put(updated)
        answer = {"publicUrl": attachment["url"], "filename": filename, "fileKey": key}
        return json_response(call.route.status, answer)

    def unattach(self, call: Call) -> SimResponse:
        """``DELETE .../attachments/{filename}``: forget the file (all of them without a name)."""
        table, record = self.find(call)
        slot = self._slot(call)
        filename = call.params.get("filename")
        updated = copy.deepcopy(record)
        if slot == "attachments" and "attachments" in updated:
            files = updated["attachments"]
        else:
            files = updated.setdefault("_files", {}).setdefault(slot, [])
        kept = [f for f in files if filename is not None and f.get("fileName") != filename]
        if filename is not None and len(kept) == len(files):
            raise not_found("attachment")
        files[:] = kept
        updated["updatedAt"] = self.services.timestamps.next_iso()
        table.put(updated)
        return SimResponse(204)


def _not_json(token: str) -> Any:
    raise ValueError(f"{token} is not JSON")


def _finite(text: str) -> float:
    """A JSON number as a float; ``1e999`` (infinite here) is refused like ``NaN``."""
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"{text} is out of range")
    return value


def _owner(record: Record, by_org: dict[int, OrgData], orgs: list[OrgData]) -> OrgData:
    org_id = record.get("organizationId")
    return by_org.get(org_id, orgs[0]) if isinstance(org_id, int) else orgs[0]


def _bind(
    fn: Callable[[Handlers, Call], SimResponse], handlers: Handlers
) -> Callable[[Call], SimResponse]:
    def bound(call: Call) -> SimResponse:
        return fn(handlers, call)

    return bound
