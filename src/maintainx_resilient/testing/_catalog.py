"""The simulator's map of the API, read from MaintainX's OpenAPI document (once per process).

Every operation of the spec becomes a :class:`Route`: what kind of operation it is, which
collection of records it works on, its request body's schema, the view of a record its answer
shows, and (for lists) its filters, sorts and ``limit`` bounds. Every collection becomes a
:class:`Collection`: its table name, its fields with their schemas (the union of the views,
which gives a new record its defaults) and its parent for nested paths.

The reading rules, in order (``_resources.SPECIAL`` names the few operations served by hand):

- a path with ``attachments``/``attachment``/``thumbnail`` is a file upload (PUT) or removal
  (DELETE) on the record of its first ``{id}``;
- a path ending in a parameter is a ``get``/``update``/``delete`` of one record;
- a GET whose answer has ``nextCursor`` is a ``list``; another GET on ``/x/{id}/field`` reads
  that field (``/subscriptions/{id}/secret``);
- a POST is a ``create`` (into the collection whose item key its answer is wrapped in, when
  that is another one: ``POST /assets/{assetId}/status`` creates an ``assetStatus``);
- a PATCH on ``/x/{id}/action`` sets fields of that record (``/workorders/{id}/status``) and a
  DELETE there clears one (``/workorders/{id}/procedure``).

A collection is named by its list's wrapper key (``workOrders``), else by its path without
parameters (``purchaseorders/comments``); records of a nested path (``/vendors/{id}/contacts``)
belong to the parent record of their path.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from ._expand import Expander, Fields, include, related
from ._resources import EXTRAS, NAMES, SOURCES, SPECIAL, Extras
from ._spec import openapi
from ._store import FilterSpec, Record, ValueType
from ._timeutil import normalize_iso
from ._validation import (
    FieldError,
    Schema,
    conform,
    copy_json,
    default_value,
    is_nullable,
    is_object,
)
from ._writes import WriteContext

__all__ = ["Catalog", "Collection", "Route", "View", "camel", "catalog"]

_METHODS = ("get", "post", "put", "patch", "delete")
_FILE_SEGMENTS = frozenset({"attachments", "attachment", "thumbnail"})
_PAGING = frozenset({"nextCursor", "nextPageUrl"})
_NOT_FILTERS = frozenset(
    {"cursor", "limit", "sort", "expand", "skipWebhook", "useSequentialId", "customFieldName"}
)
ErrorShape = Literal["A", "B", "text"]
_Defaults = tuple[dict[str, Any], tuple[tuple[str, "Callable[[], Any]"], ...], tuple[str, ...]]


def camel(snake: str) -> str:
    """``asset_extra_fields`` -> ``assetExtraFields`` (expand values name properties so)."""
    head, *rest = snake.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def singular(word: str) -> str:
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith(("sses", "uses")):
        return word[:-2]
    return word[:-1] if word.endswith("s") else word


def _is_param(segment: str) -> bool:
    return segment.startswith("{") and segment.endswith("}")


def _segments(template: str) -> list[str]:
    return [s for s in template.strip("/").split("/") if s]


@dataclass(frozen=True, eq=False)
class View:
    """How an answer shows a record: its fields (``(name, nullable)``, in the spec's order),
    and the ``expand=`` values it accepts with what each adds. ``key`` names the view in the
    tables' cache of encoded records."""

    key: str
    fields: Fields
    expanders: Mapping[str, Expander]


@dataclass(frozen=True, eq=False)
class Route:
    """One operation of the spec and how the simulator serves it."""

    method: str
    template: str
    handler: str
    resource: str | None = None
    #: the collection of the record the path's first ``{param}`` names, for nested paths
    parent: str | None = None
    parent_param: str | None = None
    id_param: str | None = None
    #: the field of a record that holds its parent's id
    parent_field: str = "_parentId"
    #: the documented success status, the answer's wrapper key and the record's view
    status: int = 200
    wrapper: str | None = None
    view: View | None = None
    answer: Schema | None = None
    body: Schema | None = None
    #: the last literal segment of an action (``status``) or the slot of a file operation
    action: str = ""
    filters: tuple[FilterSpec, ...] = ()
    sorts: tuple[str, ...] = ()
    limits: tuple[int, int, int] = (1, 200, 100)
    error_shape: ErrorShape = "A"
    multi_org: bool = False
    by_sequence: bool = False
    #: path parameters the spec restricts to a list of values (``/customfields/{entity}``)
    path_enums: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def segments(self) -> tuple[str, ...]:
        return tuple(_segments(self.template))


@dataclass(eq=False)
class Collection:
    """A table of records served by one or more routes."""

    name: str
    path: str
    label: str
    fields: dict[str, Schema] = field(default_factory=dict)
    parent: str | None = None
    extras: Extras = field(default_factory=Extras)
    #: strings the create body requires, which an update may not empty either
    required: tuple[str, ...] = ()
    _template: _Defaults | None = field(default=None, repr=False)

    def blank(self, record_id: int, ctx: WriteContext) -> Record:
        """A new record with every field at its default (the spec's, or the extras')."""
        fixed, fresh, timed = self._defaults()
        record: Record = {"id": record_id, "createdAt": ctx.now, "updatedAt": ctx.now}
        record.update(fixed)
        for name, make in fresh:
            record[name] = make()
        for name in timed:
            record[name] = ctx.now
        if "creatorId" in self.fields:
            record["creatorId"] = ctx.user_id
        if "organizationId" in self.fields:
            record["organizationId"] = ctx.org_id
        if self.extras.defaults is not None:
            record.update(self.extras.defaults(ctx))
        return record

    def _defaults(self) -> _Defaults:
        """The fields' defaults, computed once: immutable values, makers of fresh mutable
        ones, and the fields whose default is the time of the write."""
        if self._template is None:
            marker = "\0now"
            fixed: dict[str, Any] = {}
            fresh: list[tuple[str, Callable[[], Any]]] = []
            timed: list[str] = []
            for name, schema in self.fields.items():
                if name in ("id", "createdAt", "updatedAt"):
                    continue
                value = default_value(schema, marker)
                if value == marker:
                    timed.append(name)
                elif isinstance(value, (list, dict)):
                    fresh.append((name, functools.partial(copy_json, value)))
                else:
                    fixed[name] = value
            self._template = (fixed, tuple(fresh), tuple(timed))
        return self._template

    def apply(
        self, record: Record, body: Mapping[str, Any], schema: Schema, ctx: WriteContext
    ) -> list[FieldError]:
        """Merge a checked body into ``record``: the extras' side effects, then a copy of the
        body's fields the record has (date-times normalized as the API stores them)."""
        extras = self.extras
        errors = extras.apply(record, body, ctx) if extras.apply is not None else []
        if errors:
            return errors
        properties: Mapping[str, Schema] = schema.get("properties") or {}
        for key, value in body.items():
            if key == "id" or key.startswith("_") or key in extras.handled or key not in record:
                continue
            if properties.get(key, {}).get("format") == "date-time" and value:
                record[key] = normalize_iso(value)
            else:
                shape = self.fields.get(key, {})
                record[key] = conform(value, shape, ctx.now, lambda: ctx.new_id(self.name))
        return []


@dataclass
class Catalog:
    """Every route (one per spec operation) and every collection."""

    routes: list[Route]
    collections: dict[str, Collection]

    def __post_init__(self) -> None:
        #: a collection's name by its lower-case label (``asset`` -> ``assets``)
        self.by_label = {c.label.lower(): c.name for c in self.collections.values()}

    def enum(self, collection: str, name: str) -> tuple[str, ...]:
        """The enum values the spec gives a field of a collection."""
        return tuple(self.collections[collection].fields[name]["enum"])


# -- reading the document --------------------------------------------------------------------


def _json_schema(part: Mapping[str, Any] | None) -> Schema | None:
    if not part:
        return None
    schema = part.get("content", {}).get("application/json", {}).get("schema")
    return schema if isinstance(schema, dict) else None


def _success(op: Mapping[str, Any]) -> tuple[int, Schema | None]:
    code = min(c for c in op["responses"] if c.startswith("2"))
    return int(code), _json_schema(op["responses"][code])


def _params(op: Mapping[str, Any], where: str) -> dict[str, Schema]:
    return {p["name"]: p for p in op.get("parameters", ()) if p.get("in") == where}


def _wrapper(answer: Schema | None) -> tuple[str | None, Schema | None]:
    """The wrapper key of an answer and the record schema inside (``{"workOrder": {...}}``,
    ``{"workOrders": [...], "nextCursor": ...}``); ``(None, None)`` for other shapes."""
    if not answer or answer.get("type") == "array":
        return None, None
    props = {k: v for k, v in (answer.get("properties") or {}).items() if k not in _PAGING}
    if len(props) != 1:
        return None, None
    key, inner = next(iter(props.items()))
    if inner.get("type") == "array":
        inner = inner.get("items") or {}
    if "properties" not in inner:
        return None, None
    return key, inner


def _expand_values(op: Mapping[str, Any]) -> tuple[str, ...]:
    param = _params(op, "query").get("expand")
    if param is None:
        return ()
    return tuple(param["schema"].get("items", {}).get("enum", ()))


def _error_shape(op: Mapping[str, Any], method: str) -> ErrorShape:
    schema = _json_schema(op["responses"].get("400"))
    if schema is None:
        return "B" if method == "GET" else "A"
    if schema.get("type") == "string":
        return "text"
    return "A" if "errors" in (schema.get("properties") or {}) else "B"


@dataclass
class _Op:
    """One operation on its way to becoming a route."""

    template: str
    method: str
    op: Mapping[str, Any]
    handler: str
    base: str  # the template of the collection the route works on
    parent_base: str | None = None
    parent_param: str | None = None
    id_param: str | None = None
    action: str = ""


def _classify(template: str, method: str, op: Mapping[str, Any]) -> _Op:
    segs = _segments(template)
    params = [s[1:-1] for s in segs if _is_param(s)]
    last = params[-1] if params else None
    special = SPECIAL.get((method, template))
    if special is not None:
        return _Op(template, method, op, special[0], special[1], id_param=last)
    record_base = "/" + segs[0]
    if _FILE_SEGMENTS & set(segs):
        slot = "/".join(s for s in segs[2:] if s != "{filename}")
        handler = "upload" if method == "PUT" else "unattach"
        return _Op(template, method, op, handler, record_base, id_param=params[0], action=slot)
    parent_base, parent_param = (record_base, params[0]) if params else (None, None)
    if _is_param(segs[-1]):
        handler = {"GET": "get", "PATCH": "update", "PUT": "update", "DELETE": "delete"}[method]
        if len(params) == 1:
            parent_base, parent_param = None, None
        base = "/" + "/".join(segs[:-1])
        return _Op(template, method, op, handler, base, parent_base, parent_param, last)
    answer = _success(op)[1]
    if method == "GET" and answer and _PAGING & set(answer.get("properties") or {}):
        return _Op(template, method, op, "list", template, parent_base, parent_param)
    if method == "POST":
        return _Op(template, method, op, "create", template, parent_base, parent_param)
    verb = {"GET": "read", "PATCH": "set", "PUT": "set", "DELETE": "clear"}[method]
    return _Op(template, method, op, verb, record_base, id_param=last, action=segs[-1])


def _record_schema(o: _Op) -> tuple[str | None, Schema | None]:
    """The wrapper key (if any) and the record schema an operation's answer shows."""
    answer = _success(o.op)[1]
    key, inner = _wrapper(answer)
    if inner is not None:
        return key, inner
    if o.handler == "create" and answer and "properties" in answer:
        return None, answer  # the record itself ({"id"}, a purchase order, a contact...)
    return None, None


def _name(base: str, ops: list[_Op]) -> str:
    if base in NAMES:
        return NAMES[base]
    for o in ops:
        if o.handler == "list" and o.template == base:
            key = _wrapper(_success(o.op)[1])[0]
            if key:
                return key
    return "/".join(s for s in _segments(base) if not _is_param(s))


def _label(base: str, ops: list[_Op]) -> str:
    ranking = ("get", "update", "set", "create")
    for o in sorted(
        (o for o in ops if o.handler in ranking), key=lambda o: ranking.index(o.handler)
    ):
        key = _wrapper(_success(o.op)[1])[0]
        if key:
            return key
    literal = [s for s in _segments(base) if not _is_param(s)]
    return singular(literal[-1]) if literal else base


def _expand_props(o: _Op, properties: Mapping[str, Schema]) -> dict[str, str]:
    return {v: camel(v) for v in _expand_values(o.op) if camel(v) in properties}


def _build() -> Catalog:
    doc = openapi()
    ops = [
        _classify(template, method.upper(), op)
        for template, item in doc["paths"].items()
        for method, op in item.items()
        if method in _METHODS
    ]
    by_base: dict[str, list[_Op]] = {}
    for o in ops:
        by_base.setdefault(o.base, []).append(o)
    labels = {base: _label(base, group) for base, group in by_base.items()}
    # A nested create whose answer is another collection's record creates into that one.
    owner = {label: base for base, label in labels.items() if base and "{" not in base}
    for o in ops:
        key = _wrapper(_success(o.op)[1])[0] if o.handler == "create" else None
        target = owner.get(key) if key else None
        if target is not None and target != o.base and "{" in o.base:
            by_base[o.base].remove(o)
            o.base = target
            by_base[target].append(o)
    collections: dict[str, Collection] = {}
    names: dict[str, str] = {}
    for base, group in by_base.items():
        if not group or not base or base in SOURCES:
            continue
        name = _name(base, group)
        names[base] = name
        collections[name] = Collection(name, base, labels[base], extras=EXTRAS.get(name, Extras()))
    for base, group in by_base.items():
        if base in names:
            _fill(collections[names[base]], group, names)
    routes = [_route(o, collections, names) for o in ops]
    return Catalog(routes, collections)


def _fill(collection: Collection, group: list[_Op], names: Mapping[str, str]) -> None:
    """A collection's fields: every property of its views (an expand-only one when a body
    writes it), in the order of its single-record view first."""
    order = ("get", "list", "update", "create")
    extras = collection.extras
    bodies: dict[str, Schema] = {}
    for o in group:
        body = _json_schema(o.op.get("requestBody"))
        if body is None or o.handler not in ("create", "update"):
            continue
        bodies.update(_union_properties(body))
        if o.handler == "create":
            props = body.get("properties") or {}
            collection.required = tuple(
                n for n in body.get("required", ()) if props.get(n, {}).get("type") == "string"
            )
    for o in sorted(group, key=lambda o: order.index(o.handler) if o.handler in order else 9):
        if o.parent_base is not None and collection.parent is None:
            collection.parent = names.get(o.parent_base)
        schema = _record_schema(o)[1]
        if schema is None or o.handler not in order or o.template in SOURCES:
            continue
        properties: Mapping[str, Schema] = schema.get("properties") or {}
        expand_only = set(_expand_props(o, properties).values())
        for name, sub in properties.items():
            if name in extras.unstored or name in collection.fields:
                continue
            if name in expand_only and (name not in bodies or name in extras.joins):
                continue
            collection.fields[name] = sub
    if not any(o.handler in ("get", "list") for o in group):  # write-only: keep what is sent
        for name, sub in bodies.items():
            collection.fields.setdefault(name, sub)


def _union_properties(schema: Schema) -> dict[str, Schema]:
    props = dict(schema.get("properties") or {})
    for key in ("oneOf", "anyOf"):
        for branch in schema.get(key, ()):
            props.update(
                {k: v for k, v in (branch.get("properties") or {}).items() if k not in props}
            )
    return props


def _target(prop: str, collections: Mapping[str, Collection]) -> Collection | None:
    """The collection an embedded ``prop`` comes from: the one labelled ``prop``, else the
    one whose label ends it (``mainAsset`` -> ``asset``)."""
    wanted = prop.lower()
    best: Collection | None = None
    for collection in collections.values():
        label = collection.label.lower()
        if wanted.endswith(label) and (best is None or len(label) > len(best.label)):
            best = collection
    return best


def _fields(properties: Mapping[str, Schema], leave_out: set[str] | frozenset[str]) -> Fields:
    return tuple((n, is_nullable(s)) for n, s in properties.items() if n not in leave_out)


def _view(
    o: _Op,
    schema: Schema,
    collection: Collection | None,
    collections: Mapping[str, Collection],
) -> View:
    properties: Mapping[str, Schema] = schema.get("properties") or {}
    expand = _expand_props(o, properties)
    extras = collection.extras if collection is not None else Extras()
    values = _expand_values(o.op)
    expanders: dict[str, Expander] = {}
    for value, prop in expand.items():
        sub = properties[prop]
        join = extras.joins.get(value)
        target = _target(prop, collections) if is_object(sub) else None
        if join is not None:
            expanders[value] = join
        elif target is not None and collection is not None and f"{prop}Id" in collection.fields:
            inner: Mapping[str, Schema] = sub.get("properties") or {}
            more = {v: camel(v) for v in values if v == f"{value}_extra_fields"}
            more = {v: p for v, p in more.items() if p in inner}
            fields = _fields(inner, set(more.values()))
            expanders[value] = related(
                prop, f"{prop}Id", target.name, fields, is_nullable(sub), more
            )
        else:
            expanders[value] = include(prop, sub.get("type") == "array", is_nullable(sub))
    leave_out = set(expand.values()) | extras.unstored
    return View(f"{o.method} {o.template}", _fields(properties, leave_out), expanders)


def _value_type(schema: Schema) -> ValueType:
    kind = schema.get("type")
    if kind == "integer" or schema.get("format") == "integer":
        return "int"
    if kind == "boolean":
        return "bool"
    return "datetime" if schema.get("format") == "date-time" else "str"


def _filter(name: str, schema: Schema, fields: Mapping[str, Schema]) -> FilterSpec | None:
    """The generic reading of a list's query parameter (``None``: not a filter we can apply).

    ``X[gte]``/``X[lte]`` bound the timestamp ``X``; ``notX`` negates ``X``; a parameter names
    the field ``x``, ``xId`` or ``xIds`` of its singular (``assets`` -> ``assetId``): an array of
    values keeps records whose field is among them (or, for a list field, shares one), a
    free-text string is a case-insensitive substring, anything else must be equal.
    """
    if name.endswith(("[gte]", "[lte]")):
        return FilterSpec(name, name[:-5], name[-4:-1], "datetime")  # type: ignore[arg-type]
    negate = name.startswith("not") and name[3:4].isupper()
    base = name[3].lower() + name[4:] if negate else name
    is_array = schema.get("type") == "array"
    item: Schema = schema.get("items") or {} if is_array else schema
    stem = singular(base)
    found = next((c for c in (base, f"{stem}Id", f"{stem}Ids", stem) if c in fields), None)
    if found is None:
        return None
    value_type = _value_type(item)
    choices = tuple(item["enum"]) if "enum" in item else None
    if fields[found].get("type") == "array":
        kind = "none" if negate else "any"
    elif is_array:
        kind = "not_in" if negate else "in"
    elif value_type == "str" and choices is None:
        kind = "contains"
    else:
        kind = "eq"
    return FilterSpec(name, found, kind, value_type, choices)  # type: ignore[arg-type]


def _filters(o: _Op, collection: Collection) -> tuple[FilterSpec, ...]:
    found = []
    for name, param in _params(o.op, "query").items():
        if name in _NOT_FILTERS:
            continue
        schema: Schema = param.get("schema") or {}
        override = collection.extras.filters.get(name)
        if override is not None:
            item = schema.get("items") or schema
            if override.choices is None and "enum" in item:
                override = dataclasses.replace(override, choices=tuple(item["enum"]))
            found.append(override)
            continue
        spec = _filter(name, schema, collection.fields)
        if spec is not None:
            found.append(spec)
    return tuple(found)


def _route(o: _Op, collections: Mapping[str, Collection], names: Mapping[str, str]) -> Route:
    status, answer = _success(o.op)
    source = SOURCES.get(o.template)
    resource = source[0] if source else names.get(o.base) or _name(o.base, []) or None
    collection = collections.get(resource or "")
    wrapper, schema = _record_schema(o)
    query = _params(o.op, "query")
    limit: Schema = query.get("limit", {}).get("schema", {})
    sorts: tuple[str, ...] = ()
    if "sort" in query:
        sorts = tuple(dict.fromkeys(s.lstrip("-") for s in query["sort"]["schema"]["enum"]))
    is_list = o.handler == "list" and collection is not None
    return Route(
        method=o.method,
        template=o.template,
        handler=o.handler,
        resource=resource,
        parent=names.get(o.parent_base) if o.parent_base else None,
        parent_param=o.parent_param,
        id_param=o.id_param,
        parent_field=source[1] if source else "_parentId",
        status=status,
        wrapper=wrapper,
        view=_view(o, schema, collection, collections) if schema is not None else None,
        answer=answer,
        body=_json_schema(o.op.get("requestBody")),
        action=o.action,
        filters=_filters(o, collection) if is_list and collection is not None else (),
        sorts=sorts,
        limits=(limit.get("minimum", 1), limit.get("maximum", 200), limit.get("default", 100)),
        error_shape=_error_shape(o.op, o.method),
        multi_org="x-organization-ids" in _params(o.op, "header"),
        by_sequence="useSequentialId" in query,
        path_enums={
            name: tuple(param["schema"]["enum"])
            for name, param in _params(o.op, "path").items()
            if "enum" in param.get("schema", {})
        },
    )


@functools.lru_cache(maxsize=1)
def catalog() -> Catalog:
    """The routes and collections of the shipped spec (built on first use, then cached)."""
    return _build()
