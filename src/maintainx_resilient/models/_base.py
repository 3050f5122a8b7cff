"""The base of every MaintainX model: lenient on input, exact on the wire.

- Python attributes are snake_case; each field's alias is the spec's wire name
  (``updated_at`` <-> ``updatedAt``). Both names are accepted on input.
- Unknown fields are kept (``model_extra``), never rejected: the API grows.
- Only ``id`` is required. The API sometimes omits or nulls documented fields; one odd record
  must not break a whole page.
- Enums are :class:`OpenEnum`: a value the spec does not list yet parses into a pseudo-member
  whose ``is_known`` is False, instead of failing.
"""

from __future__ import annotations

import enum
from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from .._meta import ResponseMeta

__all__ = ["MaintainXModel", "OpenEnum"]


class OpenEnum(str, enum.Enum):
    """A string enum that accepts values it does not know.

    ``WorkOrderStatus("ARCHIVED")`` returns a pseudo-member equal to ``"ARCHIVED"`` with
    ``is_known == False``; known values return the real members.
    """

    @classmethod
    def _missing_(cls, value: object) -> Any:
        if not isinstance(value, str):
            return None
        member = str.__new__(cls, value)
        member._name_ = value
        member._value_ = value
        return member

    @property
    def is_known(self) -> bool:
        """True for values the spec lists, False for values the API added since."""
        return self._name_ in type(self).__members__

    def __str__(self) -> str:
        return str(self.value)


class MaintainXModel(BaseModel):
    """Base of the response models."""

    model_config = ConfigDict(
        extra="allow",
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        frozen=False,
        protected_namespaces=(),
        cache_strings="keys",
    )

    @property
    def response_meta(self) -> ResponseMeta | None:
        """Where this object came from: fresh from MaintainX, or stale from the fallback cache.

        Set on objects returned directly by a client call (not on nested objects, nor on the
        records of a page: the page has its own).
        """
        private = self.__pydantic_private__
        meta = private.get("response_meta") if private else None
        return meta if isinstance(meta, ResponseMeta) else None

    def attach_meta(self, meta: ResponseMeta) -> None:
        """Label this object with the answer it came from (the client does it). Kept outside
        the fields, and not a pydantic private attribute: those cost every record of every
        page an initialisation in Python."""
        object.__setattr__(self, "__pydantic_private__", {"response_meta": meta})

    def to_wire(self) -> dict[str, Any]:
        """The object as MaintainX sends it: wire names, JSON types, unknown fields kept."""
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True)
