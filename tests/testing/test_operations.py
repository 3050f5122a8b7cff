"""The operations beyond the main resources, served from the spec: generic collections, nested
paths, files, actions on a record, and the few joins served by hand."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from maintainx_resilient.testing import Simulator

from ._support import client, collect, make_sim


def created_id(answer: httpx.Response) -> int:
    assert answer.status_code in (200, 201), answer.text
    return int(answer.json()["id"])


def test_a_generic_collection_round_trips() -> None:
    """Asset custom statuses: create answers {id}, get/list/patch answer in the spec's wrappers
    (the PATCH one is ``assetcustomstatus``, as documented), delete is 204, then 404."""
    sim = make_sim()
    with client(sim) as http:
        new = created_id(
            http.post(
                "/assetcustomstatuses", json={"label": "Waiting", "baseAssetStatus": "OFFLINE"}
            )
        )
        got = http.get(f"/assetcustomstatuses/{new}").json()["assetCustomStatus"]
        assert (got["label"], got["baseAssetStatus"]) == ("Waiting", "OFFLINE")
        listed = http.get("/assetcustomstatuses").json()["assetCustomStatuses"]
        assert [s["id"] for s in listed] == [new]
        patched = http.patch(f"/assetcustomstatuses/{new}", json={"label": "Parts on order"})
        assert patched.json()["assetcustomstatus"]["label"] == "Parts on order"
        assert http.delete(f"/assetcustomstatuses/{new}").status_code == 204
        assert http.get(f"/assetcustomstatuses/{new}").status_code == 404
    assert sim.records("assetCustomStatuses") == []


def test_nested_records_belong_to_their_parent() -> None:
    """Vendor contacts live under one vendor: another vendor's path does not find them, and a
    missing vendor is a 404 naming the vendor."""
    sim = make_sim()
    first, second = (v["id"] for v in sim.records("vendors")[:2])
    with client(sim) as http:
        contact = http.post(f"/vendors/{first}/contacts", json={"name": "Bob", "email": "b@x.io"})
        assert contact.status_code == 201
        assert contact.json()["vendorId"] == first
        contact_id = contact.json()["id"]
        assert http.get(f"/vendors/{first}/contacts/{contact_id}").status_code == 200
        assert http.get(f"/vendors/{second}/contacts/{contact_id}").status_code == 404
        assert http.get(f"/vendors/{second}/contacts").json()["contacts"] == []
        missing = http.get("/vendors/999999/contacts")
        assert missing.json() == {"error": "Could not find the specified vendor."}
        updated = http.patch(f"/vendors/{first}/contacts/{contact_id}", json={"role": "Sales"})
        assert updated.json()["contact"]["role"] == "Sales"
    assert sim.records("/vendors/{id}/contacts")[0]["name"] == "Bob"


def test_lists_of_generic_collections_page_and_filter() -> None:
    """Cursor pagination and the spec's filters work on every list (part transfer requests,
    filtered by ``statuses``)."""
    sim = make_sim()
    parts = [p["id"] for p in sim.records("parts")]
    with client(sim) as http:
        for quantity in range(1, 6):
            body = {
                "quantityRequested": quantity,
                "sourcePartId": parts[0],
                "destinationPartId": parts[1],
            }
            created_id(http.post("/parttransferrequests", json=body))
        first = http.get("/parttransferrequests").json()["partTransferRequests"][0]["id"]
        http.patch(f"/parttransferrequests/{first}", json={"status": "APPROVED"})
        every = collect(http, "/parttransferrequests", "partTransferRequests", [("limit", "2")])
        approved = http.get("/parttransferrequests", params={"statuses": "APPROVED"})
        bad = http.get("/parttransferrequests", params={"statuses": "LOST"})
    assert [r["quantityRequested"] for r in every] == [1, 2, 3, 4, 5]
    assert [r["id"] for r in approved.json()["partTransferRequests"]] == [first]
    assert bad.status_code == 400


def test_references_to_missing_records_are_refused() -> None:
    """A body's ``...Id`` that names no record of that resource is a 400 naming the field."""
    sim = make_sim()
    with client(sim) as http:
        answer = http.post("/models", json={"name": "X1", "manufacturerId": 4242})
        made = created_id(http.post("/manufacturers", json={"name": "ABB"}))
        model = http.post("/models", json={"name": "X1", "manufacturerId": made})
    assert answer.status_code == 400
    assert answer.json()["errors"][0]["fieldPath"] == "manufacturerId"
    assert model.status_code == 201


def test_uploads_show_up_on_the_record_and_can_be_removed() -> None:
    """PUT attachments/thumbnail keep the file's metadata on the record; DELETE removes it."""
    sim = make_sim()
    with client(sim) as http:
        put = http.put(
            "/assets/1/attachments/manual.pdf",
            content=b"%PDF-1.4",
            headers={"content-type": "application/pdf"},
        )
        assert put.status_code == 201
        assert put.json()["filename"] == "manual.pdf"
        http.put(
            "/assets/1/thumbnail/pump.png",
            content=b"\x89PNG",
            headers={"content-type": "image/png"},
        )
        asset = http.get("/assets/1").json()["asset"]
        assert [a["fileName"] for a in asset["attachments"]] == ["manual.pdf"]
        assert asset["attachments"][0]["mimeType"] == "application/pdf"
        assert asset["thumbnail"]["fileName"] == "pump.png"
        empty = http.put("/assets/1/attachments/empty.pdf", content=b"")
        assert http.delete("/assets/1/attachments/manual.pdf").status_code == 204
        assert http.delete("/assets/1/attachments/manual.pdf").status_code == 404
        assert http.get("/assets/1").json()["asset"]["attachments"] == []
    assert empty.status_code == 400
    assert isinstance(empty.json(), str)  # this operation documents its 400 as a string


def test_actions_change_their_record() -> None:
    """PATCH /x/{id}/<action>: a work order's part status (and its webhook's field), a
    purchase order's status (stamping the approval) and fulfillment (received quantities)."""
    sim = make_sim()
    purchase_order = sim.records("purchaseOrders")[0]
    line = purchase_order["items"][0]
    with client(sim) as http:
        part_status = http.patch("/workorders/1/partStatus", json={"partStatus": "KITTED"})
        assert part_status.json()["workOrder"]["partStatus"] == "KITTED"
        approved = http.patch(
            f"/purchaseorders/{purchase_order['id']}/status", json={"status": "APPROVED"}
        )
        assert approved.json()["purchaseOrder"]["approverId"] == 1
        fulfilled = http.patch(
            f"/purchaseorders/{purchase_order['id']}/fulfillment",
            json={"items": [{"id": line["id"], "quantityReceived": line["quantityOrdered"]}]},
        )
        unknown = http.patch(
            f"/purchaseorders/{purchase_order['id']}/fulfillment",
            json={"items": [{"id": 999_999, "quantityReceived": 1}]},
        )
        cleared = http.delete("/workorders/1/procedure")
    items = fulfilled.json()["purchaseOrder"]["items"]
    assert items[0]["quantityReceived"] == line["quantityOrdered"]
    assert unknown.status_code == 400
    assert cleared.status_code == 204
    assert sim.records("workOrders")[0]["procedure"] is None


def test_creating_an_asset_status_sets_the_assets_status() -> None:
    """POST /assets/{assetId}/status creates an assetStatus (listed by /assetstatuses) and
    becomes the asset's ``status``."""
    sim = make_sim()
    with client(sim) as http:
        body = {
            "status": "OFFLINE",
            "startedAt": "2025-01-01T10:00:00.000Z",
            "downtimeType": "UNPLANNED",
        }
        created = http.post("/assets/2/status", json=body)
        listed = http.get("/assetstatuses", params={"assetId": 2}).json()["assetStatuses"]
        asset = http.get("/assets/2").json()["asset"]
    status = created.json()["assetStatus"]
    assert created.status_code == 201
    assert [s["id"] for s in listed] == [status["id"]]
    assert listed[0]["assetId"] == 2
    assert asset["status"]["status"] == "OFFLINE"


def test_team_members_and_direct_messages() -> None:
    """Team members are users with a team role; a direct message opens a DM conversation
    whose members are the two users."""
    sim = make_sim()
    team = sim.records("teams")[0]["id"]
    user = sim.records("users")[3]["id"]
    with client(sim) as http:
        assert (
            http.post(f"/teams/{team}/members", json={"id": user, "teamRole": "ADMIN"}).status_code
            == 201
        )
        members = collect(http, f"/teams/{team}/members", "members", [("limit", "1")])
        mine = next(m for m in members if m["id"] == user)
        assert mine["teamRole"] == "ADMIN"
        assert http.get(f"/teams/{team}").json()["team"]["membersCount"] == len(members)
        changed = http.patch(f"/teams/{team}/members/{user}", json={"teamRole": "MEMBER"})
        assert changed.json()["member"]["teamRole"] == "MEMBER"
        assert http.delete(f"/teams/{team}/members/{user}").status_code == 204
        assert http.delete(f"/teams/{team}/members/{user}").status_code == 404
        dm = http.post(f"/users/{user}/messages", json={"content": "Pump 3 is down"})
        again = http.post(f"/users/{user}/messages", json={"content": "Fixed"})
        conversation = dm.json()["conversationId"]
        assert again.json()["conversationId"] == conversation
        listed = http.get("/conversations", params={"type": "DM"}).json()["conversations"]
        people = http.get(f"/conversations/{conversation}/members").json()["members"]
        reply = http.post(f"/conversations/{conversation}/messages", json={"content": "Thanks"})
    assert [c["id"] for c in listed] == [conversation]
    assert sorted(p["id"] for p in people) == sorted({1, user})
    assert reply.status_code == 201
    assert [m["content"] for m in sim.records("conversations/messages")] == [
        "Pump 3 is down",
        "Fixed",
        "Thanks",
    ]


def test_costs_custom_fields_and_procedure_templates() -> None:
    """Work order costs add up; custom fields are made in batches per entity; a procedure
    template's fields become rows that can be changed on their own."""
    sim = make_sim()
    with client(sim) as http:
        http.post(
            "/workorders/1/costs",
            json={"type": "EXPENSE", "costType": "TRAVEL", "costPerUnit": 2500},
        )
        time = http.post(
            "/workorders/1/costs",
            json={"type": "TIME", "costType": "WORK", "durationTotal": 5400, "hourlyRate": 4000},
        )
        assert time.json()["total"] == 2500 + 6000
        costs = http.get("/workorders/1/costs").json()["costs"]
        assert (costs["total"], len(costs["rows"])) == (8500, 2)
        made = http.post(
            "/customfields/parts",
            json={
                "fields": [{"label": "Bin", "type": "oneline"}, {"label": "Due", "type": "date"}]
            },
        )
        assert [f["sortOrder"] for f in made.json()] == [0, 1]
        assert http.get("/customfields/assets").json() == []
        assert http.get("/customfields/planets").status_code == 404
        template = http.post(
            "/proceduretemplates",
            json={"title": "Weekly check", "fields": [{"label": "Oil level", "type": "NUMBER"}]},
        )
        row = template.json()["fields"][0]["id"]
        changed = http.patch(f"/proceduretemplaterows/{row}", json={"label": "Oil level (mm)"})
        rows = http.get(f"/proceduretemplates/{template.json()['id']}", params={"expand": "rows"})
    assert changed.json()["row"]["label"] == "Oil level (mm)"
    assert rows.json()["procedureTemplate"]["rows"][0]["label"] == "Oil level (mm)"


def test_records_the_api_cannot_create_are_planted() -> None:
    """add_record plants root cause analysis reports and work permits; the API then reads,
    expands, filters and signs them."""
    sim = make_sim()
    asset = sim.records("assets")[0]
    report = sim.add_record(
        "rootCauseAnalysisReports", {"mainAssetId": asset["id"], "status": "DONE"}
    )
    permit = sim.add_record("workPermits", {"workOrderId": 3, "externalLinkUuid": "link-1"})
    with client(sim) as http:
        got = http.get(f"/rootcauseanalysisreports/{report['id']}", params={"expand": "main_asset"})
        done = http.get("/rootcauseanalysisreports", params={"statuses": "DRAFT"})
        wrong = http.post(
            f"/workPermits/{permit['id']}/sign",
            json={"externalLinkUuid": "nope", "signerName": "Ada"},
        )
        signed = http.post(
            f"/workPermits/{permit['id']}/sign",
            json={"externalLinkUuid": "link-1", "signerName": "Ada"},
        )
    assert got.json()["rootCauseAnalysisReport"]["mainAsset"]["name"] == asset["name"]
    assert done.json()["rootCauseAnalysisReports"] == []
    assert wrong.status_code == 403
    assert signed.json()["workOrder"]["id"] == 3
    assert report["creatorId"] == 1


def test_sub_work_orders_and_sequential_ids() -> None:
    """GET /workorders/{id}/subworkorders lists the children; ``useSequentialId`` finds a
    work order by its sequential id."""
    sim = make_sim()
    with client(sim) as http:
        child = created_id(http.post("/workorders", json={"title": "Part 1", "parentId": 2}))
        subs = http.get("/workorders/2/subworkorders").json()["subworkorders"]
        sequential = sim.records("workOrders")[4]["sequentialId"]
        by_sequence = http.get(f"/workorders/{sequential}", params={"useSequentialId": "true"})
    assert [s["id"] for s in subs] == [child]
    assert by_sequence.json()["workOrder"]["sequentialId"] == sequential


def test_records_resolve_collection_names_and_paths() -> None:
    """records() takes a collection's name or path; an unknown one lists the known ones."""
    sim: Simulator = make_sim()
    assert sim.records("workorders") == sim.records("workOrders") == sim.records("/workorders")
    with pytest.raises(KeyError, match="assetCustomStatuses"):
        sim.records("planets")
    planted: dict[str, Any] = sim.add_record("assetCriticalities", {"label": "High", "level": 3})
    assert sim.records("/assetcriticalities") == [planted]
