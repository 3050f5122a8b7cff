"""The post-incident report, and the one cleaning step every report goes through.

:func:`render_incident_report` fills the runbook's post-incident template (Date, Duration,
Severity, Status, Summary, Timeline, Root Cause, Impact, Resolution, Action Items) from an
:class:`~maintainx_resilient.diagnostics.timeline.IncidentTimeline`, with the times the
timeline recorded (UTC).

:func:`sanitize` / :func:`sanitize_text` make anything safe to show: every string goes
through the redaction shared with telemetry (:func:`maintainx_resilient.telemetry.redact`:
bearer tokens and every secret registered with ``register_secret``, which the client does for
its keys), plus any ``secrets`` passed in; a mapping value under a credential-like key
(``api_key``, ``token``, ``secret``, ``password``, ``authorization``...) is replaced by its
fingerprint whatever it looks like. Keys appear only as fingerprints (``sha256:1a2b3c4d``).
The diagnosis report (``DiagnosisReport.to_dict``), its human rendering and the incident
report all use it.
"""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

from .._iso8601 import iso_utc
from .._secrets import Secret, fingerprint
from ..telemetry._logging import redact
from ._model import Severity
from .timeline import (
    KIND_ALERT,
    IncidentTimeline,
    TimelineEntry,
    hhmm,
)

__all__ = [
    "DEFAULT_ACTION_ITEMS",
    "render_incident_report",
    "sanitize",
    "sanitize_text",
]

#: The template's action items, always listed (unchecked) after the caller's own.
DEFAULT_ACTION_ITEMS = ("Prevent recurrence", "Improve detection", "Update runbooks")

#: Mapping keys whose string values are credentials, whatever the value looks like.
_SENSITIVE_KEY = re.compile(
    r"(?i)(?:^|[_\-.])(?:api[_\-]?key|key|secret|token|password|passwd|authorization|"
    r"credentials?|cookie|bearer)s?$"
)
_ALREADY_SAFE = re.compile(r"^(?:sha256:[0-9a-f]{8}|<redacted sha256:[0-9a-f]{8}>)$")
_MIN_SECRET_LENGTH = 6
_MAX_DEPTH = 20

Secrets = Iterable[str | Secret]


def _mask(value: str) -> str:
    return f"<redacted {fingerprint(value)}>"


def sanitize_text(text: str, secrets: Secrets = ()) -> str:
    """``text`` with bearer tokens, registered secrets and ``secrets`` as fingerprints."""
    clean = redact(text)
    for secret in secrets:
        value = secret.reveal() if isinstance(secret, Secret) else secret
        if len(value) >= _MIN_SECRET_LENGTH and value in clean:
            clean = clean.replace(value, _mask(value))
    return clean


def _is_sensitive(key: str) -> bool:
    return bool(_SENSITIVE_KEY.search(key))


def sanitize(value: Any, secrets: Secrets = (), *, _depth: int = 0) -> Any:
    """A JSON-safe copy of ``value`` with no secret in it.

    Strings are cleaned by :func:`sanitize_text`; string values under credential-like keys
    become fingerprints; enums become their names; non-finite floats become None; other
    objects become their (cleaned) ``str``. Nesting deeper than 20 levels is cut off.
    """
    listed = tuple(secrets)
    if _depth > _MAX_DEPTH:
        return "..."
    if isinstance(value, enum.Enum):
        return value.name
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str):
        return sanitize_text(value, listed)
    if isinstance(value, Secret):
        return value.fingerprint
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for k, v in value.items():
            key = sanitize_text(str(k), listed)
            if isinstance(v, str) and _is_sensitive(key) and not _ALREADY_SAFE.match(v):
                out[key] = _mask(v)
            else:
                out[key] = sanitize(v, listed, _depth=_depth + 1)
        return out
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=repr) if isinstance(value, set | frozenset) else value
        return [sanitize(v, listed, _depth=_depth + 1) for v in items]
    return sanitize_text(str(value), listed)


def _duration(seconds: float) -> str:
    """A duration at the resolution a reader wants: ``4 s``, ``1 min 30 s``, ``1 h 30 min``
    (a few-seconds incident is not "0 hours")."""
    if 0 < seconds < 0.5:
        return "< 1 s"
    total = max(0, round(seconds))
    if total < 60:
        return f"{total} s"
    if total < 3600:
        minutes, secs = divmod(total, 60)
        return f"{minutes} min" + (f" {secs} s" if secs else "")
    hours, minutes = divmod(round(total / 60), 60)
    return f"{hours} h" + (f" {minutes} min" if minutes else "")


def _line(entry: TimelineEntry) -> str:
    when = hhmm(entry.wall)
    if entry.until is not None and hhmm(entry.until) != when:
        return f"- {when} - {entry.text} (until {hhmm(entry.until)})"
    return f"- {when} - {entry.text}"


def render_incident_report(
    timeline: IncidentTimeline,
    *,
    title: str,
    severity: Severity | str | None = None,
    summary: str,
    root_cause: str,
    resolution: str,
    status: str = "Resolved",
    users_impacted: int | None = None,
    action_items: Iterable[str] = (),
    secrets: Secrets = (),
) -> str:
    """The runbook's post-incident template in Markdown, filled from ``timeline``.

    ``severity`` defaults to the worst alert the timeline saw. Times are UTC: the date and
    start are the first timeline line, the end is the last recovery line (else the last
    line). Impact: work orders affected, downtime (breakers not closed), users
    impacted (``users_impacted``, "unknown" when not given), failed requests and stale
    answers. Every text passes through :func:`sanitize_text`.
    """
    listed = tuple(secrets)

    def clean(text: str) -> str:
        return sanitize_text(text, listed).strip()

    start, end = timeline.span()
    entries = timeline.entries()
    impact = timeline.impact()
    if isinstance(severity, Severity):
        sev = severity.name
    elif severity:
        sev = clean(severity)
    else:
        worst = timeline.worst_severity
        sev = worst.name if worst else "unclassified"
    date = iso_utc(start)[:10]
    lines = [
        f"## Incident Report: {clean(title)}",
        f"**Date:** {date} (times in UTC)",
        f"**Duration:** {hhmm(start)} - {hhmm(end)} ({_duration(end - start)})",
        f"**Severity:** {sev}",
        f"**Status:** {clean(status)}",
        "",
        "### Summary",
        clean(summary),
        "",
        "### Timeline",
    ]
    if entries:
        lines.extend(clean(_line(e)) for e in entries)
    else:
        lines.append("- (nothing recorded)")
    if not any(e.kind == KIND_ALERT for e in entries):
        lines.append("- (no alert fired: the incident was reported, not detected)")
    users = str(users_impacted) if users_impacted is not None else "unknown number of"
    lines += [
        "",
        "### Root Cause",
        clean(root_cause),
        "",
        "### Impact",
        f"- {impact.work_orders_affected} work orders affected",
        f"- {_duration(impact.downtime_minutes * 60)} of downtime (circuit breakers open)",
        f"- {users} users impacted",
        f"- {impact.failed_requests} failed requests (attempts), {impact.stale_answers} stale "
        "answers served from the fallback cache",
        "",
        "### Resolution",
        clean(resolution),
        "",
        "### Action Items",
    ]
    own = [clean(item) for item in action_items if item.strip()]
    lines.extend(f"- [ ] {item}" for item in [*own, *DEFAULT_ACTION_ITEMS])
    return "\n".join(lines) + "\n"
