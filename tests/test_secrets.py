"""Secrets stay secret: fingerprints only, never pickled."""

from __future__ import annotations

import pickle

import pytest

from maintainx_resilient import Secret, fingerprint

from .conftest import CANARY_KEY


def test_secret_shows_only_fingerprint() -> None:
    """repr/str/format of a Secret show the fingerprint; reveal() gives the value."""
    s = Secret(CANARY_KEY)
    for text in (repr(s), str(s), f"{s}", f"{s!r}"):
        assert CANARY_KEY not in text
        assert s.fingerprint in text
    assert s.reveal() == CANARY_KEY


def test_fingerprint_is_stable_and_short() -> None:
    """The same key always has the same 8-hex fingerprint; different keys differ."""
    assert fingerprint("a") == fingerprint("a")
    assert fingerprint("a") != fingerprint("b")
    assert len(fingerprint("a").split(":")[1]) == 8


def test_secret_refuses_pickling() -> None:
    """A Secret cannot be pickled (nothing secret crosses a process boundary by pickle)."""
    with pytest.raises(TypeError):
        pickle.dumps(Secret(CANARY_KEY))


# -- no module-level cache holds a key --------------------------------------------------------


def _holders(needle: str) -> list[str]:
    """Where ``needle`` sits in the package's module-level state: every loaded
    ``maintainx_resilient`` module's globals, followed through containers, objects, classes
    and closures (a few levels deep)."""
    import contextlib
    import re
    import sys
    import types
    from collections import deque

    raw = needle.encode()
    found: list[str] = []
    seen: dict[int, int] = {}
    alive: list[object] = []

    def visit(value: object, where: str, depth: int) -> None:
        if isinstance(value, str):
            if needle in value:
                found.append(where)
            return
        if isinstance(value, bytes | bytearray):
            if raw in value:
                found.append(where)
            return
        if depth > 8 or seen.get(id(value), 99) <= depth or isinstance(value, types.ModuleType):
            return
        seen[id(value)] = depth  # visited again only if reached by a shorter path
        alive.append(value)  # so no id is reused by a later object during the walk
        if isinstance(value, dict):
            for key, item in list(value.items()):
                visit(key, f"{where}[key]", depth + 1)
                visit(item, f"{where}[{key!r:.40}]", depth + 1)
        elif isinstance(value, list | tuple | set | frozenset | deque):
            for item in list(value):
                visit(item, f"{where}[]", depth + 1)
        elif isinstance(value, types.FunctionType):
            for cell in value.__closure__ or ():
                with contextlib.suppress(ValueError):  # an empty cell
                    visit(cell.cell_contents, f"{where}.<closure>", depth + 1)
        elif isinstance(value, re.Pattern):
            visit(value.pattern, f"{where}.pattern", depth + 1)
        elif isinstance(value, type):  # our classes: class-level state
            if value.__module__.startswith("maintainx_resilient"):
                visit(dict(vars(value)), f"{where}.<class>", depth + 1)
        elif type(value).__module__.startswith("maintainx_resilient"):  # our objects
            attrs = getattr(value, "__dict__", None)
            if isinstance(attrs, dict):
                visit(attrs, f"{where}.__dict__", depth + 1)
            for cls in type(value).__mro__:
                for slot in vars(cls).get("__slots__", ()):
                    visit(getattr(value, slot, None), f"{where}.{slot}", depth + 1)

    for name, module in list(sys.modules.items()):
        if name == "maintainx_resilient" or name.startswith("maintainx_resilient."):
            for attr, value in list(vars(module).items()):
                visit(value, f"{name}.{attr}", 0)
    return found


def _use_a_client(key: str) -> object:
    """A client that sent calls with ``key`` through every layer (a 503 retried, a 404)."""
    import httpx

    from maintainx_resilient import MaintainXClient, NotFoundError
    from maintainx_resilient.policies.retry import RetryConfig

    answers = iter([503, 200, 200, 404])

    def handler(request: httpx.Request) -> httpx.Response:
        status = next(answers)
        if status == 200:
            return httpx.Response(200, json={"workOrders": [], "nextCursor": None})
        return httpx.Response(status, json={"error": "no"})

    client = MaintainXClient(
        api_key=key,
        transport=httpx.MockTransport(handler),
        retry=RetryConfig(max_attempts=2, initial_delay=0.0, max_delay=0.0),
    )
    client.work_orders.list()
    client.work_orders.list()
    with pytest.raises(NotFoundError):
        client.work_orders.get(1)
    return client


def test_no_module_level_state_keeps_a_key_after_close() -> None:
    """While a client lives its key is masked in logs (the redactor holds it, and the search
    finds it there); once it is closed, nothing at module level still holds it."""
    import gc
    import uuid

    key = "mxcanary" + uuid.uuid4().hex  # letters and digits: stored as is, even in a regex
    client = _use_a_client(key)
    assert _holders(key), "the search must see the key while the client registers it"
    client.close()  # type: ignore[attr-defined]
    del client
    gc.collect()
    assert _holders(key) == []


def test_a_client_never_closed_leaves_no_key_behind() -> None:
    """A client dropped without ``close()`` stops masking (so stops holding) its key when it
    is collected: the module-level redactor keeps only live clients' keys."""
    import gc
    import uuid

    key = "mxcanary" + uuid.uuid4().hex
    client = _use_a_client(key)
    del client
    gc.collect()
    assert _holders(key) == []
