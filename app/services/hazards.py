"""Fire-safety hazards (火灾隐患), followed until they are rectified.

A hazard is found by an inspection (app/services/inspections.py) or by Anju itself
(app/services/safety_checks.py: a smoke detector offline too long, an occupied room without
one, recorded equipment below the standard). It belongs to a property (and a room, if any),
has a severity, a deadline and a status:

    OPEN ──reportRectification──> RECTIFICATION_REPORTED ──verify: accepted──> RECTIFIED
     │                                   └──verify: rejected──> REOPENED ──report──> ...
     └──verify: accepted (a responder found it fixed on site; also from REOPENED)──┘

Reporting is the landlord's (a note and photos of what was done), verifying a responder's of
the area. Anju's own hazards nobody reports: Anju rectifies them when their cause goes away
(the detector is back online, the room has a detector or is no longer let, the records meet
the standard), and opens them again, as a new hazard, when it comes back. One open hazard per
cause (`cause`, a `UniqueWhile` rule of the store); an inspector's hazard is its own cause.

A deadline D ends at midnight after D in the city (UTC+8): from then the hazard is overdue
until it is rectified. Its notices (found, three days before, overdue with escalation to the
town) are app/services/hazard_notices.py and hazard_deadlines.py. Every change is an entry of
its `history`: when, who (null: Anju), the status, a note and the photos taken with it.

Hazards carry their property's landlord and place, and `scope_keys` (app/viewer.py
`place_keys`), so that a landlord's list, a property's and any scope's are each one indexed
equality, with the status and the deadline (most urgent first) in the same index.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from bson import ObjectId
from pymongo import ReturnDocument

from app.clock import now
from app.deps import Deps
from app.errors import Code, NotFoundError, UserInputError
from app.services import stats
from app.services.notifications import LOCAL_TZ
from app.store import Doc, Page, Store, busy
from app.viewer import Role, Scope, Viewer, place_keys

ITEMS = (
    "RESPONSIBILITY_SYSTEM",
    "EXITS_CLEAR",
    "EVACUATION_ROUTES_CLEAR",
    "FIRE_LANE_CLEAR",
    "EXTINGUISHERS_WORKING",
    "HYDRANTS_WORKING",
    "AUTOMATIC_EQUIPMENT_WORKING",
    "NO_EBIKES_INDOORS",
    "SMOKE_DETECTORS_IN_EVERY_ROOM",
    "ESCAPE_WINDOWS",
    "WIRING_SAFE",
)
SEVERITIES = ("LOW", "MEDIUM", "HIGH", "CRITICAL")
OPEN, REPORTED, RECTIFIED, REOPENED = "OPEN", "RECTIFICATION_REPORTED", "RECTIFIED", "REOPENED"
STATUSES = (OPEN, REPORTED, RECTIFIED, REOPENED)
OPEN_STATUSES = (OPEN, REPORTED, REOPENED)
INSPECTION = "INSPECTION"
DETECTOR_OFFLINE, NO_DETECTOR = "DETECTOR_OFFLINE", "NO_DETECTOR"
EQUIPMENT_BELOW_STANDARD = "EQUIPMENT_BELOW_STANDARD"
AUTOMATIC = (DETECTOR_OFFLINE, NO_DETECTOR, EQUIPMENT_BELOW_STANDARD)
HAZARD_ORDER = [("due_at", 1), ("_id", 1)]
VIEWERS = (Role.LANDLORD, Role.RESPONDER, Role.POLICE)
MAX_DESCRIPTION = 500
MAX_DEADLINE_DAYS = 180
# the DUE notice goes out this long before a deadline ends
DUE_NOTICE = dt.timedelta(days=3)


# --- deadlines --------------------------------------------------------------------------------


def local_today() -> dt.date:
    """Today in the city (UTC+8): deadlines are the city's days."""
    return now().astimezone(LOCAL_TZ).date()


def due_at_of(deadline: dt.date) -> dt.datetime:
    """When a deadline ends: midnight after it in the city, as a UTC instant."""
    end = dt.datetime.combine(deadline + dt.timedelta(days=1), dt.time(), tzinfo=LOCAL_TZ)
    return end.astimezone(dt.UTC)


def deadline_fields(deadline: dt.date) -> Doc:
    """The fields a deadline sets (again, when a rejection gives a new one)."""
    due = due_at_of(deadline)
    return {"deadline": deadline.isoformat(), "due_at": due, "remind_at": due - DUE_NOTICE}


def next_check_at(doc: Doc) -> dt.datetime | None:
    """The next time the deadline worker must look at the hazard: its DUE notice, then its
    OVERDUE notice (each once per deadline); never once rectified."""
    if doc["status"] not in OPEN_STATUSES:
        return None
    notices = doc.get("notices") or {}
    if notices.get("due") != doc["deadline"]:
        return doc["remind_at"]
    if notices.get("overdue") != doc["deadline"]:
        return doc["due_at"]
    return None


def is_overdue(doc: Doc, at: dt.datetime | None = None) -> bool:
    return doc["status"] in OPEN_STATUSES and (at or now()) >= doc["due_at"]


# --- documents --------------------------------------------------------------------------------


def hazard_doc(
    prop: Doc,
    *,
    source: str,
    item: str | None,
    description: str,
    severity: str,
    deadline: dt.date,
    room_id: ObjectId | None = None,
    inspection_id: ObjectId | None = None,
    found_by: ObjectId | None = None,
    cause: str | None = None,
    hazard_id: ObjectId | None = None,
) -> Doc:
    """A new OPEN hazard of `prop`, as stored (an inspector's is its own cause)."""
    oid = hazard_id or ObjectId()
    at = now()
    doc: Doc = {
        "_id": oid,
        "property_id": prop["_id"],
        "landlord_id": prop["landlord_id"],
        "place": prop["place"],
        "scope_keys": place_keys(prop["place"]),
        "room_id": room_id,
        "source": source,
        "item": item,
        "description": description,
        "severity": severity,
        "status": OPEN,
        "open": True,
        "cause": cause or f"{INSPECTION}:{oid}",
        "found_at": at,
        "found_by": found_by,
        "inspection_id": inspection_id,
        **deadline_fields(deadline),
        # a deadline whose reminder time has already passed gets no DUE notice
        "notices": {"due": None, "overdue": None},
        "escalated_at": None,
        "reported_at": None,
        "rectified_at": None,
        "days_to_rectify": None,
        "history": [{"at": at, "by": found_by, "status": OPEN, "note": None, "photo_ids": []}],
        "photos": [],
        "created_at": at,
        "updated_at": at,
        "version": 1,
    }
    if doc["remind_at"] <= at:
        doc["notices"]["due"] = doc["deadline"]
    doc["next_check_at"] = next_check_at(doc)
    return doc


def guard(hazard_id: ObjectId) -> str:
    """The name of a hazard's exclusive section (every change of it)."""
    return f"hazard:{hazard_id}"


def rectified_fields(doc: Doc, at: dt.datetime) -> Doc:
    """What rectifying a hazard at `at` sets."""
    days = (at - doc["found_at"]).total_seconds() / 86400
    return {
        "status": RECTIFIED,
        "open": False,
        "rectified_at": at,
        "days_to_rectify": round(days, 2),
        "next_check_at": None,
        "updated_at": at,
    }


async def move(
    store: Store,
    hazard_id: ObjectId,
    *,
    allowed_from: Sequence[str],
    changes: Doc,
    entry: Doc,
    push: Doc | None = None,
) -> Doc | None:
    """One step of a hazard, if its status allows it: a conditional update on the version
    read, in its exclusive section (of two steps at once one wins; a notice written meanwhile
    only makes it read again), its history entry written with it and its next check
    recomputed. The hazard after, or None when the status did not allow."""
    pushes: Doc = {"history": entry, **(push or {})}
    for _ in range(5):
        async with store.exclusive(guard(hazard_id)):
            current = await store.hazards.find_one({"_id": hazard_id})
            if current is None or current["status"] not in allowed_from:
                return None
            full = {**changes, "next_check_at": next_check_at({**current, **changes})}
            moved = await store.hazards.find_one_and_update(
                {"_id": hazard_id, "version": current["version"]},
                {"$set": full, "$push": pushes, "$inc": {"version": 1}},
                return_document=ReturnDocument.AFTER,
            )
        if moved is not None:
            return moved
    raise busy()


# --- who sees what ----------------------------------------------------------------------------


def can_see(viewer: Viewer, doc: Doc) -> bool:
    """Its property's landlord; responders and police whose scope holds it."""
    if viewer.account_id is None:
        return False
    if viewer.role is Role.LANDLORD:
        return bool(doc["landlord_id"] == viewer.account_id)
    if viewer.role in (Role.RESPONDER, Role.POLICE):
        return viewer.scope.contains(doc["place"])
    return False


def scope_key(scope: Scope) -> str:
    try:
        return scope.key()
    except ValueError:
        raise UserInputError(
            "A grid needs its community, a community its town.",
            code=Code.INVALID_ARGUMENT,
            field=["scope"],
        ) from None


async def visible_where(
    deps: Deps, viewer: Viewer, scope: Scope | None, property_id: ObjectId | None
) -> dict[str, Any]:
    """The condition of the documents (hazards, inspections) the viewer asks for and may
    see: a landlord's own (one property's), a scope's within the staff member's own (one
    property's there). NOT_FOUND for another's property or one outside the scope."""
    viewer.require(*VIEWERS)
    store = deps.store
    if viewer.role is Role.LANDLORD:
        if scope is not None and scope.as_claim():
            raise UserInputError(
                "A landlord sees their own properties: leave the scope out.",
                code=Code.INVALID_ARGUMENT,
                field=["scope"],
            )
        if property_id is None:
            return {"landlord_id": viewer.account_id}
        owned = await store.find_by_id(
            "properties", property_id, {"_id": 1}, landlord_id=viewer.account_id
        )
        if owned is None:
            raise NotFoundError("Property", field=["propertyId"])
        return {"property_id": property_id}
    within = stats.effective_scope(viewer, scope)
    if property_id is None:
        return {"scope_keys": scope_key(within)}
    prop = await store.find_by_id("properties", property_id, {"place": 1})
    if prop is None or not within.contains(prop["place"]):
        raise NotFoundError("Property", field=["propertyId"])
    return {"property_id": property_id}


async def hazards(
    deps: Deps,
    viewer: Viewer,
    *,
    scope: Scope | None,
    property_id: ObjectId | None,
    status: str | None,
    overdue_only: bool,
    first: int | None,
    after: str | None,
) -> Page:
    """LANDLORD (their properties), RESPONDER and POLICE (their scope): most urgent first
    (the earliest deadline). `overdue_only`: past their deadline and not rectified."""
    where = await visible_where(deps, viewer, scope, property_id)
    statuses = [status] if status else list(STATUSES)
    if overdue_only:
        statuses = [s for s in statuses if s in OPEN_STATUSES]
        where["due_at"] = {"$lte": now()}
    # an equality, or an $in the index merges in deadline order
    where["status"] = statuses[0] if len(statuses) == 1 else {"$in": statuses}
    return await deps.store.page(
        "hazards", where, HAZARD_ORDER, first=first, after=after, with_total=True
    )


async def visible_hazard(deps: Deps, viewer: Viewer, hazard_id: ObjectId) -> Doc:
    """A hazard the viewer may see; NOT_FOUND otherwise (another's, out of scope, none)."""
    doc = await deps.store.find_by_id("hazards", hazard_id)
    if doc is None or not can_see(viewer, doc):
        raise NotFoundError("Hazard", field=["hazardId"])
    return doc


async def open_of_property(store: Store, property_id: ObjectId) -> list[Doc]:
    """The property's hazards not yet rectified."""
    return await store.hazards.find(
        {"property_id": property_id, "status": {"$in": list(OPEN_STATUSES)}},
        sort=HAZARD_ORDER,
    ).to_list(None)
