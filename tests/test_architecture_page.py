"""docs/architecture.md keeps up with the house: every layer of the pipeline, every
subpackage, and only paths that exist. Change the code without the page and this fails."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import maintainx_resilient
from maintainx_resilient import _pipeline

PACKAGE = Path(maintainx_resilient.__file__).resolve().parent
ROOT = PACKAGE.parent.parent
PAGE = ROOT / "docs" / "architecture.md"
#: A path in backticks: ``src/...``, ``resources/_base.py``, ``cli/schemas/``, ``_http.py``.
CITED = re.compile(r"`((?:src/|tests/|docs/)[^`\s]*|[\w./-]+\.(?:py|pyi|json|md)|[\w/]+/)`")
#: Placeholders in "where does a new X go" (``cli/_<name>.py``, ``docs/runbooks/rb-NNN.md``).
TEMPLATE = re.compile(r"<\w+>|NNN")


def page() -> str:
    return PAGE.read_text(encoding="utf-8")


def subpackages() -> list[str]:
    """Every directory of the package that holds Python modules, relative to it."""
    return sorted(
        str(d.relative_to(PACKAGE))
        for d in PACKAGE.rglob("*")
        if d.is_dir() and d.name != "__pycache__" and any(d.glob("*.py"))
    )


def cited_paths(text: str) -> list[str]:
    return [p for p in CITED.findall(text) if not TEMPLATE.search(p)]


def resolves(path: str) -> bool:
    """A ``src/``, ``tests/``, ``docs/`` or ``bench/`` path from the repository root; any
    other relative to the package (``resources/_base.py``) or to one of its subpackages
    (``_fallback_store.py`` in a line about ``policies/``)."""
    if path.startswith(("src/", "tests/", "docs/", "bench/")):
        return (ROOT / path).exists()
    bases = [PACKAGE, *(PACKAGE / d for d in subpackages())]
    return any((base / path).exists() for base in bases)


def test_the_page_is_in_the_menu() -> None:
    """Contributors find it: mkdocs.yml lists it."""
    assert "architecture.md" in (ROOT / "mkdocs.yml").read_text(encoding="utf-8")


@pytest.mark.parametrize("row", _pipeline.LAYERS, ids=lambda row: row[0])
def test_every_layer_is_on_the_page(row: tuple[str, type, type]) -> None:
    """Each row of ``_pipeline.LAYERS``: its policy attribute and both layer classes."""
    attribute, sync_layer, async_layer = row
    text = page()
    assert f"`{attribute}`" in text
    assert f"`{sync_layer.__name__}`" in text and f"`{async_layer.__name__}`" in text
    module = sync_layer.__module__.replace(".", "/")
    assert f"src/{module}.py" in text, f"the module of {sync_layer.__name__}"


def test_every_subpackage_is_on_the_page() -> None:
    """Each directory of modules under src/maintainx_resilient is named (in backticks)."""
    text = page()
    found = subpackages()
    assert {"policies", "telemetry", "diagnostics", "webhooks/queue"} <= set(found)
    missing = [d for d in found if f"`{d}`" not in text and f"`{d}/" not in text]
    assert missing == []


def test_every_cited_path_exists() -> None:
    """No path on the page points at a file or directory that is gone."""
    cited = cited_paths(page())
    assert len(cited) > 30  # the page cites its files; the pattern finds them
    assert [p for p in cited if not resolves(p)] == []


def test_the_path_check_catches_a_stale_path() -> None:
    """The checks above are not vacuous: a moved file and a template are told apart."""
    text = "see `src/maintainx_resilient/_gone.py`, `policies/gone.py` and `cli/_<name>.py`"
    assert cited_paths(text) == ["src/maintainx_resilient/_gone.py", "policies/gone.py"]
    assert not any(resolves(p) for p in cited_paths(text))
    assert resolves("src/maintainx_resilient/_pipeline.py") and resolves("_fallback_store.py")
