"""Client settings: the keyword arguments both clients take (:class:`ClientOptions`), resolved
from the arguments first, then the environment, then defaults (:class:`ClientConfig`).

Environment variables (the same ones the CLI reads):

- ``MAINTAINX_API_KEY``: the bearer key (required unless ``api_key=`` is given)
- ``MAINTAINX_ORG_ID``: organization id for multi-organization keys (``x-organization-id``)
- ``MAINTAINX_BASE_URL``: defaults to ``https://api.getmaintainx.com/v1``
- ``MAINTAINX_FLEET``: a Redis URL: join that fleet (``MAINTAINX_FLEET_NAME`` names it)

Bad values fail here, at construction, with a message that says what to do.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import httpx
from typing_extensions import TypedDict

from ._body import ACCEPT_ENCODING, DEFAULT_MAX_RESPONSE_BYTES
from ._clock import Clock
from ._deadline import DEFAULT_DEADLINE, validate_seconds
from ._events import Hook
from ._exceptions import ConfigurationError
from ._secrets import Secret
from ._version import __version__
from .diagnostics.desk import DiagnosticsConfig
from .fleet._config import FleetOption
from .policies.auth import KeySource
from .policies.breaker import BreakerConfig
from .policies.fallback import FallbackConfig
from .policies.retry import RetryConfig
from .policies.throttle import ThrottleConfig

if TYPE_CHECKING:
    from opentelemetry.metrics import MeterProvider
    from opentelemetry.trace import TracerProvider

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_BREAKER",
    "DEFAULT_DEADLINE",
    "DEFAULT_FALLBACK",
    "DEFAULT_LIMITS",
    "DEFAULT_MAX_RESPONSE_BYTES",
    "DEFAULT_RETRY",
    "DEFAULT_THROTTLE",
    "DEFAULT_TIMEOUT",
    "ClientConfig",
    "ClientOptions",
]

DEFAULT_BASE_URL = "https://api.getmaintainx.com/v1"
#: 10 s to connect, 30 s to read a page of 200 records, 5 s to get a pooled connection.
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0, pool=5.0)
#: Keep-alive pool sized for the API's rate limit (a few hundred requests a minute).
DEFAULT_LIMITS = httpx.Limits(max_connections=20, max_keepalive_connections=10, keepalive_expiry=30)
USER_AGENT = f"maintainx-resilient/{__version__}"

_KEY_HINT = (
    "No MaintainX API key. Pass api_key=... or set MAINTAINX_API_KEY. "
    "HINT: create a key in MaintainX under Settings > Integrations > API Keys "
    "(or use maintainx_resilient.testing.Simulator for a local stand-in)."
)


@dataclass(frozen=True)
class ClientConfig:
    """Resolved, validated connection settings shared by the sync and async clients.

    ``timeout`` bounds each network wait (connect, one read, one write, a pooled
    connection); ``deadline`` bounds a whole call: every wait, every read of the answer and
    every retry together (None: no overall bound). ``max_response_bytes`` caps one answer's
    body (after decompression).
    """

    #: A string key is held as a :class:`Secret`; a callable or KeyProvider is kept as given.
    api_key: Secret | KeySource
    base_url: str = DEFAULT_BASE_URL
    organization_id: int | None = None
    organization_ids: tuple[int, ...] = ()
    timeout: httpx.Timeout = field(default_factory=lambda: DEFAULT_TIMEOUT)
    limits: httpx.Limits = field(default_factory=lambda: DEFAULT_LIMITS)
    deadline: float | None = DEFAULT_DEADLINE
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES
    user_agent: str = USER_AGENT
    default_headers: tuple[tuple[str, str], ...] = ()

    @classmethod
    def resolve(
        cls,
        *,
        api_key: KeySource | None = None,
        base_url: str | None = None,
        organization_id: int | str | None = None,
        organization_ids: tuple[int, ...] | list[int] | None = None,
        timeout: float | httpx.Timeout | None = None,
        limits: httpx.Limits | None = None,
        default_headers: Mapping[str, str] | None = None,
        deadline: float | None = DEFAULT_DEADLINE,
        max_response_bytes: int | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> ClientConfig:
        env = os.environ if environ is None else environ
        key = api_key if api_key is not None else env.get("MAINTAINX_API_KEY")
        if key is None or (isinstance(key, str) and not key.strip()):
            raise ConfigurationError(_KEY_HINT)
        secret = Secret(key.strip()) if isinstance(key, str) else key

        typed = base_url or env.get("MAINTAINX_BASE_URL") or DEFAULT_BASE_URL
        url = typed.rstrip("/")
        try:
            parsed = httpx.URL(url)
        except httpx.InvalidURL as exc:
            raise ConfigurationError(
                f"base_url (MAINTAINX_BASE_URL) is not a valid URL ({exc}): got {typed!r}; "
                f"expected an http(s) URL such as {DEFAULT_BASE_URL!r}"
            ) from None
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise ConfigurationError(
                f"base_url must be an http(s) URL such as {DEFAULT_BASE_URL!r}, got {typed!r}"
            )
        if parsed.port is not None and not 0 < parsed.port < 65536:
            raise ConfigurationError(
                f"base_url has port {parsed.port}, outside 1-65535: got {typed!r}"
            )
        if parsed.query or parsed.fragment:
            raise ConfigurationError(
                f"base_url must not carry a ?query or a #fragment (paths are appended to it), "
                f"got {typed!r}"
            )

        org_raw = organization_id if organization_id is not None else env.get("MAINTAINX_ORG_ID")
        org = _parse_org_id(org_raw)
        orgs = tuple(_parse_org_id(o) or 0 for o in (organization_ids or ()))
        if org is not None and orgs:
            raise ConfigurationError(
                "Pass organization_id or organization_ids, not both: MaintainX rejects "
                "requests that send both x-organization-id and x-organization-ids."
            )

        if timeout is None:
            resolved_timeout = DEFAULT_TIMEOUT
        elif isinstance(timeout, httpx.Timeout):
            resolved_timeout = timeout
        else:
            if timeout <= 0:
                raise ConfigurationError(f"timeout must be positive seconds, got {timeout!r}")
            resolved_timeout = httpx.Timeout(timeout)

        resolved_deadline = None if deadline is None else validate_seconds(deadline, "deadline")
        cap = DEFAULT_MAX_RESPONSE_BYTES if max_response_bytes is None else max_response_bytes
        if isinstance(cap, bool) or not isinstance(cap, int) or cap <= 0:
            raise ConfigurationError(
                f"max_response_bytes must be a positive number of bytes, got {cap!r} "
                f"(the default is {DEFAULT_MAX_RESPONSE_BYTES})"
            )

        headers = tuple((default_headers or {}).items())
        for name, _ in headers:
            if name.lower() in ("authorization", "x-organization-id", "x-organization-ids"):
                raise ConfigurationError(
                    f"Do not pass {name!r} in default_headers; use api_key / organization_id."
                )
        return cls(
            api_key=secret,
            base_url=url,
            organization_id=org,
            organization_ids=orgs,
            timeout=resolved_timeout,
            limits=limits or DEFAULT_LIMITS,
            deadline=resolved_deadline,
            max_response_bytes=cap,
            default_headers=headers,
        )

    @classmethod
    def from_options(cls, options: ClientOptions) -> ClientConfig:
        """The settings of a client's keyword arguments."""
        return cls.resolve(
            api_key=options.get("api_key"),
            base_url=options.get("base_url"),
            organization_id=options.get("organization_id"),
            organization_ids=options.get("organization_ids"),
            timeout=options.get("timeout"),
            limits=options.get("limits"),
            default_headers=options.get("default_headers"),
            deadline=options.get("deadline", DEFAULT_DEADLINE),
            max_response_bytes=options.get("max_response_bytes"),
        )

    def base_headers(self) -> dict[str, str]:
        """Headers sent on every request, except ``Authorization`` (added by the auth layer)."""
        headers = {
            "Accept": "application/json",
            # Only what the HTTP layer decodes within the size cap (see ``_body``).
            "Accept-Encoding": ACCEPT_ENCODING,
            "User-Agent": self.user_agent,
        }
        headers.update(self.default_headers)
        if self.organization_id is not None:
            headers["x-organization-id"] = str(self.organization_id)
        elif self.organization_ids:
            headers["x-organization-ids"] = ",".join(str(o) for o in self.organization_ids)
        return headers


def _parse_org_id(value: int | str | None) -> int | None:
    if value is None or value == "":
        return None
    try:
        org = int(value)
    except (TypeError, ValueError):
        raise ConfigurationError(
            f"organization_id (MAINTAINX_ORG_ID) must be an integer, got {value!r}"
        ) from None
    if org <= 0:
        raise ConfigurationError(f"organization_id must be a positive integer, got {org}")
    return org


class ClientOptions(TypedDict, total=False):
    """The keyword arguments both clients take (besides ``transport``).

    Connection: ``api_key`` (a string, a callable returning one, or a :class:`KeyProvider`;
    default ``MAINTAINX_API_KEY``), ``base_url``, ``organization_id`` / ``organization_ids``,
    ``timeout`` (each network wait), ``deadline`` (a whole call, retries and waits included:
    120 s by default, None for none), ``max_response_bytes`` (50 MB by default),
    ``limits``, ``default_headers``, ``http_client`` (your own ``httpx.Client`` /
    ``httpx.AsyncClient``: its proxies, TLS settings and mounts carry the calls; you close
    it). Policies (a config object, or None to switch one off; on by default):
    ``throttle``, ``retry`` (or just ``max_retries``), ``breaker``, ``fallback``.
    Fleet mode: ``fleet`` (a Redis URL, a redis-py client or a ``FleetConfig``; default
    ``MAINTAINX_FLEET``; None: this process alone).
    Observability and diagnosis: ``diagnostics``, ``hooks``, ``tracer_provider``,
    ``meter_provider``. ``clock`` drives every policy (tests pass a ``FakeClock``).
    """

    api_key: KeySource | None
    base_url: str | None
    organization_id: int | str | None
    organization_ids: list[int] | tuple[int, ...] | None
    timeout: float | httpx.Timeout | None
    deadline: float | None
    max_response_bytes: int | None
    limits: httpx.Limits | None
    default_headers: Mapping[str, str] | None
    http_client: httpx.Client | httpx.AsyncClient | None
    throttle: ThrottleConfig | None
    retry: RetryConfig | None
    max_retries: int | None
    breaker: BreakerConfig | None
    fallback: FallbackConfig | None
    fleet: FleetOption
    diagnostics: DiagnosticsConfig
    clock: Clock
    hooks: Sequence[Hook]
    tracer_provider: TracerProvider | None
    meter_provider: MeterProvider | None


#: The policies a client gets unless told otherwise (pass None to switch one off).
DEFAULT_THROTTLE = ThrottleConfig()
DEFAULT_RETRY = RetryConfig()
DEFAULT_BREAKER = BreakerConfig()
DEFAULT_FALLBACK = FallbackConfig()
