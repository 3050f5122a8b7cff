"""The local registry of webhook subscriptions: ids, routes and signing secrets.

MaintainX has **no endpoint that lists subscriptions**: whoever creates one must remember its
id, and the receiver must know its secret. :class:`SubscriptionRegistry` creates, updates and
deletes subscriptions through the client and keeps what it learns in one JSON file:

- the file holds the signing secrets, so it is created with mode **0600** (owner read/write
  only), rewritten atomically (temporary file, fsync, rename) and re-tightened to 0600 with a
  warning if it is ever found readable by others; keep it out of backups you would not give
  the secrets to. Nothing else this package writes contains a secret;
- it is the receiver's :class:`~maintainx_resilient.webhooks.receiver.RouteSource`: a
  change made by another process (the CLI, a deploy script) is picked up on the next delivery.

Secret rotation. The API cannot regenerate a secret, so :meth:`SubscriptionRegistry.
rotate_secret` creates a new subscription (same type, URL, filters and options: a new secret),
accepts the new secret *and* the old one on the route for ``grace`` seconds (default 10
minutes: the 5-minute signature tolerance plus MaintainX's 10-second delivery timeout, with
room to spare), then deletes the old subscription. Deliveries already signed with the old
secret still verify; while both subscriptions exist each event arrives twice, and the
content dedupe of the route stores it once. Nothing in flight is dropped.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import stat
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from .._clock import SYSTEM_CLOCK, Clock
from .._secrets import Secret
from .receiver import WebhookRoute

if TYPE_CHECKING:
    from .._client import MaintainXClient

__all__ = [
    "DEFAULT_ROTATION_GRACE",
    "RegisteredSecret",
    "RegisteredSubscription",
    "SubscriptionRegistry",
]

logger = logging.getLogger("maintainx_resilient.webhooks")

#: How long the previous secret stays valid after a rotation (seconds).
DEFAULT_ROTATION_GRACE = 600.0
_ROUTE_NAME = re.compile(r"[A-Za-z0-9._~-]{0,100}")
_VERSION = 1

try:  # POSIX: serialise read-modify-write cycles between processes
    import fcntl

    _HAVE_FLOCK = True
except ImportError:  # pragma: no cover - Windows
    _HAVE_FLOCK = False


@dataclass(frozen=True)
class RegisteredSecret:
    """One signing secret of a route; ``expires_at`` (Unix time) is set once it is retired."""

    secret: Secret
    added_at: float
    expires_at: float | None = None


@dataclass(frozen=True)
class RegisteredSubscription:
    """A subscription as the registry remembers it. ``secrets``: the current one first."""

    route: str
    id: int
    event_type: str
    url: str
    secrets: tuple[RegisteredSecret, ...] = ()
    filters: Mapping[str, Any] | None = None
    options: Mapping[str, Any] | None = None
    status: str | None = None
    created_at: float = 0.0
    retired_ids: tuple[int, ...] = field(default=())

    def live_secrets(self, now: float) -> tuple[Secret, ...]:
        return tuple(s.secret for s in self.secrets if s.expires_at is None or s.expires_at > now)

    def to_route(self, now: float) -> WebhookRoute:
        return WebhookRoute(self.route, self.event_type, self.live_secrets(now), self.id, self.url)


def _encode(sub: RegisteredSubscription) -> dict[str, Any]:
    return {
        "route": sub.route,
        "id": sub.id,
        "eventType": sub.event_type,
        "url": sub.url,
        "filters": dict(sub.filters) if sub.filters is not None else None,
        "options": dict(sub.options) if sub.options is not None else None,
        "status": sub.status,
        "createdAt": sub.created_at,
        "retiredIds": list(sub.retired_ids),
        "secrets": [
            {"value": s.secret.reveal(), "addedAt": s.added_at, "expiresAt": s.expires_at}
            for s in sub.secrets
        ],
    }


def _decode(data: Mapping[str, Any]) -> RegisteredSubscription:
    return RegisteredSubscription(
        route=str(data["route"]),
        id=int(data["id"]),
        event_type=str(data["eventType"]),
        url=str(data["url"]),
        filters=data.get("filters"),
        options=data.get("options"),
        status=data.get("status"),
        created_at=float(data.get("createdAt") or 0.0),
        retired_ids=tuple(int(i) for i in data.get("retiredIds") or ()),
        secrets=tuple(
            RegisteredSecret(
                Secret(str(s["value"])),
                float(s.get("addedAt") or 0.0),
                None if s.get("expiresAt") is None else float(s["expiresAt"]),
            )
            for s in data.get("secrets") or ()
        ),
    )


def _is_not_found(exc: Exception) -> bool:
    return getattr(exc, "status_code", None) == 404 or type(exc).__name__ == "NotFoundError"


class SubscriptionRegistry:
    """Subscriptions this application created, by route name. See the module docstring."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        clock: Clock = SYSTEM_CLOCK,
        rotation_grace: float = DEFAULT_ROTATION_GRACE,
    ) -> None:
        self.path = os.fspath(path)
        self.clock = clock
        self.rotation_grace = rotation_grace
        self._lock = threading.RLock()
        self._cache: dict[str, RegisteredSubscription] = {}
        self._stamp: tuple[int, int] | None = None

    def __repr__(self) -> str:
        return f"SubscriptionRegistry({self.path!r})"

    # -- file -------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _exclusive(self) -> Iterator[None]:
        with self._lock:
            if not _HAVE_FLOCK:  # pragma: no cover - Windows
                yield
                return
            fd = os.open(self.path + ".lock", os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)

    def _load(self) -> dict[str, RegisteredSubscription]:
        with self._lock:
            try:
                info = os.stat(self.path)
            except FileNotFoundError:
                self._cache, self._stamp = {}, None
                return self._cache
            stamp = (info.st_mtime_ns, info.st_size)
            if stamp == self._stamp:
                return self._cache
            if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
                os.chmod(self.path, 0o600)
                logger.warning(
                    "webhook registry %s was accessible to other users; set to 0600", self.path
                )
            with open(self.path, encoding="utf-8") as handle:
                data = json.load(handle)
            if data.get("version") != _VERSION:
                raise ValueError(f"{self.path}: unsupported registry version {data.get('version')}")
            self._cache = {
                sub.route: sub for sub in (_decode(item) for item in data["subscriptions"])
            }
            self._stamp = stamp
            return self._cache

    def _save(self, subs: Mapping[str, RegisteredSubscription]) -> None:
        now = self.clock.time()
        pruned = [
            replace(
                sub,
                secrets=tuple(s for s in sub.secrets if s.expires_at is None or s.expires_at > now),
            )
            for sub in subs.values()
        ]
        payload = {"version": _VERSION, "subscriptions": [_encode(s) for s in pruned]}
        text = json.dumps(payload, indent=2, sort_keys=True)
        directory = os.path.dirname(os.path.abspath(self.path))
        os.makedirs(directory, exist_ok=True)
        temporary = f"{self.path}.tmp-{os.getpid()}-{threading.get_ident()}"
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
            raise
        with contextlib.suppress(OSError):
            dir_fd = os.open(directory, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        self._stamp = None
        self._load()

    def _put(self, sub: RegisteredSubscription) -> None:
        self._stamp = None  # under the file lock: read what another process may have written
        subs = dict(self._load())
        subs[sub.route] = sub
        self._save(subs)

    # -- reading (RouteSource) ---------------------------------------------------------------

    def get(self, route: str) -> RegisteredSubscription | None:
        return self._load().get(route)

    def subscriptions(self) -> list[RegisteredSubscription]:
        return sorted(self._load().values(), key=lambda s: s.route)

    def route(self, name: str) -> WebhookRoute | None:
        sub = self._load().get(name)
        return sub.to_route(self.clock.time()) if sub is not None else None

    def routes(self) -> list[WebhookRoute]:
        now = self.clock.time()
        return [sub.to_route(now) for sub in self.subscriptions()]

    def ids(self) -> list[int]:
        """Every subscription id the registry knows (current and retired-but-undeleted)."""
        found: list[int] = []
        for sub in self.subscriptions():
            found.append(sub.id)
            found.extend(sub.retired_ids)
        return found

    # -- writing ----------------------------------------------------------------------------

    def register(
        self,
        route: str,
        *,
        id: int,
        event_type: str,
        url: str,
        secret: str | Secret,
        filters: Mapping[str, Any] | None = None,
        options: Mapping[str, Any] | None = None,
        status: str | None = None,
    ) -> RegisteredSubscription:
        """Remember a subscription that exists already (created in the web app, say)."""
        if not _ROUTE_NAME.fullmatch(route):
            raise ValueError("a route name is up to 100 letters, digits, '.', '_', '~' or '-'")
        now = self.clock.time()
        wrapped = secret if isinstance(secret, Secret) else Secret(secret)
        sub = RegisteredSubscription(
            route=route,
            id=int(id),
            event_type=str(event_type),
            url=url,
            secrets=(RegisteredSecret(wrapped, now),),
            filters=dict(filters) if filters is not None else None,
            options=dict(options) if options is not None else None,
            status=status,
            created_at=now,
        )
        with self._exclusive():
            self._put(sub)
        return sub

    def forget(self, route: str) -> None:
        """Drop a route from the registry (the subscription itself is left alone)."""
        with self._exclusive():
            self._stamp = None
            subs = dict(self._load())
            if subs.pop(route, None) is not None:
                self._save(subs)

    def _require(self, route: str) -> RegisteredSubscription:
        sub = self._load().get(route)
        if sub is None:
            raise KeyError(f"no subscription registered for route {route!r}")
        return sub

    # -- through the API --------------------------------------------------------------------

    def create(
        self,
        client: MaintainXClient,
        *,
        route: str,
        event_type: str,
        url: str,
        filters: Mapping[str, Any] | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> RegisteredSubscription:
        """``POST /subscriptions`` and remember the id and secret under ``route``."""
        if not _ROUTE_NAME.fullmatch(route):
            raise ValueError("a route name is up to 100 letters, digits, '.', '_', '~' or '-'")
        if self.get(route) is not None:
            raise ValueError(f"route {route!r} is registered already")
        created = client.subscriptions.create(
            type=event_type, url=url, filters=filters, options=options
        )
        secret = created.secret or client.subscriptions.secret(created.id)
        status = created.status.value if created.status is not None else None
        return self.register(
            route,
            id=created.id,
            event_type=event_type,
            url=url,
            secret=secret,
            filters=filters,
            options=options,
            status=status,
        )

    def update(
        self,
        client: MaintainXClient,
        route: str,
        *,
        url: str | None = None,
        event_type: str | None = None,
    ) -> RegisteredSubscription:
        """``PATCH /subscriptions/{id}`` (type and/or URL) and remember the change."""
        sub = self._require(route)
        if url is None and event_type is None:
            return sub
        if url is not None and event_type is not None:
            client.subscriptions.update(sub.id, url=url, type=event_type)
        elif url is not None:
            client.subscriptions.update(sub.id, url=url)
        elif event_type is not None:
            client.subscriptions.update(sub.id, type=event_type)
        changed = replace(sub, url=url or sub.url, event_type=event_type or sub.event_type)
        with self._exclusive():
            self._put(changed)
        return changed

    def delete(self, client: MaintainXClient, route: str) -> None:
        """``DELETE /subscriptions/{id}`` (and any retired one left) and forget the route.
        A subscription MaintainX deleted already counts as deleted."""
        sub = self._require(route)
        for sub_id in (sub.id, *sub.retired_ids):
            try:
                client.subscriptions.delete(sub_id)
            except Exception as exc:
                if not _is_not_found(exc):
                    raise
        self.forget(route)

    def rotate_secret(
        self, client: MaintainXClient, route: str, *, grace: float | None = None
    ) -> RegisteredSubscription:
        """Replace the route's subscription by a new one with a new secret, keeping the old
        secret valid for ``grace`` seconds (see the module docstring)."""
        old = self._require(route)
        grace = self.rotation_grace if grace is None else grace
        created = client.subscriptions.create(
            type=old.event_type, url=old.url, filters=old.filters, options=old.options
        )
        new_secret = created.secret or client.subscriptions.secret(created.id)
        now = self.clock.time()
        retired = tuple(
            replace(
                s,
                expires_at=now + grace if s.expires_at is None else min(s.expires_at, now + grace),
            )
            for s in old.secrets
        )
        rotated = replace(
            old,
            id=created.id,
            status=created.status.value if created.status is not None else old.status,
            secrets=(RegisteredSecret(Secret(new_secret), now), *retired),
            retired_ids=(*old.retired_ids, old.id),
        )
        with self._exclusive():
            self._put(rotated)
        return self.cleanup(client, route)

    def refresh_secret(
        self, client: MaintainXClient, route: str, *, grace: float | None = None
    ) -> RegisteredSubscription:
        """Fetch the subscription's secret from MaintainX (after it was changed in the web
        app); a different one becomes current, the old one retires after ``grace``."""
        sub = self._require(route)
        remote = client.subscriptions.secret(sub.id)
        current = sub.secrets[0].secret if sub.secrets else None
        if current is not None and current.reveal() == remote:
            return sub
        grace = self.rotation_grace if grace is None else grace
        now = self.clock.time()
        retired = tuple(
            replace(s, expires_at=now + grace if s.expires_at is None else s.expires_at)
            for s in sub.secrets
        )
        refreshed = replace(sub, secrets=(RegisteredSecret(Secret(remote), now), *retired))
        with self._exclusive():
            self._put(refreshed)
        return refreshed

    def cleanup(self, client: MaintainXClient, route: str) -> RegisteredSubscription:
        """Delete the retired subscriptions of a route left by a rotation (retried here if
        the delete failed then)."""
        sub = self._require(route)
        remaining = []
        for sub_id in sub.retired_ids:
            try:
                client.subscriptions.delete(sub_id)
            except Exception as exc:
                if not _is_not_found(exc):
                    remaining.append(sub_id)
                    logger.warning(
                        "could not delete retired subscription %s: %s", sub_id, type(exc).__name__
                    )
        cleaned = replace(sub, retired_ids=tuple(remaining))
        if cleaned != sub:
            with self._exclusive():
                self._put(cleaned)
        return cleaned
