"""The documentation, README and examples: public names only, every page once in the menu.

The site itself is built strictly by ``nox -s docs`` (broken links, anchors and API
reference warnings fail it); these checks run with the test suite, without mkdocs.
"""

from __future__ import annotations

import ast
import importlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
FENCE = re.compile(r"^```(?:python|py)\n(.*?)^```", re.S | re.M)
PRIVATE_MODULE = re.compile(r"\bmaintainx_resilient(?:\.[a-z_0-9]+)*\._[a-z_0-9]+")


def python_sources() -> Iterator[tuple[str, str]]:
    """(where, code) for every Python block of the docs and README, and every example."""
    for page in [*sorted(DOCS.rglob("*.md")), ROOT / "README.md"]:
        for i, block in enumerate(FENCE.finditer(page.read_text(encoding="utf-8"))):
            yield f"{page.relative_to(ROOT)} (block {i + 1})", block.group(1)
    for example in sorted((ROOT / "examples").glob("*.py")):
        yield str(example.relative_to(ROOT)), example.read_text(encoding="utf-8")


def private_imports(code: str) -> list[str]:
    """The imports of private modules or names of the package in ``code``."""
    try:
        tree = ast.parse(code)
    except SyntaxError:  # a signature or an elided snippet: fall back to the text
        return PRIVATE_MODULE.findall(code)
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if PRIVATE_MODULE.search(a.name)]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
            "maintainx_resilient"
        ):
            module_name = node.module or ""
            if PRIVATE_MODULE.search(module_name):
                found.append(module_name)
                continue
            module = importlib.import_module(module_name)
            public = getattr(module, "__all__", None)
            for alias in node.names:
                listed = alias.name in public if public is not None else alias.name[0] != "_"
                if not listed:
                    found.append(f"{module_name}.{alias.name}")
    return found


def test_docs_readme_and_examples_import_only_public_names() -> None:
    """No ``maintainx_resilient._module`` and no name outside a module's ``__all__``."""
    offenders = {where: bad for where, code in python_sources() if (bad := private_imports(code))}
    assert offenders == {}


def test_private_import_check_catches_what_it_should() -> None:
    """The check above is not vacuous: it flags each kind of private import."""
    assert private_imports("from maintainx_resilient._clock import FakeClock")
    assert private_imports("from maintainx_resilient.diagnostics._context import Thresholds")
    assert private_imports("import maintainx_resilient._client")
    assert private_imports("from maintainx_resilient.diagnostics import _model")
    assert private_imports("Simulator(seed=1, *, ...) maintainx_resilient._clock.FakeClock")
    assert not private_imports("from maintainx_resilient.diagnostics import Thresholds")
    assert not private_imports("from maintainx_resilient.testing import FakeClock")


def nav_pages(nav: Any) -> Iterator[str]:
    if isinstance(nav, str):
        yield nav
    elif isinstance(nav, list):
        for item in nav:
            yield from nav_pages(item)
    elif isinstance(nav, dict):
        for value in nav.values():
            yield from nav_pages(value)


def test_every_page_is_in_the_navigation_exactly_once() -> None:
    """The menu is in reading order and complete: no page missing, none twice, none dead."""
    yaml = pytest.importorskip("yaml")
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    pages = list(nav_pages(config["nav"]))
    on_disk = sorted(str(p.relative_to(DOCS)) for p in DOCS.rglob("*.md"))
    assert sorted(pages) == on_disk
    assert len(pages) == len(set(pages))
    assert pages[:3] == ["index.md", "install.md", "quickstart.md"]


@pytest.mark.parametrize("runbook", ["RB-001", "RB-002", "RB-003", "RB-004", "RB-005"])
def test_each_runbook_has_one_page(runbook: str) -> None:
    """One page per procedure: its findings, and what to run with the library."""
    titles = [
        p.read_text(encoding="utf-8").splitlines()[0]
        for p in DOCS.rglob("*.md")
        if runbook in p.read_text(encoding="utf-8").splitlines()[0]
    ]
    assert len(titles) == 1, titles


def test_the_reference_covers_every_public_module() -> None:
    """Each public module has a reference page rendered from its docstrings."""
    for module in ("", ".models", ".testing", ".diagnostics", ".webhooks", ".sync", ".telemetry"):
        name = f"maintainx_resilient{module}"
        page = DOCS / "reference" / f"{module.lstrip('.') or 'maintainx_resilient'}.md"
        assert f"::: {name}\n" in page.read_text(encoding="utf-8"), page


def readme_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    return re.findall(r"^```bash\n(.*?)\n```", readme, re.S | re.M)


def test_readme_opens_with_what_it_is_then_the_two_commands() -> None:
    """A reader (and PyPI) learns what the library is first, then how to run it."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    first_paragraph = readme.split("\n\n")[1]
    assert "MaintainX" in first_paragraph and "client" in first_paragraph
    assert readme.index(first_paragraph) < readme.index("```bash")
    demo, tests = readme_commands()[:2]
    assert demo.startswith("python3 -m venv .venv && ")
    assert demo.endswith(".venv/bin/maintainx-resilient demo")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").strip().splitlines()[-1]
    expected = "python3 -m venv .venv && .venv/bin/pip install -q nox && .venv/bin/nox -s tests"
    assert tests == ci == expected


# ---- pages whose code runs, in order, against the simulator ---------------------------------

#: Pages whose every Python block runs as one script (a block may use what an earlier one
#: built); each must build its own ``client`` on a ``Simulator`` first.
RUNNABLE_PAGES = ("client.md",)
#: ``print(...)  # expected output`` (``...`` matches anything; ``: why`` is left out).
PRINT_COMMENT = re.compile(r"^\s*print\(.*\)\s+#\s*(?P<expected>.+?)(?::\s.*)?$")


def expected_prints(code: str) -> list[re.Pattern[str]]:
    """The outputs a block's comments promise, as patterns of whole lines, in order."""
    return [
        re.compile(".*".join(re.escape(part) for part in m["expected"].strip().split("...")))
        for line in code.splitlines()
        if (m := PRINT_COMMENT.match(line))
    ]


def test_expected_prints_reads_the_comments() -> None:
    """The comment convention above: output, wildcards, and an explanation after ': '."""
    [a, b] = expected_prints("print(x)  # 503 1: no retry\nprint(y)  # sim-... None\nz = 1  # no")
    assert a.fullmatch("503 1") and not a.fullmatch("503 2")
    assert b.fullmatch("sim-00000042 None") and not b.fullmatch("sim-1 False")


@pytest.mark.parametrize("page", RUNNABLE_PAGES)
def test_page_runs_against_the_simulator(page: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Every Python block of the page runs, in order, in one namespace, without a warning,
    and prints what its ``print(...)  # comment`` lines say it prints."""
    text = (DOCS / page).read_text(encoding="utf-8")
    blocks = [m.group(1) for m in FENCE.finditer(text)]
    assert blocks and "Simulator(" in blocks[0] and "client = " in blocks[0]
    namespace: dict[str, Any] = {"__name__": "__docs__"}
    try:
        for i, code in enumerate(blocks, 1):
            exec(compile(code, f"docs/{page} (block {i})", "exec"), namespace)
            printed = capsys.readouterr().out.splitlines()
            lines = iter(printed)
            for pattern in expected_prints(code):
                assert any(pattern.fullmatch(line) for line in lines), (
                    f"block {i} did not print /{pattern.pattern}/ (in order): {printed}"
                )
    finally:
        client = namespace.get("client")
        if client is not None:
            client.close()
