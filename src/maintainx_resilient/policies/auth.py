"""The auth layer and key rotation.

The client's key may be a string, a callable returning the current key, or a
:class:`KeyProvider` with a ``rotate()`` hook (fetch the next key from a secret manager). On a
401 the layer asks the :class:`KeyRing` for a new key and resends the request once:

- single flight: however many callers got the 401 at once, ``rotate()`` is called once; the
  others see the key has already moved on and resend with the new one;
- only the key that failed is given up: a caller whose request used an older key than the
  current one just resends with the current key;
- if the new key fails too, the 401 reaches the caller as ``AuthenticationError``.

Keys appear only as fingerprints (``sha256:1a2b3c4d``) in events, reprs and logs. Each
request sent carries the credential id of its key (``request.extensions[CREDENTIAL_EXTENSION]``,
see :func:`~maintainx_resilient._secrets.credential_id`): the fallback cache scopes answers by it.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import threading
import weakref
from collections.abc import Awaitable, Callable
from typing import Protocol, runtime_checkable

import httpx

from .._clock import SYSTEM_CLOCK, Clock
from .._events import EventBus, KeyRotated
from .._exceptions import ConfigurationError
from .._extensions import CREDENTIAL_EXTENSION
from .._layer import AsyncLayer, Layer
from .._secrets import Secret, credential_id, fingerprint
from ..telemetry._logging import register_secret

__all__ = ["AsyncAuthLayer", "AuthLayer", "KeyProvider", "KeyRing", "KeySource"]


@runtime_checkable
class KeyProvider(Protocol):
    """A source of API keys that can move to the next key when one is refused."""

    def get(self) -> str:
        """The key to use now."""
        ...

    def rotate(self, failed: str) -> str | Awaitable[str]:
        """Called once when ``failed`` got a 401; returns the key to use from now on.

        May be ``async``. Raise to signal that no other key is available.
        """
        ...


KeySource = str | Secret | Callable[[], str] | KeyProvider


class KeyRing:
    """The current key and the single-flight rotation around it."""

    def __init__(
        self,
        source: KeySource,
        *,
        clock: Clock = SYSTEM_CLOCK,
        events: EventBus | None = None,
    ) -> None:
        self._provider: KeyProvider | None = None
        self._getter: Callable[[], str] | None = None
        if isinstance(source, Secret):
            self._current = source.reveal()
        elif isinstance(source, str):
            self._current = source
        elif isinstance(source, KeyProvider):
            self._provider = source
            self._current = source.get()
        elif callable(source):
            self._getter = source
            self._current = source()
        else:
            raise ConfigurationError(
                "api_key must be a string, a callable returning a string, or a KeyProvider"
            )
        if not isinstance(self._current, str) or not self._current.strip():
            raise ConfigurationError("the API key source returned an empty key")
        self._clock = clock
        self._events = events or EventBus()
        # Every key this ring uses is masked in logs and reports until close(), or until the
        # ring is collected: the module-level redactor never outlives the clients' keys.
        self._forget = [register_secret(self._current)]
        self._release = weakref.finalize(self, _forget_all, self._forget)
        self._lock = threading.Lock()
        self._async_lock: asyncio.Lock | None = None
        self.rotations = 0
        # (key, its credential id), replaced as one value so readers never pair them wrong.
        self._credential = (self._current, credential_id(self._current))

    @property
    def fingerprint(self) -> str:
        return fingerprint(self._current)

    def credential_of(self, key: str) -> str:
        """The credential id of ``key`` (memoized for the current key)."""
        known, cid = self._credential
        if key != known:
            cid = credential_id(key)
            self._credential = (key, cid)
        return cid

    def credential(self) -> str:
        """The credential id of the key a request would be sent with now."""
        return self.credential_of(self.current())

    @property
    def can_rotate(self) -> bool:
        return self._provider is not None or self._getter is not None

    def known(self) -> str:
        """The key last used or set, without asking a callable source again."""
        return self._current

    def current(self) -> str:
        """The key to send now (a callable source is asked every time)."""
        if self._getter is not None:
            key = self._getter()
            if key != self._current:  # a callable moved on by itself: mask the new key too
                self._forget.append(register_secret(key))
                self._current = key
        return self._current

    def _adopt(self, failed: str, new: str, reason: str) -> str | None:
        if not new or new == failed:
            return None
        self._forget.append(register_secret(new))
        self._current = new
        self.rotations += 1
        self._events.emit(
            KeyRotated(
                at=self._clock.monotonic(),
                wall=self._clock.time(),
                old_fingerprint=fingerprint(failed),
                new_fingerprint=fingerprint(new),
                reason=reason,
            )
        )
        return new

    def rotate(self, failed: str, *, reason: str = "401") -> str | None:
        """The key to resend with after ``failed`` got a 401, or None to give up.

        A provider whose ``rotate()`` raises has no other key: None (the 401 stands)."""
        with self._lock:
            if self._current != failed:
                return self._current  # another caller already rotated
            if self._getter is not None:
                return self._adopt(failed, self._getter(), reason)
            if self._provider is None:
                return None
            try:
                new = self._provider.rotate(failed)
            except Exception as exc:  # the provider has no other key: the 401 stands
                _log_refusal(exc)
                return None
            if inspect.isawaitable(new):
                raise ConfigurationError(
                    "this KeyProvider.rotate is async: use it with AsyncMaintainXClient"
                )
            return self._adopt(failed, new, reason)

    async def arotate(self, failed: str, *, reason: str = "401") -> str | None:
        """The async twin of :meth:`rotate`; one rotation for all tasks of the loop."""
        if self._async_lock is None:
            self._async_lock = asyncio.Lock()
        async with self._async_lock:
            if self._current != failed:
                return self._current
            if self._getter is not None:
                return self._adopt(failed, self._getter(), reason)
            if self._provider is None:
                return None
            try:
                new = self._provider.rotate(failed)
                if inspect.isawaitable(new):
                    new = await new
            except Exception as exc:
                _log_refusal(exc)
                return None
            return self._adopt(failed, new, reason)

    def close(self) -> None:
        """Stop masking this ring's keys (counted: keys another client uses stay masked)."""
        self._release()

    def __repr__(self) -> str:
        return f"KeyRing(current={self.fingerprint}, rotations={self.rotations})"


def _forget_all(forgets: list[Callable[[], None]]) -> None:
    while forgets:
        forgets.pop()()


def _log_refusal(exc: Exception) -> None:
    logging.getLogger("maintainx_resilient").warning(
        "key provider could not rotate the API key: %s", type(exc).__name__
    )


def _authorize(request: httpx.Request, key: str, keys: KeyRing) -> None:
    request.headers["Authorization"] = f"Bearer {key}"
    request.extensions[CREDENTIAL_EXTENSION] = keys.credential_of(key)


class AuthLayer(Layer[KeyRing]):
    """Sends with the current key; on a 401 rotates once (single flight) and sends again."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        key = self.policy.current()
        _authorize(request, key, self.policy)
        response = self.inner.handle_request(request)
        if response.status_code != 401 or not self.policy.can_rotate:
            return response
        new = self.policy.rotate(key)
        if new is None:
            return response
        _authorize(request, new, self.policy)
        return self.inner.handle_request(request)


class AsyncAuthLayer(AsyncLayer[KeyRing]):
    """The async twin of :class:`AuthLayer`."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        key = self.policy.current()
        _authorize(request, key, self.policy)
        response = await self.inner.handle_async_request(request)
        if response.status_code != 401 or not self.policy.can_rotate:
            return response
        new = await self.policy.arotate(key)
        if new is None:
            return response
        _authorize(request, new, self.policy)
        return await self.inner.handle_async_request(request)
