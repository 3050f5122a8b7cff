"""The fallback cache through the whole client: whose answers it may serve, what a write makes
stale, and what it may keep at all.

- answers are scoped by the credential that fetched them (a key fingerprint, never the key)
  and by the organization headers, in memory and in a SQLite file shared by several clients;
- a write drops the cached answers it makes wrong (the record, the collection's list pages);
- only answers that parsed are kept, so an outage replays the last *good* data.

Every client runs on the in-process simulator transport and a FakeClock.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from maintainx_resilient import (
    AsyncMaintainXClient,
    BadRequestError,
    CircuitOpenError,
    DecodeError,
    FallbackConfig,
    FallbackModeError,
    MaintainXClient,
    PermissionDeniedError,
    ServerError,
)
from maintainx_resilient._clock import FakeClock
from maintainx_resilient._extensions import (
    CACHEABLE_EXTENSION,
    COMMIT_EXTENSION,
    CREDENTIAL_EXTENSION,
    META_EXTENSION,
)
from maintainx_resilient._secrets import credential_id, fingerprint
from maintainx_resilient.policies._fallback_keys import WriteScope, cache_key
from maintainx_resilient.policies._fallback_store import FallbackStore, StoredAnswer
from maintainx_resilient.policies.auth import AuthLayer, KeyRing
from maintainx_resilient.policies.fallback import FallbackCache, FallbackLayer, commit
from maintainx_resilient.sync._fetch import Fetcher
from maintainx_resilient.sync.errors import StaleAnswerError
from maintainx_resilient.sync.resources import resolve
from maintainx_resilient.testing import Simulator

from ..conftest import CANARY_KEY

ORG1_KEY = "org-one-key-3b9a"
ORG2_KEY = "org-two-key-51c7"

_OPEN: list[MaintainXClient] = []


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    while _OPEN:
        _OPEN.pop().close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sim(clock: FakeClock) -> Simulator:
    sim = Simulator(seed=3, work_orders=12, assets=4, rate_limit=None, clock=clock)
    sim.add_key(ORG1_KEY, user_id=1, org_ids=(1,))
    sim.add_key(ORG2_KEY, user_id=2, org_ids=(2,))
    return sim


def client_for(
    sim: Simulator | httpx.BaseTransport,
    clock: FakeClock,
    api_key: Any,
    path: Path | None = None,
    **kw: Any,
) -> MaintainXClient:
    """A client with the default pipeline (no throttle), closed after the test."""
    transport = sim.transport() if isinstance(sim, Simulator) else sim
    kw.setdefault("fallback", FallbackConfig(path=path))
    client = MaintainXClient(
        api_key=api_key,
        base_url="https://api.example.test/v1",
        transport=transport,
        clock=clock,
        throttle=None,
        **kw,
    )
    _OPEN.append(client)
    return client


#: What a call not answered from the cache raises in an outage (the breaker opens on the way).
UNAVAILABLE = (ServerError, CircuitOpenError)


def first_id(sim: Simulator, org_id: int) -> int:
    return int(sim.records("workorders", org_id=org_id)[0]["id"])


# ---- item 1: organizations sharing a persisted cache ------------------------------------------


def test_two_organizations_sharing_a_file_never_see_each_others_answers(
    sim: Simulator, clock: FakeClock, tmp_path: Path
) -> None:
    """Keys bound to one organization each (no x-organization-id is sent), one cache file: in
    an outage each client is served its own answers and never the other organization's."""
    path = tmp_path / "shared.sqlite"
    wo1, wo2 = first_id(sim, 1), first_id(sim, 2)
    one = client_for(sim, clock, ORG1_KEY, path)
    assert one.work_orders.get(wo1).id == wo1
    page1 = one.work_orders.list(limit=5)
    one.close()
    two = client_for(sim, clock, ORG2_KEY, path)  # loads what org 1 stored
    assert two.work_orders.get(wo2).id == wo2
    page2 = two.work_orders.list(limit=5)
    assert {w.id for w in page1.items}.isdisjoint(w.id for w in page2.items)

    sim.faults.outage()
    with pytest.raises(UNAVAILABLE):
        two.work_orders.get(wo1)  # org 1's record, cached by org 1's client
    stale_page = two.work_orders.list(limit=5)  # the very same URL org 1 cached
    assert stale_page.response_meta.stale
    assert [w.id for w in stale_page.items] == [w.id for w in page2.items]
    # The breaker is open by now: this lookup never reached the auth layer, so the cache asked
    # the client's key for the identity.
    served = two.work_orders.get(wo2).response_meta
    assert served is not None and served.reason == "circuit_open"

    two.close()
    again = client_for(sim, clock, ORG1_KEY, path)  # org 1 restarts on the same file
    assert [w.id for w in again.work_orders.list(limit=5).items] == [w.id for w in page1.items]
    with pytest.raises(UNAVAILABLE):
        again.work_orders.get(wo2)


def test_the_file_holds_a_credential_fingerprint_never_the_key(
    sim: Simulator, clock: FakeClock, tmp_path: Path
) -> None:
    """Each row is scoped by a 128-bit fingerprint of the key; the key itself is nowhere."""
    sim.add_key(CANARY_KEY, org_ids=(1,))
    path = tmp_path / "cache.sqlite"
    client = client_for(sim, clock, CANARY_KEY, path)
    client.work_orders.get(first_id(sim, 1))
    client.close()
    db = sqlite3.connect(path)
    try:
        keys = [k for (k,) in db.execute("SELECT key FROM answers")]
    finally:
        db.close()
    assert len(keys) == 1
    assert keys[0].startswith(credential_id(CANARY_KEY) + "\n")
    assert len(credential_id(CANARY_KEY)) == 32
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    assert CANARY_KEY.encode() not in raw


# ---- item 2: a restricted key is never served what another key read ---------------------------


class Permissions:
    """MaintainX for one organization where only the admin key may read work order 1."""

    def __init__(self) -> None:
        self.down = False

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            return httpx.Response(503, json={"error": "Service Unavailable"})
        if request.headers["authorization"] != "Bearer admin-key":
            return httpx.Response(403, json={"errors": [{"error": "Forbidden"}]})
        return httpx.Response(200, json={"workOrder": {"id": 1, "title": "payroll audit"}})


def test_restricted_key_is_not_served_what_the_admin_key_read(
    clock: FakeClock, tmp_path: Path
) -> None:
    """Same organization, one file: the admin's answer is never served to the restricted key,
    neither during a 503 nor in fallback mode."""
    api = Permissions()
    path = tmp_path / "cache.sqlite"
    admin = client_for(httpx.MockTransport(api), clock, "admin-key", path)
    assert admin.work_orders.get(1).title == "payroll audit"
    admin.close()
    restricted = client_for(httpx.MockTransport(api), clock, "restricted-key", path)
    with pytest.raises(PermissionDeniedError):
        restricted.work_orders.get(1)
    api.down = True
    with pytest.raises(UNAVAILABLE):
        restricted.work_orders.get(1)
    restricted.enable_fallback_mode()
    with pytest.raises(FallbackModeError):
        restricted.work_orders.get(1)
    admin = client_for(httpx.MockTransport(api), clock, "admin-key", path)
    assert admin.work_orders.get(1).response_meta.stale  # type: ignore[union-attr]


def test_a_key_source_that_moves_on_changes_the_identity(clock: FakeClock) -> None:
    """A callable key source moving from the admin key to a restricted one: in fallback mode
    the restricted key is not served the admin's answer (the cache asks the source)."""
    api = Permissions()
    current = ["admin-key"]
    client = client_for(httpx.MockTransport(api), clock, lambda: current[0])
    client.work_orders.get(1)
    current[0] = "restricted-key"
    client.enable_fallback_mode()
    with pytest.raises(FallbackModeError):
        client.work_orders.get(1)
    current[0] = "admin-key"
    assert client.work_orders.get(1).response_meta.stale  # type: ignore[union-attr]


def test_rotated_key_is_a_new_identity(sim: Simulator, clock: FakeClock) -> None:
    """After a 401 and a rotation the new key reads again; the old key's entries are not
    served to it (a rotated key of the same user is a new identity: safe)."""

    class Provider:
        def __init__(self) -> None:
            self.key = ORG1_KEY

        def get(self) -> str:
            return self.key

        def rotate(self, failed: str) -> str:
            self.key = "org-one-second-key"
            return self.key

    sim.add_key("org-one-second-key", org_ids=(1,))
    wo, other = first_id(sim, 1), first_id(sim, 1) + 1
    client = client_for(sim, clock, Provider())
    client.work_orders.get(wo)
    sim.revoke_key(ORG1_KEY)
    assert client.work_orders.get(other).id == other  # 401, rotate, resend: stored for key 2
    sim.faults.outage()
    assert client.work_orders.get(other).response_meta.stale  # type: ignore[union-attr]
    with pytest.raises(UNAVAILABLE):
        client.work_orders.get(wo)  # fetched with the revoked key


# ---- item 3: writes drop what they make stale ---------------------------------------------------


def outage_answer(call: Callable[[], Any]) -> Any:
    """What ``call`` gives during an outage: a (stale) result, or the error it raises."""
    try:
        return call()
    except UNAVAILABLE as exc:
        return exc


@pytest.mark.parametrize("persisted", [False, True])
def test_update_drops_the_record_and_its_list_pages(
    sim: Simulator, clock: FakeClock, tmp_path: Path, persisted: bool
) -> None:
    """After a successful PATCH, an outage serves neither the old record nor the list pages
    that held it; other records and other collections are still served."""
    path = tmp_path / "cache.sqlite" if persisted else None
    wo, other = first_id(sim, 1), first_id(sim, 1) + 1
    client = client_for(sim, clock, ORG1_KEY, path)
    client.work_orders.get(wo)
    client.work_orders.get(other)
    page = client.work_orders.list(limit=3)
    second = client.work_orders.list(limit=3, cursor=page.next_cursor)
    client.assets.list(limit=2)
    client.work_orders.update(wo, title="renamed")
    if persisted:  # a restart on the same file must not bring the old answers back
        client.close()
        client = client_for(sim, clock, ORG1_KEY, path)
    sim.faults.outage()
    assert isinstance(outage_answer(lambda: client.work_orders.get(wo)), UNAVAILABLE)
    assert isinstance(outage_answer(lambda: client.work_orders.list(limit=3)), UNAVAILABLE)
    assert isinstance(
        outage_answer(lambda: client.work_orders.list(limit=3, cursor=page.next_cursor)),
        UNAVAILABLE,
    )
    assert second.next_cursor is not None or second.items
    assert client.work_orders.get(other).response_meta.stale  # type: ignore[union-attr]
    assert client.assets.list(limit=2).response_meta.stale


def test_status_change_and_delete_drop_the_record(sim: Simulator, clock: FakeClock) -> None:
    """PATCH /workorders/{id}/status and DELETE /workorders/{id} drop the record too."""
    wo, other = first_id(sim, 1), first_id(sim, 1) + 1
    client = client_for(sim, clock, ORG1_KEY)
    client.work_orders.get(wo)
    client.work_orders.get(other)
    client.work_orders.set_status(wo, "ON_HOLD")
    client.work_orders.delete(other)
    sim.faults.outage()
    assert isinstance(outage_answer(lambda: client.work_orders.get(wo)), UNAVAILABLE)
    assert isinstance(outage_answer(lambda: client.work_orders.get(other)), UNAVAILABLE)


def test_a_fresh_read_after_the_write_is_served_again(sim: Simulator, clock: FakeClock) -> None:
    """Invalidation is not a ban: the next good read is kept and served in the outage."""
    wo = first_id(sim, 1)
    client = client_for(sim, clock, ORG1_KEY)
    client.work_orders.get(wo)
    client.work_orders.update(wo, title="renamed")
    assert client.work_orders.get(wo).title == "renamed"
    sim.faults.outage()
    served = client.work_orders.get(wo)
    assert served.title == "renamed" and served.response_meta.stale  # type: ignore[union-attr]


def test_a_write_that_failed_for_sure_keeps_the_cache(sim: Simulator, clock: FakeClock) -> None:
    """A write refused with a 4xx changed nothing: the cached record is still served."""
    wo = first_id(sim, 1)
    client = client_for(sim, clock, ORG1_KEY)
    client.work_orders.get(wo)
    sim.faults.fail_next(1, status=400, method="PATCH")
    with pytest.raises(BadRequestError):
        client.work_orders.update(wo, title="refused")
    sim.faults.outage()
    assert client.work_orders.get(wo).response_meta.stale  # type: ignore[union-attr]


# ---- item 4: only answers that parsed are kept ------------------------------------------------


@pytest.mark.parametrize("kind", ["truncated", "wrong_type"])
def test_a_broken_200_is_not_cached(sim: Simulator, clock: FakeClock, kind: str) -> None:
    """A 200 whose body does not parse is not kept: it is answered with the last good answer
    (labelled stale, ``undecodable``), and the outage after it serves that one too."""
    wo = first_id(sim, 1)
    client = client_for(sim, clock, ORG1_KEY)
    good = client.work_orders.get(wo)
    sim.faults.malformed(1, kind=kind, method="GET")  # type: ignore[arg-type]
    instead = client.work_orders.get(wo)
    assert instead.response_meta.reason == "undecodable"  # type: ignore[union-attr]
    assert instead.title == good.title
    sim.faults.malformed(1, kind=kind, method="GET")  # type: ignore[arg-type]
    with pytest.raises(DecodeError):
        client.work_orders.get(first_id(sim, 1) + 1)  # never read before: nothing instead
    sim.faults.outage()
    served = client.work_orders.get(wo)
    assert served.response_meta.stale  # type: ignore[union-attr]
    assert served.title == good.title
    stats = client.policies.fallback.stats()  # type: ignore[union-attr]
    assert stats.stored == 1


def test_the_sync_fetcher_commits_what_it_parsed(sim: Simulator, clock: FakeClock) -> None:
    """Pages read by the sync engine's fetcher (its own parser) are kept once they parsed, and
    a broken page is not (the fetcher refuses the stale page given instead): the client's own
    list call is then served the good page."""
    client = client_for(sim, clock, ORG1_KEY)
    fetcher = Fetcher(client, resolve("workOrders"))
    good = fetcher.page({"limit": 5})
    assert client.policies.fallback.stats().stored == 1  # type: ignore[union-attr]
    sim.faults.malformed(1, kind="truncated", method="GET")
    with pytest.raises(StaleAnswerError, match="undecodable"):
        fetcher.page({"limit": 5})
    assert client.policies.fallback.stats().stored == 1  # type: ignore[union-attr]
    sim.faults.outage()
    page = client.work_orders.list(limit=5)
    assert page.response_meta.stale and [w.id for w in page.items] == [r.id for r in good.records]


async def test_the_async_client_scopes_keeps_and_invalidates_alike(
    clock: FakeClock, tmp_path: Path
) -> None:
    """AsyncMaintainXClient: a broken 200 is not kept, an update drops the record, and a client
    of another organization opening the same file afterwards is not served what it holds."""
    sim = Simulator(seed=3, work_orders=6, rate_limit=None, clock=clock)
    sim.add_key(ORG2_KEY, user_id=2, org_ids=(2,))
    wo, other = first_id(sim, 1), first_id(sim, 1) + 1
    path = tmp_path / "cache.sqlite"

    def make(key: str) -> AsyncMaintainXClient:
        return AsyncMaintainXClient(
            api_key=key,
            base_url="https://api.example.test/v1",
            transport=sim.transport(),
            clock=clock,
            throttle=None,
            breaker=None,
            fallback=FallbackConfig(path=path),
        )

    async with make(sim.API_KEY) as client:
        await client.work_orders.get(wo)
        await client.work_orders.get(other)
        sim.faults.malformed(1, kind="truncated", method="GET")
        instead = await client.work_orders.get(other)  # the last good answer, not kept again
        assert instead.response_meta.reason == "undecodable"  # type: ignore[union-attr]
        await client.work_orders.update(wo, title="renamed")
        sim.faults.outage()
        with pytest.raises(ServerError):
            await client.work_orders.get(wo)
        assert (await client.work_orders.get(other)).response_meta.stale  # type: ignore[union-attr]
        stats = client.policies.fallback.stats()  # type: ignore[union-attr]
        assert (stats.stored, stats.invalidated) == (2, 1)
    async with make(ORG2_KEY) as stranger:
        assert stranger.policies.fallback.stats().entries == 1  # type: ignore[union-attr]
        with pytest.raises(ServerError):
            await stranger.work_orders.get(other)


def test_webhook_secrets_are_never_cached(sim: Simulator, clock: FakeClock) -> None:
    """GET /subscriptions/{id}/secret is read fresh or not at all: never kept, never replayed."""
    client = client_for(sim, clock, ORG1_KEY)
    created = client.subscriptions.create(type="NEW_WORK_ORDER", url="https://hooks.example.test/a")
    assert client.subscriptions.secret(created.id) == created.secret
    assert client.policies.fallback.stats().stored == 0  # type: ignore[union-attr]
    sim.faults.outage()
    with pytest.raises(UNAVAILABLE):
        client.subscriptions.secret(created.id)


# ---- the mechanisms, one layer at a time --------------------------------------------------------

BASE = "https://api.example.test/v1"


def request(
    method: str = "GET", path: str = "/workorders/1", *, credential: str | None = "cred-a"
) -> httpx.Request:
    """A request as the auth layer leaves it: stamped with the credential id it was sent with."""
    extensions = {} if credential is None else {CREDENTIAL_EXTENSION: credential}
    return httpx.Request(
        method, BASE + path, json={} if method != "GET" else None, extensions=extensions
    )


def ok(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"path": request.url.path})


def layer_over(
    handler: Callable[[httpx.Request], httpx.Response],
    cache: FallbackCache | None = None,
    **kw: Any,
) -> FallbackLayer:
    return FallbackLayer(
        httpx.MockTransport(handler), cache or FallbackCache(clock=FakeClock(), **kw)
    )


def keep(layer: FallbackLayer, req: httpx.Request) -> httpx.Response:
    response = layer.handle_request(req)
    assert commit(response)
    return response


def served(layer: FallbackLayer, req: httpx.Request) -> bool:
    """Whether ``req`` is answered from the cache in fallback mode."""
    layer.policy.enable_fallback_mode()
    try:
        return bool(layer.handle_request(req).extensions[META_EXTENSION].stale)
    except FallbackModeError:
        return False
    finally:
        layer.policy.disable_fallback_mode()


def test_an_answer_is_kept_only_when_committed() -> None:
    """The layer offers a fresh GET answer; nothing is kept until commit() (after parsing)."""
    layer = layer_over(ok)
    response = layer.handle_request(request())
    assert COMMIT_EXTENSION in response.extensions
    assert layer.policy.stats().stored == 0 and not served(layer, request())
    assert commit(response)
    assert layer.policy.stats().stored == 1 and served(layer, request())
    layer.policy.enable_fallback_mode()
    assert not commit(layer.handle_request(request()))  # a stale answer: nothing to keep
    layer.policy.disable_fallback_mode()
    assert not commit(layer.handle_request(request("PATCH")))  # writes are never kept


def test_uncacheable_operations_are_never_offered() -> None:
    """A request marked cacheable=False (a webhook secret) gets no commit callable."""
    layer = layer_over(ok)
    req = request()
    req.extensions[CACHEABLE_EXTENSION] = False
    assert not commit(layer.handle_request(req))
    assert layer.policy.stats().entries == 0


def test_entries_are_scoped_by_the_stamped_credential() -> None:
    """An answer fetched with credential A is not served to credential B, nor to an unstamped
    request whose key source says B; it is served to A."""
    identity = ["cred-b"]
    layer = layer_over(ok, credential=lambda: identity[0])
    keep(layer, request(credential="cred-a"))
    assert served(layer, request(credential="cred-a"))
    assert not served(layer, request(credential="cred-b"))
    assert not served(layer, request(credential=None))  # asks the source: cred-b
    identity[0] = "cred-a"
    assert served(layer, request(credential=None))


@pytest.mark.parametrize(
    ("method", "path", "cached", "dropped"),
    [
        ("PATCH", "/workorders/1", "/workorders/1?expand=asset", True),
        ("PATCH", "/workorders/1", "/workorders?limit=5&cursor=abc", True),
        ("PATCH", "/workorders/1/status", "/workorders/1", True),
        ("PATCH", "/workorders/1/status", "/workorders?statuses=OPEN", True),
        ("PATCH", "/workorders/1", "/workorders/?limit=5", True),
        ("PATCH", "/workorders/1", "/workorders/2", False),
        ("PATCH", "/workorders/1", "/workorders/1/comments", False),
        ("PATCH", "/workorders/1", "/assets?limit=5", False),
        ("PATCH", "/workorders/1", "/workordersX", False),
        ("POST", "/workorders", "/workorders?limit=5", True),
        ("POST", "/workorders", "/workorders/1", False),
        ("POST", "/workorders/1/comments", "/workorders/1/comments?limit=5", True),
        ("DELETE", "/workorders/1", "/workorders/1/comments", True),
        ("DELETE", "/workorders/1", "/workorders/10", False),
    ],
)
def test_what_a_write_makes_stale(method: str, path: str, cached: str, dropped: bool) -> None:
    """The pure rule: the write's path and the paths above it (and below it for a DELETE),
    any query, same credential and origin."""
    write = WriteScope.of(httpx.Request(method, BASE + path), "cred-a")
    assert write.makes_stale(cache_key(httpx.Request("GET", BASE + cached), "cred-a")) is dropped
    assert not write.makes_stale(cache_key(httpx.Request("GET", BASE + cached), "cred-b"))
    elsewhere = httpx.Request("GET", "https://api.example.test.evil" + "/v1" + cached)
    assert not write.makes_stale(cache_key(elsewhere, "cred-a"))


def test_only_a_successful_write_drops_entries() -> None:
    """A 2xx write drops what it made wrong; a 4xx (refused) or 5xx (fate unknown) drops
    nothing; the entries of another credential are left alone."""
    status = [200]

    def handler(req: httpx.Request) -> httpx.Response:
        return ok(req) if req.method == "GET" else httpx.Response(status[0], json={})

    layer = layer_over(handler)
    keep(layer, request())
    keep(layer, request(credential="cred-b"))
    for refused in (400, 404, 503):
        status[0] = refused
        layer.handle_request(request("PATCH"))
        assert served(layer, request())
    status[0] = 200
    layer.handle_request(request("PATCH"))
    assert not served(layer, request())
    assert served(layer, request(credential="cred-b"))
    assert layer.policy.stats().invalidated == 1


def test_a_read_in_flight_during_a_write_is_not_kept() -> None:
    """A GET sent before a write succeeded may carry the old record: it is not kept. One for an
    unrelated path is."""
    cache = FallbackCache(clock=FakeClock())
    slow = FallbackLayer(httpx.MockTransport(ok), cache)
    writer = FallbackLayer(httpx.MockTransport(lambda r: httpx.Response(200, json={})), cache)

    def write_meanwhile(req: httpx.Request) -> httpx.Response:
        writer.handle_request(request("PATCH", "/workorders/1"))
        return ok(req)

    racing = FallbackLayer(httpx.MockTransport(write_meanwhile), cache)
    old = racing.handle_request(request())
    other = racing.handle_request(request("GET", "/workorders/2"))
    commit(old)
    commit(other)
    assert not served(slow, request())
    assert served(slow, request("GET", "/workorders/2"))


def test_a_read_that_outlived_too_many_writes_is_not_kept() -> None:
    """When more writes happened during a GET than are remembered, it is not kept."""
    cache = FallbackCache(clock=FakeClock())
    writer = FallbackLayer(httpx.MockTransport(lambda r: httpx.Response(204)), cache)
    layer = FallbackLayer(httpx.MockTransport(ok), cache)
    response = layer.handle_request(request("GET", "/assets/1"))
    for n in range(70):  # writes elsewhere, more than the 64 remembered
        writer.handle_request(request("DELETE", f"/parts/{n}"))
    commit(response)
    assert not served(layer, request("GET", "/assets/1"))


def test_invalidation_reaches_rows_other_processes_wrote(tmp_path: Path) -> None:
    """Two caches on one file with the same credential: a write through the first deletes
    the row the second wrote, so a third starting later does not load it."""
    path = tmp_path / "cache.sqlite"
    clock = FakeClock()
    first = FallbackCache(FallbackConfig(path=path), clock=clock)
    second = FallbackCache(FallbackConfig(path=path), clock=clock)
    keep(layer_over(ok, second), request("GET", "/workorders?limit=5"))
    keep(layer_over(ok, second), request("GET", "/assets/1"))
    second.flush()
    writer = layer_over(lambda r: httpx.Response(200, json={}), first)
    writer.handle_request(request("PATCH", "/workorders/1"))
    first.flush()
    third = FallbackCache(FallbackConfig(path=path), clock=clock)
    layer = layer_over(ok, third)
    assert not served(layer, request("GET", "/workorders?limit=5"))
    assert served(layer, request("GET", "/assets/1"))
    for cache in (first, second, third):
        cache.close()


def test_a_pending_write_to_the_file_is_dropped_by_an_invalidation(tmp_path: Path) -> None:
    """An answer kept but not yet written to the file when a write invalidates it never
    reaches the file; an answer kept after the write does."""
    store = FallbackStore(str(tmp_path / "cache.sqlite"))
    answer = StoredAnswer(200, (), b"{}", 1.0)
    store.put("cred-a\n\n\nGET https://h/v1/workorders/1", answer)
    store.invalidate(lambda key: key.endswith("/workorders/1"))
    store.put("cred-a\n\n\nGET https://h/v1/workorders/2", answer)
    store.flush()
    assert [key for key, _ in store.load(0.0)] == ["cred-a\n\n\nGET https://h/v1/workorders/2"]
    store.close()


def test_the_auth_layer_stamps_the_key_it_sent() -> None:
    """Each attempt carries the credential id of its own key: after a 401 and a rotation, the
    new key's id."""
    keys = ["old-key", "new-key"]

    class Provider:
        def get(self) -> str:
            return keys[0]

        def rotate(self, failed: str) -> str:
            return keys[1]

    seen: list[str] = []

    def handler(req: httpx.Request) -> httpx.Response:
        seen.append(req.extensions[CREDENTIAL_EXTENSION])
        return httpx.Response(401 if req.headers["authorization"] == "Bearer old-key" else 200)

    ring = KeyRing(Provider())
    AuthLayer(httpx.MockTransport(handler), ring).handle_request(httpx.Request("GET", BASE))
    assert seen == [credential_id("old-key"), credential_id("new-key")]
    assert ring.credential() == credential_id("new-key")
    assert credential_id("new-key") != credential_id("old-key")
    assert "new-key" not in credential_id("new-key") and fingerprint("new-key")[7:] not in (
        credential_id("new-key")
    )
    ring.close()


def test_a_file_from_before_credential_scoping_is_emptied(tmp_path: Path) -> None:
    """A schema-1 file holds rows no credential owns: they are deleted on open, never served."""
    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path)
    db.execute(
        "CREATE TABLE answers (key TEXT PRIMARY KEY, status INTEGER NOT NULL, headers TEXT "
        "NOT NULL, body BLOB NOT NULL, stored_at REAL NOT NULL)"
    )
    db.execute(
        "INSERT INTO answers VALUES (?, 200, '[]', ?, ?)",
        (f"GET {BASE}/workorders/1 org= orgs=", b'{"workOrder": {"id": 1}}', 999.0),
    )
    db.execute("PRAGMA user_version = 1")
    db.commit()
    db.close()
    cache = FallbackCache(FallbackConfig(path=path), clock=FakeClock())
    assert cache.stats().entries == 0
    cache.close()
    db = sqlite3.connect(path)
    try:
        assert db.execute("SELECT count(*) FROM answers").fetchone() == (0,)
        assert db.execute("PRAGMA user_version").fetchone() == (2,)
    finally:
        db.close()
