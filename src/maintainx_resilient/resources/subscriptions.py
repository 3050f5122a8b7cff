"""``client.subscriptions``: webhook subscriptions. create, get, update, delete, secret.

There is **no list endpoint**: keep the id that :meth:`Subscriptions.create` returns.
``POST /subscriptions`` answers 201 with ``{id, status, secret}`` (not wrapped).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from typing_extensions import TypedDict, Unpack

from .._operation import Operation, expect_value
from ..models.subscriptions import CreatedSubscription, Subscription, SubscriptionType
from ._base import ItemResource, ResourceSpec, expect_object

__all__ = ["SubscriptionUpdateParams", "Subscriptions"]

#: One of the 46 event types (:class:`SubscriptionType`); new ones are sent as given.
EventType = SubscriptionType | str


class SubscriptionUpdateParams(TypedDict, total=False):
    """Body of ``PATCH /subscriptions/{id}``: the spec allows only ``type`` and ``url``."""

    type: EventType
    url: str


_CREATED = expect_object(CreatedSubscription)
_SECRET = expect_value("secret")


class SubscriptionSpec(ResourceSpec[Subscription]):
    """Subscriptions: the secret has its own route."""

    def secret_op(self, id: int) -> Operation[str]:
        return Operation.make(
            "GET", f"{self.item_route}/secret", _SECRET, path_params={"id": id}, cacheable=False
        )


SUBSCRIPTIONS = SubscriptionSpec(
    route="/subscriptions",
    list_key="subscriptions",  # unused: there is no GET /subscriptions
    item_key="subscription",
    model=Subscription,
)


class Subscriptions(ItemResource[Subscription]):
    """Webhook subscriptions through :class:`~maintainx_resilient.MaintainXClient`."""

    spec = SUBSCRIPTIONS

    def create(
        self,
        *,
        type: EventType,
        url: str,
        filters: Mapping[str, Any] | None = None,
        options: Mapping[str, Any] | None = None,
        skip_webhook: bool = False,
        idempotent: bool = False,
    ) -> CreatedSubscription:
        """Subscribe ``url`` to one event ``type``; returns ``id``, ``status`` and ``secret``.

        ``filters``/``options`` are sent as given (wire names, e.g.
        ``{"oneOfStatuses": ["DONE"]}``). Keep the id: there is no way to list subscriptions.
        """
        body: dict[str, Any] = {"type": type, "url": url}
        if filters is not None:
            body["filters"] = dict(filters)
        if options is not None:
            body["options"] = dict(options)
        return self._run(self.spec.post_op(_CREATED, body, None, skip_webhook, idempotent))

    def update(
        self,
        id: int,
        *,
        extra_body: Mapping[str, Any] | None = None,
        skip_webhook: bool = False,
        **fields: Unpack[SubscriptionUpdateParams],
    ) -> Subscription:
        """Change the event type or the URL of a subscription."""
        return self._update(id, fields, extra_body, skip_webhook)

    def secret(self, id: int) -> str:
        """The signing secret of a subscription (``GET /subscriptions/{id}/secret``)."""
        return self._run(self.spec.secret_op(id))
