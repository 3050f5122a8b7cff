"""The resource families of the clients (``client.work_orders``, ``client.assets``, ...)."""

from .assets import (
    AssetCreateParams,
    AssetListParams,
    Assets,
    AssetUpdateParams,
    AsyncAssets,
)
from .categories import (
    AsyncCategories,
    Categories,
    CategoryCreateParams,
    CategoryListParams,
    CategoryUpdateParams,
)
from .locations import (
    AsyncLocations,
    LocationCreateParams,
    LocationListParams,
    Locations,
    LocationUpdateParams,
)
from .meters import (
    AsyncMeters,
    MeterCreateParams,
    MeterListParams,
    Meters,
    MeterUpdateParams,
)
from .organizations import (
    AsyncOrganizations,
    OrganizationListParams,
    Organizations,
)
from .parts import (
    AsyncParts,
    PartCreateParams,
    PartListParams,
    Parts,
    PartUpdateParams,
)
from .purchase_orders import (
    AsyncPurchaseOrders,
    PurchaseOrderCreateParams,
    PurchaseOrderListParams,
    PurchaseOrders,
    PurchaseOrderUpdateParams,
)
from .subscriptions import (
    AsyncSubscriptions,
    Subscriptions,
    SubscriptionUpdateParams,
)
from .teams import (
    AsyncTeams,
    TeamCreateParams,
    TeamListParams,
    Teams,
    TeamUpdateParams,
)
from .users import (
    AsyncUsers,
    UserCreateParams,
    UserListParams,
    Users,
    UserUpdateParams,
)
from .vendors import (
    AsyncVendors,
    VendorCreateParams,
    VendorListParams,
    Vendors,
    VendorUpdateParams,
)
from .work_orders import (
    AsyncWorkOrders,
    WorkOrderCreateParams,
    WorkOrderListParams,
    WorkOrders,
    WorkOrderUpdateParams,
)
from .work_requests import (
    AsyncWorkRequests,
    WorkRequestCreateParams,
    WorkRequestListParams,
    WorkRequests,
    WorkRequestUpdateParams,
)

__all__ = [
    "AssetCreateParams",
    "AssetListParams",
    "AssetUpdateParams",
    "Assets",
    "AsyncAssets",
    "AsyncCategories",
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
    "SubscriptionUpdateParams",
    "Subscriptions",
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
