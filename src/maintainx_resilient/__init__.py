"""maintainx-resilient: a typed, resilient client for the MaintainX CMMS REST API.

The public surface is this module (and the opt-in subpackages ``models``, ``testing``,
``diagnostics``, ``webhooks``, ``sync`` and ``telemetry``); everything in a ``_module`` is
private.
"""

from __future__ import annotations

from typing import TYPE_CHECKING as _TYPE_CHECKING

from ._lazy import lazy_names as _lazy_names
from ._version import __version__

if _TYPE_CHECKING:
    from ._client import AsyncMaintainXClient, ClientOptions, MaintainXClient
    from ._clock import Clock, SystemClock
    from ._config import DEFAULT_BASE_URL, ClientConfig
    from ._events import (
        BreakerStateChanged,
        Event,
        EventBus,
        FallbackServed,
        FleetStateChanged,
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
        ClientClosedError,
        ConfigurationError,
        ConflictError,
        ConnectionError,
        CursorCycleError,
        DeadlineExceededError,
        DecodeError,
        ErrorDetail,
        FallbackModeError,
        JSONValue,
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
    from .fleet._config import FleetConfig
    from .policies.auth import KeyProvider
    from .policies.breaker import BreakerConfig
    from .policies.fallback import FallbackConfig
    from .policies.retry import RetryConfig
    from .policies.throttle import ThrottleConfig

#: Where each public name lives: imported on first use, so ``import maintainx_resilient``
#: costs almost nothing and a program pays only for what it uses.
_LAZY: dict[str, str] = {
    "APIStatusError": "._exceptions",
    "AsyncMaintainXClient": "._client",
    "AsyncPager": "._pagination",
    "AuthenticationError": "._exceptions",
    "BadRequestError": "._exceptions",
    "BreakerConfig": ".policies.breaker",
    "BreakerStateChanged": "._events",
    "CircuitOpenError": "._exceptions",
    "ClientConfig": "._config",
    "ClientOptions": "._client",
    "Clock": "._clock",
    "ConfigurationError": "._exceptions",
    "ConflictError": "._exceptions",
    "ClientClosedError": "._exceptions",
    "ConnectionError": "._exceptions",
    "CursorCycleError": "._exceptions",
    "DEFAULT_BASE_URL": "._config",
    "DeadlineExceededError": "._exceptions",
    "DecodeError": "._exceptions",
    "ErrorDetail": "._exceptions",
    "Event": "._events",
    "EventBus": "._events",
    "FallbackConfig": ".policies.fallback",
    "FleetConfig": ".fleet._config",
    "FleetStateChanged": "._events",
    "FallbackModeError": "._exceptions",
    "JSONValue": "._exceptions",
    "FallbackServed": "._events",
    "KeyProvider": ".policies.auth",
    "KeyRotated": "._events",
    "MaintainXClient": "._client",
    "MaintainXError": "._exceptions",
    "NotFoundError": "._exceptions",
    "Operation": "._operation",
    "Page": "._pagination",
    "PayloadTooLargeError": "._exceptions",
    "PermissionDeniedError": "._exceptions",
    "RateLimitError": "._exceptions",
    "RequestCompleted": "._events",
    "ResponseError": "._exceptions",
    "ResponseMeta": "._meta",
    "ResponseTooLargeError": "._exceptions",
    "RetryConfig": ".policies.retry",
    "RetryScheduled": "._events",
    "Secret": "._secrets",
    "ServerError": "._exceptions",
    "StorageError": "._exceptions",
    "SyncPager": "._pagination",
    "SystemClock": "._clock",
    "ThrottleConfig": ".policies.throttle",
    "ThrottleWaited": "._events",
    "ThrottleWarning": "._events",
    "ThrottledError": "._exceptions",
    "TimeoutError": "._exceptions",
    "TransportError": "._exceptions",
    "expect_json": "._operation",
    "expect_model": "._operation",
    "expect_page": "._operation",
    "fingerprint": "._secrets",
}

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
    "ClientClosedError",
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
    "FleetConfig",
    "FleetStateChanged",
    "JSONValue",
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


_SUBPACKAGES = {"models", "testing", "diagnostics", "webhooks", "sync", "telemetry", "cli", "fleet"}

__getattr__, __dir__ = _lazy_names(__name__, _LAZY, _SUBPACKAGES)
