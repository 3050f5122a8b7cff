"""Logging that cannot show a key: a redacting filter and the library's logger.

:class:`RedactingFilter` rewrites a log record before any handler sees it: a bearer token
(``Bearer <anything>``) and every registered secret value become ``<redacted sha256:...>``
(the value's fingerprint, so two log lines can still be matched to the same key). It looks
at the formatted message (message and args), the exception text and the stack text.

:func:`get_logger` returns ``logging.getLogger("maintainx_resilient")`` with the shared
filter installed once. A logger's filters only see records logged on that very logger, not
records propagated from child loggers: install a :class:`RedactingFilter` on your handlers
too if you log elsewhere (``handler.addFilter(RedactingFilter())``).
"""

from __future__ import annotations

import logging
import re
import threading
import traceback
from collections.abc import Iterable

from ._secrets import Secret, fingerprint

__all__ = ["LOGGER_NAME", "RedactingFilter", "get_logger", "redact", "register_secret"]

LOGGER_NAME = "maintainx_resilient"

#: ``Bearer <token>`` (any case); the token runs to the next whitespace, quote or comma.
_BEARER = r"(?i:bearer)\s+[^\s'\",;]+"
#: Secrets shorter than this are not masked: they would match ordinary words.
_MIN_SECRET_LENGTH = 6


def _mask(value: str) -> str:
    return f"<redacted {fingerprint(value)}>"


class _Redactor:
    """A set of secret values and the one regular expression that finds them all."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: frozenset[str] = frozenset()
        self._pattern = re.compile(_BEARER)

    def add(self, value: str | Secret) -> None:
        text = value.reveal() if isinstance(value, Secret) else value
        if len(text) < _MIN_SECRET_LENGTH or text in self._values:
            return
        with self._lock:
            self._values = self._values | {text}
            # Longest first, so a secret that contains another is masked whole.
            alternatives = [re.escape(v) for v in sorted(self._values, key=len, reverse=True)]
            self._pattern = re.compile("|".join([*alternatives, _BEARER]))

    def __call__(self, text: str) -> str:
        return self._pattern.sub(self._replace, text)

    def _replace(self, match: re.Match[str]) -> str:
        found = match.group(0)
        if found in self._values:
            return _mask(found)
        token = found.split(None, 1)[1]
        return f"{found.split(None, 1)[0]} {_mask(token)}"


_SHARED = _Redactor()


def register_secret(value: str | Secret) -> None:
    """Mask ``value`` wherever the library's redaction runs (logs and span URLs), from now on.

    The client registers its API keys; call this for any other secret you hand to the
    library (webhook secrets, keys you rotate to).
    """
    _SHARED.add(value)


def redact(text: str) -> str:
    """``text`` with bearer tokens and registered secrets replaced by their fingerprints."""
    return _SHARED(text)


class RedactingFilter(logging.Filter):
    """Masks bearer tokens and secret values in log records (message, args, tracebacks).

    ``secrets`` are registered process-wide (see :func:`register_secret`), so a filter
    installed on a handler masks the same values as the library's own logger. The filter
    never drops a record.
    """

    def __init__(self, secrets: Iterable[str | Secret] = (), name: str = "") -> None:
        super().__init__(name)
        for secret in secrets:
            _SHARED.add(secret)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:
            # A bad format string: logging would print the raw args in its error report,
            # so keep only the template.
            message, record.args = str(record.msg), None
        clean = _SHARED(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
        if record.exc_text:
            record.exc_text = _SHARED(record.exc_text)
        if record.stack_info:
            record.stack_info = _SHARED(record.stack_info)
        return True


_FILTER = RedactingFilter()
_install_lock = threading.Lock()


def get_logger() -> logging.Logger:
    """The library's logger, ``maintainx_resilient``, with the redacting filter installed."""
    logger = logging.getLogger(LOGGER_NAME)
    if not any(isinstance(f, RedactingFilter) for f in logger.filters):
        with _install_lock:
            if not any(isinstance(f, RedactingFilter) for f in logger.filters):
                logger.addFilter(_FILTER)
    return logger
