"""The access log: every card swipe, keypad code and remote opening at a door, and who may
read what of it.

- POLICE (a reason, audited, in scope): everything: any door, a property, or whoever holds
  an ID number (their cards as an occupant, their codes as a visitor).
- LANDLORD (own doors): remote openings (who, when), refused swipes and codes (without
  whose), and entries with the passes they issued; never who of their tenants came or went
  when (`doorEntryCounts` says how many a day).
- TENANT (their room's doors and the entrance, while their lease runs): their own card's
  swipes, every remote opening of their room's doors, their own remote openings of the
  entrance, and entries with passes to their room; nothing from before their lease, nothing
  once it ended.

Events are denormalised (door, property, room, landlord and place on each, and for a code the
pass, its room and its issuer), so that every query is one indexed find, newest first.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from bson import ObjectId

from app.clock import now, today
from app.deps import Deps
from app.errors import AnjuError, Code, ForbiddenError, NotFoundError, UserInputError
from app.ids import GivenId
from app.services import audit, cards, idnumbers
from app.services.residents import audit_refusal, check_reason
from app.store import Doc, Page, Store, Window
from app.viewer import Role, Viewer

CARD, REMOTE, CODE = "CARD", "REMOTE", "CODE"
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
    visitor_pass: Doc | None = None,
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
        "day": at.date().isoformat(),  # doorEntryCounts groups by it
        "method": method,
        "granted": granted,
        "card_number": card_number,
        "occupant_id": occupant["_id"] if occupant else None,
        "tenant_id": occupant.get("tenant_id") if occupant else None,
        "opened_by": opened_by,
        "command_id": command_id,
        "visitor_pass_id": visitor_pass["_id"] if visitor_pass else None,
        "pass_room_id": visitor_pass["room_id"] if visitor_pass else None,
        "pass_issued_by": visitor_pass["issued_by"] if visitor_pass else None,
        "event_id": event_id,
        "created_at": now(),
    }
    inserted = await store.insert_once("access_events", doc)
    # the door's latest event is moved even by a repeated write ($max is idempotent): the
    # first writer may not have reached this line yet when the repeat answers its caller
    latest = {"last_event_at": at}
    if landlord_sees(doc, door["landlord_id"]):
        latest["last_landlord_event_at"] = at
    await store.devices.update_one({"_id": door["_id"]}, {"$max": latest})
    return doc if inserted else None


def landlord_sees(event: Doc, landlord_id: ObjectId) -> bool:
    """What of a door's log its landlord reads: remote openings, refusals, their passes."""
    return (
        event["method"] == REMOTE
        or not event["granted"]
        or event.get("pass_issued_by") == landlord_id
    )


def shows_who(viewer: Viewer, event: Doc) -> bool:
    """Whether the viewer reads whose card it was (number and occupant): the police, and the
    tenant whose card it is; a landlord never (a refused swipe stays anonymous)."""
    if viewer.role is Role.POLICE:
        return True
    return viewer.role is Role.TENANT and event.get("tenant_id") == viewer.account_id


def last_event_shown(viewer: Viewer, door: Doc, room_leases: list[Doc]) -> dt.datetime | None:
    """A door's `lastEventAt` as the viewer may read it: the police the last event of any
    kind; the landlord the last one of their view of the log; the tenant living behind a
    room's door its last event since their lease began; nobody else anything."""
    if viewer.role is Role.POLICE:
        return door.get("last_event_at")
    if viewer.role is Role.LANDLORD and door["landlord_id"] == viewer.account_id:
        return door.get("last_landlord_event_at")
    if viewer.role is not Role.TENANT or door.get("room_id") is None:
        return None
    day = today().isoformat()
    last: dt.datetime | None = door.get("last_event_at")
    for lease in room_leases:
        if lease.get("tenant_id") == viewer.account_id and (
            lease["start_date"] <= day <= lease["end_date"]
        ):
            return last if last and last >= tenancy_start(lease) else None
    return None


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


def _not_for_you(query: AccessQuery) -> None:
    if query.id_number is not None:
        raise UserInputError(
            "Looking people up by ID number is for the police.",
            code=Code.INVALID_ARGUMENT,
            field=["filter", "idNumber"],
        )


async def events(
    deps: Deps,
    viewer: Viewer,
    query: AccessQuery,
    reason: str | None,
    *,
    first: int | None,
    after: str | None,
    last: int | None = None,
    before: str | None = None,
) -> Page:
    """The events this viewer asked for and may see (the table above), newest first
    (backward: `last` before `before`)."""
    viewer.require()
    window = Window(first=first, after=after, last=last, before=before)
    if viewer.role is Role.POLICE:
        return await _police(deps, viewer, query, reason, window)
    if viewer.role is Role.LANDLORD:
        where = await _landlord_query(deps.store, viewer, query)
    elif viewer.role is Role.TENANT:
        found = await _tenant_query(deps.store, viewer, query)
        if found is None:
            return Page(items=[], has_next=False, sort=ORDER)
        where = found
    else:
        raise ForbiddenError()
    return await deps.store.page("access_events", where, ORDER, **window, default_first=50)


async def _landlord_query(store: Store, viewer: Viewer, query: AccessQuery) -> dict[str, Any]:
    landlord_id = viewer.require(Role.LANDLORD)
    door_id = query.door_id.oid() if query.door_id else None
    property_id = query.property_id.oid() if query.property_id else None
    check_range(query.start, query.end)
    _not_for_you(query)
    where: dict[str, Any] = {
        "at": {"$gte": query.start, "$lt": query.end},
        "$or": [{"method": REMOTE}, {"granted": False}, {"pass_issued_by": landlord_id}],
    }
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


async def running_leases(store: Store, tenant_id: ObjectId) -> list[Doc]:
    """The tenant's accepted leases running today: what they may see of doors."""
    day = today().isoformat()
    found = store.leases.find({"tenant_id": tenant_id, "status": "ACTIVE"})
    return [lease async for lease in found if lease["start_date"] <= day <= lease["end_date"]]


def tenancy_start(lease: Doc) -> dt.datetime:
    """From when a lease's tenant sees the room's doors: its first day, or its creation if
    later. A room has one active lease at a time, so a lease is created only after the one
    before it ended: nothing of an earlier tenancy (the same day included) is after this."""
    return max(cards.day_start(lease["start_date"]), lease["created_at"])


def covers(lease: Doc, door: Doc) -> bool:
    """A lease's room door, or an entrance of its property."""
    if door.get("room_id") is not None:
        return bool(door["room_id"] == lease["room_id"])
    return bool(door["property_id"] == lease["property_id"])


async def _tenant_query(store: Store, viewer: Viewer, query: AccessQuery) -> dict[str, Any] | None:
    """The tenant's view (the table above), or None when nothing can match."""
    tenant_id = viewer.require(Role.TENANT)
    door_id = query.door_id.oid() if query.door_id else None
    property_id = query.property_id.oid() if query.property_id else None
    check_range(query.start, query.end)
    _not_for_you(query)
    leases = await running_leases(store, tenant_id)
    where: dict[str, Any] = {}
    if door_id is not None:
        door = await store.find_by_id("devices", door_id, kind="DOOR")
        leases = [lease for lease in leases if door is not None and covers(lease, door)]
        if not leases:
            raise NotFoundError("Door", field=["filter", "doorId"])
        where["door_id"] = door_id
    if property_id is not None:
        leases = [lease for lease in leases if lease["property_id"] == property_id]
        if not leases:
            raise NotFoundError("Property", field=["filter", "propertyId"])
        where["property_id"] = property_id
    if not leases:
        return None
    account = await store.accounts.find_one({"_id": tenant_id}, {"phone": 1})
    phone = account["phone"] if account else None
    branches: list[dict[str, Any]] = []
    for lease in leases:
        since = tenancy_start(lease)
        mine = store.occupants.find({"lease_id": lease["_id"], "phone": phone}, {"_id": 1})
        own_cards = [o["_id"] async for o in mine]
        after_start = {"at": {"$gte": since}}
        branches += [
            {"occupant_id": {"$in": own_cards}, **after_start},
            {"room_id": lease["room_id"], "method": REMOTE, **after_start},
            {"opened_by": tenant_id, "property_id": lease["property_id"], **after_start},
            {"pass_room_id": lease["room_id"], **after_start},
        ]
    return {"$and": [{"at": {"$gte": query.start, "$lt": query.end}}, {"$or": branches}], **where}


async def _police(
    deps: Deps,
    viewer: Viewer,
    query: AccessQuery,
    reason: str | None,
    window: Window,
) -> Page:
    """Door history for police: one door, a whole property, or every card and visitor code
    of whoever holds an ID number, within a time range and the officer's scope; audited like
    the register."""
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
            person = {"id_number_hash": idnumbers.lookup_hash(number, deps.settings)}
            held = store.occupants.find(person, {"_id": 1})
            passes = store.visitor_passes.find(person, {"_id": 1})
            branches = [
                {"occupant_id": {"$in": [o["_id"] async for o in held]}},
                {"visitor_pass_id": {"$in": [p["_id"] async for p in passes]}},
            ]
            # each branch is read by its own index; one that can match nothing is left out
            where["$or"] = [b for b in branches if next(iter(b.values()))["$in"]] or branches[:1]
        if len(shown) == 2:
            raise UserInputError(
                "Give a doorId, a propertyId or an idNumber.", code=Code.REQUIRED, field=["filter"]
            )
        where.update(viewer.scope.place_filter())
        page = await store.page("access_events", where, ORDER, **window, default_first=50)
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
