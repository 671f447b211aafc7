"""Who hears of a hazard, and what they read.

- HAZARD_FOUND: the landlord and the responders of the area (whose scope is the property's
  community or grid), when it is found (not the inspectors who found it).
- HAZARD_DUE: three days before the deadline ends, the landlord (while it waits for them), the
  responders of the area and whoever found it.
- HAZARD_OVERDUE: when the deadline passes, the same, and the town's responders (those who
  serve the whole town): the escalation.
- HAZARD_UPDATED: a rectification reported (to the responders of the area and whoever found
  it: verify it), or rejected (to the landlord: reopened, with the responder's note).
- HAZARD_RECTIFIED: to the landlord when a responder verified it; for Anju's own hazards also
  to the responders of the area, who were told when it was found.

Each notice carries a key (the hazard, the event, the deadline or version, the account), so a
pass that runs twice, or two workers at once, tell nobody twice. Texts name the property, the
room and the item, never a tenant.
"""

from __future__ import annotations

from collections.abc import Iterable

from bson import ObjectId

from app.services.notifications import notify
from app.store import Doc, Store
from app.viewer import Role, Scope

ITEM_NAMES = {
    "RESPONSIBILITY_SYSTEM": "消防安全责任制 Fire-safety responsibility system",
    "EXITS_CLEAR": "安全出口 Exits",
    "EVACUATION_ROUTES_CLEAR": "疏散通道 Evacuation routes",
    "FIRE_LANE_CLEAR": "消防车通道 Fire lane",
    "EXTINGUISHERS_WORKING": "灭火器 Extinguishers",
    "HYDRANTS_WORKING": "消火栓 Hydrants",
    "AUTOMATIC_EQUIPMENT_WORKING": "自动消防设施 Automatic fire equipment",
    "NO_EBIKES_INDOORS": "电动自行车 E-bikes indoors",
    "SMOKE_DETECTORS_IN_EVERY_ROOM": "烟感 Smoke detectors",
    "ESCAPE_WINDOWS": "逃生窗口 Escape windows",
    "WIRING_SAFE": "电气线路 Wiring",
}
SOURCE_NAMES = {
    "DETECTOR_OFFLINE": "烟感离线 Smoke detector offline",
    "NO_DETECTOR": "无烟感 No smoke detector",
    "EQUIPMENT_BELOW_STANDARD": "消防器材不足 Equipment below the standard",
}
# while a hazard waits for its landlord (not for a responder's verification)
LANDLORDS_TURN = ("OPEN", "REOPENED")


async def responders(store: Store, place: Doc) -> tuple[list[ObjectId], list[ObjectId]]:
    """(the area's, the town's): active responders whose scope holds `place` at the level
    of its community or grid, and those who serve its whole town."""
    area: list[ObjectId] = []
    town: list[ObjectId] = []
    async for account in store.accounts.find(
        {"role": Role.RESPONDER.value, "scope.town": place.get("town")}, {"scope": 1, "status": 1}
    ):
        if account.get("status", "ACTIVE") != "ACTIVE":
            continue
        scope = Scope(**(account.get("scope") or {}))
        if scope.contains(place):
            (area if scope.community else town).append(account["_id"])
    return area, town


def what(hazard: Doc) -> str:
    """The hazard's kind, as people read it."""
    if hazard.get("item") and hazard["source"] == "INSPECTION":
        return ITEM_NAMES.get(hazard["item"], str(hazard["item"]))
    return SOURCE_NAMES.get(hazard["source"], str(hazard["source"]))


async def where(store: Store, hazard: Doc) -> str:
    prop = await store.properties.find_one({"_id": hazard["property_id"]}, {"name": 1})
    room = None
    if hazard.get("room_id") is not None:
        room = await store.rooms.find_one({"_id": hazard["room_id"]}, {"number": 1})
    return f"{prop['name'] if prop else ''} {room['number'] if room else ''}".strip()


async def _send(
    store: Store,
    hazard: Doc,
    to: Iterable[ObjectId | None],
    kind: str,
    title: str,
    body: str,
    event: str,
    *,
    leave_out: Iterable[ObjectId | None] = (),
) -> None:
    skip = set(leave_out)
    for account_id in dict.fromkeys(a for a in to if a is not None and a not in skip):
        await notify(
            store,
            account_id,
            kind,
            title,
            body,
            hazard_id=hazard["_id"],
            key=f"hazard:{hazard['_id']}:{event}:{account_id}",
        )


def _deadline(hazard: Doc) -> str:
    return f"Rectify by {hazard['deadline']} (ends at midnight, UTC+8)."


async def found(store: Store, hazard: Doc, *, found_by: Iterable[ObjectId] = ()) -> None:
    area, _ = await responders(store, hazard["place"])
    place = await where(store, hazard)
    await _send(
        store,
        hazard,
        [hazard["landlord_id"], *area],
        "HAZARD_FOUND",
        f"火灾隐患 Hazard found: {place}",
        f"{what(hazard)}: {hazard['description']} Severity {hazard['severity']}. "
        + _deadline(hazard),
        "found",
        leave_out=found_by,
    )


async def due(store: Store, hazard: Doc) -> None:
    area, _ = await responders(store, hazard["place"])
    landlord = hazard["landlord_id"] if hazard["status"] in LANDLORDS_TURN else None
    place = await where(store, hazard)
    await _send(
        store,
        hazard,
        [landlord, *area, hazard.get("found_by")],
        "HAZARD_DUE",
        f"隐患即将到期 Hazard due in 3 days: {place}",
        f"{what(hazard)}: {hazard['description']} " + _deadline(hazard),
        f"due:{hazard['deadline']}",
    )


async def overdue(store: Store, hazard: Doc) -> None:
    """The deadline passed: the landlord, the area, the finder, and the town (escalated)."""
    area, town = await responders(store, hazard["place"])
    place = await where(store, hazard)
    waiting = (
        "A rectification awaits verification."
        if hazard["status"] == "RECTIFICATION_REPORTED"
        else "Not rectified."
    )
    await _send(
        store,
        hazard,
        [hazard["landlord_id"], *area, hazard.get("found_by"), *town],
        "HAZARD_OVERDUE",
        f"隐患逾期 Hazard overdue: {place}",
        f"{what(hazard)}: {hazard['description']} The deadline {hazard['deadline']} has "
        f"passed. {waiting} Escalated to the town's responders.",
        f"overdue:{hazard['deadline']}",
    )


async def reported(store: Store, hazard: Doc, note: str) -> None:
    area, _ = await responders(store, hazard["place"])
    place = await where(store, hazard)
    await _send(
        store,
        hazard,
        [*area, hazard.get("found_by")],
        "HAZARD_UPDATED",
        f"整改已上报 Rectification reported: {place}",
        f"{what(hazard)}: the landlord reports: {note} Verify it.",
        f"v{hazard['version']}",
    )


async def reopened(store: Store, hazard: Doc, note: str) -> None:
    place = await where(store, hazard)
    await _send(
        store,
        hazard,
        [hazard["landlord_id"]],
        "HAZARD_UPDATED",
        f"整改未通过 Rectification rejected: {place}",
        f"{what(hazard)}: {note} " + _deadline(hazard),
        f"v{hazard['version']}",
    )


async def rectified(store: Store, hazard: Doc, *, by_anju: bool, note: str | None) -> None:
    area = (await responders(store, hazard["place"]))[0] if by_anju else []
    place = await where(store, hazard)
    await _send(
        store,
        hazard,
        [hazard["landlord_id"], *area],
        "HAZARD_RECTIFIED",
        f"隐患已整改 Hazard rectified: {place}",
        f"{what(hazard)}: {note or 'verified rectified.'}",
        "rectified",
    )
