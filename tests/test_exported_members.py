"""The public surface is exactly what __all__ says, sorted, and every name exists."""

from __future__ import annotations

import maintainx_resilient


def test_all_is_sorted_and_complete() -> None:
    """Every public name is importable; nothing private is exported."""
    names = maintainx_resilient.__all__
    assert len(names) == len(set(names))
    for name in names:
        assert hasattr(maintainx_resilient, name), name
    public = {n for n in dir(maintainx_resilient) if n[0].isalpha()}
    modules = {"models", "policies", "resources", "testing", "diagnostics", "telemetry",
               "webhooks", "sync", "cli"}  # fmt: skip
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
