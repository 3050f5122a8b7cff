"""The endpoints the generic handlers cannot serve: their answers are joins, batches or
aggregates rather than one record (``_resources.SPECIAL`` routes them here).

Organizations, meter readings (batch and single, with their rate limits), work order costs
(rows and their total), team members (users with a team role), direct messages and
conversation members, custom fields (per entity, created in batches) and work permit
signatures. Work permits cannot be created through the API: plant them with
``Simulator.add_record("workPermits", {...})``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any

from ._catalog import catalog
from ._expand import Fields, render
from ._handlers import Call, Handlers, dumps, error_a, not_found
from ._messages import SimResponse, json_response
from ._store import Record, Table, paginate, query_digest
from ._timeutil import normalize_iso
from ._validation import FieldError, Schema, check, is_nullable

__all__ = ["SPECIAL_HANDLERS"]

Special = Callable[[Handlers, Call], SimResponse]


def _items(schema: Schema | None, key: str | None = None) -> Fields:
    """The fields of an answer's (array) items, or of the object under ``key``."""
    schema = schema or {}
    if key is not None:
        schema = (schema.get("properties") or {}).get(key) or {}
    if schema.get("type") == "array":
        schema = schema.get("items") or {}
    return tuple((n, is_nullable(s)) for n, s in (schema.get("properties") or {}).items())


def _list(h: Handlers, call: Call, key: str, records: list[Record], fields: Fields) -> SimResponse:
    """A wrapped, cursor-paged list of records that are not a table of their own."""
    page = paginate(
        [Table(records)],
        predicates=[],
        limit=h.limit(call),
        cursor=call.request.param("cursor") or None,
        filters_fingerprint=query_digest([("path", call.request.path)]),
    )
    return h.page_body(
        call, key, [dumps(render(r, fields)) for r in page.records], page.next_cursor
    )


def organizations(h: Handlers, call: Call) -> SimResponse:
    orgs = h.services.key_organizations(call.key_org_ids)
    return _list(
        h,
        call,
        "organizations",
        [o.as_json() for o in orgs],
        _items(call.route.answer, "organizations"),
    )


# -- meter readings ----------------------------------------------------------------------------


def _date_errors(body: Mapping[str, Any], path: str) -> list[FieldError]:
    value = body.get("readingDate")
    if isinstance(value, str):
        try:
            normalize_iso(value)
        except ValueError:
            return [FieldError("readingDate must be an ISO-8601 date-time", path, value)]
    return []


def _add_reading(h: Handlers, call: Call, meter: Record, value: float, date: str | None) -> Record:
    now = h.services.timestamps.next_iso()
    reading = {
        "id": h.services.new_id("meterReadings"),
        "meterId": meter["id"],
        "value": value,
        "readingDate": normalize_iso(date) if date else None,
        "createdAt": now,
    }
    call.org.table("meterReadings").put(reading)
    updated = dict(meter)
    updated["lastReading"] = {**reading, "id": str(reading["id"])}
    call.org.table("meters").put(updated)
    h.services.count_creation("meterReadings")
    return reading


def meter_readings(h: Handlers, call: Call) -> SimResponse:
    entries = h.json_body(call)
    errors = check(entries, call.route.body or {})
    for index, entry in enumerate(entries):
        if isinstance(entry, dict):
            errors += _date_errors(entry, f"[{index}].readingDate")
    if errors:
        raise error_a(400, errors)
    meters = []
    for entry in entries:
        meter = call.org.lookup("meters", int(entry["meterId"]))
        if meter is None:
            raise not_found("meter")
        meters.append(meter)
    created = []
    for entry, meter in zip(entries, meters, strict=True):
        reading = _add_reading(h, call, meter, entry["value"], entry.get("readingDate"))
        created.append({k: reading[k] for k in ("meterId", "value", "createdAt", "readingDate")})
    return json_response(201, created)


def meter_reading(h: Handlers, call: Call) -> SimResponse:
    meter_id = h.record_id(call, "meterId")
    meter = call.org.lookup("meters", meter_id)
    if meter is None:  # the spec documents no 404 here
        raise error_a(400, [FieldError("Could not find the specified meter.", "meterId", meter_id)])
    body = h.json_body(call)
    errors = check(body, call.route.body or {}) + _date_errors(body, "readingDate")
    if errors:
        raise error_a(400, errors)
    reading = _add_reading(h, call, meter, body["readingValue"], body.get("readingDate"))
    answer = {
        "id": str(reading["id"]),
        "createdAt": reading["createdAt"],
        "readingDate": reading["readingDate"],
        "readingValue": reading["value"],
    }
    return json_response(201, answer)


# -- work order costs --------------------------------------------------------------------------

_COSTS = "workorders/costs"


def _cost_rows(call: Call, work_order: Record) -> list[Record]:
    return [r for r in call.org.table(_COSTS) if r.get("_parentId") == work_order["id"]]


def add_cost(h: Handlers, call: Call) -> SimResponse:
    """An expense (one unit at ``costPerUnit``) or time (``durationTotal`` seconds at
    ``hourlyRate`` cents per hour); the answer carries the work order's new total."""
    _, work_order = h.find(call, "workOrders")
    body = h.checked_body(call)
    row: Record = {
        "id": h.services.new_id(_COSTS),
        "type": body["type"],
        "costType": body["costType"],
        "description": body.get("description"),
        "costPerUnit": body.get("costPerUnit"),
        "userId": None,
        "partId": None,
        "_parentId": work_order["id"],
    }
    if body["type"] == "TIME":
        seconds = body.get("durationTotal") or 0
        quantity = seconds / 3600
        total = round(quantity * (body.get("hourlyRate") or 0))
        row.update(quantity=quantity, rowTotal=total, durationTotal=seconds, userId=call.user_id)
    else:
        row.update(quantity=1, rowTotal=body.get("costPerUnit") or 0, durationTotal=0)
    row["createdAt"] = row["updatedAt"] = h.services.timestamps.next_iso()
    call.org.table(_COSTS).put(row)
    h.services.count_creation(_COSTS)
    total = sum(r["rowTotal"] for r in _cost_rows(call, work_order))
    return json_response(201, render({**row, "total": total}, _items(call.route.answer)))


def costs(h: Handlers, call: Call) -> SimResponse:
    _, work_order = h.find(call, "workOrders")
    rows = _cost_rows(call, work_order)
    fields = _items(((call.route.answer or {}).get("properties") or {}).get("costs"), "rows")
    shown = [render(r, fields) for r in rows]
    return json_response(200, {"costs": {"total": sum(r["rowTotal"] for r in rows), "rows": shown}})


# -- team members ------------------------------------------------------------------------------


def _team(call: Call, param: str) -> Record:
    raw = call.params.get(param, "")
    team = call.org.lookup("teams", int(raw)) if raw.isdigit() else None
    if team is None:
        raise not_found("team")
    return team


def _member(call: Call, team: Record, user_id: int) -> dict[str, Any]:
    user = call.org.lookup("users", user_id) or {}
    role = (team.get("_memberRoles") or {}).get(str(user_id), "MEMBER")
    return {
        "id": user_id,
        "firstName": user.get("firstName", ""),
        "lastName": user.get("lastName", ""),
        "teamRole": role,
    }


def _save_members(call: Call, team: Record, members: list[int], roles: dict[str, str]) -> None:
    updated = dict(team)
    updated.update(_memberIds=members, _memberRoles=roles, membersCount=len(members))
    call.org.table("teams").put(updated)


def team_members(h: Handlers, call: Call) -> SimResponse:
    team = _team(call, "id")
    members = [_member(call, team, i) for i in team.get("_memberIds") or ()]
    return _list(h, call, "members", members, _items(call.route.answer, "members"))


def add_team_member(h: Handlers, call: Call) -> SimResponse:
    team = _team(call, "id")
    body = h.checked_body(call)
    user_id = int(body["id"])
    if call.org.lookup("users", user_id) is None:
        raise error_a(400, [FieldError(f"User {user_id} does not exist", "id", user_id)])
    members = list(team.get("_memberIds") or ())
    roles = dict(team.get("_memberRoles") or {})
    if user_id not in members:
        members.append(user_id)
    roles[str(user_id)] = body.get("teamRole") or roles.get(str(user_id), "MEMBER")
    _save_members(call, team, members, roles)
    return json_response(201, {"id": user_id})


def _team_member(h: Handlers, call: Call) -> tuple[Record, int]:
    team = _team(call, "teamId")
    user_id = h.record_id(call, "userId")
    if user_id not in (team.get("_memberIds") or ()):
        raise not_found("member")
    return team, user_id


def update_team_member(h: Handlers, call: Call) -> SimResponse:
    team, user_id = _team_member(h, call)
    body = h.checked_body(call)
    roles = dict(team.get("_memberRoles") or {})
    if body.get("teamRole"):
        roles[str(user_id)] = body["teamRole"]
    _save_members(call, team, list(team["_memberIds"]), roles)
    updated = call.org.lookup("teams", team["id"]) or team
    return json_response(200, {"member": _member(call, updated, user_id)})


def remove_team_member(h: Handlers, call: Call) -> SimResponse:
    team, user_id = _team_member(h, call)
    roles = {k: v for k, v in (team.get("_memberRoles") or {}).items() if k != str(user_id)}
    _save_members(call, team, [i for i in team["_memberIds"] if i != user_id], roles)
    return SimResponse(204)


# -- conversations -----------------------------------------------------------------------------


def message_user(h: Handlers, call: Call) -> SimResponse:
    """A direct message: into the DM conversation of the caller and that user (made on first
    use), which ``GET /conversations`` then lists."""
    _, user = h.find(call, "users")
    body = h.checked_body(call)
    members = sorted({call.user_id, user["id"]})
    conversations = call.org.table("conversations")
    found = next(
        (c for c in conversations if c.get("type") == "DM" and c.get("_memberIds") == members),
        None,
    )
    ctx = h.write_ctx(call, creating=True)
    if found is None:
        found = (
            catalog().collections["conversations"].blank(h.services.new_id("conversations"), ctx)
        )
        found.update(type="DM", name=None, _memberIds=members)
        conversations.put(found)
    messages = catalog().collections["conversations/messages"]
    message = messages.blank(h.services.new_id(messages.name), ctx)
    message.update(content=body["content"], _parentId=found["id"], authorId=call.user_id)
    call.org.table(messages.name).put(message)
    h.services.count_creation(messages.name)
    return json_response(201, {"conversationId": found["id"]})


def conversation_members(h: Handlers, call: Call) -> SimResponse:
    _, conversation = h.find(call, "conversations")
    users = [call.org.lookup("users", i) for i in conversation.get("_memberIds") or ()]
    return _list(h, call, "members", [u for u in users if u], _items(call.route.answer, "members"))


# -- custom fields -----------------------------------------------------------------------------

_FIELDS = "customfields"


def _entity_fields(call: Call) -> list[Record]:
    entity = call.params["entity"]
    return sorted(
        (r for r in call.org.table(_FIELDS) if r.get("_parentId") == entity),
        key=lambda r: (r["sortOrder"], r["id"]),
    )


def custom_fields(h: Handlers, call: Call) -> SimResponse:
    fields = _items(call.route.answer)
    return json_response(200, [render(r, fields) for r in _entity_fields(call)])


def add_custom_fields(h: Handlers, call: Call) -> SimResponse:
    body = h.checked_body(call)
    start = len(_entity_fields(call))
    now = h.services.timestamps.next_iso()
    created = []
    for index, entry in enumerate(body["fields"]):
        record = {
            "options": None,
            "includeInRecurrence": None,
            "required": None,
            "unlisted": None,
            **copy.deepcopy(entry),
            "id": h.services.new_id(_FIELDS),
            "sortOrder": start + index,
            "createdAt": now,
            "updatedAt": now,
            "_parentId": call.params["entity"],
        }
        call.org.table(_FIELDS).put(record)
        created.append(record)
    h.services.count_creation(_FIELDS)
    fields = _items(call.route.answer)
    return json_response(call.route.status, [render(r, fields) for r in created])


def _custom_field(h: Handlers, call: Call) -> Record:
    field_id = h.record_id(call, "id")
    found = next((r for r in _entity_fields(call) if r["id"] == field_id), None)
    if found is None:
        raise not_found("custom field")
    return found


def update_custom_field(h: Handlers, call: Call) -> SimResponse:
    found = _custom_field(h, call)
    body = h.checked_body(call)
    changes = copy.deepcopy(body["field"])
    updated = {**found, **{k: v for k, v in changes.items() if k != "sortIndex"}}
    if "sortIndex" in changes:
        updated["sortOrder"] = changes["sortIndex"]
    updated["updatedAt"] = h.services.timestamps.next_iso()
    call.org.table(_FIELDS).put(updated)
    return SimResponse(204)


def delete_custom_field(h: Handlers, call: Call) -> SimResponse:
    found = _custom_field(h, call)
    call.org.table(_FIELDS).delete(found["id"])
    return SimResponse(204)


# -- work permits ------------------------------------------------------------------------------


def sign_work_permit(h: Handlers, call: Call) -> SimResponse:
    """Sign a permit planted with ``add_record("workPermits", {"workOrderId": ...,
    "externalLinkUuid": ...})``: the link's uuid must match (else 403)."""
    permit_id = h.record_id(call, "id")
    body = h.checked_body(call)
    table = call.org.table("workPermits")
    permit = table.get(permit_id)
    if permit is None:
        raise error_a(
            400, [FieldError("Could not find the specified work permit.", "id", permit_id)]
        )
    if permit.get("externalLinkUuid") != body["externalLinkUuid"]:
        message = "This link does not sign this work permit."
        raise error_a(403, [FieldError(message, "externalLinkUuid", None)])
    updated = copy.deepcopy(permit)
    updated["status"] = "SIGNED"
    updated["_signers"] = [*(permit.get("_signers") or ()), body["signerName"]]
    updated["updatedAt"] = h.services.timestamps.next_iso()
    table.put(updated)
    work_order = permit.get("workOrderId")
    answer = {
        "success": True,
        "workPermit": {"id": permit_id, "status": "SIGNED"},
        "workOrder": {
            "id": work_order if isinstance(work_order, int) else 0,
            "blockedByWorkPermitReason": None,
        },
    }
    return json_response(call.route.status, answer)


SPECIAL_HANDLERS: dict[str, Special] = {
    "organizations": organizations,
    "meter_readings": meter_readings,
    "meter_reading": meter_reading,
    "costs": costs,
    "add_cost": add_cost,
    "team_members": team_members,
    "add_team_member": add_team_member,
    "update_team_member": update_team_member,
    "remove_team_member": remove_team_member,
    "message_user": message_user,
    "conversation_members": conversation_members,
    "custom_fields": custom_fields,
    "add_custom_fields": add_custom_fields,
    "update_custom_field": update_custom_field,
    "delete_custom_field": delete_custom_field,
    "sign_work_permit": sign_work_permit,
}
