"""maintainx-resilient: a typed, resilient client for the MaintainX CMMS REST API."""

from ._client import AsyncMaintainXClient, MaintainXClient
from ._config import DEFAULT_BASE_URL, ClientConfig
from ._exceptions import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    ConflictError,
    ConnectionError,
    DecodeError,
    ErrorDetail,
    MaintainXError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    RateLimitError,
    ResponseError,
    ServerError,
    TimeoutError,
    TransportError,
)
from ._meta import ResponseMeta
from ._pagination import AsyncPager, Page, SyncPager
from ._secrets import Secret, fingerprint
from ._version import __version__

__all__ = [
    "DEFAULT_BASE_URL",
    "APIStatusError",
    "AsyncMaintainXClient",
    "AsyncPager",
    "AuthenticationError",
    "BadRequestError",
    "ClientConfig",
    "ConfigurationError",
    "ConflictError",
    "ConnectionError",
    "DecodeError",
    "ErrorDetail",
    "MaintainXClient",
    "MaintainXError",
    "NotFoundError",
    "Page",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "RateLimitError",
    "ResponseError",
    "ResponseMeta",
    "Secret",
    "ServerError",
    "SyncPager",
    "TimeoutError",
    "TransportError",
    "__version__",
    "fingerprint",
]
