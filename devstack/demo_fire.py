"""Demo fire-safety data, through the API as the apps make it: the demo responder's night
inspection of 东海路18号 twenty days ago, which failed three items. One hazard is open (its
deadline ahead), one overdue (its deadline passed: escalated by the safety worker), and one
rectified (the landlord reported it with a photo, the responder verified it)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from app.services.hazards import ITEMS
from devstack.demo_photos import room_picture, upload_photo

if TYPE_CHECKING:
    from devstack.demo import DemoClient, DemoPlace

RESPONDER = "13900000031"
_INSPECTIONS = "{ inspections(first: 1) { totalCount } }"
_RECORD = """mutation($i: RecordInspectionInput!) { recordInspection(input: $i) {
  inspection { id hazards { id item } } userErrors { code message } } }"""
_REPORT = """mutation($i: ReportRectificationInput!) { reportRectification(input: $i) {
  hazard { id } userErrors { code message } } }"""
_VERIFY = """mutation($i: VerifyRectificationInput!) { verifyRectification(input: $i) {
  hazard { id } userErrors { code message } } }"""
# item: (days from the inspection to the deadline, description, room number or None)
FAILED = {
    "NO_EBIKES_INDOORS": (5, "楼道内停放电动自行车并充电。E-bikes charged in the stairwell.", None),
    "ESCAPE_WINDOWS": (60, "102 室窗户加装固定防盗窗。Fixed bars on room 102's window.", "102"),
    "EXTINGUISHERS_WORKING": (
        10,
        "一楼灭火器压力不足。The ground floor extinguisher is flat.",
        None,
    ),
}


def _mutate(client: DemoClient, query: str, name: str, i: dict[str, Any], token: str) -> Any:
    payload = client.gql(query, {"i": i}, token=token)[name]
    if payload["userErrors"]:
        raise RuntimeError(f"demo data: {name}: {payload['userErrors']}")
    return payload


def ensure_demo_hazards(
    client: DemoClient, tokens: dict[str, str], places: dict[str, DemoPlace]
) -> int:
    """The demo inspection and its three hazards, made once; how many hazards made now."""
    responder = tokens[RESPONDER]
    if client.gql(_INSPECTIONS, token=responder)["inspections"]["totalCount"]:
        return 0
    donghai = next(p for name, p in places.items() if name.startswith("东海路18号"))
    at = (dt.datetime.now(dt.UTC) - dt.timedelta(days=20)).replace(hour=13, minute=30)
    day = (at + dt.timedelta(hours=8)).date()
    given = {
        "propertyId": donghai.property_id,
        "inspectedAt": at.isoformat(),
        "findings": [{"item": item, "passed": item not in FAILED, "note": None} for item in ITEMS],
        "hazards": [
            {
                "item": item,
                "roomId": donghai.rooms.get(room) if room else None,
                "description": text,
                "severity": "HIGH" if days < 30 else "MEDIUM",
                "deadline": (day + dt.timedelta(days=days)).isoformat(),
            }
            for item, (days, text, room) in FAILED.items()
        ],
        "actions": ["WARNING", "ORDER_TO_RECTIFY"],
        "note": "夜间出租房消防安全检查。Night inspection of rental housing.",
    }
    hazards = _mutate(client, _RECORD, "recordInspection", given, responder)["inspection"][
        "hazards"
    ]
    fixed = next(h["id"] for h in hazards if h["item"] == "EXTINGUISHERS_WORKING")
    picture = upload_photo(client, donghai.token, room_picture(11, "new"), "INSPECTION_PHOTO")
    report = {
        "hazardId": fixed,
        "note": "已更换灭火器。The extinguisher was replaced.",
        "photoUploadIds": [picture],
    }
    _mutate(client, _REPORT, "reportRectification", report, donghai.token)
    verify = {"hazardId": fixed, "accepted": True, "note": "现场核查合格。Checked on site."}
    _mutate(client, _VERIFY, "verifyRectification", verify, responder)
    return len(hazards)
