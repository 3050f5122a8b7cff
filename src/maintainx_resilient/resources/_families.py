"""Every resource family of the clients, declared once: the attribute, its class.

:class:`Families` is what :class:`~maintainx_resilient.MaintainXClient` inherits for its typed
attributes (``client.work_orders: WorkOrders``); :data:`FAMILIES` is read from it, so adding a
family is its module (a :class:`~._base.ResourceSpec` and a class), its model, and one line
here (then ``python -m maintainx_resilient.resources`` for the async types).
"""

from typing import Any

from ._base import Resource
from .assets import Assets
from .categories import Categories
from .locations import Locations
from .meters import Meters
from .organizations import Organizations
from .parts import Parts
from .purchase_orders import PurchaseOrders
from .subscriptions import Subscriptions
from .teams import Teams
from .users import Users
from .vendors import Vendors
from .work_orders import WorkOrders
from .work_requests import WorkRequests

__all__ = ["FAMILIES", "Families"]


class Families:
    """The resource families of a client, as typed attributes."""

    work_orders: WorkOrders
    assets: Assets
    locations: Locations
    parts: Parts
    users: Users
    teams: Teams
    vendors: Vendors
    categories: Categories
    meters: Meters
    purchase_orders: PurchaseOrders
    work_requests: WorkRequests
    organizations: Organizations
    subscriptions: Subscriptions


#: The family classes, in the order above.
FAMILIES: tuple[type[Resource[Any]], ...] = tuple(Families.__annotations__.values())
