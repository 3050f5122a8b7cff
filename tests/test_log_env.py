"""``MAINTAINX_LOG``: one redacting stderr handler on the library's logger, only when asked."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
import warnings
from collections.abc import Iterator

import pytest

from maintainx_resilient import AsyncMaintainXClient, MaintainXClient
from maintainx_resilient._secrets import fingerprint
from maintainx_resilient.telemetry import _logging
from maintainx_resilient.telemetry._logging import (
    LOG_ENV,
    RedactingFilter,
    get_logger,
    log_from_env,
)

from .conftest import CANARY_KEY

LOGGER = logging.getLogger("maintainx_resilient")


def env_handlers() -> list[logging.Handler]:
    """The stream handlers on the library's logger (the NullHandler is not one)."""
    return [h for h in LOGGER.handlers if isinstance(h, logging.StreamHandler)]


@pytest.fixture(autouse=True)
def _restore_logging(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test starts without the variable and leaves the logger as it found it."""
    monkeypatch.delenv(LOG_ENV, raising=False)
    get_logger()  # its filter and NullHandler, as any client installs them
    handlers, level = list(LOGGER.handlers), LOGGER.level
    root_handlers, root_level = list(logging.root.handlers), logging.root.level
    monkeypatch.setattr(_logging, "_warned", [])
    yield
    for handler in LOGGER.handlers[:]:
        if handler not in handlers:
            LOGGER.removeHandler(handler)
    LOGGER.setLevel(level)
    assert (logging.root.handlers, logging.root.level) == (root_handlers, root_level)


async def build_clients(n: int) -> None:
    """``n`` sync and ``n`` async clients, each built and closed (no request is sent)."""
    for _ in range(n):
        MaintainXClient(api_key=CANARY_KEY).close()
        await AsyncMaintainXClient(api_key=CANARY_KEY).aclose()


async def test_unset_adds_no_handler() -> None:
    """Without MAINTAINX_LOG (or with it empty) the logger keeps only its NullHandler."""
    before = list(LOGGER.handlers)
    await build_clients(3)
    assert LOGGER.handlers == before and env_handlers() == []
    assert log_from_env({LOG_ENV: "  "}) is None
    assert env_handlers() == []


async def test_set_adds_exactly_one_handler_however_many_clients(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """debug: one stderr handler at DEBUG with a redacting filter, after six clients."""
    monkeypatch.setenv(LOG_ENV, "debug")
    await build_clients(3)
    [handler] = env_handlers()
    assert handler.level == logging.DEBUG and LOGGER.level == logging.DEBUG
    assert getattr(handler, "stream", None) is sys.stderr
    assert any(isinstance(f, RedactingFilter) for f in handler.filters)
    assert log_from_env() is handler


def test_a_later_value_changes_the_level_not_the_handler_count() -> None:
    """Values are case-insensitive; a new value re-levels the one handler."""
    first = log_from_env({LOG_ENV: "INFO"})
    second = log_from_env({LOG_ENV: " Error "})
    assert first is second and env_handlers() == [first]
    assert second is not None and second.level == LOGGER.level == logging.ERROR


async def test_a_bad_value_warns_once_and_adds_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """An unknown value is ignored with one RuntimeWarning naming it; clients still build."""
    monkeypatch.setenv(LOG_ENV, "verbose")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        await build_clients(3)
    assert [str(w.message) for w in caught] == [
        "MAINTAINX_LOG must be one of debug, info, warning, error; got 'verbose': ignored"
    ]
    assert caught[0].category is RuntimeWarning
    assert env_handlers() == []


def test_a_long_bad_value_is_not_echoed() -> None:
    """A value that may be a key pasted into the wrong variable is described, not shown."""
    with pytest.warns(RuntimeWarning, match="a value of 30 characters") as caught:
        log_from_env({LOG_ENV: CANARY_KEY})
    assert CANARY_KEY not in str(caught[0].message)


def test_the_handler_writes_redacted_lines_to_stderr(capfd: pytest.CaptureFixture[str]) -> None:
    """In process: a record of the library's logger and of a child logger reach stderr,
    with the live client's key masked by the handler's own filter."""
    log_from_env({LOG_ENV: "debug"})
    with MaintainXClient(api_key=CANARY_KEY):  # the client registers its key for redaction
        LOGGER.debug("sending with %s", CANARY_KEY)
        child = logging.getLogger("maintainx_resilient.webhooks")
        child.info("Authorization: Bearer %s", CANARY_KEY)
    err = capfd.readouterr().err
    assert "maintainx_resilient DEBUG] sending with <redacted sha256:" in err
    assert "maintainx_resilient.webhooks INFO] Authorization: Bearer <redacted " in err
    assert CANARY_KEY not in err


CANARY_RUN = textwrap.dedent(
    """
    import logging
    from maintainx_resilient import MaintainXClient, NotFoundError
    from maintainx_resilient.testing import FakeClock, Simulator

    KEY = {key!r}
    sim = Simulator(seed=1, work_orders=5)
    sim.add_key(KEY, user_id=1, org_ids=(1,))
    sim.faults.fail_next(1, status=503, method="GET")
    with MaintainXClient(api_key=KEY, transport=sim.transport(), clock=FakeClock()) as client:
        client.work_orders.list(limit=2)  # 503, retried, then 200
        try:
            client.work_orders.get(999999)
        except NotFoundError:
            pass
        logging.getLogger("maintainx_resilient").debug("careless: %s", KEY)
        logging.getLogger("maintainx_resilient.sync").warning("header Bearer " + KEY)
        try:
            raise ValueError("bad key " + KEY)
        except ValueError:
            logging.getLogger("maintainx_resilient").exception("failed")
    """
)


@pytest.mark.parametrize("level", ["debug", "DEBUG"])
def test_a_debug_run_never_shows_the_key_on_stderr(level: str) -> None:
    """A whole client run at debug level, in its own interpreter: attempts, the retry and
    every line that carried the canary key reach stderr, the key only as its fingerprint."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAINTAINX_")}
    done = subprocess.run(
        [sys.executable, "-c", CANARY_RUN.format(key=CANARY_KEY)],
        env={**env, LOG_ENV: level},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    err = done.stderr
    assert "DEBUG] GET /workorders -> 503" in err
    assert "INFO] retrying GET /workorders" in err
    assert "DEBUG] GET /workorders/{id} -> 404" in err
    assert f"careless: <redacted {fingerprint(CANARY_KEY)}>" in err
    assert "maintainx_resilient.sync WARNING] header Bearer <redacted " in err
    assert "ValueError: bad key <redacted " in err
    assert CANARY_KEY not in err and CANARY_KEY not in done.stdout
