"""The simulated API through ``httpx.Client(transport=sim.transport())``: auth, organizations,
error shapes, writes, lists, filters, sorting, incremental sync, statistics."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from maintainx_resilient.testing import ApiKey, SimRequest, Simulator

from ._support import FakeClock, client, collect, make_sim

# -- authentication and organizations ----------------------------------------------------------


def test_no_authorization_header_is_a_401_html_page() -> None:
    """Without Authorization the API answers 401 text/html "Invalid authentication token"."""
    sim = make_sim()
    with client(sim, key=None) as http:
        answer = http.get("/workorders")
    assert answer.status_code == 401
    assert answer.headers["content-type"].startswith("text/html")
    assert answer.text == "Invalid authentication token"


@pytest.mark.parametrize("header", ["Bearer nope", "Basic c2ltLWtleQ==", "Bearer", "sim-key"])
def test_a_bad_key_is_a_401_json_invalid_token(header: str) -> None:
    """An unknown key or another scheme gets 401 application/json {"error": "Invalid token"}."""
    sim = make_sim()
    with client(sim, key=None) as http:
        answer = http.get("/workorders", headers={"Authorization": header})
    assert answer.status_code == 401
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.json() == {"error": "Invalid token"}


def test_the_bearer_scheme_is_case_insensitive() -> None:
    """``bearer <key>`` (as the spec writes it) works too."""
    sim = make_sim()
    with client(sim, key=None) as http:
        answer = http.get("/teams", headers={"Authorization": f"bearer {sim.API_KEY}"})
    assert answer.status_code == 200


def test_revoked_keys_stop_working_and_added_keys_start() -> None:
    """revoke_key makes a key 401; add_key makes a new one work at once."""
    sim = make_sim()
    with client(sim) as http:
        assert http.get("/teams").status_code == 200
        sim.revoke_key(sim.API_KEY)
        assert http.get("/teams").json() == {"error": "Invalid token"}
    sim.add_key("fresh", user_id=3, org_ids=[1])
    with client(sim, "fresh") as http:
        assert http.get("/teams").status_code == 200


def test_multi_org_keys_must_name_their_organization() -> None:
    """Without x-organization-id a multi-org key gets 400 shape A; with one it works."""
    sim = make_sim(api_keys={"multi": ApiKey(user_id=1, org_ids=(1, 2))})
    with client(sim, "multi") as http:
        missing = http.get("/workorders")
        assert missing.status_code == 400
        assert missing.json() == {
            "errors": [
                {
                    "error": "Missing x-organization-id header.",
                    "fieldPath": None,
                    "fieldValue": None,
                }
            ]
        }
        assert http.get("/workorders", headers={"x-organization-id": "2"}).status_code == 200
        bad = http.get("/workorders", headers={"x-organization-id": "two"})
        assert bad.status_code == 400 and "errors" in bad.json()


def test_an_organization_the_key_lacks_is_a_403_shape_a() -> None:
    """x-organization-id naming an organization the key has no access to: 403 shape A."""
    sim = make_sim(api_keys={"one": ApiKey(1, (1,)), "two": ApiKey(2, (2,))})
    with client(sim, "one") as http:
        answer = http.get("/workorders", headers={"x-organization-id": "2"})
        assert http.get("/workorders", headers={"x-organization-id": "1"}).status_code == 200
    assert answer.status_code == 403
    assert answer.json()["errors"][0]["fieldValue"] == 2


def test_data_is_per_organization() -> None:
    """Each organization has its own records (different ids), a write in one is not in the other."""
    sim = make_sim(api_keys={"multi": ApiKey(1, (1, 2))})
    with client(sim, "multi") as http:
        one = {"x-organization-id": "1"}
        two = {"x-organization-id": "2"}
        ids_one = {w["id"] for w in collect_with(http, "/workorders", "workOrders", one)}
        ids_two = {w["id"] for w in collect_with(http, "/workorders", "workOrders", two)}
        assert ids_one and ids_two and not ids_one & ids_two
        created = http.post("/workorders", json={"title": "Only in org 2"}, headers=two).json()
        assert http.get(f"/workorders/{created['id']}", headers=two).status_code == 200
        assert http.get(f"/workorders/{created['id']}", headers=one).status_code == 404
    assert {w["organizationId"] for w in sim.records("workOrders", org_id=2)} == {2}


def collect_with(
    http: httpx.Client, path: str, key: str, headers: dict[str, str]
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    cursor = None
    while True:
        body = http.get(
            path, params={"limit": 200, **({"cursor": cursor} if cursor else {})}, headers=headers
        ).json()
        out.extend(body[key])
        cursor = body["nextCursor"]
        if cursor is None:
            return out


def test_lists_accept_several_organizations_where_the_spec_allows_it() -> None:
    """GET /assets with x-organization-ids lists both organizations (not with x-organization-id)."""
    sim = make_sim(api_keys={"multi": ApiKey(1, (1, 2))})
    with client(sim, "multi") as http:
        both = http.get("/assets", params={"limit": 200}, headers={"x-organization-ids": "1,2"})
        assert {a["organizationId"] for a in both.json()["assets"]} == {1, 2}
        conflict = http.get(
            "/assets", headers={"x-organization-ids": "1,2", "x-organization-id": "1"}
        )
        assert conflict.status_code == 400
        unsupported = http.get("/workorders", headers={"x-organization-ids": "1,2"})
        assert unsupported.status_code == 400


def test_organizations_lists_the_keys_organizations_without_a_header() -> None:
    """GET /organizations needs no x-organization-id, even for a multi-org key."""
    sim = make_sim(api_keys={"multi": ApiKey(1, (1, 2))})
    with client(sim, "multi") as http:
        answer = http.get("/organizations")
        first = http.get("/organizations", params={"limit": 1}).json()
    assert [o["id"] for o in answer.json()["organizations"]] == [1, 2]
    assert len(first["organizations"]) == 1 and first["nextCursor"]


def test_versions_needs_no_auth_and_lives_outside_v1() -> None:
    """GET /versions answers [{"version": "1"}] without a key."""
    sim = make_sim()
    with client(sim, key=None) as http:
        answer = http.get("https://sim.test/versions")
    assert answer.status_code == 200 and answer.json() == [{"version": "1"}]


# -- errors ---------------------------------------------------------------------------------


def test_unknown_ids_are_404_shape_b() -> None:
    """A missing record is 404 {"error": "..."} on get, update, delete and sub-resources."""
    sim = make_sim()
    with client(sim) as http:
        answers = [
            http.get("/workorders/999999"),
            http.patch("/assets/999999", json={"name": "x"}),
            http.delete("/parts/999999"),
            http.patch("/workorders/999999/status", json={"status": "DONE"}),
            http.get("/workorders/999999/comments"),
        ]
    for answer in answers:
        assert answer.status_code == 404
        assert set(answer.json()) == {"error"}


def test_validation_errors_are_400_shape_a_with_field_paths() -> None:
    """Missing or mistyped fields: 400 {"errors": [{"error", "fieldPath", "fieldValue"}]}."""
    sim = make_sim()
    with client(sim) as http:
        missing = http.post("/workorders", json={"description": "no title"})
        wrong = http.post("/assets", json={"name": 5})
        bad_ref = http.post("/workorders", json={"title": "x", "assetId": 999999})
        not_json = http.post(
            "/workorders", content=b"{", headers={"Content-Type": "application/json"}
        )
    assert missing.json()["errors"] == [
        {"error": '"title" is required', "fieldPath": "title", "fieldValue": None}
    ]
    assert wrong.json()["errors"][0]["fieldPath"] == "name"
    assert wrong.json()["errors"][0]["fieldValue"] == 5
    assert bad_ref.json()["errors"][0]["fieldPath"] == "assetId"
    assert {r.status_code for r in (missing, wrong, bad_ref, not_json)} == {400}


@pytest.mark.parametrize("params", [{"limit": "0"}, {"limit": "201"}, {"limit": "ten"}])
def test_limit_outside_1_to_200_is_a_400(params: dict[str, str]) -> None:
    """limit must be an integer in 1..200; GET errors use shape B as the spec documents."""
    sim = make_sim()
    with client(sim) as http:
        answer = http.get("/workorders", params=params)
    assert answer.status_code == 400 and set(answer.json()) == {"error"}


def test_unknown_paths_and_methods_are_404() -> None:
    """Routes the API does not have answer 404 shape B."""
    sim = make_sim()
    with client(sim) as http:
        assert http.get("/nothing").status_code == 404
        assert http.put("/workorders/1").status_code == 404
        assert http.get("/subscriptions").status_code == 404  # there is no list endpoint
        assert http.get("https://sim.test/v2/workorders").status_code == 404


def test_every_answer_has_a_request_id() -> None:
    """x-request-id is on successes, errors and injected faults, unique per request."""
    sim = make_sim()
    sim.faults.fail_next(1)
    with client(sim) as http:
        answers = [http.get("/teams"), http.get("/teams"), http.get("/teams/0")]
    ids = [a.headers["x-request-id"] for a in answers]
    assert len(set(ids)) == 3


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


# -- records, handle ---------------------------------------------------------------------------


def test_records_are_snapshots_without_hidden_fields() -> None:
    """records() returns copies: mutating them changes nothing; helper fields are hidden."""
    sim = make_sim()
    first = sim.records("workorders")[0]
    assert not any(key.startswith("_") for key in first)
    first["title"] = "changed locally"
    assert sim.records("workOrders")[0]["title"] != "changed locally"
    with pytest.raises(KeyError):
        sim.records("widgets")


def test_records_can_change_behind_the_apis_back() -> None:
    """update_record and delete_record act like a user in the web app."""
    sim = make_sim()
    wo_id = sim.records("workOrders")[0]["id"]
    before = sim.records("workOrders")[0]["updatedAt"]
    updated = sim.update_record("workOrders", wo_id, {"title": "Edited in the app"})
    assert updated["title"] == "Edited in the app" and updated["updatedAt"] > before
    sim.delete_record("workOrders", wo_id)
    with client(sim) as http:
        assert http.get(f"/workorders/{wo_id}").status_code == 404
    with pytest.raises(KeyError):
        sim.delete_record("workOrders", wo_id)


def test_handle_is_usable_without_any_transport() -> None:
    """The core answers plain SimRequest values (what both transports wrap)."""
    sim = make_sim()
    response = sim.handle(
        SimRequest(
            "GET",
            "/v1/workorders",
            [("limit", "2")],
            {"authorization": f"Bearer {sim.API_KEY}"},
        )
    )
    assert response.status == 200 and response.action == "respond"
    assert len(response.json()["workOrders"]) == 2


def test_routes_lists_spec_templates() -> None:
    """routes() names every operation with the spec's method and path template."""
    routes = Simulator.routes()
    assert ("PATCH", "/workorders/{id}/status") in routes
    assert ("GET", "/versions") in routes
    assert ("GET", "/subscriptions") not in routes
    assert len(routes) == len(set(routes))


def test_the_librarys_fake_clock_drives_the_simulator() -> None:
    """Simulator(clock=FakeClock()) reads, sleeps and awaits through that clock object."""
    from maintainx_resilient.testing import FakeClock, RateLimitConfig

    clock = FakeClock(start=0.0)
    sim = Simulator(seed=1, work_orders=5, clock=clock, rate_limit=RateLimitConfig(per_user=1))
    sim.faults.latency(2.0)
    with client(sim) as http:
        assert http.get("/teams").status_code == 200
        assert http.get("/teams").status_code == 429
        clock.advance(60)
        assert http.get("/teams").status_code == 200
    assert clock.sleeps == [2.0, 2.0, 2.0]


def test_the_public_names_are_sorted_and_importable() -> None:
    """maintainx_resilient.testing exports a sorted __all__ whose names all resolve."""
    import maintainx_resilient.testing as testing

    assert testing.__all__ == sorted(testing.__all__)
    for name in testing.__all__:
        assert getattr(testing, name) is not None
        assert name in dir(testing)
    with pytest.raises(AttributeError):
        _ = testing.NotAThing


def test_repr_never_shows_api_keys() -> None:
    """The simulator's repr names its seed and organizations, never a key."""
    sim = make_sim(api_keys={"mx-canary-secret": ApiKey(1, (1,))})
    assert "mx-canary-secret" not in repr(sim)
    assert "organizations=[1]" in repr(sim)
