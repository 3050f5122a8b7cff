"""The single entry point for checks: ``nox -s tests lint typing docs examples bench``."""

from __future__ import annotations

import os

import nox

nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["lint", "typing", "tests", "examples", "docs"]

PYTHON = os.environ.get("NOX_PYTHON", "3.11")


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """The whole test suite under coverage (Redis tests included: needs Redis).

    ``coverage run`` starts measuring before pytest imports the package's pytest plugin
    (``--cov`` would start after it, and miss every module imported that early); the
    subprocesses the tests start are measured too (``patch = ["subprocess"]`` in
    pyproject.toml). The report shows branch coverage and fails below ``fail_under``, unless
    arguments select a part of the suite (``nox -s tests -- tests/sync``).
    """
    session.install("-e", ".[test]")
    session.run("coverage", "erase")
    session.run("coverage", "run", "-m", "pytest", *session.posargs)
    session.run("coverage", "combine", "--quiet")
    floor = ["--fail-under=0"] if session.posargs else []
    session.run("coverage", "report", *floor)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff check, ruff format --check, and the generated async stub is up to date."""
    session.install("-e", ".[lint]")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    # the async families' stub is generated from the sync families: it must be current
    session.run("python", "-m", "maintainx_resilient.resources", "--check")


@nox.session(python=PYTHON)
def typing(session: nox.Session) -> None:
    """mypy --strict over the package, tests, examples and benchmarks."""
    session.install("-e", ".[typing]")
    session.run("mypy", "--strict")


@nox.session(python=PYTHON)
def docs(session: nox.Session) -> None:
    """Build the documentation site strictly (broken links fail)."""
    session.install("-e", ".[docs]")
    session.run("mkdocs", "build", "--strict", "--site-dir", "site")


@nox.session(python=PYTHON)
def examples(session: nox.Session) -> None:
    """Run every example against the bundled simulator."""
    session.install("-e", ".")
    for name in sorted(os.listdir("examples")):
        if name.endswith(".py"):
            session.run("python", os.path.join("examples", name))


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Benchmarks: each prints ratios against a baseline measured in the same run."""
    session.install("-e", ".")
    for name in sorted(os.listdir("bench")):
        if name.startswith("bench_") and name.endswith(".py"):
            session.run("python", os.path.join("bench", name), *session.posargs)
