"""Request body checks: a small type language and the API's 400 "shape A" error entries."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from ._timeutil import parse_iso_ms

__all__ = [
    "ANY",
    "BOOL",
    "DATETIME",
    "INT",
    "NUM",
    "OBJ",
    "STR",
    "FieldError",
    "FieldType",
    "enum",
    "list_of",
    "nullable",
    "validate_body",
]

Kind = Literal["str", "int", "num", "bool", "obj", "any", "datetime", "list", "enum"]


@dataclass(frozen=True)
class FieldType:
    """The accepted JSON type of one body field."""

    kind: Kind
    nullable: bool = False
    item: FieldType | None = None
    choices: tuple[str, ...] = ()


STR = FieldType("str")
INT = FieldType("int")
NUM = FieldType("num")
BOOL = FieldType("bool")
OBJ = FieldType("obj")
ANY = FieldType("any", nullable=True)
DATETIME = FieldType("datetime")


def nullable(field_type: FieldType) -> FieldType:
    """The same type, also accepting null."""
    return replace(field_type, nullable=True)


def list_of(item: FieldType) -> FieldType:
    """A JSON array of ``item``."""
    return FieldType("list", item=item)


def enum(*choices: str) -> FieldType:
    """A string among ``choices``."""
    return FieldType("enum", choices=choices)


@dataclass(frozen=True)
class FieldError:
    """One entry of a 400 shape A body: ``{"error", "fieldPath", "fieldValue"}``."""

    error: str
    field_path: str | None = None
    field_value: Any = None

    def as_json(self) -> dict[str, Any]:
        value = self.field_value
        if not (value is None or isinstance(value, (str, int, float, bool))):
            value = None  # the API reports scalars only
        return {"error": self.error, "fieldPath": self.field_path, "fieldValue": value}


_NAMES: dict[str, str] = {
    "str": "a string",
    "int": "an integer",
    "num": "a number",
    "bool": "a boolean",
    "obj": "an object",
    "datetime": "an ISO-8601 date-time string",
    "list": "an array",
}


def _matches(value: Any, field_type: FieldType) -> bool:
    kind = field_type.kind
    if value is None:
        return field_type.nullable
    if kind == "any":
        return True
    if kind == "str":
        return isinstance(value, str)
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "num":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "obj":
        return isinstance(value, dict)
    if kind == "enum":
        return value in field_type.choices
    if kind == "datetime":
        if not isinstance(value, str):
            return False
        try:
            parse_iso_ms(value)
        except ValueError:
            return False
        return True
    return isinstance(value, list)


def _describe(field_type: FieldType) -> str:
    if field_type.kind == "enum":
        return "one of " + ", ".join(field_type.choices)
    return _NAMES.get(field_type.kind, "valid")


def validate_body(
    body: Mapping[str, Any],
    fields: Mapping[str, FieldType],
    required: Sequence[str] = (),
) -> list[FieldError]:
    """Errors for missing required fields and known fields of the wrong type.

    Fields the API does not know are ignored (the API grows; so do its clients).
    """
    errors = [
        FieldError(f'"{name}" is required', name, None) for name in required if name not in body
    ]
    for name, field_type in fields.items():
        if name not in body:
            continue
        value = body[name]
        if not _matches(value, field_type):
            errors.append(FieldError(f'"{name}" must be {_describe(field_type)}', name, value))
            continue
        if field_type.kind == "list" and field_type.item is not None:
            for index, item in enumerate(value):
                if not _matches(item, field_type.item):
                    errors.append(
                        FieldError(
                            f'"{name}[{index}]" must be {_describe(field_type.item)}',
                            f"{name}[{index}]",
                            item,
                        )
                    )
                    break
    return errors
