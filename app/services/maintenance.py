"""Repair requests (报修): a tenant reports a problem in the room they rent (a category, what
is wrong, photos, when they are at home); the landlord sees the queue of all their
properties, schedules the work, marks it in progress and done, or cancels it with a reason;
the tenant confirms and rates it, cancels what is no longer needed, or reopens what was not
fixed. Every step is kept in the request's `updates` and tells the other side
(MAINTENANCE_UPDATED). Fire-risk requests (FIRE_SAFETY: detectors, extinguishers, blocked
exits; ELECTRICAL: wiring) are also shown to the responders of the area.

    OPEN ──> SCHEDULED ──> IN_PROGRESS ──> DONE ──> CONFIRMED (tenant; rating confirms too)
     │  └────────┴──────────────┴──────────> │ └──> OPEN (tenant: not fixed)
     └── CANCELLED (tenant before work starts; landlord any time before DONE, with a note)

Each move is one conditional update from the states it may leave, inside the request's
exclusive section: of two people acting at once one wins and the other gets
INVALID_TRANSITION. A closed request keeps its photos ANJU_MAINTENANCE_PHOTO_RETENTION_DAYS
(then the photo janitor removes them); reopening it keeps them again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from bson import ObjectId
from pymongo import ReturnDocument

from app.clock import now
from app.deps import Deps
from app.errors import Code, Collector, NotFoundError, UserInputError
from app.services import photos, rate_limits
from app.services.maintenance_notices import tell_other_side
from app.store import Doc, Page
from app.validation import check_int, clean_text
from app.viewer import Role, Viewer

CATEGORIES = (
    "PLUMBING",
    "ELECTRICAL",
    "APPLIANCE",
    "DOOR_LOCK",
    "FIRE_SAFETY",
    "PESTS",
    "STRUCTURE",
    "OTHER",
)
FIRE_RISK = frozenset({"FIRE_SAFETY", "ELECTRICAL"})
OPEN, SCHEDULED, IN_PROGRESS = "OPEN", "SCHEDULED", "IN_PROGRESS"
DONE, CONFIRMED, CANCELLED = "DONE", "CONFIRMED", "CANCELLED"
# who may move a request to a status, and from which
MOVES: dict[Role, dict[str, frozenset[str]]] = {
    Role.LANDLORD: {
        SCHEDULED: frozenset({OPEN, SCHEDULED, IN_PROGRESS}),
        IN_PROGRESS: frozenset({OPEN, SCHEDULED}),
        DONE: frozenset({OPEN, SCHEDULED, IN_PROGRESS}),
        CANCELLED: frozenset({OPEN, SCHEDULED, IN_PROGRESS}),
    },
    Role.TENANT: {
        CONFIRMED: frozenset({DONE}),
        CANCELLED: frozenset({OPEN, SCHEDULED}),
        OPEN: frozenset({DONE}),
    },
}
RESTING = frozenset({DONE, CONFIRMED, CANCELLED})  # photos kept for the retention period
MAX_PHOTOS = 9
MAX_DESCRIPTION = 1000
MAX_NOTE = 500
MAX_AVAILABILITY = 200
MAX_SCHEDULE_AHEAD = dt.timedelta(days=90)
ORDER = [("created_at", -1), ("_id", -1)]
PURPOSE = "MAINTENANCE_PHOTO"


# --- visibility ---------------------------------------------------------------------------


def can_see(viewer: Viewer, request: Doc) -> bool:
    """Its landlord, the tenant who reported it, and for a fire-risk request the
    responders whose scope holds it."""
    if viewer.account_id is None:
        return False
    if viewer.role is Role.LANDLORD:
        return bool(request["landlord_id"] == viewer.account_id)
    if viewer.role is Role.TENANT:
        return bool(request["tenant_id"] == viewer.account_id)
    if viewer.role is Role.RESPONDER:
        return bool(request.get("fire_risk")) and viewer.scope.contains(request["place"])
    return False


def visible_filter(viewer: Viewer) -> dict[str, Any]:
    viewer.require(Role.LANDLORD, Role.TENANT, Role.RESPONDER)
    if viewer.role is Role.LANDLORD:
        return {"landlord_id": viewer.account_id}
    if viewer.role is Role.TENANT:
        return {"tenant_id": viewer.account_id}
    return {"fire_risk": True, **viewer.scope.place_filter()}


async def requests(
    deps: Deps, viewer: Viewer, *, status: str | None, first: int | None, after: str | None
) -> Page:
    """The caller's queue, newest first: a landlord's across their properties, a tenant's
    own, a responder's fire-risk requests in scope."""
    where = visible_filter(viewer)
    if status is not None:
        where["status"] = status
    return await deps.store.page(
        "maintenance_requests", where, ORDER, first=first, after=after, with_total=True
    )


def _guard(request_id: ObjectId) -> str:
    return f"maintenance:{request_id}"


async def _mine(deps: Deps, viewer: Viewer, request_id: ObjectId) -> Doc:
    doc = await deps.store.find_by_id("maintenance_requests", request_id)
    if doc is None or viewer.role not in MOVES or not can_see(viewer, doc):
        raise NotFoundError("MaintenanceRequest", field=["requestId"])
    return doc


# --- reporting ----------------------------------------------------------------------------


async def report(
    deps: Deps,
    viewer: Viewer,
    room_id: ObjectId,
    *,
    category: str,
    description: str,
    photo_upload_ids: Sequence[ObjectId],
    availability: str | None,
) -> Doc:
    """TENANT: a problem in the room of their running lease (NOT_FOUND for any other)."""
    tenant_id = viewer.require(Role.TENANT)
    store = deps.store
    errors = Collector()
    if category not in CATEGORIES:
        errors.add(["category"], Code.INVALID_ARGUMENT, "Unknown category.")
    text = clean_text(errors, ["description"], description, max_len=MAX_DESCRIPTION, multiline=True)
    when = clean_text(
        errors, ["availability"], availability, max_len=MAX_AVAILABILITY, required=False
    )
    upload_ids = list(dict.fromkeys(photo_upload_ids))
    if len(upload_ids) > MAX_PHOTOS:
        errors.add(["photoUploadIds"], Code.TOO_MANY_PHOTOS, f"At most {MAX_PHOTOS} photos.")
    errors.raise_if_any()
    lease = await store.leases.find_one({"room_id": room_id, "status": "ACTIVE"})
    room = await store.rooms.find_one({"_id": room_id})
    if lease is None or lease.get("tenant_id") != tenant_id or room is None:
        raise NotFoundError("Room", field=["roomId"])
    await rate_limits.hit(
        store,
        deps.settings,
        "maintenance",
        str(tenant_id),
        limit=deps.settings.maintenance_reports_per_day,
        window_s=24 * 3600,
    )
    request_id = ObjectId()
    attached = await photos.attach_all(
        deps,
        viewer,
        upload_ids,
        purpose=PURPOSE,
        subject=photos.Subject("maintenance_requests", request_id, _guard(request_id)),
        field=["photoUploadIds"],
    )
    at = now()
    doc: Doc = {
        "_id": request_id,
        "room_id": room_id,
        "property_id": room["property_id"],
        "landlord_id": room["landlord_id"],
        "tenant_id": tenant_id,
        "lease_id": lease["_id"],
        "place": room["place"],
        "category": category,
        "fire_risk": category in FIRE_RISK,
        "description": text,
        "availability": when or None,
        "photos": [photos.ref(p) for p in attached],
        "status": OPEN,
        "scheduled_for": None,
        "updates": [{"at": at, "by": tenant_id, "status": OPEN, "note": None}],
        "rating": None,
        "rating_comment": None,
        "visitor_pass_id": None,
        "created_at": at,
        "updated_at": at,
    }
    try:
        await store.maintenance_requests.insert_one(doc)
    except Exception:
        await photos.discard(deps, [p["_id"] for p in attached])
        raise
    await tell_other_side(store, doc, viewer, OPEN, None)
    return doc


# --- moving on ------------------------------------------------------------------------------


def _check_move(
    viewer: Viewer, status: str, scheduled_for: dt.datetime | None, note: str | None
) -> tuple[frozenset[str], str | None]:
    errors = Collector()
    moves = MOVES.get(viewer.role) if viewer.role else None
    allowed = (moves or {}).get(status)
    if allowed is None:
        errors.add(["status"], Code.INVALID_TRANSITION, "Your role cannot set this status.")
    text = clean_text(errors, ["note"], note, max_len=MAX_NOTE, required=False, multiline=True)
    if status == SCHEDULED:
        at = now()
        if scheduled_for is None:
            errors.add(["scheduledFor"], Code.REQUIRED, "When is the repair?")
        elif not at - dt.timedelta(hours=1) <= scheduled_for <= at + MAX_SCHEDULE_AHEAD:
            errors.add(["scheduledFor"], Code.OUT_OF_RANGE, "Within the next 90 days.")
    elif scheduled_for is not None:
        errors.add(["scheduledFor"], Code.INVALID_ARGUMENT, "Only with SCHEDULED.")
    if viewer.role is Role.LANDLORD and status == CANCELLED and not text:
        errors.add(["note"], Code.REQUIRED, "Tell the tenant why.")
    errors.raise_if_any()
    return allowed or frozenset(), text or None


async def update(
    deps: Deps,
    viewer: Viewer,
    request_id: ObjectId,
    *,
    status: str,
    scheduled_for: dt.datetime | None,
    note: str | None,
) -> Doc:
    """LANDLORD: SCHEDULED (with scheduledFor), IN_PROGRESS, DONE, CANCELLED (with a note);
    TENANT: CONFIRMED (once DONE), CANCELLED (before work starts), OPEN (once DONE: not
    fixed). INVALID_TRANSITION from any other status."""
    account_id = viewer.require(Role.LANDLORD, Role.TENANT)
    await _mine(deps, viewer, request_id)
    allowed, text = _check_move(viewer, status, scheduled_for, note)
    at = now()
    changes: Doc = {"status": status, "updated_at": at}
    if status == SCHEDULED:
        changes["scheduled_for"] = scheduled_for
    entry = {"at": at, "by": account_id, "status": status, "note": text}
    moved = await _move(deps, viewer, request_id, allowed, changes, entry)
    await tell_other_side(deps.store, moved, viewer, status, text)
    return moved


async def rate(
    deps: Deps, viewer: Viewer, request_id: ObjectId, *, rating: int, comment: str | None
) -> Doc:
    """TENANT: rates a DONE or CONFIRMED request, once (1 to 5); rating a DONE one
    confirms it."""
    account_id = viewer.require(Role.TENANT)
    current = await _mine(deps, viewer, request_id)
    errors = Collector()
    check_int(errors, ["rating"], rating, low=1, high=5, code=Code.OUT_OF_RANGE)
    text = clean_text(
        errors, ["comment"], comment, max_len=MAX_NOTE, required=False, multiline=True
    )
    errors.raise_if_any()
    if current.get("rating") is not None:
        raise UserInputError("Already rated.", code=Code.ALREADY_RATED, field=["requestId"])
    at = now()
    changes: Doc = {
        "status": CONFIRMED,
        "rating": rating,
        "rating_comment": text or None,
        "rated_at": at,
        "updated_at": at,
    }
    entry = {"at": at, "by": account_id, "status": CONFIRMED, "note": text or None}
    moved = await _move(
        deps, viewer, request_id, frozenset({DONE, CONFIRMED}), changes, entry, unrated=True
    )
    await tell_other_side(deps.store, moved, viewer, CONFIRMED, text or None, rating=rating)
    return moved


async def _move(
    deps: Deps,
    viewer: Viewer,
    request_id: ObjectId,
    allowed: frozenset[str],
    changes: Doc,
    entry: Doc,
    *,
    unrated: bool = False,
) -> Doc:
    store = deps.store
    where: Doc = {"_id": request_id, "status": {"$in": sorted(allowed)}}
    if unrated:
        where["rating"] = None
    async with store.exclusive(_guard(request_id)):
        moved = await store.maintenance_requests.find_one_and_update(
            where,
            {"$set": changes, "$push": {"updates": entry}},
            return_document=ReturnDocument.AFTER,
        )
    if moved is None:
        current = await _mine(deps, viewer, request_id)
        if unrated and current.get("rating") is not None:
            raise UserInputError("Already rated.", code=Code.ALREADY_RATED, field=["requestId"])
        raise UserInputError(
            f"The request is {current['status'].lower().replace('_', ' ')}.",
            code=Code.INVALID_TRANSITION,
            field=["status"],
        )
    ids = [p["id"] for p in moved.get("photos") or []]
    if moved["status"] in RESTING:
        days = deps.settings.maintenance_photo_retention_days
        await photos.keep_until(store, ids, now() + dt.timedelta(days=days))
    else:
        await photos.keep_until(store, ids, None)
    return moved


# --- for visitor passes (the access issue) ----------------------------------------------------


async def for_visitor_pass(
    deps: Deps, viewer: Viewer, request_id: ObjectId, room_id: ObjectId
) -> Doc:
    """LANDLORD: their request about `room_id` that a repair worker's visitor pass may be
    for (SCHEDULED or IN_PROGRESS); NOT_FOUND (anyone else, another room's) or
    INVALID_TRANSITION otherwise."""
    field = ["maintenanceRequestId"]
    doc = await deps.store.find_by_id("maintenance_requests", request_id)
    if (
        doc is None
        or viewer.role is not Role.LANDLORD
        or doc["landlord_id"] != viewer.account_id
        or doc["room_id"] != room_id
    ):
        raise NotFoundError("MaintenanceRequest", field=field)
    if doc["status"] not in (SCHEDULED, IN_PROGRESS):
        raise UserInputError(
            "Schedule the repair first.", code=Code.INVALID_TRANSITION, field=field
        )
    return doc


async def note_visitor_pass(deps: Deps, request_id: ObjectId, pass_id: ObjectId) -> None:
    """Records the pass issued for the request's worker."""
    async with deps.store.exclusive(_guard(request_id)):
        await deps.store.maintenance_requests.update_one(
            {"_id": request_id}, {"$set": {"visitor_pass_id": pass_id}}
        )
