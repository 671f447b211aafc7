"""Doors: remote opening (who may, the per-account rate limit, the command record and its
truthful outcome) and the access log (card swipes and remote openings).

A door command is written before the gateway is called and ends in exactly one of
OPENED, FAILED, DEVICE_OFFLINE or TIMED_OUT. A timeout is never reported as opened: the
gateway may still open the door later, and its `door.opened` event (which names the
command) then turns the record into OPENED. Whoever moves a command to OPENED, the request
or the event, writes the access event and the audit entry, so each opening is logged once.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from bson import ObjectId
from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from app.db import Doc, find_by_id
from app.errors import Code, ForbiddenError, NotFoundError, UserInputError
from app.gateway import DeviceOffline, GatewayClient, GatewayError, GatewayTimeout
from app.ids import encode_id
from app.services import audit, locks
from app.services.clock import now, today
from app.settings import Settings
from app.viewer import Role, Viewer

log = logging.getLogger("anju.doors")

PENDING, OPENED, FAILED, DEVICE_OFFLINE, TIMED_OUT = (
    "PENDING",
    "OPENED",
    "FAILED",
    "DEVICE_OFFLINE",
    "TIMED_OUT",
)
CARD, REMOTE = "CARD", "REMOTE"
ACCESS_ORDER = [("at", -1), ("_id", -1)]
MAX_RANGE = dt.timedelta(days=366)


# --- who may open a door --------------------------------------------------------------------


async def active_lease_for_door(
    db: AsyncDatabase[Doc], tenant_id: ObjectId, door: Doc
) -> Doc | None:
    """The tenant's active lease that covers the door: the room's lease for a room door, any
    lease in the property for an entrance (room_id None). Only leases running today count."""
    day = today().isoformat()
    query: dict[str, Any] = {
        "tenant_id": tenant_id,
        "status": "ACTIVE",
        "start_date": {"$lte": day},
        "end_date": {"$gte": day},
    }
    if door.get("room_id") is not None:
        query["room_id"] = door["room_id"]
    else:
        query["property_id"] = door["property_id"]
    return await db.leases.find_one(query, {"_id": 1})


async def openable_door(db: AsyncDatabase[Doc], viewer: Viewer, door_id: ObjectId) -> Doc:
    """The door if the viewer may open it: its landlord, or the tenant of an active lease
    there. Anyone else gets NOT_FOUND, exactly as for a door that does not exist."""
    account_id = viewer.require(Role.LANDLORD, Role.TENANT)
    door = await find_by_id(db.devices, door_id, kind="DOOR")
    if door is not None:
        if viewer.role is Role.LANDLORD and door["landlord_id"] == account_id:
            return door
        if viewer.role is Role.TENANT and await active_lease_for_door(db, account_id, door):
            return door
    raise NotFoundError("Door", field=["doorId"])


# --- rate limit -----------------------------------------------------------------------------


async def check_rate(db: AsyncDatabase[Doc], account_id: ObjectId, settings: Settings) -> None:
    """At most `door_rate_limit` attempts per account in any `door_rate_window_s` seconds,
    across every worker: each attempt inserts a mark, then counts the account's marks in the
    window. Concurrent attempts see each other's marks, so the limit is never exceeded (at
    worst both are refused at the edge). A refused attempt takes its mark back, so a user
    who keeps tapping is let in again once the window has passed."""
    at = now()
    mark = {"_id": ObjectId(), "account_id": account_id, "at": at}
    await db.door_rate.insert_one(mark)
    since = at - dt.timedelta(seconds=settings.door_rate_window_s)
    count = await db.door_rate.count_documents({"account_id": account_id, "at": {"$gt": since}})
    if count > settings.door_rate_limit:
        await db.door_rate.delete_one({"_id": mark["_id"]})
        raise UserInputError(
            "Too many door openings; wait a minute and try again.", code=Code.RATE_LIMITED
        )
    # marks that left the window count for nothing: keep at most `limit` per account
    await db.door_rate.delete_many({"account_id": account_id, "at": {"$lte": since}})


# --- opening --------------------------------------------------------------------------------


async def open_door(
    db: AsyncDatabase[Doc],
    gateway: GatewayClient,
    settings: Settings,
    viewer: Viewer,
    door_id: ObjectId,
) -> Doc:
    """Sends one open command and returns its record, with the outcome the gateway gave
    within `gateway_timeout_s`."""
    account_id = viewer.require(Role.LANDLORD, Role.TENANT)
    await check_rate(db, account_id, settings)
    door = await openable_door(db, viewer, door_id)
    command: Doc = {
        "_id": ObjectId(),
        "door_id": door["_id"],
        "device_id": door["device_id"],
        "property_id": door["property_id"],
        "room_id": door.get("room_id"),
        "landlord_id": door["landlord_id"],
        "place": door.get("place"),
        "account_id": account_id,
        "role": viewer.role.value if viewer.role else None,
        "status": PENDING,
        "requested_at": now(),
        "completed_at": None,
    }
    await db.door_commands.insert_one(command)
    status, error = await _send_open(gateway, settings, door["device_id"], str(command["_id"]))
    final: Doc | None
    if status == OPENED:
        final = await mark_opened(db, command["_id"], now())
    else:
        done: dict[str, Any] = {"status": status, "error": error}
        # A timeout completed nothing that we know of: completed_at stays null.
        if status == TIMED_OUT:
            done["gave_up_at"] = now()
        else:
            done["completed_at"] = now()
        # conditional: a door.opened event that beat us here has already said OPENED
        async with locks.held(db, _lock_name(command["_id"])):
            final = await db.door_commands.find_one_and_update(
                {"_id": command["_id"], "status": PENDING},
                {"$set": done},
                return_document=ReturnDocument.AFTER,
            )
        if final is not None:  # attempts that did not open are audited too
            await audit.record(
                db,
                account_id,
                "door.open",
                target=encode_id("Door", door["_id"]),
                details={"commandId": str(command["_id"]), "status": status},
            )
    if final is None:  # the door's own confirmation got there first
        final = await db.door_commands.find_one({"_id": command["_id"]})
    assert final is not None
    return final


async def _send_open(
    gateway: GatewayClient, settings: Settings, device_id: str, command_id: str
) -> tuple[str, str | None]:
    """The command's outcome: the whole call, retries included, must end within the timeout."""
    try:
        async with asyncio.timeout(settings.gateway_timeout_s):
            await gateway.open_door(device_id, command_id)
    except (TimeoutError, GatewayTimeout):
        return TIMED_OUT, "no answer in time"
    except DeviceOffline:
        return DEVICE_OFFLINE, "the door is offline"
    except GatewayError as exc:  # 5xx, unreachable, unknown device, a broken answer
        return FAILED, str(exc)[:200]
    except Exception:  # whatever else broke, the command must not stay PENDING
        log.exception("door %s: unexpected failure sending an open command", device_id)
        return FAILED, "the gateway could not be asked"
    return OPENED, None


def _lock_name(command_id: ObjectId) -> str:
    return f"door-command:{command_id}"


async def mark_opened(db: AsyncDatabase[Doc], command_id: ObjectId, at: dt.datetime) -> Doc | None:
    """Moves a command to OPENED (from any other state: the door did open) and, if this call
    made the move, logs the opening (an access event, REMOTE, and an audit entry) and returns
    the command; None if it was already OPENED. The command's lock makes the move exclusive
    (the gateway's answer and its door.opened event arrive together)."""
    async with locks.held(db, _lock_name(command_id)):
        command = await db.door_commands.find_one_and_update(
            {"_id": command_id, "status": {"$ne": OPENED}},
            {"$set": {"status": OPENED, "completed_at": at, "error": None}},
            return_document=ReturnDocument.AFTER,
        )
    if command is None:
        return None
    await record_access(
        db,
        door={
            "_id": command["door_id"],
            "device_id": command["device_id"],
            "property_id": command["property_id"],
            "room_id": command.get("room_id"),
            "landlord_id": command["landlord_id"],
            "place": command.get("place"),
        },
        at=at,
        method=REMOTE,
        granted=True,
        opened_by=command["account_id"],
        command_id=command["_id"],
    )
    await audit.record(
        db,
        command["account_id"],
        "door.open",
        target=encode_id("Door", command["door_id"]),
        details={"commandId": str(command["_id"]), "status": OPENED},
    )
    return command


async def record_access(
    db: AsyncDatabase[Doc],
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
    """Writes one access event (denormalised: door, property, room, landlord and place, so
    that every query is one indexed find). `access_id` makes a retried write a no-op."""
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
    try:
        await db.access_events.insert_one(doc)
    except DuplicateKeyError:
        return None  # written by an earlier attempt at the same event
    await db.devices.update_one({"_id": door["_id"]}, {"$max": {"last_event_at": at}})
    return doc


# --- the access log -------------------------------------------------------------------------


@dataclass
class AccessFilter:
    door_id: ObjectId | None
    property_id: ObjectId | None
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


async def access_event_query(
    db: AsyncDatabase[Doc], viewer: Viewer, flt: AccessFilter, reason: str | None
) -> dict[str, Any]:
    """The query (over the indexed `at` order) of the access events this viewer asked for
    and may see. One branch per role; the police branch (any door in scope, reason
    required, idNumber look-up) is added by the police issue."""
    viewer.require()
    check_range(flt.start, flt.end)
    if viewer.role is Role.LANDLORD:
        return await _landlord_query(db, viewer, flt)
    raise ForbiddenError()


async def _landlord_query(
    db: AsyncDatabase[Doc], viewer: Viewer, flt: AccessFilter
) -> dict[str, Any]:
    landlord_id = viewer.require(Role.LANDLORD)
    if flt.id_number is not None:
        raise UserInputError(
            "Looking people up by ID number is for the police.",
            code=Code.INVALID_ARGUMENT,
            field=["filter", "idNumber"],
        )
    query: dict[str, Any] = {"at": {"$gte": flt.start, "$lt": flt.end}}
    if flt.door_id is not None:
        door = await find_by_id(
            db.devices, flt.door_id, {"_id": 1}, kind="DOOR", landlord_id=landlord_id
        )
        if door is None:
            raise NotFoundError("Door", field=["filter", "doorId"])
        query["door_id"] = flt.door_id
    if flt.property_id is not None:
        prop = await find_by_id(db.properties, flt.property_id, {"_id": 1}, landlord_id=landlord_id)
        if prop is None:
            raise NotFoundError("Property", field=["filter", "propertyId"])
        query["property_id"] = flt.property_id
    if flt.door_id is None and flt.property_id is None:
        query["landlord_id"] = landlord_id
    return query


def can_see_occupant(viewer: Viewer, occupant: Doc) -> bool:
    """Who a swiped card belonged to: the police always, a landlord only for their own
    occupants (a card of someone else's tenant tried on their door stays anonymous)."""
    if viewer.role is Role.POLICE:
        return True
    return viewer.role is Role.LANDLORD and occupant.get("landlord_id") == viewer.account_id
