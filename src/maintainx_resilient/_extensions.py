"""Every key the layers share through ``httpx.Request.extensions`` and
``httpx.Response.extensions``, in one place.

Set on the request by the client (from the :class:`~maintainx_resilient.Operation`):

- ``ROUTE``: the path template (``/workorders/{id}``); statistics, breaker scopes and logs
  group by it.
- ``IDEMPOTENT``: whether a failed attempt may be sent again.
- ``CACHEABLE``: False keeps an answer out of the fallback cache (webhook secrets).
- ``BASE``: the client's base URL as text (``https://api.getmaintainx.com/v1/``) when the
  request URL is that base plus the operation's path (and the base has no ``user:password@``);
  breaker scopes and fallback keys read their origin and base from it (parsed once per base)
  instead of from every request's URL.

Set on the request by the client from per-call options (``client.with_options``):

- ``DEADLINE`` (see below), stamped early when the call has its own deadline;
- ``MAX_ATTEMPTS``: the retry layer's limit of attempts for this call;
- ``MAX_WAIT``: seconds the throttle may make this call wait for a slot (replacing
  ``ThrottleConfig.max_wait``; never past the deadline).

Set on the request by the layers:

- ``DEADLINE``: the call's :class:`~maintainx_resilient._deadline.Deadline` (deadline layer);
  every layer that waits asks it how much time is left.
- ``CREDENTIAL``: the credential id of the key the request was sent with (auth layer).
- ``RESEND_COUNT``: how many times this request object was sent again (retries, the resend
  after a key rotation).

Set on the response:

- ``META``: the answer's :class:`~maintainx_resilient.ResponseMeta` (fresh or stale).
- ``ATTEMPTS``: ``(attempts, waited_seconds)`` of the final answer (retry layer).
- ``COMMIT``: on a fresh GET answer, a :class:`~maintainx_resilient.policies.fallback.FreshAnswer`:
  call it once the body parsed to keep it in the fallback cache; when the body did not parse,
  its ``stale()`` is the last good answer to use instead (or None).
"""

from __future__ import annotations

__all__ = [
    "ATTEMPTS_EXTENSION",
    "BASE_EXTENSION",
    "CACHEABLE_EXTENSION",
    "COMMIT_EXTENSION",
    "CREDENTIAL_EXTENSION",
    "DEADLINE_EXTENSION",
    "IDEMPOTENT_EXTENSION",
    "MAX_ATTEMPTS_EXTENSION",
    "MAX_WAIT_EXTENSION",
    "META_EXTENSION",
    "RESEND_COUNT_EXTENSION",
    "ROUTE_EXTENSION",
]

ROUTE_EXTENSION = "maintainx_route"
IDEMPOTENT_EXTENSION = "maintainx_idempotent"
CACHEABLE_EXTENSION = "maintainx_cacheable"
BASE_EXTENSION = "maintainx_base"
DEADLINE_EXTENSION = "maintainx_deadline"
MAX_WAIT_EXTENSION = "maintainx_max_wait"
MAX_ATTEMPTS_EXTENSION = "maintainx_max_attempts"
CREDENTIAL_EXTENSION = "maintainx_credential"
RESEND_COUNT_EXTENSION = "maintainx_resend_count"
META_EXTENSION = "maintainx_meta"
ATTEMPTS_EXTENSION = "maintainx_attempts"
COMMIT_EXTENSION = "maintainx_commit"
