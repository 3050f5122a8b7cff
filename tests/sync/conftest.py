"""Fixtures of the sync tests: a small simulator, a client on it, and each store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from maintainx_resilient import MaintainXClient
from maintainx_resilient.sync import MemoryStore, SQLiteStore, SyncStore
from maintainx_resilient.testing import Simulator

from ._support import client_for, make_sim


@pytest.fixture
def sim() -> Simulator:
    """1000 work orders (5 pages of 200), no rate limit."""
    return make_sim(1000)


@pytest.fixture
def client(sim: Simulator) -> Iterator[MaintainXClient]:
    with client_for(sim) as c:
        yield c


@pytest.fixture(params=["sqlite", "memory"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SyncStore]:
    """Each bundled store: every engine test holds for both."""
    made: SyncStore = (
        SQLiteStore(tmp_path / "sync.db") if request.param == "sqlite" else MemoryStore()
    )
    yield made
    made.close()


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[SQLiteStore]:
    with SQLiteStore(tmp_path / "sync.db") as made:
        yield made
