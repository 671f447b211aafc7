"""Fire-safety inspections and hazards for tests: the documents the apps send, a property
with rooms in a known place, and the steps (record, report, verify, list)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from tests.photo_support import photo, uploaded
from tests.support import Api, Caller
from tests.test_properties import add_room, create_property

PLACE = {"town": "松门镇", "community": "松门村", "grid": "网格3"}
HAZARD_FIELDS = """id source item description severity status deadline overdue foundAt
  escalatedAt room { id number } property { id }
  history { at status note by { id role } photos { id url } }"""
RECORD = f"""mutation($input: RecordInspectionInput!) {{ recordInspection(input: $input) {{
  inspection {{ id inspectedAt actions note property {{ id }} inspectors {{ id role phone }}
    rooms {{ room {{ id }} occupied smokeDetectors smokeDetectorsOnline }}
    findings {{ item passed note photos {{ id url }} }} hazards {{ {HAZARD_FIELDS} }} }}
  userErrors {{ field message code }} }} }}"""
REPORT = f"""mutation($input: ReportRectificationInput!) {{ reportRectification(input: $input) {{
  hazard {{ {HAZARD_FIELDS} }} userErrors {{ field message code }} }} }}"""
VERIFY = f"""mutation($input: VerifyRectificationInput!) {{ verifyRectification(input: $input) {{
  hazard {{ {HAZARD_FIELDS} }} userErrors {{ field message code }} }} }}"""
HAZARDS = f"""query($scope: StatsScope, $propertyId: ID, $status: HazardStatus,
  $overdueOnly: Boolean) {{ hazards(scope: $scope, propertyId: $propertyId, status: $status,
  overdueOnly: $overdueOnly, first: 50) {{ totalCount
  edges {{ node {{ {HAZARD_FIELDS} }} }} }} }}"""
INSPECTIONS = """query($scope: StatsScope, $propertyId: ID) {
  inspections(scope: $scope, propertyId: $propertyId, first: 50) {
    totalCount edges { node { id property { id } hazards { id } } } } }"""
STATS = """query($scope: StatsScope, $from: Date!, $to: Date!) {
  safetyStats(scope: $scope, from: $from, to: $to) {
    propertiesInspected inspections hazardsFound hazardsOpen hazardsOverdue hazardsRectified
    medianDaysToRectify detectorsOffline occupiedRoomsWithoutDetector alarmsThisYear
    alarmsLastYear newExtinguishers newSmokeDetectors newEscapeWindows } }"""
EXPORT = """query($scope: StatsScope!, $status: HazardStatus) {
  hazardsExport(scope: $scope, status: $status) { url expiresAt rows } }"""
HAZARD_NOTES = """{ notifications(first: 100) { edges { node { kind title body
  hazard { id status } } } } }"""


def local_today() -> dt.date:
    """Today in the city (UTC+8), whose days deadlines are."""
    return (dt.datetime.now(dt.UTC) + dt.timedelta(hours=8)).date()


@dataclass
class Site:
    landlord: Caller
    property_id: str
    rooms: list[str]


def site(api: Api, place: dict[str, str] | None = None, rooms: int = 2) -> Site:
    """A landlord's property at `place` with rooms 101, 102... (none let)."""
    landlord = api.caller("LANDLORD")
    prop = create_property(landlord, place=place or PLACE)
    ids = [add_room(landlord, prop["id"], str(101 + i))["id"] for i in range(rooms)]
    return Site(landlord, prop["id"], ids)


def responder(api: Api, **scope: str) -> Caller:
    return api.caller("RESPONDER", scope=scope or dict(PLACE))


def inspection_input(
    property_id: str,
    failed: dict[str, str | None] | None = None,
    *,
    deadline: dt.date | None = None,
    **over: Any,
) -> dict[str, Any]:
    """Every checklist item passed but `failed` (item: room id or None), each with a hazard."""
    failed = failed or {}
    items = [
        "RESPONSIBILITY_SYSTEM",
        "EXITS_CLEAR",
        "NO_EBIKES_INDOORS",
        "SMOKE_DETECTORS_IN_EVERY_ROOM",
        "WIRING_SAFE",
        "EXTINGUISHERS_WORKING",
        "FIRE_LANE_CLEAR",
    ]
    when = deadline or local_today() + dt.timedelta(days=10)
    return {
        "propertyId": property_id,
        "inspectedAt": dt.datetime.now(dt.UTC).isoformat(),
        "findings": [
            {"item": i, "passed": i not in failed, "note": None if i not in failed else "不合格"}
            for i in items
        ],
        "hazards": [
            {
                "item": item,
                "roomId": room,
                "description": f"{item} 不合格",
                "severity": "HIGH",
                "deadline": when.isoformat(),
            }
            for item, room in failed.items()
        ],
        "actions": ["ORDER_TO_RECTIFY"] if failed else [],
        **over,
    }


def record(inspector: Caller, given: dict[str, Any]) -> dict[str, Any]:
    inspection: dict[str, Any] = inspector.mutate("recordInspection", RECORD, {"input": given})[
        "inspection"
    ]
    return inspection


def report(landlord: Caller, hazard_id: str, *, with_photo: bool = True) -> dict[str, Any]:
    uploads = [uploaded(landlord, photo(), purpose="INSPECTION_PHOTO")] if with_photo else []
    given = {"hazardId": hazard_id, "note": "已清理通道", "photoUploadIds": uploads}
    hazard: dict[str, Any] = landlord.mutate("reportRectification", REPORT, {"input": given})[
        "hazard"
    ]
    return hazard


def verify(inspector: Caller, hazard_id: str, accepted: bool, note: str | None = None) -> Any:
    given = {"hazardId": hazard_id, "accepted": accepted, "note": note}
    return inspector.mutate("verifyRectification", VERIFY, {"input": given})["hazard"]


def hazards(caller: Caller, **variables: Any) -> list[dict[str, Any]]:
    edges = caller.data(HAZARDS, variables)["hazards"]["edges"]
    return [e["node"] for e in edges]


def hazard_notes(caller: Caller, kind: str | None = None) -> list[dict[str, Any]]:
    edges = caller.data(HAZARD_NOTES)["notifications"]["edges"]
    return [e["node"] for e in edges if kind is None or e["node"]["kind"] == kind]


def stats(caller: Caller, scope: dict[str, str] | None = None) -> dict[str, Any]:
    today = local_today().isoformat()
    variables = {"scope": scope, "from": today, "to": today}
    figures: dict[str, Any] = caller.data(STATS, variables)["safetyStats"]
    return figures
