"""Call arguments the API would refuse are refused before sending, with a typed error of
ours (``ConfigurationError``, also a ``ValueError``), never a builtin one, and never sent as
``GET /workorders/None`` (QA finding 4)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest

from maintainx_resilient import (
    AsyncMaintainXClient,
    ConfigurationError,
    MaintainXClient,
    MaintainXError,
)
from maintainx_resilient._operation import Operation, expect_json
from maintainx_resilient.resources.work_orders import WORK_ORDERS
from maintainx_resilient.testing import Simulator

BAD_CALLS: list[tuple[str, Callable[[Any], Any]]] = [  # Any: the calls break the types
    ("limit=500", lambda c: c.work_orders.list(limit=500)),
    ("limit=0", lambda c: c.work_orders.list(limit=0)),
    ("iter limit=0", lambda c: list(c.work_orders.iter(limit=0))),
    ("limit=True", lambda c: c.assets.list(limit=True)),
    ("limit='abc'", lambda c: c.assets.list(limit="abc")),
    ("limit=2.5", lambda c: c.assets.list(limit=2.5)),
    ("comments limit=201", lambda c: list(c.work_orders.comments(1, limit=201))),
    ("get(None)", lambda c: c.work_orders.get(None)),
    ("get('abc')", lambda c: c.work_orders.get("abc")),
    ("get(True)", lambda c: c.work_orders.get(True)),
    ("get(1.0)", lambda c: c.assets.get(1.0)),
    ("delete(None)", lambda c: c.work_orders.delete(None)),
    ("update('x')", lambda c: c.work_orders.update("x", title="t")),
    ("set_status(None)", lambda c: c.work_orders.set_status(None, "DONE")),
    ("naive datetime", lambda c: c.work_orders.list(updated_at_gte=datetime(2024, 1, 1))),
    ("SKIPPED", lambda c: c.work_orders.set_status(1, "SKIPPED")),
]


@pytest.mark.parametrize(("name", "call"), BAD_CALLS, ids=[n for n, _ in BAD_CALLS])
def test_bad_arguments_are_typed_errors_and_nothing_is_sent(
    name: str, call: Callable[[Any], Any]
) -> None:
    sim = Simulator(seed=1, work_orders=20)
    client = MaintainXClient(api_key=Simulator.API_KEY, transport=sim.transport())
    with pytest.raises(MaintainXError) as caught:
        call(client)
    assert isinstance(caught.value, ConfigurationError)
    assert isinstance(caught.value, ValueError)  # ``except ValueError`` still catches it
    assert client.stats.snapshot().requests == 0  # refused before sending
    client.close()


async def test_async_client_refuses_them_too() -> None:
    sim = Simulator(seed=1, work_orders=20)
    client = AsyncMaintainXClient(api_key=Simulator.API_KEY, transport=sim.transport())
    with pytest.raises(ConfigurationError, match="limit"):
        await client.work_orders.list(limit=500)
    with pytest.raises(ConfigurationError, match="ids are integers"):
        await client.work_orders.get(None)  # type: ignore[arg-type]
    assert client.stats.snapshot().requests == 0
    await client.aclose()


def test_integer_ids_still_go_through() -> None:
    """An int (or an int-like value with ``__index__``) is an id; text path parameters that
    are not ids (file names) are still quoted, not refused."""

    class Index:
        def __index__(self) -> int:
            return 7

    assert WORK_ORDERS.get_op(7).path == "/workorders/7"
    assert WORK_ORDERS.get_op(Index()).path == "/workorders/7"  # type: ignore[arg-type]
    op = Operation.make(
        "DELETE",
        "/workorders/{id}/attachments/{filename}",
        expect_json,
        path_params={"id": 3, "filename": "a b.pdf"},
    )
    assert op.path == "/workorders/3/attachments/a%20b.pdf"
    with pytest.raises(ConfigurationError, match="assetId"):
        Operation.make("GET", "/assets/{assetId}", expect_json, path_params={"assetId": "x"})


@pytest.mark.parametrize(
    ("settings", "call"),
    [
        ({"page_size": 0}, None),
        ({"page_size": 201}, None),
        ({"overlap": -1.0}, None),
        ({}, lambda engine: engine.recently_updated(limit=0)),
    ],
)
def test_the_sync_engine_refuses_bad_settings_with_a_typed_error(
    settings: dict[str, Any], call: Callable[[Any], Any] | None
) -> None:
    from maintainx_resilient.sync import MemoryStore, SyncEngine

    client = MaintainXClient(api_key=Simulator.API_KEY, transport=Simulator(seed=1).transport())

    def run() -> None:
        engine = SyncEngine(client, MemoryStore(), **settings)
        if call is not None:
            call(engine)

    with pytest.raises(ConfigurationError) as info:
        run()
    assert isinstance(info.value, (MaintainXError, ValueError))
    client.close()
