"""Webhook signature verification, exactly as MaintainX documents it. Pure: no I/O, no logging.

Every delivery carries two headers, ``x-maintainx-webhook-body-signature`` and
``x-maintainx-webhook-uri-signature``, each ``t=<timestamp>,v1=<hex>``. The signature is the
hex HMAC-SHA256, keyed by the subscription's secret, of ``"<t>." + raw body bytes`` (body
header) or ``"<t>." + the full request URI`` (URI header):

- the header is split on ``,``, each element on the first ``=``; ``t`` is the timestamp,
  ``v1`` a signature (there may be several); other schemes (``v0``...) are ignored;
- the signed ``<t>`` is the header's text as sent (never re-formatted), the body the raw bytes
  as received (never re-serialised JSON);
- signatures are compared in constant time (:func:`hmac.compare_digest`), against every
  configured secret (several at once during a secret rotation);
- the timestamp must be within ``tolerance`` (default 5 minutes) of now, in both directions.
  Its unit is not documented: values of 10^11 and more are milliseconds, smaller ones seconds
  (10^11 seconds is the year 5138; 10^11 milliseconds is 1973).

A failed check gives a :class:`RejectReason`; the :class:`Verification` it comes in says which
header failed and why, in words that never contain the body or a secret.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from .._secrets import Secret, fingerprint

__all__ = [
    "BODY_SIGNATURE_HEADER",
    "DEFAULT_TOLERANCE",
    "URI_SIGNATURE_HEADER",
    "RejectReason",
    "SignatureHeader",
    "SigningKeys",
    "UriCheck",
    "Verification",
    "WebhookVerificationError",
    "check_signature",
    "compute_signature",
    "parse_signature_header",
    "sign_header",
    "timestamp_seconds",
    "verify_delivery",
]

BODY_SIGNATURE_HEADER = "x-maintainx-webhook-body-signature"
URI_SIGNATURE_HEADER = "x-maintainx-webhook-uri-signature"

#: MaintainX's recommended tolerance: 5 minutes, applied to the past and to the future.
DEFAULT_TOLERANCE = 300.0

#: Timestamps at or above this are milliseconds (see the module docstring).
_MILLISECONDS_FROM = 10**11

_TIMESTAMP = re.compile(r"[0-9]{1,16}")
_HEX_SIGNATURE = re.compile(r"[0-9a-fA-F]{64}")
#: A header value longer than this is malformed (a real one is about 80 characters).
_MAX_HEADER = 4096

#: What to do with ``x-maintainx-webhook-uri-signature``: check it when it is there (the
#: default), insist on it, or ignore it (behind a proxy that rewrites the URL beyond repair).
UriCheck = Literal["if_present", "require", "ignore"]


class RejectReason(str, enum.Enum):
    """Why a delivery was rejected: a stable code for metrics, logs and responses."""

    MISSING_HEADER = "missing_header"
    MALFORMED_HEADER = "malformed_header"
    BAD_SIGNATURE = "bad_signature"
    TOO_OLD = "too_old"
    FROM_FUTURE = "from_future"

    def __str__(self) -> str:
        return self.value


class WebhookVerificationError(Exception):
    """A delivery failed verification. ``reason`` is the code; the message never holds the
    body or a secret."""

    def __init__(self, reason: RejectReason, detail: str, header: str | None = None) -> None:
        super().__init__(f"{reason.value}: {detail}")
        self.reason = reason
        self.detail = detail
        self.header = header


@dataclass(frozen=True)
class SignatureHeader:
    """A parsed ``t=...,v1=...`` header. ``timestamp`` is the text that was signed."""

    timestamp: str
    signatures: tuple[str, ...]

    @property
    def seconds(self) -> float:
        """The timestamp as Unix seconds (milliseconds are converted)."""
        return timestamp_seconds(self.timestamp)


def timestamp_seconds(raw: str) -> float:
    """Unix seconds of a header timestamp given in seconds or in milliseconds."""
    value = int(raw)
    return value / 1000.0 if value >= _MILLISECONDS_FROM else float(value)


def parse_signature_header(value: str) -> SignatureHeader:
    """Parse a signature header; :class:`WebhookVerificationError` (``malformed_header``) if
    it has no valid ``t`` or no valid ``v1``."""

    def bad(detail: str) -> WebhookVerificationError:
        return WebhookVerificationError(RejectReason.MALFORMED_HEADER, detail)

    if len(value) > _MAX_HEADER:
        raise bad("header too long")
    timestamp: str | None = None
    signatures: list[str] = []
    for element in value.split(","):
        prefix, sep, item = element.partition("=")
        prefix, item = prefix.strip(), item.strip()
        if not sep or not prefix:
            raise bad("an element is not a prefix=value pair")
        if prefix == "t":
            if timestamp is not None:
                raise bad("more than one timestamp")
            if not _TIMESTAMP.fullmatch(item):
                raise bad("the timestamp is not an integer")
            timestamp = item
        elif prefix == "v1":
            if not _HEX_SIGNATURE.fullmatch(item):
                raise bad("a v1 signature is not 64 hex digits")
            signatures.append(item.lower())
        # other schemes (v0, v2...) are discarded, as documented
    if timestamp is None:
        raise bad("no timestamp (t=)")
    if not signatures:
        raise bad("no v1 signature")
    return SignatureHeader(timestamp, tuple(signatures))


def _key_bytes(secret: str | bytes | Secret) -> bytes:
    if isinstance(secret, Secret):
        return secret.reveal().encode("utf-8")
    if isinstance(secret, str):
        return secret.encode("utf-8")
    return bytes(secret)


def compute_signature(secret: str | bytes | Secret, timestamp: str | int, payload: bytes) -> str:
    """The hex HMAC-SHA256 of ``"<timestamp>." + payload`` keyed by ``secret``."""
    message = str(timestamp).encode("ascii") + b"." + payload
    return hmac.new(_key_bytes(secret), message, hashlib.sha256).hexdigest()


def sign_header(secret: str | bytes | Secret, timestamp: str | int, payload: bytes) -> str:
    """A complete header value ``t=<timestamp>,v1=<signature>`` (what MaintainX sends)."""
    return f"t={timestamp},v1={compute_signature(secret, timestamp, payload)}"


class SigningKeys:
    """The secrets a route accepts, as HMAC keys. ``repr`` shows fingerprints only."""

    __slots__ = ("_fingerprints", "_keys")

    def __init__(self, secrets: Iterable[str | bytes | Secret]) -> None:
        keys: list[bytes] = []
        prints: list[str] = []
        for secret in secrets:
            key = _key_bytes(secret)
            if key and key not in keys:
                keys.append(key)
                prints.append(fingerprint(key.decode("utf-8", "replace")))
        self._keys = tuple(keys)
        self._fingerprints = tuple(prints)

    @property
    def fingerprints(self) -> tuple[str, ...]:
        return self._fingerprints

    def __len__(self) -> int:
        return len(self._keys)

    def match(self, timestamp: str, payload: bytes, signatures: Sequence[str]) -> str | None:
        """The fingerprint of the secret that produced one of ``signatures``, or None.

        Every (secret, signature) pair is compared in constant time.
        """
        message = timestamp.encode("ascii") + b"." + payload
        found: str | None = None
        for key, label in zip(self._keys, self._fingerprints, strict=True):
            expected = hmac.new(key, message, hashlib.sha256).hexdigest()
            for candidate in signatures:
                if hmac.compare_digest(expected, candidate) and found is None:
                    found = label
        return found

    def __repr__(self) -> str:
        return f"SigningKeys({', '.join(self._fingerprints)})"

    def __reduce__(self) -> str | tuple[object, ...]:
        raise TypeError("signing keys cannot be pickled")


@dataclass(frozen=True)
class Verification:
    """The outcome of verifying one delivery.

    ``ok`` deliveries carry the fingerprint of the secret that matched and the signature
    timestamp (Unix seconds); rejected ones the ``reason``, the ``header`` that failed and a
    ``detail`` safe to log.
    """

    ok: bool
    reason: RejectReason | None = None
    detail: str = ""
    header: str | None = None
    secret_fingerprint: str | None = None
    timestamp: float | None = None
    uri_checked: bool = False

    def raise_for_rejection(self) -> None:
        """Raise :class:`WebhookVerificationError` unless ``ok``."""
        if not self.ok:
            assert self.reason is not None
            raise WebhookVerificationError(self.reason, self.detail, self.header)


def check_signature(
    header_value: str | None,
    payloads: Sequence[bytes],
    keys: SigningKeys,
    *,
    now: float,
    tolerance: float = DEFAULT_TOLERANCE,
    header: str = BODY_SIGNATURE_HEADER,
) -> Verification:
    """Check one signature header against the candidate ``payloads`` (the raw body, or the
    URIs the request may have been sent to). Signature first, then the timestamp: a stale
    but authentic delivery is ``too_old``, a forged one ``bad_signature`` whatever its age."""
    if header_value is None:
        return Verification(False, RejectReason.MISSING_HEADER, f"no {header} header", header)
    try:
        parsed = parse_signature_header(header_value)
    except WebhookVerificationError as exc:
        return Verification(False, exc.reason, exc.detail, header)
    if not keys:
        return Verification(False, RejectReason.BAD_SIGNATURE, "no secret configured", header)
    matched = None
    for payload in payloads:
        matched = keys.match(parsed.timestamp, payload, parsed.signatures)
        if matched is not None:
            break
    if matched is None:
        return Verification(
            False, RejectReason.BAD_SIGNATURE, "no v1 signature matches a secret", header
        )
    sent = parsed.seconds
    age = now - sent
    if age > tolerance:
        return Verification(
            False,
            RejectReason.TOO_OLD,
            f"signed {age:.0f}s ago (tolerance {tolerance:.0f}s)",
            header,
            matched,
            sent,
        )
    if -age > tolerance:
        return Verification(
            False,
            RejectReason.FROM_FUTURE,
            f"signed {-age:.0f}s in the future (tolerance {tolerance:.0f}s)",
            header,
            matched,
            sent,
        )
    return Verification(True, header=header, secret_fingerprint=matched, timestamp=sent)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        for key, item in headers.items():
            if key.lower() == name:
                return item
    return value


def verify_delivery(
    headers: Mapping[str, str],
    body: bytes,
    keys: SigningKeys | Iterable[str | bytes | Secret],
    *,
    now: float,
    uris: Sequence[str] = (),
    tolerance: float = DEFAULT_TOLERANCE,
    uri_check: UriCheck = "if_present",
) -> Verification:
    """Verify a delivery: the body signature always, the URI signature per ``uri_check``.

    ``headers`` may use any case. ``uris`` are the full URIs MaintainX may have signed (the
    URL registered for the subscription, the URL the request arrived at); the URI signature
    passes when it matches any of them.
    """
    signing = keys if isinstance(keys, SigningKeys) else SigningKeys(keys)
    if tolerance < 0:
        raise ValueError("tolerance must be >= 0 seconds")
    result = check_signature(
        _header(headers, BODY_SIGNATURE_HEADER),
        (body,),
        signing,
        now=now,
        tolerance=tolerance,
        header=BODY_SIGNATURE_HEADER,
    )
    if not result.ok or uri_check == "ignore":
        return result
    uri_value = _header(headers, URI_SIGNATURE_HEADER)
    if uri_value is None and uri_check == "if_present":
        return result
    uri_result = check_signature(
        uri_value,
        [uri.encode("utf-8") for uri in dict.fromkeys(uris)],
        signing,
        now=now,
        tolerance=tolerance,
        header=URI_SIGNATURE_HEADER,
    )
    if not uri_result.ok:
        return uri_result
    return Verification(
        True,
        header=BODY_SIGNATURE_HEADER,
        secret_fingerprint=result.secret_fingerprint,
        timestamp=result.timestamp,
        uri_checked=True,
    )
