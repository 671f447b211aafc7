"""Fire-safety inspections through the API: what a responder records, the hazards it opens,
who is told, who may read it, and the figures of the town."""

from __future__ import annotations

import datetime as dt
from typing import Any

from tests.fire_support import (
    INSPECTIONS,
    RECORD,
    hazard_notes,
    hazards,
    inspection_input,
    local_today,
    record,
    responder,
    site,
    stats,
)
from tests.photo_support import photo, uploaded
from tests.support import Api


def test_an_inspection_with_two_failed_items_opens_two_hazards_tells_the_landlord_and_counts(
    api: Api,
) -> None:
    # given a property in 网格3 of 松门村 and a grid responder, with a photo of the corridor
    home = site(api)
    inspector = responder(api)
    colleague = api.caller("POLICE", scope={"town": "松门镇"})
    corridor = uploaded(inspector, photo(), purpose="INSPECTION_PHOTO")
    given = inspection_input(
        home.property_id,
        {"NO_EBIKES_INDOORS": None, "SMOKE_DETECTORS_IN_EVERY_ROOM": home.rooms[0]},
        coInspectorIds=[colleague.account["id"]],
        note="夜查",
    )
    given["findings"][2]["photoUploadIds"] = [corridor]

    # when the responder records the inspection
    inspection = record(inspector, given)

    # then it holds the checklist, the inspectors, the action, the rooms, and two OPEN hazards
    assert [(r["room"]["id"], r["occupied"], r["smokeDetectors"]) for r in inspection["rooms"]] == [
        (home.rooms[0], False, 0),
        (home.rooms[1], False, 0),
    ]
    assert [i["role"] for i in inspection["inspectors"]] == ["RESPONDER", "POLICE"]
    assert inspection["inspectors"][1]["phone"] == colleague.phone
    assert inspection["actions"] == ["ORDER_TO_RECTIFY"]
    failed = [f["item"] for f in inspection["findings"] if not f["passed"]]
    assert failed == ["NO_EBIKES_INDOORS", "SMOKE_DETECTORS_IN_EVERY_ROOM"]
    assert len(inspection["findings"][2]["photos"]) == 1
    found = inspection["hazards"]
    assert [(h["item"], h["status"], h["source"]) for h in found] == [
        ("NO_EBIKES_INDOORS", "OPEN", "INSPECTION"),
        ("SMOKE_DETECTORS_IN_EVERY_ROOM", "OPEN", "INSPECTION"),
    ]
    assert found[1]["room"]["id"] == home.rooms[0]
    assert found[0]["history"][0]["by"]["role"] == "RESPONDER"
    # and the landlord is told of each (the inspector is not told what they found)
    notes = hazard_notes(home.landlord, "HAZARD_FOUND")
    assert sorted(n["hazard"]["id"] for n in notes) == sorted(h["id"] for h in found)
    assert hazard_notes(inspector, "HAZARD_FOUND") == []
    # and the landlord, the responder and the town's police read them
    for reader in (home.landlord, inspector, colleague):
        assert len(hazards(reader)) == 2
        listed = reader.data(INSPECTIONS, {})["inspections"]
        assert [e["node"]["id"] for e in listed["edges"]] == [inspection["id"]]
    assert len(hazards(home.landlord, propertyId=home.property_id, status="OPEN")) == 2
    # and the landlord's dashboard shows them on the property
    dashboard = home.landlord.data("{ myProperties { edges { node { openHazards { id } } } } }")
    [shown] = dashboard["myProperties"]["edges"]
    assert len(shown["node"]["openHazards"]) == 2
    # and reads who inspected, a police officer's phone left out
    seen = home.landlord.data(
        "query($id: ID!) { node(id: $id) { ... on Inspection { inspectors { role phone } } } }",
        {"id": inspection["id"]},
    )["node"]["inspectors"]
    assert [(i["role"], i["phone"] == "*" * 11) for i in seen] == [
        ("RESPONDER", False),
        ("POLICE", True),
    ]
    # and the town's table counts them
    figures = stats(colleague, {"town": "松门镇"})
    assert figures["inspections"] == 1
    assert figures["propertiesInspected"] == 1
    assert figures["hazardsFound"] == 2
    assert figures["hazardsOpen"] == 2
    assert figures["hazardsOverdue"] == 0
    assert figures["hazardsRectified"] == 0
    assert figures["medianDaysToRectify"] is None
    assert figures["newExtinguishers"] == 4


def test_the_findings_and_the_hazards_must_agree(api: Api) -> None:
    # given a property and a responder
    home = site(api)
    inspector = responder(api)
    given = inspection_input(home.property_id, {"EXITS_CLEAR": None})
    # a failed item without a hazard, a hazard of a passed item
    given["findings"][0]["passed"] = False
    given["hazards"][0]["item"] = "WIRING_SAFE"
    # a deadline before the inspection, an item twice, a date ahead
    twice = inspection_input(home.property_id)
    twice["findings"].append(dict(twice["findings"][0]))
    late = inspection_input(
        home.property_id, {"EXITS_CLEAR": None}, deadline=local_today() - dt.timedelta(days=1)
    )
    ahead = inspection_input(
        home.property_id,
        inspectedAt=(dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)).isoformat(),
    )

    def refused(payload: dict[str, Any]) -> list[tuple[str, str]]:
        answer = inspector.data(RECORD, {"input": payload})["recordInspection"]
        assert answer["inspection"] is None
        return sorted((".".join(e["field"][1:]), e["code"]) for e in answer["userErrors"])

    # then each is refused on its field
    assert refused(given) == [
        ("findings.0.passed", "HAZARD_REQUIRED"),
        ("findings.1.passed", "HAZARD_REQUIRED"),
        ("hazards.0.item", "ITEM_NOT_FAILED"),
    ]
    assert refused(twice) == [("findings.7.item", "DUPLICATE")]
    assert refused(late) == [("hazards.0.deadline", "OUT_OF_RANGE")]
    assert refused(ahead) == [("inspectedAt", "OUT_OF_RANGE")]
    # and nothing was recorded
    assert hazards(home.landlord) == []


def test_who_may_record_and_read_inspections(api: Api) -> None:
    # given a property in 松门村, an inspection of it, and people outside it
    home = site(api)
    inspector = responder(api)
    inspection = record(inspector, inspection_input(home.property_id, {"EXITS_CLEAR": None}))
    elsewhere = responder(api, town="箬横镇")
    other_grid = responder(api, town="松门镇", community="松门村", grid="网格1")
    other_police = api.caller("POLICE", scope={"town": "箬横镇"})
    tenant = api.caller("TENANT")
    other_landlord = api.caller("LANDLORD")
    given = inspection_input(home.property_id, {"EXITS_CLEAR": None})

    # then a responder outside the scope finds no such property
    for outsider in (elsewhere, other_grid):
        answer = outsider.data(RECORD, {"input": given})["recordInspection"]
        assert [e["code"] for e in answer["userErrors"]] == ["NOT_FOUND"]
        assert outsider.data(INSPECTIONS, {})["inspections"]["totalCount"] == 0
        assert hazards(outsider) == []
        by_property = outsider.codes(INSPECTIONS, {"propertyId": home.property_id})
        assert by_property == ["NOT_FOUND"]
    # and asking for a scope beyond one's own is forbidden
    assert elsewhere.errors(INSPECTIONS, {"scope": {"town": "松门镇"}}) == ["FORBIDDEN"]
    assert other_police.errors(INSPECTIONS, {"scope": {"town": "松门镇"}}) == ["FORBIDDEN"]
    # and a tenant and a landlord may not record; a tenant may not read
    for caller in (tenant, other_landlord):
        assert caller.errors(RECORD, {"input": given}) == ["FORBIDDEN"]
    assert tenant.errors(INSPECTIONS, {}) == ["FORBIDDEN"]
    # and another landlord sees nothing of it, nor its node
    assert other_landlord.data(INSPECTIONS, {})["inspections"]["totalCount"] == 0
    assert other_landlord.codes(INSPECTIONS, {"propertyId": home.property_id}) == ["NOT_FOUND"]
    node = "query($id: ID!) { node(id: $id) { id } }"
    assert other_landlord.data(node, {"id": inspection["id"]})["node"] is None
    assert elsewhere.data(node, {"id": inspection["hazards"][0]["id"]})["node"] is None
    assert home.landlord.data(node, {"id": inspection["id"]})["node"]["id"] == inspection["id"]
