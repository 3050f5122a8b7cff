"""``client.work_requests``: list, iterate, get, create, update, delete."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from typing_extensions import Required, TypedDict, Unpack

from .._pagination import Page, SyncPager
from ..models.work_requests import WorkRequest, WorkRequestPriority, WorkRequestStatus
from ._base import ItemResource, ResourceSpec

__all__ = [
    "WorkRequestCreateParams",
    "WorkRequestListParams",
    "WorkRequestUpdateParams",
    "WorkRequests",
]

Priority = WorkRequestPriority | Literal["NONE", "LOW", "MEDIUM", "HIGH"]
Status = WorkRequestStatus | Literal["PENDING", "REJECTED", "APPROVED", "DONE"]
Expand = Literal["asset", "location", "work_order", "extra_fields"]


class WorkRequestListParams(TypedDict, total=False):
    """Filters of ``GET /workrequests``. Sequences are sent as repeated keys."""

    limit: int
    title: str
    assets: Sequence[int]
    locations: Sequence[int]
    priorities: Sequence[Priority]
    statuses: Sequence[Status]
    expand: Sequence[Expand]


class _WorkRequestFields(TypedDict, total=False):
    """The fields ``POST /workrequests`` and ``PATCH /workrequests/{id}`` share."""

    description: str | None
    priority: Priority
    asset_id: int | None
    location_id: int | None
    approver_team_id: int | None
    creator_contact_info: str | None
    extra_fields: Mapping[str, Any]


class WorkRequestCreateParams(_WorkRequestFields, total=False):
    """Body of ``POST /workrequests``. ``creator_contact_info`` is an e-mail or a phone."""

    title: Required[str]


class WorkRequestUpdateParams(_WorkRequestFields, total=False):
    """Body of ``PATCH /workrequests/{id}``."""

    title: str


WORK_REQUESTS = ResourceSpec(
    route="/workrequests", list_key="workRequests", item_key="workRequest", model=WorkRequest
)


class WorkRequests(ItemResource[WorkRequest]):
    """Work requests through :class:`~maintainx_resilient.MaintainXClient`."""

    spec = WORK_REQUESTS

    def list(
        self, *, cursor: str | None = None, **params: Unpack[WorkRequestListParams]
    ) -> Page[WorkRequest]:
        """One page of work requests (``items``, ``next_cursor``)."""
        return self._list(params, cursor)

    def iter(self, **params: Unpack[WorkRequestListParams]) -> SyncPager[WorkRequest]:
        """Every matching work request, following ``nextCursor`` with the same filters."""
        return self._iter(params)

    def get(self, id: int, *, expand: Sequence[Expand] | None = None) -> WorkRequest:
        """One work request by id; ``expand`` adds the linked asset, location, work order."""
        return self._run(self.spec.get_op(id, {"expand": expand}))

    def create(
        self,
        *,
        extra_body: Mapping[str, Any] | None = None,
        skip_webhook: bool = False,
        idempotent: bool = False,
        **fields: Unpack[WorkRequestCreateParams],
    ) -> int:
        """Create a work request and return its id. Not retried unless ``idempotent`` is True."""
        return self._create(fields, extra_body, skip_webhook, idempotent)

    def update(
        self,
        id: int,
        *,
        extra_body: Mapping[str, Any] | None = None,
        skip_webhook: bool = False,
        **fields: Unpack[WorkRequestUpdateParams],
    ) -> WorkRequest:
        """Change fields of a work request; returns the updated work request."""
        return self._update(id, fields, extra_body, skip_webhook)
