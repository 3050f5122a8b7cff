"""The operations through ``httpx.Client(transport=sim.transport())``: writes, lists,
filters, sorting, expansions and incremental sync."""

from __future__ import annotations

from typing import Any

import pytest

from maintainx_resilient.testing import Simulator

from ._support import FakeClock, client, collect, make_sim

# -- writes ---------------------------------------------------------------------------------


def test_work_order_lifecycle() -> None:
    """Create answers only {"id"}; update, status change and delete behave as documented."""
    clock = FakeClock()
    sim = make_sim(clock)
    with client(sim) as http:
        created = http.post("/workorders", json={"title": "Fix pump", "priority": "HIGH"})
        assert created.status_code == 200 and set(created.json()) == {"id"}
        wo_id = created.json()["id"]
        got = http.get(f"/workorders/{wo_id}").json()["workOrder"]
        assert (got["title"], got["priority"], got["status"]) == ("Fix pump", "HIGH", "OPEN")
        assert got["createdAt"] == got["updatedAt"]
        clock.advance(5)
        updated = http.patch(f"/workorders/{wo_id}", json={"title": "Fix pump now"})
        assert updated.json()["workOrder"]["title"] == "Fix pump now"
        assert updated.json()["workOrder"]["updatedAt"] > got["updatedAt"]
        done = http.patch(f"/workorders/{wo_id}/status", json={"status": "DONE"})
        assert done.json()["workOrder"]["status"] == "DONE"
        assert done.json()["workOrder"]["completedAt"] is not None
        reopened = http.patch(f"/workorders/{wo_id}/status", json={"status": "OPEN"})
        assert reopened.json()["workOrder"]["completedAt"] is None
        deleted = http.delete(f"/workorders/{wo_id}")
        assert deleted.status_code == 204 and deleted.content == b""
        assert http.get(f"/workorders/{wo_id}").status_code == 404


def test_status_only_changes_through_the_status_endpoint() -> None:
    """status in a create/update body is refused; SKIPPED cannot be set at all."""
    sim = make_sim()
    wo_id = sim.records("workOrders")[0]["id"]
    with client(sim) as http:
        in_create = http.post("/workorders", json={"title": "x", "status": "DONE"})
        in_update = http.patch(f"/workorders/{wo_id}", json={"status": "DONE"})
        skipped = http.patch(f"/workorders/{wo_id}/status", json={"status": "SKIPPED"})
        unknown = http.patch(f"/workorders/{wo_id}/status", json={"status": "COMPLETED"})
    for answer in (in_create, in_update, skipped, unknown):
        assert answer.status_code == 400
        assert answer.json()["errors"][0]["fieldPath"] == "status"


def test_create_status_codes_follow_the_spec() -> None:
    """POST /workorders, /locations, /workrequests answer 200; the others 201."""
    sim = make_sim()
    vendor = sim.records("vendors")[0]["id"]
    with client(sim) as http:
        codes = {
            "workorders": http.post("/workorders", json={"title": "t"}).status_code,
            "locations": http.post("/locations", json={"name": "n"}).status_code,
            "workrequests": http.post("/workrequests", json={"title": "t"}).status_code,
            "assets": http.post("/assets", json={"name": "n"}).status_code,
            "parts": http.post("/parts", json={"name": "n"}).status_code,
            "purchaseorders": http.post(
                "/purchaseorders", json={"vendorId": vendor, "items": [{"quantityOrdered": 1}]}
            ).status_code,
            "subscriptions": http.post(
                "/subscriptions", json={"type": "NEW_WORK_ORDER", "url": "https://x.test"}
            ).status_code,
        }
    assert codes == {
        "workorders": 200,
        "locations": 200,
        "workrequests": 200,
        "assets": 201,
        "parts": 201,
        "purchaseorders": 201,
        "subscriptions": 201,
    }


def test_subscriptions_have_a_secret_and_no_list() -> None:
    """POST /subscriptions gives {id, status, secret}; the secret is readable again later."""
    sim = make_sim()
    with client(sim) as http:
        created = http.post(
            "/subscriptions", json={"type": "WORK_ORDER_STATUS_CHANGE", "url": "https://x.test/h"}
        ).json()
        assert set(created) == {"id", "status", "secret"} and created["status"] == "VALID"
        secret = http.get(f"/subscriptions/{created['id']}/secret").json()
        assert secret == {"secret": created["secret"]}
        got = http.get(f"/subscriptions/{created['id']}").json()["subscription"]
        assert got == {
            "id": created["id"],
            "type": "WORK_ORDER_STATUS_CHANGE",
            "url": "https://x.test/h",
            "status": "VALID",
        }
        bad = http.post("/subscriptions", json={"type": "workorder.created", "url": "https://x"})
        assert bad.status_code == 400
    assert sim.records("subscriptions")[0]["secret"] == created["secret"]


def test_comments_are_created_and_paged_per_work_order() -> None:
    """POST /workorders/{id}/comments answers 201 {"id"}; GET lists that work order's comments."""
    sim = make_sim()
    wo_id = sim.records("workOrders")[0]["id"]
    with client(sim) as http:
        for text in ("one", "two", "three"):
            assert (
                http.post(f"/workorders/{wo_id}/comments", json={"content": text}).status_code
                == 201
            )
        comments = collect(http, f"/workorders/{wo_id}/comments", "comments", [("limit", "1")])
    mine = [c for c in comments if c["content"] in ("one", "two", "three")]
    assert [c["content"] for c in mine] == ["one", "two", "three"]
    assert all(c["authorId"] == 1 for c in mine)


def test_creating_references_resolves_related_fields() -> None:
    """assignees, categories and partsUsed are stored as the API reports them back."""
    sim = make_sim()
    user, team = sim.records("users")[1]["id"], sim.records("teams")[0]["id"]
    category = sim.records("categories")[0]
    part = sim.records("parts")[0]["id"]
    with client(sim) as http:
        body = {
            "title": "With links",
            "assignees": [{"type": "USER", "id": user}, {"type": "TEAM", "id": team}],
            "categories": [category["label"]],
            "partsUsed": [{"partId": part, "quantityUsed": 3}],
        }
        wo_id = http.post("/workorders", json=body).json()["id"]
        got = http.get(
            f"/workorders/{wo_id}", params=[("expand", "parts"), ("expand", "assignees")]
        )
        by_category_id = http.get(
            "/workorders", params={"categories": category["id"], "limit": 200}
        )
    work_order = got.json()["workOrder"]
    assert (work_order["assigneeIds"], work_order["teamIds"]) == ([user], [team])
    assert work_order["categories"] == [category["label"]]
    assert work_order["parts"][0]["id"] == part and work_order["parts"][0]["quantityUsed"] == 3
    assert {"type": "TEAM", "id": team} in work_order["assignees"]
    assert wo_id in [w["id"] for w in by_category_id.json()["workOrders"]]


def test_stats_prove_how_many_creates_reached_the_api() -> None:
    """stats counts requests by route and status, and creations per resource."""
    sim = make_sim()
    with client(sim) as http:
        http.post("/workorders", json={"title": "a"})
        http.post("/workorders", json={"title": "b"})
        http.get("/workorders")
        http.get("/workorders/999999")
    stats = sim.stats
    assert stats.requests_total == 4
    assert stats.route("POST", "/workorders") == 2
    assert stats.route("get", "/workorders/{id}") == 1
    assert stats.created == {"workOrders": 2}
    assert stats.by_status == {200: 3, 404: 1}
    assert [r.route for r in sim.request_log] == [
        "/workorders",
        "/workorders",
        "/workorders",
        "/workorders/{id}",
    ]
    sim.reset_stats()
    assert sim.stats.requests_total == 0 and sim.request_log == []


# -- lists, filters, sorting, sync ----------------------------------------------------------


@pytest.mark.parametrize("limit", [1, 7, 100, 200])
def test_paging_through_the_api_with_writes_between_pages_is_exact(limit: int) -> None:
    """Inserting and deleting between pages never duplicates or skips a surviving record."""
    sim = make_sim(work_orders=450)
    original = {w["id"] for w in sim.records("workOrders")}
    served: list[int] = []
    deleted: set[int] = set()
    with client(sim) as http:
        cursor = None
        page_number = 0
        while True:
            params: dict[str, Any] = {"limit": limit, **({"cursor": cursor} if cursor else {})}
            body = http.get("/workorders", params=params).json()
            served.extend(w["id"] for w in body["workOrders"])
            cursor = body["nextCursor"]
            if cursor is None:
                break
            page_number += 1
            if page_number <= 20:
                http.post("/workorders", json={"title": f"new {page_number}"})
                unserved = sorted(original - set(served) - deleted)
                if unserved:
                    http.delete(f"/workorders/{unserved[-1]}")
                    deleted.add(unserved[-1])
                if served[0] not in deleted:
                    http.delete(f"/workorders/{served[0]}")
                    deleted.add(served[0])
    assert len(served) == len(set(served))
    assert original - deleted <= set(served)
    assert body["nextPageUrl"] is None


def test_next_page_url_repeats_the_query_with_the_new_cursor() -> None:
    """nextPageUrl is the path with the same filters and the next cursor."""
    sim = make_sim()
    with client(sim) as http:
        first = http.get("/workorders", params=[("limit", "5"), ("statuses", "OPEN")]).json()
        follow = http.get("https://sim.test" + first["nextPageUrl"]).json()
        by_cursor = http.get(
            "/workorders",
            params=[("limit", "5"), ("statuses", "OPEN"), ("cursor", first["nextCursor"])],
        ).json()
    assert first["nextPageUrl"].startswith("/v1/workorders?limit=5&statuses=OPEN&cursor=")
    assert follow == by_cursor


def test_a_cursor_reused_with_other_filters_is_a_400() -> None:
    """The cursor belongs to its query: changing a filter between pages is refused."""
    sim = make_sim()
    with client(sim) as http:
        first = http.get("/workorders", params={"limit": 5, "statuses": "OPEN"}).json()
        answer = http.get(
            "/workorders", params={"limit": 5, "statuses": "DONE", "cursor": first["nextCursor"]}
        )
        same = http.get(
            "/workorders", params={"limit": 7, "statuses": "OPEN", "cursor": first["nextCursor"]}
        )
    assert answer.status_code == 400
    assert same.status_code == 200, "changing only the limit is fine"


def test_work_order_filters_through_the_api() -> None:
    """statuses, priorities, assets, locations, assignees, teams, title filter as documented."""
    sim = make_sim(work_orders=200)
    everything = sim.records("workOrders")
    asset = next(w["assetId"] for w in everything if w["assetId"] is not None)
    location = next(w["locationId"] for w in everything if w["locationId"] is not None)
    assignee = next(w["assigneeIds"][0] for w in everything if w["assigneeIds"])
    team = next(w["teamIds"][0] for w in everything if w["teamIds"])
    cases: list[tuple[list[tuple[str, str]], Any]] = [
        ([("statuses", "OPEN"), ("statuses", "DONE")], lambda w: w["status"] in ("OPEN", "DONE")),
        ([("priorities", "HIGH")], lambda w: w["priority"] == "HIGH"),
        ([("assets", str(asset))], lambda w: w["assetId"] == asset),
        ([("notAssets", str(asset))], lambda w: w["assetId"] != asset),
        ([("locations", str(location))], lambda w: w["locationId"] == location),
        ([("assignees", str(assignee))], lambda w: assignee in w["assigneeIds"]),
        ([("teams", str(team))], lambda w: team in w["teamIds"]),
        ([("title", "INSPECT")], lambda w: "inspect" in w["title"].lower()),
        (
            [("statuses", "OPEN"), ("priorities", "LOW")],
            lambda w: w["status"] == "OPEN" and w["priority"] == "LOW",
        ),
        ([("whatever", "ignored")], lambda w: True),
    ]
    with client(sim) as http:
        for params, keep in cases:
            got = [
                w["id"]
                for w in collect(http, "/workorders", "workOrders", [("limit", "37"), *params])
            ]
            assert got == [w["id"] for w in everything if keep(w)], params
            assert got, params
        assert http.get("/workorders", params={"statuses": "COMPLETED"}).status_code == 400


@pytest.mark.parametrize("field", ["updatedAt", "createdAt", "dueDate", "completedAt", "startedAt"])
def test_work_orders_sort_both_ways(field: str) -> None:
    """sort=<field> and sort=-<field> page through every record in that order."""
    sim = make_sim(work_orders=120)
    with client(sim) as http:
        up = collect(http, "/workorders", "workOrders", [("sort", field), ("limit", "25")])
        down = collect(http, "/workorders", "workOrders", [("sort", f"-{field}"), ("limit", "25")])
        bad = http.get("/workorders", params={"sort": "title"})
    assert len(up) == len(down) == 120
    assert [w["id"] for w in up] == [w["id"] for w in reversed(down)]
    if field != "startedAt":
        values = [w[field] for w in up if w[field] is not None]
        assert values == sorted(values)
    assert bad.status_code == 400


def test_incremental_sync_with_updated_at_sees_every_change_once() -> None:
    """updatedAt[gte]=<watermark> returns exactly the records written since the watermark."""
    clock = FakeClock()
    sim = make_sim(clock)
    with client(sim) as http:
        everything = collect(http, "/workorders", "workOrders", [("limit", "200")])
        watermark = max(w["updatedAt"] for w in everything)
        clock.advance(60)
        changed = [everything[3]["id"], everything[10]["id"]]
        for wo_id in changed:
            http.patch(f"/workorders/{wo_id}", json={"description": "edited"})
        created = http.post("/workorders", json={"title": "brand new"}).json()["id"]
        sim.update_record("workOrders", everything[20]["id"], {"priority": "HIGH"})
        delta = collect(
            http, "/workorders", "workOrders", [("updatedAt[gte]", watermark), ("limit", "1")]
        )
    new_ids = [w["id"] for w in delta if w["updatedAt"] > watermark]
    assert sorted(new_ids) == sorted([*changed, created, everything[20]["id"]])
    stamps = [w["updatedAt"] for w in delta if w["updatedAt"] > watermark]
    assert len(set(stamps)) == len(stamps), "write timestamps are strictly increasing"


def test_date_filters_on_assets_parts_and_purchase_orders() -> None:
    """createdAt/updatedAt windows select the same records as filtering by hand."""
    sim = make_sim(assets=40, parts=40, purchase_orders=30)
    with client(sim) as http:
        for resource, key in (
            ("assets", "assets"),
            ("parts", "parts"),
            ("purchaseorders", "purchaseOrders"),
        ):
            records = sim.records(resource)
            stamps = sorted(r["createdAt"] for r in records)
            low, high = stamps[5], stamps[-5]
            got = collect(
                http, f"/{resource}", key, [("createdAt[gte]", low), ("createdAt[lte]", high)]
            )
            expected = [r["id"] for r in records if low <= r["createdAt"] <= high]
            assert [r["id"] for r in got] == expected


def test_expand_adds_the_documented_fields() -> None:
    """expand=asset&expand=location embeds summaries; without expand they are absent."""
    sim = make_sim()
    wo = next(w for w in sim.records("workOrders") if w["assetId"] is not None)
    with client(sim) as http:
        plain = http.get(f"/workorders/{wo['id']}").json()["workOrder"]
        expanded = http.get(
            f"/workorders/{wo['id']}", params=[("expand", "asset"), ("expand", "location")]
        ).json()["workOrder"]
    assert "asset" not in plain
    assert expanded["asset"]["id"] == wo["assetId"]
    assert set(expanded["asset"]) >= {"id", "name", "locationId", "createdAt", "updatedAt"}


def test_offset_pagination_can_be_switched_on_per_resource() -> None:
    """offset_pagination={"assets"} makes asset cursors offsets, so records can move pages."""
    sim = make_sim(offset_pagination={"assets"})
    with client(sim) as http:
        first = http.get("/assets", params={"limit": 3}).json()
        http.delete(f"/assets/{first['assets'][0]['id']}")
        second = http.get("/assets", params={"limit": 3, "cursor": first["nextCursor"]}).json()
    skipped = sim.records("assets")[2]["id"]
    assert skipped not in [a["id"] for a in first["assets"] + second["assets"]]
    with pytest.raises(ValueError, match="unknown resources"):
        Simulator(offset_pagination={"widgets"}, work_orders=1)


def test_nullable_fields_can_be_cleared_with_null() -> None:
    """PATCH with null clears a nullable field (dueDate, description, assetId)."""
    sim = make_sim()
    wo = next(w for w in sim.records("workOrders") if w["dueDate"] and w["assetId"])
    with client(sim) as http:
        cleared = http.patch(
            f"/workorders/{wo['id']}", json={"dueDate": None, "description": None, "assetId": None}
        ).json()["workOrder"]
        moved = http.patch(
            f"/workorders/{wo['id']}", json={"dueDate": "2025-03-01T08:00:00+02:00"}
        ).json()["workOrder"]
    assert (cleared["dueDate"], cleared["description"], cleared["assetId"]) == (None, None, None)
    assert moved["dueDate"] == "2025-03-01T06:00:00.000Z"
