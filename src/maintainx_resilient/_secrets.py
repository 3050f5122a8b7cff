"""Keeping API keys and webhook secrets out of everything a person can read.

A key is held in a :class:`Secret`, whose ``repr`` and ``str`` are a fingerprint. The
fingerprint (``sha256:1a2b3c4d``) identifies a key in logs, events and reports without
revealing it: eight hex digits of its SHA-256.

The credential id (:func:`credential_id`) is the other label of a key: what scopes data
fetched with the key (the fallback cache's entries, in memory and on disk). It is longer (128
bits, so two keys never share one) and domain-separated from the fingerprint, and it is just
as non-reversible. The auth layer stamps it on each request it sends
(``request.extensions[CREDENTIAL_EXTENSION]``).
"""

from __future__ import annotations

import hashlib

from ._extensions import CREDENTIAL_EXTENSION

__all__ = ["CREDENTIAL_EXTENSION", "Secret", "credential_id", "fingerprint"]

_CREDENTIAL_DOMAIN = b"maintainx-resilient credential v1\x00"


def fingerprint(value: str) -> str:
    """A short, stable, non-reversible label for a secret value."""
    digest = hashlib.sha256(value.encode("utf-8")).hexdigest()
    return f"sha256:{digest[:8]}"


def credential_id(key: str) -> str:
    """The identity data fetched with ``key`` is scoped by: 32 hex digits (128 bits) of a
    domain-separated SHA-256. Never the key, and not its log fingerprint either."""
    return hashlib.sha256(_CREDENTIAL_DOMAIN + key.encode("utf-8")).hexdigest()[:32]


class Secret:
    """A secret string that never shows itself in ``repr``/``str``/f-strings.

    Call :meth:`reveal` to get the value, only where it must be sent.
    """

    __slots__ = ("_fingerprint", "_value")

    def __init__(self, value: str) -> None:
        self._value = value
        self._fingerprint = fingerprint(value)

    def reveal(self) -> str:
        """The secret value itself; use only to put it on the wire."""
        return self._value

    @property
    def fingerprint(self) -> str:
        return self._fingerprint

    def __repr__(self) -> str:
        return f"Secret({self._fingerprint})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._fingerprint)

    def __reduce__(self) -> str | tuple[object, ...]:
        raise TypeError("Secret values cannot be pickled")
