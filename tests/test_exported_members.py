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
