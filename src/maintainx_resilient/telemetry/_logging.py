"""Logging that cannot show a key: a redacting filter and the library's logger.

:class:`RedactingFilter` rewrites a log record before any handler sees it: a bearer token
(``Bearer <anything>``) and every registered secret value become ``<redacted sha256:...>``
(the value's fingerprint, so two log lines can still be matched to the same key). It looks
at the formatted message (message and args), the exception text and the stack text.

:func:`get_logger` returns ``logging.getLogger("maintainx_resilient")`` with the shared
filter installed once. A logger's filters only see records logged on that very logger, not
records propagated from child loggers: install a :class:`RedactingFilter` on your handlers
too if you log elsewhere (``handler.addFilter(RedactingFilter())``).

:func:`log_from_env` is the ``MAINTAINX_LOG`` switch (``debug``, ``info``, ``warning`` or
``error``): read each time a client is built, it attaches one stderr handler, with a
redacting filter of its own, to the library's logger at that level. Unset: nothing is added.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import threading
import traceback
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from typing import TextIO

from .._secrets import Secret, fingerprint

__all__ = [
    "LOGGER_NAME",
    "LOG_ENV",
    "RedactingFilter",
    "get_logger",
    "log_from_env",
    "redact",
    "register_secret",
]

LOGGER_NAME = "maintainx_resilient"
#: The environment variable that switches the library's own stderr logging on.
LOG_ENV = "MAINTAINX_LOG"

#: ``Bearer <token>`` (any case); the token runs to the next whitespace, quote or comma. An
#: already masked token is left alone, so redacting twice changes nothing.
_BEARER = r"(?i:bearer)\s+(?!<redacted )[^\s'\",;]+"
#: Secrets shorter than this are not masked: they would match ordinary words.
_MIN_SECRET_LENGTH = 6


def _mask(value: str) -> str:
    return f"<redacted {fingerprint(value)}>"


def _nothing() -> None:
    return None


class _Redactor:
    """A set of secret values and the one regular expression that finds them all."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        self._state: tuple[frozenset[str], re.Pattern[str]] = (frozenset(), re.compile(_BEARER))

    def add(self, value: str | Secret) -> Callable[[], None]:
        text = value.reveal() if isinstance(value, Secret) else value
        if len(text) < _MIN_SECRET_LENGTH:
            return _nothing
        with self._lock:
            self._counts[text] += 1
            if self._counts[text] == 1:
                self._rebuild()
        removed = False

        def remove() -> None:
            nonlocal removed
            with self._lock:
                if removed:
                    return
                removed = True
                self._counts[text] -= 1
                if self._counts[text] <= 0:
                    del self._counts[text]
                    self._rebuild()

        return remove

    def _rebuild(self) -> None:
        values = frozenset(self._counts)
        # Longest first, so a secret that contains another is masked whole.
        alternatives = [re.escape(v) for v in sorted(values, key=len, reverse=True)]
        self._state = (values, re.compile("|".join([*alternatives, _BEARER])))

    def __call__(self, text: str) -> str:
        values, pattern = self._state

        def replace(match: re.Match[str]) -> str:
            found = match.group(0)
            if found in values:
                return _mask(found)
            scheme, token = found.split(None, 1)
            return f"{scheme} {_mask(token)}"

        return pattern.sub(replace, text)


_SHARED = _Redactor()


def register_secret(value: str | Secret) -> Callable[[], None]:
    """Mask ``value`` wherever the library's redaction runs (logs, span URLs, event reasons)
    from now on; returns a function that stops masking it (registrations are counted).

    The client should register its API keys; call this for any other secret you hand to
    the library (webhook secrets, keys you rotate to). Values shorter than 6 characters are
    ignored.
    """
    return _SHARED.add(value)


def redact(text: str) -> str:
    """``text`` with bearer tokens and registered secrets replaced by their fingerprints."""
    return _SHARED(text)


class RedactingFilter(logging.Filter):
    """Masks bearer tokens and secret values in log records (message, args, tracebacks).

    Masks every value registered with :func:`register_secret`, plus this filter's own
    ``secrets``. Redacting twice changes nothing, so the filter may sit on a logger and on
    a handler. The filter never drops a record.
    """

    def __init__(self, secrets: Iterable[str | Secret] = (), name: str = "") -> None:
        super().__init__(name)
        self._own: _Redactor | None = None
        for secret in secrets:
            if self._own is None:
                self._own = _Redactor()
            self._own.add(secret)

    def _redact(self, text: str) -> str:
        text = _SHARED(text)
        return self._own(text) if self._own is not None else text

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:
            # A bad format string: logging would print the raw args in its error report,
            # so keep only the template.
            message, record.args = str(record.msg), None
        clean = self._redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
        if record.exc_text:
            record.exc_text = self._redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self._redact(record.stack_info)
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
                # A library leaves output to the application: without a handler of its
                # own, Python's last-resort handler would print warnings to stderr.
                logger.addHandler(logging.NullHandler())
    return logger


# -- MAINTAINX_LOG: one stderr handler, at the level the environment asks for ---------------

_ENV_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}
_ENV_FORMAT = "[%(asctime)s %(name)s %(levelname)s] %(message)s"
#: A bad value longer than this is not echoed in the warning (it may be a pasted key).
_ECHO_LIMIT = 12


class _EnvHandler(logging.StreamHandler[TextIO]):
    """The handler ``MAINTAINX_LOG`` attaches: writes to whatever ``sys.stderr`` is when a
    record is emitted (as logging's last-resort handler does), so a redirected or captured
    stderr is followed and a closed one is never kept."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(logging.Formatter(_ENV_FORMAT))
        self.addFilter(RedactingFilter())  # a handler's filter sees child loggers' records too

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        """Ignored: the stream is always the current ``sys.stderr``."""


#: The last bad value warned about (as shown in the warning), so it is said once.
_warned: list[str] = []


_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _caller_stacklevel() -> int:
    """The ``stacklevel`` (for a ``warnings.warn`` in the function calling this one) of the
    first frame outside this package: the warning points at the user's code (the line that
    built the client), not at the library's."""
    level, frame = 2, sys._getframe(2)
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(
        _PACKAGE_DIR + os.sep
    ):
        level, frame = level + 1, frame.f_back  # type: ignore[assignment]
    return level


def _shown(value: str) -> str:
    if len(value) <= _ECHO_LIMIT:
        return repr(redact(value))
    return f"a value of {len(value)} characters"


def log_from_env(environ: Mapping[str, str] | None = None) -> logging.Handler | None:
    """Apply ``MAINTAINX_LOG``: the library's stderr handler at that level, or None.

    ``debug``, ``info``, ``warning`` or ``error`` (any case) attaches one
    :class:`logging.StreamHandler` to stderr, with a :class:`RedactingFilter`, to the
    ``maintainx_resilient`` logger, and sets the logger's level to match (however many
    clients are built, there is one such handler; a later value changes its level). Unset
    or empty: nothing is added. Any other value is ignored with one ``RuntimeWarning``. The
    root logger is never touched.
    """
    env = os.environ if environ is None else environ
    raw = env.get(LOG_ENV, "").strip()
    if not raw:
        return None
    level = _ENV_LEVELS.get(raw.lower())
    logger = get_logger()
    if level is None:
        shown = _shown(raw)
        with _install_lock:
            first = _warned != [shown]
            _warned[:] = [shown]
        if first:
            warnings.warn(
                f"{LOG_ENV} must be one of {', '.join(_ENV_LEVELS)}; got {shown}: ignored",
                RuntimeWarning,
                stacklevel=_caller_stacklevel(),
            )
        return None
    with _install_lock:
        handler = next((h for h in logger.handlers if isinstance(h, _EnvHandler)), None)
        if handler is None:
            handler = _EnvHandler()
            logger.addHandler(handler)
        handler.setLevel(level)
        logger.setLevel(level)
    return handler
