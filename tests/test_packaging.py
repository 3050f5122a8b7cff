"""The installed distribution's metadata: license, classifiers, real extras, entry points."""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DIST = "maintainx-resilient"


def test_mit_license_is_declared_and_shipped() -> None:
    """License-Expression says MIT and the LICENSE file travels with the distribution."""
    meta = metadata.metadata(DIST)
    assert meta["License-Expression"] == "MIT"
    assert "LICENSE" in (meta.get_all("License-File") or [])
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License") and "maintainx-resilient developers" in text


def test_every_extra_installs_something() -> None:
    """An extra with no requirement promises what it does not deliver (was: cli, simulator)."""
    meta = metadata.metadata(DIST)
    extras = set(meta.get_all("Provides-Extra") or [])
    required = {
        m.group(1)
        for req in metadata.requires(DIST) or []
        if (m := re.search(r"""extra\s*==\s*["']([^"']+)["']""", req))
    }
    assert extras, "no extras at all: the metadata was not read"
    assert extras <= required, extras - required
    assert "redis" in extras


def test_classifiers_say_what_the_package_provides() -> None:
    """It ships a pytest plugin, an asyncio client and type information."""
    classifiers = set(metadata.metadata(DIST).get_all("Classifier") or [])
    assert {"Framework :: Pytest", "Framework :: AsyncIO", "Typing :: Typed"} <= classifiers


def test_the_long_description_is_the_readme() -> None:
    """PyPI shows the README: it must open with what the library is."""
    meta = metadata.metadata(DIST)
    body = meta.get_payload()  # type: ignore[attr-defined]
    assert isinstance(body, str)
    assert body.startswith("# maintainx-resilient\n\nA typed Python client for the [MaintainX]")


def test_console_script_and_pytest_plugin_are_registered() -> None:
    """``maintainx-resilient`` on the PATH and the plugin pytest loads."""
    points = metadata.entry_points()
    scripts = {e.name: e.value for e in points.select(group="console_scripts")}
    plugins = {e.name: e.value for e in points.select(group="pytest11")}
    assert scripts["maintainx-resilient"] == "maintainx_resilient.cli:main"
    assert plugins["maintainx_resilient"] == "maintainx_resilient.testing.pytest_plugin"
