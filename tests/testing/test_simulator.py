"""The simulator facade through ``httpx.Client(transport=sim.transport())``: authentication,
organizations, error shapes, request ids, statistics, records and the public names."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from maintainx_resilient.testing import ApiKey, SimRequest, Simulator

from ._support import client, make_sim

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
