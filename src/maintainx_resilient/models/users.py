"""Users: ``/users`` (the spec's "Users" tag)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ._base import MaintainXModel, OpenEnum

__all__ = ["AuthType", "InviteType", "User", "UserRole"]


class UserRole(OpenEnum):
    ADMIN = "ADMIN"
    MEMBER = "MEMBER"
    OPERATOR = "OPERATOR"
    REQUESTER = "REQUESTER"
    SERVICE_ACCOUNT = "SERVICE_ACCOUNT"


class AuthType(OpenEnum):
    NORMAL = "NORMAL"
    SAML = "SAML"
    OIDC = "OIDC"


class InviteType(OpenEnum):
    """How a new user is invited (``POST /users`` only)."""

    ALL = "ALL"
    EMAIL = "EMAIL"
    SMS = "SMS"
    NONE = "NONE"


class User(MaintainXModel):
    """A user of the organization. ``hourly_rate`` is in cents."""

    id: int
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone_number: str | None = None
    role: UserRole | None = None
    custom_role: str | None = None
    auth_type: AuthType | None = None
    hourly_rate: int | None = None
    removed_from_organization: bool | None = None
    last_visited_at: datetime | None = None
    extra_fields: dict[str, Any] | None = None
    external_data: Any = None
