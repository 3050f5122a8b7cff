"""The operations: generic list/get/create/update/delete driven by the resource table, plus the
few endpoints that are not plain CRUD (work order status, comments, subscription secrets,
organizations, meter readings, versions).

Handlers take a ``Call`` (the request, its route, the resolved organizations and user) and
return a ``SimResponse`` or raise ``ApiError``. They run under the simulator's lock.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol
from urllib.parse import urlencode

from ._messages import JSON_CONTENT_TYPE, SimRequest, SimResponse, json_response
from ._resources import RESOURCES_BY_NAME, ResourceSpec
from ._router import Route
from ._store import (
    Organization,
    QueryError,
    Record,
    Table,
    compile_filters,
    fingerprint,
    paginate,
)
from ._timeutil import Timestamps, normalize_iso
from ._validation import NUM, STR, FieldError, FieldType, nullable, validate_body
from ._writes import WriteContext, apply, blank

__all__ = ["ApiError", "Call", "Handlers", "Services"]

STATUS_TARGETS = ("OPEN", "IN_PROGRESS", "ON_HOLD", "DONE", "CANCELED")
COMMENT_FIELDS = ("id", "authorId", "content", "createdAt")


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
    def key_organizations(self, org_ids: Sequence[int]) -> list[Organization]: ...


@dataclass
class Call:
    """One authenticated request on its way to a handler."""

    request: SimRequest
    route: Route
    params: dict[str, str]
    orgs: list[Organization]
    user_id: int
    key_org_ids: tuple[int, ...]

    @property
    def org(self) -> Organization:
        return self.orgs[0]

    @property
    def spec(self) -> ResourceSpec:
        assert self.route.resource is not None
        return RESOURCES_BY_NAME[self.route.resource]

    def bad_request(self, message: str, path: str | None = None, value: Any = None) -> ApiError:
        """400 in the shape the spec gives this operation: B for GETs, A for writes."""
        if self.route.method == "GET":
            return error_b(400, message)
        return error_a(400, [FieldError(message, path, value)])


def dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def render(
    record: Record, fields: Sequence[str], omit_none: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """Project a stored record onto a view's fields."""
    return {
        name: record[name]
        for name in fields
        if name in record and not (name in omit_none and record[name] is None)
    }


class Handlers:
    """The operations, dispatched by ``Route.handler``."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self._dispatch: dict[str, Callable[[Call], SimResponse]] = {
            "list": self.list_records,
            "get": self.get_record,
            "create": self.create_record,
            "update": self.update_record,
            "delete": self.delete_record,
            "work_order_status": self.work_order_status,
            "list_comments": self.list_comments,
            "create_comment": self.create_comment,
            "subscription_secret": self.subscription_secret,
            "organizations": self.organizations,
            "meter_readings": self.meter_readings,
            "meter_reading": self.meter_reading,
        }

    def __call__(self, call: Call) -> SimResponse:
        try:
            return self._dispatch[call.route.handler](call)
        except QueryError as exc:
            return call.bad_request(str(exc)).response
        except ApiError as exc:
            return exc.response

    @staticmethod
    def versions() -> SimResponse:
        return json_response(200, [{"version": "1"}])

    # -- helpers ---------------------------------------------------------------------------

    def _write_ctx(self, call: Call, *, creating: bool) -> WriteContext:
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
        )

    @staticmethod
    def _record_id(call: Call, name: str = "id") -> int:
        raw = call.params.get(name, "")
        try:
            return int(raw)
        except ValueError:
            if call.route.method == "DELETE":
                raise error_b(404, f"Could not find the specified {call.spec.label}.") from None
            raise call.bad_request(f"Invalid {name}: {raw!r}", name, raw) from None

    def _find(self, call: Call, spec: ResourceSpec | None = None) -> tuple[Table, Record]:
        spec = spec or call.spec
        table = call.org.table(spec.name)
        record_id = self._record_id(call)
        if spec.name == "workOrders" and call.request.param("useSequentialId") == "true":
            found = next((r for r in table if r.get("sequentialId") == record_id), None)
        else:
            found = table.get(record_id)
        if found is None:
            raise error_b(404, f"Could not find the specified {spec.label}.")
        return table, found

    @staticmethod
    def _json_body(call: Call, *, array: bool = False) -> Any:
        try:
            body = json.loads(call.request.body or b"{}")
        except ValueError:
            raise error_a(400, [FieldError("Invalid JSON body")]) from None
        if not isinstance(body, list if array else dict):
            kind = "an array" if array else "an object"
            raise error_a(400, [FieldError(f"The request body must be {kind}")])
        return body

    def _check_body(
        self,
        call: Call,
        body: dict[str, Any],
        fields: Mapping[str, FieldType],
        required: Sequence[str],
    ) -> None:
        spec = call.spec
        errors = validate_body(body, fields, required)
        errors += [
            FieldError(msg, name, body[name])
            for name, msg in spec.forbidden.items()
            if name in body
        ]
        for name, target in spec.refs.items():
            value = body.get(name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or errors:
                continue
            if call.org.lookup(target, int(value)) is None:
                errors.append(FieldError(f"{name} {value} does not exist", name, value))
        if errors:
            raise error_a(400, errors)

    @staticmethod
    def _expands(call: Call, options: Any) -> frozenset[str]:
        return frozenset(call.request.params("expand")) & frozenset(options)

    def _view(
        self,
        call: Call,
        record: Record,
        which: Literal["list", "get"],
        expands: frozenset[str],
        org: Organization | None = None,
    ) -> dict[str, Any]:
        spec = call.spec
        org = org or call.org
        if which == "list":
            view = render(record, spec.list_fields, spec.omit_none)
            expanders = spec.list_expand
        else:
            view = render(record, spec.get_fields)
            expanders = spec.get_expand
        for name in sorted(expands):
            view.update(expanders[name](record, org.lookup, expands))
        return view

    def _page_body(
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

    @staticmethod
    def _limit(call: Call) -> int:
        raw = call.request.param("limit")
        if raw is None or raw == "":
            return 100
        try:
            limit = int(raw)
        except ValueError:
            raise call.bad_request(f"limit must be an integer, got {raw!r}") from None
        if not 1 <= limit <= 200:
            raise call.bad_request(f"limit must be between 1 and 200, got {limit}")
        return limit

    # -- generic CRUD ----------------------------------------------------------------------

    def list_records(self, call: Call) -> SimResponse:
        spec = call.spec
        request = call.request
        limit = self._limit(call)
        sort_field, descending = "id", False
        sort = request.param("sort")
        if sort:
            name = sort[1:] if sort.startswith("-") else sort
            if name not in spec.sorts:
                raise call.bad_request(f"Invalid value for sort: {sort!r}")
            sort_field, descending = spec.sort_alias.get(name, name), sort.startswith("-")
        predicates, canonical = compile_filters(spec.filters, request.query)
        digest = fingerprint(
            [("path", request.path), ("orgs", ",".join(str(o.id) for o in call.orgs)), *canonical]
        )
        tables = [org.table(spec.name) for org in call.orgs]
        page = paginate(
            tables,
            predicates=predicates,
            limit=limit,
            cursor=request.param("cursor") or None,
            sort=sort_field,
            descending=descending,
            filters_fingerprint=digest,
            mode=self.services.pagination_mode(spec.name),
        )
        expands = self._expands(call, spec.list_expand)
        if not expands and len(tables) == 1:
            table = tables[0]

            def encode(record: Record) -> bytes:
                return dumps(render(record, spec.list_fields, spec.omit_none))

            items = [table.encoded(record, "list", encode) for record in page.records]
        else:
            by_org = {org.id: org for org in call.orgs}
            items = [
                dumps(self._view(call, r, "list", expands, self._owner(r, by_org, call.orgs)))
                for r in page.records
            ]
        return self._page_body(call, spec.name, items, page.next_cursor)

    @staticmethod
    def _owner(
        record: Record, by_org: dict[int, Organization], orgs: list[Organization]
    ) -> Organization:
        org_id = record.get("organizationId")
        return by_org.get(org_id, orgs[0]) if isinstance(org_id, int) else orgs[0]

    def get_record(self, call: Call) -> SimResponse:
        spec = call.spec
        table, record = self._find(call)
        expands = self._expands(call, spec.get_expand)
        if expands:
            body = dumps({spec.item_key: self._view(call, record, "get", expands)})
        else:
            inner = table.encoded(record, "get", lambda r: dumps(render(r, spec.get_fields)))
            body = b'{"' + spec.item_key.encode() + b'":' + inner + b"}"
        return SimResponse(200, {"Content-Type": JSON_CONTENT_TYPE}, body)

    def create_record(self, call: Call) -> SimResponse:
        spec = call.spec
        body = self._json_body(call)
        self._check_body(call, body, spec.create_fields, spec.create_required)
        ctx = self._write_ctx(call, creating=True)
        record = blank(spec.name, self.services.new_id(spec.name), ctx)
        errors = apply(spec.name, record, body, spec.create_fields, ctx)
        if errors:
            raise error_a(400, errors)
        call.org.table(spec.name).put(record)
        self.services.count_creation(spec.name)
        if spec.name == "subscriptions":
            payload: Any = {
                "id": record["id"],
                "status": record["status"],
                "secret": record["secret"],
            }
        elif spec.create_returns == "item":
            payload = self._view(call, record, "get", frozenset())
        else:
            payload = {"id": record["id"]}
        return json_response(spec.create_status, payload)

    def update_record(self, call: Call) -> SimResponse:
        spec = call.spec
        table, record = self._find(call)
        body = self._json_body(call)
        self._check_body(call, body, spec.update_fields, ())
        updated = copy.deepcopy(record)
        ctx = self._write_ctx(call, creating=False)
        errors = apply(spec.name, updated, body, spec.update_fields, ctx)
        if errors:
            raise error_a(400, errors)
        updated["updatedAt"] = ctx.now
        table.put(updated)
        expands = self._expands(call, spec.get_expand)
        view = self._view(call, updated, "get", expands)
        for name in spec.update_omits:
            view.pop(name, None)
        return json_response(200, {spec.item_key: view})

    def delete_record(self, call: Call) -> SimResponse:
        table, record = self._find(call)
        table.delete(record["id"])
        return SimResponse(204)

    # -- special endpoints ------------------------------------------------------------------

    def work_order_status(self, call: Call) -> SimResponse:
        table, record = self._find(call)
        body = self._json_body(call)
        status = body.get("status")
        if status not in STATUS_TARGETS:
            message = (
                "SKIPPED cannot be set through the API"
                if status == "SKIPPED"
                else f"status must be one of {', '.join(STATUS_TARGETS)}"
            )
            raise error_a(400, [FieldError(message, "status", status)])
        updated = copy.deepcopy(record)
        now = self.services.timestamps.next_iso()
        if status == "DONE" and record["status"] != "DONE":
            updated["completedAt"], updated["completerId"] = now, call.user_id
        elif status != "DONE":
            updated["completedAt"], updated["completerId"] = None, None
        if status == "IN_PROGRESS" and updated.get("_startedAt") is None:
            updated["_startedAt"] = now
        updated["status"] = status
        updated["updatedAt"] = now
        table.put(updated)
        return json_response(200, {"workOrder": self._view(call, updated, "get", frozenset())})

    def list_comments(self, call: Call) -> SimResponse:
        _, work_order = self._find(call)
        limit = self._limit(call)
        digest = fingerprint([("path", call.request.path), ("orgs", str(call.org.id))])
        page = paginate(
            [call.org.table("comments")],
            predicates=[lambda c: c.get("_workOrderId") == work_order["id"]],
            limit=limit,
            cursor=call.request.param("cursor") or None,
            filters_fingerprint=digest,
        )
        table = call.org.table("comments")
        items = [
            table.encoded(c, "list", lambda r: dumps(render(r, COMMENT_FIELDS)))
            for c in page.records
        ]
        return self._page_body(call, "comments", items, page.next_cursor)

    def create_comment(self, call: Call) -> SimResponse:
        _, work_order = self._find(call)
        body = self._json_body(call)
        errors = validate_body(body, {"content": STR}, ("content",))
        if errors:
            raise error_a(400, errors)
        now = self.services.timestamps.next_iso()
        comment = {
            "id": self.services.new_id("comments"),
            "authorId": call.user_id,
            "content": body["content"],
            "createdAt": now,
            "updatedAt": now,
            "_workOrderId": work_order["id"],
        }
        call.org.table("comments").put(comment)
        self.services.count_creation("comments")
        return json_response(201, {"id": comment["id"]})

    def subscription_secret(self, call: Call) -> SimResponse:
        _, record = self._find(call)
        return json_response(200, {"secret": record["secret"]})

    def organizations(self, call: Call) -> SimResponse:
        limit = self._limit(call)
        orgs = self.services.key_organizations(call.key_org_ids)
        table = Table(org.as_json() for org in orgs)
        digest = fingerprint([("path", call.request.path)])
        page = paginate(
            [table],
            predicates=[],
            limit=limit,
            cursor=call.request.param("cursor") or None,
            filters_fingerprint=digest,
        )
        return self._page_body(
            call, "organizations", [dumps(o) for o in page.records], page.next_cursor
        )

    def _add_reading(
        self, call: Call, meter: Record, value: float, reading_date: str | None
    ) -> Record:
        now = self.services.timestamps.next_iso()
        reading = {
            "id": self.services.new_id("meterReadings"),
            "meterId": meter["id"],
            "value": value,
            "readingDate": normalize_iso(reading_date) if reading_date else None,
            "createdAt": now,
        }
        call.org.table("meterReadings").put(reading)
        updated = dict(meter)
        updated["lastReading"] = {**reading, "id": str(reading["id"])}
        call.org.table("meters").put(updated)
        self.services.count_creation("meterReadings")
        return reading

    def meter_readings(self, call: Call) -> SimResponse:
        entries = self._json_body(call, array=True)
        fields = {"meterId": NUM, "value": NUM, "readingDate": nullable(STR)}
        errors: list[FieldError] = []
        for index, entry in enumerate(entries):
            if not isinstance(entry, dict):
                errors.append(FieldError("Each reading must be an object", f"[{index}]"))
                continue
            errors += [
                FieldError(e.error, f"[{index}].{e.field_path}", e.field_value)
                for e in validate_body(entry, fields, ("meterId", "value"))
            ]
            errors += _date_errors(entry, f"[{index}].readingDate")
        if errors:
            raise error_a(400, errors)
        meters = []
        for entry in entries:
            meter = call.org.lookup("meters", int(entry["meterId"]))
            if meter is None:
                raise error_b(404, "Could not find the specified meter.")
            meters.append(meter)
        created = []
        for entry, meter in zip(entries, meters, strict=True):
            reading = self._add_reading(call, meter, entry["value"], entry.get("readingDate"))
            created.append(
                {key: reading[key] for key in ("meterId", "value", "createdAt", "readingDate")}
            )
        return json_response(201, created)

    def meter_reading(self, call: Call) -> SimResponse:
        meter_id = self._record_id(call, "meterId")
        meter = call.org.lookup("meters", meter_id)
        if meter is None:  # the spec documents no 404 here
            raise error_a(
                400, [FieldError("Could not find the specified meter.", "meterId", meter_id)]
            )
        body = self._json_body(call)
        errors = validate_body(
            body, {"readingValue": NUM, "readingDate": nullable(STR)}, ("readingValue",)
        )
        errors += _date_errors(body, "readingDate")
        if errors:
            raise error_a(400, errors)
        reading = self._add_reading(call, meter, body["readingValue"], body.get("readingDate"))
        return json_response(
            201,
            {
                "id": str(reading["id"]),
                "createdAt": reading["createdAt"],
                "readingDate": reading["readingDate"],
                "readingValue": reading["value"],
            },
        )


def _date_errors(body: dict[str, Any], path: str) -> list[FieldError]:
    value = body.get("readingDate")
    if isinstance(value, str):
        try:
            normalize_iso(value)
        except ValueError:
            return [FieldError("readingDate must be an ISO-8601 date-time", path, value)]
    return []
