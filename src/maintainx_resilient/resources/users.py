"""``client.users``: list, iterate, get, create, update, delete."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from typing_extensions import Required, TypedDict, Unpack

from .._pagination import Page, SyncPager
from ..models.users import AuthType, InviteType, User, UserRole
from ._base import ItemResource, ResourceSpec

__all__ = [
    "UserCreateParams",
    "UserListParams",
    "UserUpdateParams",
    "Users",
]

Role = UserRole | Literal["ADMIN", "MEMBER", "OPERATOR", "REQUESTER", "SERVICE_ACCOUNT"]
Auth = AuthType | Literal["NORMAL", "SAML", "OIDC"]
Invite = InviteType | Literal["ALL", "EMAIL", "SMS", "NONE"]
Expand = Literal["role", "extra_fields"]


class UserListParams(TypedDict, total=False):
    """Filters of ``GET /users``. Sequences are sent as repeated keys."""

    limit: int
    only_assignable: bool
    email: Sequence[str]
    expand: Sequence[Expand]


class _UserFields(TypedDict, total=False):
    """The fields ``POST /users`` and ``PATCH /users/{id}`` share."""

    email: str | None
    phone_number: str | None
    role: Role | None
    custom_role: str | None
    auth_type: Auth | None
    hourly_rate: int | None
    extra_fields: Mapping[str, Any]
    external_data: Any


class UserCreateParams(_UserFields, total=False):
    """Body of ``POST /users``. ``hourly_rate`` is in cents."""

    first_name: Required[str]
    last_name: Required[str]
    invite_type: Invite | None


class UserUpdateParams(_UserFields, total=False):
    """Body of ``PATCH /users/{id}``."""

    first_name: str
    last_name: str


USERS = ResourceSpec(route="/users", list_key="users", item_key="user", model=User)


class Users(ItemResource[User]):
    """Users through :class:`~maintainx_resilient.MaintainXClient`."""

    spec = USERS

    def list(self, *, cursor: str | None = None, **params: Unpack[UserListParams]) -> Page[User]:
        """One page of users (``items``, ``next_cursor``)."""
        return self._list(params, cursor)

    def iter(self, **params: Unpack[UserListParams]) -> SyncPager[User]:
        """Every matching user, following ``nextCursor`` with the same filters."""
        return self._iter(params)

    def create(
        self,
        *,
        extra_body: Mapping[str, Any] | None = None,
        skip_webhook: bool = False,
        idempotent: bool = False,
        **fields: Unpack[UserCreateParams],
    ) -> int:
        """Create a user and return its id. Not retried unless ``idempotent`` is True."""
        return self._create(fields, extra_body, skip_webhook, idempotent)

    def update(
        self,
        id: int,
        *,
        extra_body: Mapping[str, Any] | None = None,
        skip_webhook: bool = False,
        **fields: Unpack[UserUpdateParams],
    ) -> User:
        """Change fields of a user; returns the updated user."""
        return self._update(id, fields, extra_body, skip_webhook)
