"""The access log: every card swipe and every remote opening at a door, and who may read it.

Events are denormalised (door, property, room, landlord and place on each), so that every
query is one indexed find, newest first. A landlord reads the events of their own doors;
the police read any door in their scope, with a reason, and every look-up, refused ones too,
is audited (app/services/residents.py has the same rule for the register).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from bson import ObjectId

from app.clock import now
from app.deps import Deps
from app.errors import AnjuError, Code, ForbiddenError, NotFoundError, UserInputError
from app.ids import GivenId
from app.services import audit, idnumbers
from app.services.residents import audit_refusal, check_reason
from app.store import Doc, Page, Store
from app.viewer import Role, Viewer

CARD, REMOTE = "CARD", "REMOTE"
ORDER = [("at", -1), ("_id", -1)]
MAX_RANGE = dt.timedelta(days=366)


async def record(
    store: Store,
    *,
    door: Doc,
    at: dt.datetime,
    method: str,
    granted: bool,
    card_number: str | None = None,
    occupant: Doc | None = None,
    opened_by: ObjectId | None = None,
    command_id: ObjectId | None = None,
    event_id: str | None = None,
    access_id: ObjectId | None = None,
) -> Doc | None:
    """Writes one access event. `access_id` makes a retried write a no-op."""
    doc: Doc = {
        "_id": access_id or ObjectId(),
        "door_id": door["_id"],
        "device_id": door["device_id"],
        "property_id": door["property_id"],
        "room_id": door.get("room_id"),
        "landlord_id": door["landlord_id"],
        "place": door.get("place"),
        "at": at,
        "method": method,
        "granted": granted,
        "card_number": card_number,
        "occupant_id": occupant["_id"] if occupant else None,
        "tenant_id": occupant.get("tenant_id") if occupant else None,
        "opened_by": opened_by,
        "command_id": command_id,
        "event_id": event_id,
        "created_at": now(),
    }
    if not await store.insert_once("access_events", doc):
        return None  # written by an earlier attempt at the same event
    await store.devices.update_one({"_id": door["_id"]}, {"$max": {"last_event_at": at}})
    return doc


def can_see_occupant(viewer: Viewer, occupant: Doc) -> bool:
    """Who a swiped card belonged to: the police always, a landlord only for their own
    occupants (a card of someone else's tenant tried on their door stays anonymous)."""
    if viewer.role is Role.POLICE:
        return True
    return viewer.role is Role.LANDLORD and occupant.get("landlord_id") == viewer.account_id


# --- reading the log --------------------------------------------------------------------------


@dataclass(frozen=True)
class AccessQuery:
    door_id: GivenId | None
    property_id: GivenId | None
    id_number: str | None
    start: dt.datetime
    end: dt.datetime


def check_range(start: dt.datetime, end: dt.datetime) -> None:
    if end <= start:
        raise UserInputError(
            "`to` must be after `from`.", code=Code.INVALID_DATE_RANGE, field=["filter", "to"]
        )
    if end - start > MAX_RANGE:
        raise UserInputError(
            "At most 366 days at a time.", code=Code.OUT_OF_RANGE, field=["filter", "to"]
        )


async def events(
    deps: Deps,
    viewer: Viewer,
    query: AccessQuery,
    reason: str | None,
    *,
    first: int | None,
    after: str | None,
) -> Page:
    """The events this viewer asked for and may see, newest first: POLICE any door in their
    scope (with a reason, audited), LANDLORD their own doors."""
    viewer.require()
    if viewer.role is Role.POLICE:
        return await _police(deps, viewer, query, reason, first=first, after=after)
    if viewer.role is Role.LANDLORD:
        where = await _landlord_query(deps.store, viewer, query)
        return await deps.store.page(
            "access_events", where, ORDER, first=first, after=after, default_first=50
        )
    raise ForbiddenError()


async def _landlord_query(store: Store, viewer: Viewer, query: AccessQuery) -> dict[str, Any]:
    landlord_id = viewer.require(Role.LANDLORD)
    door_id = query.door_id.oid() if query.door_id else None
    property_id = query.property_id.oid() if query.property_id else None
    check_range(query.start, query.end)
    if query.id_number is not None:
        raise UserInputError(
            "Looking people up by ID number is for the police.",
            code=Code.INVALID_ARGUMENT,
            field=["filter", "idNumber"],
        )
    where: dict[str, Any] = {"at": {"$gte": query.start, "$lt": query.end}}
    if door_id is not None:
        door = await store.find_by_id(
            "devices", door_id, {"_id": 1}, kind="DOOR", landlord_id=landlord_id
        )
        if door is None:
            raise NotFoundError("Door", field=["filter", "doorId"])
        where["door_id"] = door_id
    if property_id is not None:
        prop = await store.find_by_id(
            "properties", property_id, {"_id": 1}, landlord_id=landlord_id
        )
        if prop is None:
            raise NotFoundError("Property", field=["filter", "propertyId"])
        where["property_id"] = property_id
    if door_id is None and property_id is None:
        where["landlord_id"] = landlord_id
    return where


async def _police(
    deps: Deps,
    viewer: Viewer,
    query: AccessQuery,
    reason: str | None,
    *,
    first: int | None,
    after: str | None,
) -> Page:
    """Door history for police: one door, a whole property, or every card of whoever holds
    an ID number, within a time range and the officer's scope; audited like the register."""
    officer = viewer.require(Role.POLICE)
    store = deps.store
    shown: dict[str, Any] = {"from": query.start.isoformat(), "to": query.end.isoformat()}
    try:
        clean_reason = check_reason(reason)
        check_range(query.start, query.end)
        where: dict[str, Any] = {"at": {"$gte": query.start, "$lt": query.end}}
        if query.door_id:
            shown["doorId"] = query.door_id.shown
            where["door_id"] = query.door_id.oid()
        if query.property_id:
            shown["propertyId"] = query.property_id.shown
            where["property_id"] = query.property_id.oid()
        if query.id_number:
            number = idnumbers.looked_up(query.id_number, ["filter", "idNumber"])
            shown["idNumber"] = idnumbers.mask(number)
            held = store.occupants.find(
                {"id_number_hash": idnumbers.lookup_hash(number, deps.settings)}, {"_id": 1}
            )
            where["occupant_id"] = {"$in": [o["_id"] async for o in held]}
        if len(shown) == 2:
            raise UserInputError(
                "Give a doorId, a propertyId or an idNumber.", code=Code.REQUIRED, field=["filter"]
            )
        where.update(viewer.scope.place_filter())
        page = await store.page(
            "access_events", where, ORDER, first=first, after=after, default_first=50
        )
    except AnjuError as error:
        await audit_refusal(store, officer, "police.accessEvents", reason, shown, error)
        raise
    await audit.record(
        store,
        officer,
        "police.accessEvents",
        reason=clean_reason,
        target=shown.get("idNumber") or shown.get("doorId") or shown.get("propertyId"),
        details={"filter": shown, "results": len(page.items), "more": page.has_next},
    )
    return page
