"""The resource families of the clients (``client.work_orders``, ``client.assets``, ...).

Each family is declared once (its module: a ``ResourceSpec`` and a class); :mod:`._families`
lists them; the async classes are made from the sync ones (:mod:`._twins`).
"""

from ._async import (
    AsyncAssets,
    AsyncCategories,
    AsyncFamilies,
    AsyncLocations,
    AsyncMeters,
    AsyncOrganizations,
    AsyncParts,
    AsyncPurchaseOrders,
    AsyncSubscriptions,
    AsyncTeams,
    AsyncUsers,
    AsyncVendors,
    AsyncWorkOrders,
    AsyncWorkRequests,
)
from ._base import ItemResource, Resource, ResourceSpec, SyncSupport
from ._families import FAMILIES, Families
from .assets import (
    AssetCreateParams,
    AssetListParams,
    Assets,
    AssetUpdateParams,
)
from .categories import (
    Categories,
    CategoryCreateParams,
    CategoryListParams,
    CategoryUpdateParams,
)
from .locations import (
    LocationCreateParams,
    LocationListParams,
    Locations,
    LocationUpdateParams,
)
from .meters import (
    MeterCreateParams,
    MeterListParams,
    Meters,
    MeterUpdateParams,
)
from .organizations import (
    OrganizationListParams,
    Organizations,
)
from .parts import (
    PartCreateParams,
    PartListParams,
    Parts,
    PartUpdateParams,
)
from .purchase_orders import (
    PurchaseOrderCreateParams,
    PurchaseOrderListParams,
    PurchaseOrders,
    PurchaseOrderUpdateParams,
)
from .subscriptions import (
    Subscriptions,
    SubscriptionUpdateParams,
)
from .teams import (
    TeamCreateParams,
    TeamListParams,
    Teams,
    TeamUpdateParams,
)
from .users import (
    UserCreateParams,
    UserListParams,
    Users,
    UserUpdateParams,
)
from .vendors import (
    VendorCreateParams,
    VendorListParams,
    Vendors,
    VendorUpdateParams,
)
from .work_orders import (
    WorkOrderCreateParams,
    WorkOrderListParams,
    WorkOrders,
    WorkOrderUpdateParams,
)
from .work_requests import (
    WorkRequestCreateParams,
    WorkRequestListParams,
    WorkRequests,
    WorkRequestUpdateParams,
)

__all__ = [
    "FAMILIES",
    "AssetCreateParams",
    "AssetListParams",
    "AssetUpdateParams",
    "Assets",
    "AsyncAssets",
    "AsyncCategories",
    "AsyncFamilies",
    "AsyncLocations",
    "AsyncMeters",
    "AsyncOrganizations",
    "AsyncParts",
    "AsyncPurchaseOrders",
    "AsyncSubscriptions",
    "AsyncTeams",
    "AsyncUsers",
    "AsyncVendors",
    "AsyncWorkOrders",
    "AsyncWorkRequests",
    "Categories",
    "CategoryCreateParams",
    "CategoryListParams",
    "CategoryUpdateParams",
    "Families",
    "ItemResource",
    "LocationCreateParams",
    "LocationListParams",
    "LocationUpdateParams",
    "Locations",
    "MeterCreateParams",
    "MeterListParams",
    "MeterUpdateParams",
    "Meters",
    "OrganizationListParams",
    "Organizations",
    "PartCreateParams",
    "PartListParams",
    "PartUpdateParams",
    "Parts",
    "PurchaseOrderCreateParams",
    "PurchaseOrderListParams",
    "PurchaseOrderUpdateParams",
    "PurchaseOrders",
    "Resource",
    "ResourceSpec",
    "SubscriptionUpdateParams",
    "Subscriptions",
    "SyncSupport",
    "TeamCreateParams",
    "TeamListParams",
    "TeamUpdateParams",
    "Teams",
    "UserCreateParams",
    "UserListParams",
    "UserUpdateParams",
    "Users",
    "VendorCreateParams",
    "VendorListParams",
    "VendorUpdateParams",
    "Vendors",
    "WorkOrderCreateParams",
    "WorkOrderListParams",
    "WorkOrderUpdateParams",
    "WorkOrders",
    "WorkRequestCreateParams",
    "WorkRequestListParams",
    "WorkRequestUpdateParams",
    "WorkRequests",
]
