"""maintainx-resilient: a typed, resilient client for the MaintainX CMMS REST API.

The public surface is this module (and the opt-in subpackages ``models``, ``testing``,
``diagnostics``, ``webhooks``, ``sync`` and ``telemetry``); everything in a ``_module`` is
private.
"""

from ._client import AsyncMaintainXClient, ClientOptions, MaintainXClient
from ._clock import Clock, SystemClock
from ._config import DEFAULT_BASE_URL, ClientConfig
from ._events import (
    BreakerStateChanged,
    Event,
    EventBus,
    FallbackServed,
    KeyRotated,
    RequestCompleted,
    RetryScheduled,
    ThrottleWaited,
    ThrottleWarning,
)
from ._exceptions import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    CircuitOpenError,
    ConfigurationError,
    ConflictError,
    ConnectionError,
    CursorCycleError,
    DeadlineExceededError,
    DecodeError,
    ErrorDetail,
    FallbackModeError,
    MaintainXError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    RateLimitError,
    ResponseError,
    ResponseTooLargeError,
    ServerError,
    StorageError,
    ThrottledError,
    TimeoutError,
    TransportError,
)
from ._meta import ResponseMeta
from ._operation import Operation, expect_json, expect_model, expect_page
from ._pagination import AsyncPager, Page, SyncPager
from ._secrets import Secret, fingerprint
from ._version import __version__
from .policies.auth import KeyProvider
from .policies.breaker import BreakerConfig
from .policies.fallback import FallbackConfig
from .policies.retry import RetryConfig
from .policies.throttle import ThrottleConfig

__all__ = [
    "DEFAULT_BASE_URL",
    "APIStatusError",
    "AsyncMaintainXClient",
    "AsyncPager",
    "AuthenticationError",
    "BadRequestError",
    "BreakerConfig",
    "BreakerStateChanged",
    "CircuitOpenError",
    "ClientConfig",
    "ClientOptions",
    "Clock",
    "ConfigurationError",
    "ConflictError",
    "ConnectionError",
    "CursorCycleError",
    "DeadlineExceededError",
    "DecodeError",
    "ErrorDetail",
    "Event",
    "EventBus",
    "FallbackConfig",
    "FallbackModeError",
    "FallbackServed",
    "KeyProvider",
    "KeyRotated",
    "MaintainXClient",
    "MaintainXError",
    "NotFoundError",
    "Operation",
    "Page",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "RateLimitError",
    "RequestCompleted",
    "ResponseError",
    "ResponseMeta",
    "ResponseTooLargeError",
    "RetryConfig",
    "RetryScheduled",
    "Secret",
    "ServerError",
    "StorageError",
    "SyncPager",
    "SystemClock",
    "ThrottleConfig",
    "ThrottleWaited",
    "ThrottleWarning",
    "ThrottledError",
    "TimeoutError",
    "TransportError",
    "__version__",
    "expect_json",
    "expect_model",
    "expect_page",
    "fingerprint",
]
