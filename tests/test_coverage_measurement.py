"""Coverage measures what pytest imports before the first test: it starts first.

pytest imports the package's pytest plugin (the ``pytest11`` entry point, which imports
``maintainx_resilient``) before pytest-cov starts measuring, so ``--cov`` reported the root
``__init__``, the models and the resources at 0%. ``nox -s tests`` runs pytest under
``coverage run`` instead; this test fails if the measurement starts late again.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

import maintainx_resilient


def test_the_package_init_imported_by_the_pytest_plugin_is_measured() -> None:
    """The root ``__init__`` ran before any test; its lines must be in the coverage data."""
    coverage = pytest.importorskip("coverage")
    cov = coverage.Coverage.current()
    if cov is None:
        pytest.skip("not running under coverage (nox -s tests runs it)")
    with warnings.catch_warnings():  # coverage's own notes are not this test's business
        warnings.simplefilter("ignore")
        data = cov.get_data()
    init = Path(maintainx_resilient.__file__).resolve()
    measured = {Path(f).resolve(): f for f in data.measured_files()}
    assert init in measured, f"{init} is not measured: coverage started after pytest imported it"
    assert data.lines(measured[init]), f"no line of {init} recorded: coverage started late"
