"""The public surface is exactly what __all__ says, sorted, and every name exists."""

from __future__ import annotations

import importlib

import pytest

import maintainx_resilient


def test_all_is_sorted_and_complete() -> None:
    """Every public name is importable; nothing private is exported."""
    names = maintainx_resilient.__all__
    assert len(names) == len(set(names))
    for name in names:
        assert hasattr(maintainx_resilient, name), name
    public = {n for n in dir(maintainx_resilient) if n[0].isalpha()}
    modules = {"models", "policies", "resources", "testing", "diagnostics", "telemetry",
               "webhooks", "sync", "cli", "fleet"}  # fmt: skip
    assert public - set(names) - modules == set()


def test_client_classes_and_base_error_import() -> None:
    """The import the README promises works."""
    from maintainx_resilient import AsyncMaintainXClient, MaintainXClient, MaintainXError

    assert issubclass(MaintainXError, Exception)
    assert MaintainXClient.__name__ == "MaintainXClient"
    assert AsyncMaintainXClient.__name__ == "AsyncMaintainXClient"


def test_bounds_errors_are_exported_in_their_place_in_the_tree() -> None:
    """The errors of the limits are public and sit where the tree in _exceptions says."""
    from maintainx_resilient import (
        CursorCycleError,
        DeadlineExceededError,
        DecodeError,
        ResponseError,
        ResponseTooLargeError,
        TimeoutError,
        _exceptions,
    )

    assert issubclass(DeadlineExceededError, TimeoutError)
    assert issubclass(ResponseTooLargeError, ResponseError)
    assert issubclass(CursorCycleError, ResponseError)
    assert not issubclass(ResponseTooLargeError, DecodeError)
    tree = _exceptions.__doc__ or ""
    for cls in (DeadlineExceededError, ResponseTooLargeError, CursorCycleError):
        assert cls.__name__ in maintainx_resilient.__all__
        assert cls.__name__ in tree


def test_subpackages_export_what_the_docs_and_examples_import() -> None:
    """Configuration, rendering and report names are public where the docs import them."""
    from maintainx_resilient import diagnostics, testing

    for name in (
        "DiagnosticsConfig",
        "EscalationContact",
        "Thresholds",
        "SeverityChange",
        "SeverityTracker",
        "IncidentTimeline",
        "health_endpoint",
        "report_exit_code",
        "render_incident_report",
    ):
        assert name in diagnostics.__all__, name
        assert getattr(diagnostics, name).__name__ == name
    assert "FakeClock" in testing.__all__
    assert testing.FakeClock.__name__ == "FakeClock"
    for package in (diagnostics, testing):
        assert len(package.__all__) == len(set(package.__all__))
        assert all(hasattr(package, name) for name in package.__all__)


#: Public names renamed so that every name is unique across the package ("one vocabulary"):
#: ``(module, old, new)``. The old name still answers, with a DeprecationWarning.
RENAMED = [
    ("maintainx_resilient.webhooks", "RetryPolicy", "RetrySchedule"),
    ("maintainx_resilient.webhooks", "DEFAULT_RETRY_POLICY", "DEFAULT_RETRY_SCHEDULE"),
    ("maintainx_resilient.webhooks.backoff", "RetryPolicy", "RetrySchedule"),
    ("maintainx_resilient.webhooks.backoff", "DEFAULT_RETRY_POLICY", "DEFAULT_RETRY_SCHEDULE"),
    (
        "maintainx_resilient.webhooks.worker",
        "DEFAULT_RECONNECT_POLICY",
        "DEFAULT_RECONNECT_SCHEDULE",
    ),
    ("maintainx_resilient.webhooks.receiver", "DEFAULT_PREFIX", "DEFAULT_PATH_PREFIX"),
    (
        "maintainx_resilient.webhooks.receiver",
        "DEFAULT_HEALTH_TIMEOUT",
        "DEFAULT_RECEIVER_HEALTH_TIMEOUT",
    ),
    ("maintainx_resilient.webhooks.queue.redis", "DEFAULT_PREFIX", "DEFAULT_KEY_PREFIX"),
    ("maintainx_resilient.webhooks.queue.redis", "DEFAULT_TIMEOUT", "DEFAULT_REDIS_TIMEOUT"),
    ("maintainx_resilient.policies.breaker", "Outcome", "BreakerOutcome"),
    ("maintainx_resilient.diagnostics.rb001_unreachable", "classify", "classify_reachability"),
    ("maintainx_resilient.diagnostics.rb001_unreachable", "observe", "observe_reachability"),
    ("maintainx_resilient.diagnostics.rb004_sync", "compare", "compare_sample"),
    ("maintainx_resilient.diagnostics.rb005_performance", "classify", "classify_performance"),
]

#: Public names added by the same change (the rolling statistics behind ``client.stats``
#: are public now; RB-003 and RB-004 build the CLI's status verdicts).
ADDED = [
    ("maintainx_resilient.telemetry", "RollingStats"),
    ("maintainx_resilient.telemetry", "StatsSnapshot"),
    ("maintainx_resilient.telemetry", "EndpointStats"),
    ("maintainx_resilient.telemetry", "StatsTotals"),
    ("maintainx_resilient.diagnostics.rb003_webhooks", "assess_webhooks"),
    ("maintainx_resilient.diagnostics.rb004_sync", "assess_local_copy"),
    ("maintainx_resilient.sync.progress", "ProgressHook"),
]

#: Private modules that moved (no alias: private). Old path -> new path.
MOVED_PRIVATE = {
    "maintainx_resilient._telemetry_names": "maintainx_resilient.telemetry._names",
    "maintainx_resilient._telemetry_observer": "maintainx_resilient.telemetry._observer",
    "maintainx_resilient._telemetry_logging": "maintainx_resilient.telemetry._logging",
    "maintainx_resilient._stats": "maintainx_resilient.telemetry._stats",
    "maintainx_resilient.sync._time": "maintainx_resilient._iso8601",
    "maintainx_resilient.cli._render": "maintainx_resilient.diagnostics._text",
}


@pytest.mark.parametrize(("module", "old", "new"), RENAMED)
def test_renamed_names_still_answer_with_a_warning(module: str, old: str, new: str) -> None:
    """The new name is exported; the old one is not, but still works for now, and warns."""
    mod = importlib.import_module(module)
    exported = getattr(mod, "__all__", ())
    assert new in exported
    assert old not in exported
    with pytest.warns(DeprecationWarning, match=f"{old} is deprecated: it was renamed {new}"):
        value = getattr(mod, old)
    assert value is getattr(mod, new)


@pytest.mark.parametrize(("module", "name"), ADDED)
def test_added_names_are_exported(module: str, name: str) -> None:
    mod = importlib.import_module(module)
    assert name in mod.__all__
    assert getattr(mod, name) is not None


@pytest.mark.parametrize(("old", "new"), sorted(MOVED_PRIVATE.items()))
def test_moved_private_modules(old: str, new: str) -> None:
    """The private modules live in their new place only."""
    importlib.import_module(new)
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module(old)


def test_unknown_names_are_still_attribute_errors() -> None:
    """A module's rename table answers only its renamed names."""
    import maintainx_resilient.policies.breaker as breaker

    with pytest.raises(AttributeError, match="no attribute 'Nothing'"):
        breaker.Nothing  # noqa: B018
