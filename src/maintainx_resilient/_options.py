"""Per-call options: what ``client.with_options(...)`` changes for the calls of its copy.

Each option travels to the layer it concerns on the request itself, so one pipeline (and its
policies' state) serves every copy of a client:

- ``timeout`` -> httpx's per-request timeout (each network wait);
- ``deadline`` -> a :class:`~._deadline.Deadline` stamped before the deadline layer sees the
  request (``None``: no overall bound for these calls);
- ``max_retries`` -> the retry layer's limit of attempts (``max_retries + 1``);
- ``max_wait`` -> how long the throttle may make a call wait for a slot (replacing
  ``ThrottleConfig.max_wait``, and never past the deadline);
- ``headers`` -> extra request headers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import httpx
from typing_extensions import TypedDict

from ._clock import Clock
from ._deadline import Deadline, validate_seconds
from ._exceptions import ConfigurationError
from ._extensions import DEADLINE_EXTENSION, MAX_ATTEMPTS_EXTENSION, MAX_WAIT_EXTENSION

__all__ = ["UNSET", "CallOptions", "RequestOptions"]


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


#: The default of an option not given (``None`` means something: "no bound").
UNSET: Any = _Unset()

_RESERVED = ("authorization", "x-organization-id", "x-organization-ids")


class CallOptions(TypedDict, total=False):
    """The keyword arguments of ``client.with_options(...)``."""

    timeout: float | httpx.Timeout | None
    deadline: float | None
    max_retries: int | None
    max_wait: float | None
    headers: Mapping[str, str] | None


@dataclass(frozen=True)
class RequestOptions:
    """Options that differ from the client's for the calls of one copy (all unset: none)."""

    timeout: httpx.Timeout | None = None
    deadline: float | _Unset | None = UNSET
    max_retries: int | None = None
    max_wait: float | None = None
    headers: tuple[tuple[str, str], ...] = field(default=())

    @classmethod
    def build(
        cls,
        *,
        timeout: float | httpx.Timeout | None = None,
        deadline: float | _Unset | None = UNSET,
        max_retries: int | None = None,
        max_wait: float | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> RequestOptions:
        """Validated options; bad values raise :class:`ConfigurationError` saying what to do."""
        if timeout is not None and not isinstance(timeout, httpx.Timeout):
            timeout = httpx.Timeout(validate_seconds(timeout, "timeout"))
        if deadline is not None and not isinstance(deadline, _Unset):
            deadline = validate_seconds(deadline, "deadline")
        if max_retries is not None and (
            isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0
        ):
            raise ConfigurationError(
                f"max_retries must be a whole number >= 0 (0: no retry), got {max_retries!r}"
            )
        if max_wait is not None:
            if isinstance(max_wait, bool) or not isinstance(max_wait, (int, float)):
                raise ConfigurationError(f"max_wait must be seconds >= 0, got {max_wait!r}")
            if not (math.isfinite(max_wait) and max_wait >= 0):
                raise ConfigurationError(f"max_wait must be finite seconds >= 0, got {max_wait!r}")
        pairs = tuple((headers or {}).items())
        for name, _ in pairs:
            if name.lower() in _RESERVED:
                raise ConfigurationError(
                    f"do not pass {name!r} in headers; use api_key / organization_id"
                )
        return cls(timeout, deadline, max_retries, max_wait, pairs)

    def merged(self, other: RequestOptions) -> RequestOptions:
        """These options with those ``other`` sets on top."""
        return replace(
            self,
            timeout=other.timeout if other.timeout is not None else self.timeout,
            deadline=self.deadline if isinstance(other.deadline, _Unset) else other.deadline,
            max_retries=other.max_retries if other.max_retries is not None else self.max_retries,
            max_wait=other.max_wait if other.max_wait is not None else self.max_wait,
            headers=self.headers + other.headers,
        )

    def apply(self, request: httpx.Request, clock: Clock) -> None:
        """Put these options on ``request`` for the layers to read."""
        if self.timeout is not None:
            request.extensions["timeout"] = self.timeout.as_dict()
        if not isinstance(self.deadline, _Unset):
            seconds = math.inf if self.deadline is None else self.deadline
            request.extensions[DEADLINE_EXTENSION] = Deadline.after(seconds, clock)
        if self.max_retries is not None:
            request.extensions[MAX_ATTEMPTS_EXTENSION] = self.max_retries + 1
        if self.max_wait is not None:
            request.extensions[MAX_WAIT_EXTENSION] = float(self.max_wait)
        for name, value in self.headers:
            request.headers[name] = value

    @property
    def empty(self) -> bool:
        return self == _NONE


_NONE = RequestOptions()
