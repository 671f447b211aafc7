"""Hazards through the API: rectification reported, rejected and verified; deadlines with
their notices and the escalation to the town; the hazards Anju opens and closes itself."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
from click.testing import CliRunner
from pymongo import MongoClient

from app.cli import main
from tests.conftest import Stack
from tests.fire_support import (
    PLACE,
    REPORT,
    VERIFY,
    hazard_notes,
    hazards,
    inspection_input,
    local_today,
    record,
    report,
    responder,
    site,
    stats,
    verify,
)
from tests.lease_support import start_lease
from tests.pass_support import REMOVE_DEVICE
from tests.support import Api, eventually, sim_post
from tests.test_properties import UPDATE, add_room, create_property, register

DAY = 24 * 3600


def test_a_rectification_is_reported_rejected_then_verified(api: Api) -> None:
    # given an open hazard of a landlord's property
    home = site(api)
    inspector = responder(api)
    inspection = record(inspector, inspection_input(home.property_id, {"EXITS_CLEAR": None}))
    hazard_id = inspection["hazards"][0]["id"]

    # when the landlord reports what was done, with a photo
    reported = report(home.landlord, hazard_id)

    # then it waits for a responder, and the area's responders are asked to verify it
    assert reported["status"] == "RECTIFICATION_REPORTED"
    assert len(reported["history"][-1]["photos"]) == 1
    assert reported["history"][-1]["by"]["role"] == "LANDLORD"
    assert [n["hazard"]["id"] for n in hazard_notes(inspector, "HAZARD_UPDATED")] == [hazard_id]
    # and it cannot be reported twice
    again = home.landlord.data(REPORT, {"input": {"hazardId": hazard_id, "note": "x"}})
    assert [e["code"] for e in again["reportRectification"]["userErrors"]] == ["INVALID_TRANSITION"]

    # when a responder rejects it without saying why, then with a reason
    no_reason = inspector.data(VERIFY, {"input": {"hazardId": hazard_id, "accepted": False}})
    assert [e["code"] for e in no_reason["verifyRectification"]["userErrors"]] == ["REQUIRED"]
    later = (local_today() + dt.timedelta(days=20)).isoformat()
    given = {"hazardId": hazard_id, "accepted": False, "note": "通道仍有杂物", "deadline": later}
    reopened = inspector.mutate("verifyRectification", VERIFY, {"input": given})["hazard"]

    # then it is REOPENED with the new deadline, and the landlord reads why
    assert (reopened["status"], reopened["deadline"]) == ("REOPENED", later)
    assert hazard_notes(home.landlord, "HAZARD_UPDATED")[0]["body"].count("通道仍有杂物") == 1

    # when the landlord reports again and the responder verifies it
    report(home.landlord, hazard_id, with_photo=False)
    rectified = verify(inspector, hazard_id, True)

    # then it is RECTIFIED, every change kept with who made it
    assert rectified["status"] == "RECTIFIED"
    assert [(c["status"], c["by"]["role"]) for c in rectified["history"]] == [
        ("OPEN", "RESPONDER"),
        ("RECTIFICATION_REPORTED", "LANDLORD"),
        ("REOPENED", "RESPONDER"),
        ("RECTIFICATION_REPORTED", "LANDLORD"),
        ("RECTIFIED", "RESPONDER"),
    ]
    assert [n["hazard"]["id"] for n in hazard_notes(home.landlord, "HAZARD_RECTIFIED")] == [
        hazard_id
    ]
    figures = stats(inspector)
    assert (figures["hazardsOpen"], figures["hazardsRectified"]) == (0, 1)
    assert figures["medianDaysToRectify"] is not None


def test_rectification_steps_refuse_everyone_else(api: Api) -> None:
    # given an open hazard and people who may not touch it
    home = site(api)
    inspector = responder(api)
    hazard_id = record(inspector, inspection_input(home.property_id, {"EXITS_CLEAR": None}))[
        "hazards"
    ][0]["id"]
    other_landlord = api.caller("LANDLORD")
    tenant = api.caller("TENANT")
    outsider = responder(api, town="箬横镇")
    police = api.caller("POLICE", scope={"town": "松门镇"})
    note = {"hazardId": hazard_id, "note": "已整改"}
    accept = {"hazardId": hazard_id, "accepted": True}

    # then another landlord finds no such hazard; a responder may not report
    answer = other_landlord.data(REPORT, {"input": note})["reportRectification"]
    assert [e["code"] for e in answer["userErrors"]] == ["NOT_FOUND"]
    for caller in (tenant, inspector, police):
        assert caller.errors(REPORT, {"input": note}) == ["FORBIDDEN"]
    # and a responder outside the scope finds none to verify; others may not verify
    answer = outsider.data(VERIFY, {"input": accept})["verifyRectification"]
    assert [e["code"] for e in answer["userErrors"]] == ["NOT_FOUND"]
    for caller in (tenant, home.landlord, police):
        assert caller.errors(VERIFY, {"input": accept}) == ["FORBIDDEN"]
    # and nobody outside reads it
    assert hazards(other_landlord) == []
    assert hazards(outsider) == []
    assert tenant.errors("{ hazards { totalCount } }") == ["FORBIDDEN"]
    assert hazards(home.landlord)[0]["status"] == "OPEN"


def test_a_hazard_past_its_deadline_is_escalated_to_the_town(api: Api) -> None:
    # given a hazard due in four days, the grid's responder and a town responder
    home = site(api)
    inspector = responder(api)
    town = responder(api, town="松门镇")
    deadline = local_today() + dt.timedelta(days=4)
    given = inspection_input(home.property_id, {"FIRE_LANE_CLEAR": None}, deadline=deadline)
    hazard_id = record(inspector, given)["hazards"][0]["id"]

    # when two days pass: three days before the deadline ends
    api.move_clock(2 * DAY)

    # then the landlord is reminded
    due = eventually(lambda: hazard_notes(home.landlord, "HAZARD_DUE"))
    assert [n["hazard"]["id"] for n in due] == [hazard_id]
    assert hazard_notes(town, "HAZARD_OVERDUE") == []

    # when the deadline passes
    api.move_clock(6 * DAY)

    # then the landlord, the grid and the town are told, and the hazard shows it
    for caller in (home.landlord, inspector, town):
        overdue = eventually(lambda c=caller: hazard_notes(c, "HAZARD_OVERDUE"))  # type: ignore[misc]
        assert [n["hazard"]["id"] for n in overdue] == [hazard_id]
    [hazard] = hazards(town, overdueOnly=True)
    assert hazard["overdue"] is True
    assert hazard["escalatedAt"] is not None
    assert hazard["history"][-1]["by"] is None
    assert "escalated" in hazard["history"][-1]["note"]
    assert stats(town, {"town": "松门镇"})["hazardsOverdue"] == 1
    # and once rectified it is no longer overdue
    assert verify(inspector, hazard_id, True)["overdue"] is False
    assert hazards(town, overdueOnly=True) == []


def test_a_detector_offline_too_long_opens_a_hazard_that_closes_when_it_is_back(
    api: Api, http: httpx.Client, stack: Stack
) -> None:
    # given a let room with a smoke detector
    home = site(api, rooms=1)
    grid = responder(api)
    register(home.landlord, "SMOKE_DETECTOR", "smoke-fire-1", home.property_id, home.rooms[0])
    start_lease(home.landlord, home.rooms[0], api.caller("TENANT"))

    # when the detector goes offline and a day and more passes (ANJU_DETECTOR_OFFLINE_HAZARD_HOURS)
    sim_post(http, stack.sim_url, "/sim/devices/smoke-fire-1/offline", {"notify": True})
    assert hazards(home.landlord) == []
    api.move_clock(DAY + 3600)

    # then Anju opens a hazard of its own, and the landlord and the grid are told
    def opened() -> list[dict[str, Any]]:
        return hazards(home.landlord, status="OPEN")

    [hazard] = eventually(opened)
    assert (hazard["source"], hazard["room"]["id"]) == ("DETECTOR_OFFLINE", home.rooms[0])
    assert hazard["history"][0]["by"] is None
    assert [n["hazard"]["id"] for n in hazard_notes(grid, "HAZARD_FOUND")] == [hazard["id"]]
    assert stats(grid)["detectorsOffline"] == 1
    # and the landlord cannot report it rectified: Anju closes it
    answer = home.landlord.data(REPORT, {"input": {"hazardId": hazard["id"], "note": "修好了"}})
    assert [e["code"] for e in answer["reportRectification"]["userErrors"]] == [
        "INVALID_TRANSITION"
    ]

    # when it comes back online
    sim_post(http, stack.sim_url, "/sim/devices/smoke-fire-1/online", {"notify": True})

    # then the hazard is closed by Anju
    def closed() -> list[dict[str, Any]]:
        return hazards(home.landlord, status="RECTIFIED")

    [done] = eventually(closed)
    assert done["id"] == hazard["id"]
    assert done["history"][-1]["by"] is None
    assert hazards(home.landlord, status="OPEN") == []


def test_a_let_room_without_a_detector_is_a_hazard_until_one_is_registered(api: Api) -> None:
    # given a property whose room has no smoke detector
    home = site(api, rooms=1)
    assert hazards(home.landlord) == []

    # when the room is let
    tenant = api.caller("TENANT")
    start_lease(home.landlord, home.rooms[0], tenant)

    # then Anju opens a NO_DETECTOR hazard, counted in the town's table
    [hazard] = eventually(lambda: hazards(home.landlord, status="OPEN"))
    assert hazard["source"] == "NO_DETECTOR"
    # (which the tenant does not see on the property)
    leases = tenant.data("{ myLeases { room { property { openHazards { id } } } } }")
    assert leases["myLeases"][0]["room"]["property"]["openHazards"] == []
    assert stats(responder(api))["occupiedRoomsWithoutDetector"] == 1

    # when a detector is registered in it
    register(home.landlord, "SMOKE_DETECTOR", "smoke-fire-2", home.property_id, home.rooms[0])

    # then the hazard is closed
    [done] = eventually(lambda: hazards(home.landlord, status="RECTIFIED"))
    assert done["id"] == hazard["id"]


def test_equipment_below_the_standard_is_a_hazard_and_a_recheck_finds_it_again(
    api: Api, stack: Stack, mongo: MongoClient[Any]
) -> None:
    # given a property whose records show no extinguisher (the standard: one a floor)
    landlord = api.caller("LANDLORD")
    empty = {"extinguishers": 0, "smokeDetectors": 6, "escapeWindows": 2}
    prop = create_property(landlord, place=PLACE, safety=empty)
    add_room(landlord, prop["id"], "101")

    # then Anju opens a hazard of its own
    [hazard] = eventually(lambda: hazards(landlord, status="OPEN"))
    assert hazard["source"] == "EQUIPMENT_BELOW_STANDARD"
    assert "extinguishers 0 of 1" in hazard["description"]

    # when a bulk load leaves the hazards and the marks out, and the operator rechecks
    mongo[stack.db_name]["hazards"].delete_many({})
    mongo[stack.db_name]["safety_checks"].delete_many({})
    result = CliRunner().invoke(main, ["safety-recheck"], env=stack.env)

    # then the hazard is found again
    assert result.exit_code == 0, result.output
    assert "1 properties marked" in result.output
    [again] = eventually(lambda: hazards(landlord, status="OPEN"))
    assert again["source"] == "EQUIPMENT_BELOW_STANDARD"

    # when the landlord records an extinguisher
    landlord.mutate(
        "updateProperty",
        UPDATE,
        {"input": {"propertyId": prop["id"], "safety": {**empty, "extinguishers": 1}}},
    )

    # then Anju closes it
    [done] = eventually(lambda: hazards(landlord, status="RECTIFIED"))
    assert done["id"] == again["id"]


def test_removing_an_offline_detector_from_a_let_room_trades_one_hazard_for_another(
    api: Api, http: httpx.Client, stack: Stack
) -> None:
    # given a let room whose detector has been offline for more than a day: a hazard
    home = site(api, rooms=1)
    detector = register(
        home.landlord, "SMOKE_DETECTOR", "smoke-fire-3", home.property_id, home.rooms[0]
    )["smokeDetector"]["id"]
    start_lease(home.landlord, home.rooms[0], api.caller("TENANT"))
    sim_post(http, stack.sim_url, "/sim/devices/smoke-fire-3/offline", {"notify": True})
    api.move_clock(DAY + 3600)
    [offline] = eventually(lambda: hazards(home.landlord, status="OPEN"))
    assert offline["source"] == "DETECTOR_OFFLINE"

    # when the landlord removes the detector
    home.landlord.mutate("removeDevice", REMOVE_DEVICE, {"input": {"deviceId": detector}})

    # then that hazard is closed, and the room, let without a detector, has its own
    def settled() -> list[tuple[str, str]]:
        found = sorted((h["source"], h["status"]) for h in hazards(home.landlord))
        return found if len(found) == 2 and found[0][1] == "RECTIFIED" else []

    assert eventually(settled) == [("DETECTOR_OFFLINE", "RECTIFIED"), ("NO_DETECTOR", "OPEN")]
