"""Doors: remote opening (who may, the per-account rate limit, the command record and its
truthful outcome). The log of who passed is app/services/access_events.py.

A landlord's opening of an occupied room's door is the tenant's to know: the moment it
opens (whoever moves the command to OPENED), the tenant of the room's accepted, running lease
is told (DOOR_OPENED_BY_LANDLORD), with the landlord's reason if they gave one.

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
import time
from typing import Any

from bson import ObjectId
from pymongo import ReturnDocument

from app import metrics
from app.clients.gateway import DeviceOffline, GatewayClient, GatewayError, GatewayTimeout
from app.clock import now, today
from app.deps import Deps
from app.errors import Code, Collector, NotFoundError, UserInputError
from app.services import access_events, audit, notifications
from app.services.notifications import local_time
from app.settings import Settings
from app.store import Doc, Store
from app.validation import clean_text
from app.viewer import Role, Viewer

log = logging.getLogger("anju.doors")

MAX_REASON = 200

PENDING, OPENED, FAILED, DEVICE_OFFLINE, TIMED_OUT = (
    "PENDING",
    "OPENED",
    "FAILED",
    "DEVICE_OFFLINE",
    "TIMED_OUT",
)


# --- who may open a door --------------------------------------------------------------------


async def active_lease_for_door(store: Store, tenant_id: ObjectId, door: Doc) -> Doc | None:
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
    return await store.leases.find_one(query, {"_id": 1})


async def openable_door(store: Store, viewer: Viewer, door_id: ObjectId) -> Doc:
    """The door if the viewer may open it: its landlord, or the tenant of an active lease
    there. Anyone else gets NOT_FOUND, exactly as for a door that does not exist."""
    account_id = viewer.require(Role.LANDLORD, Role.TENANT)
    door = await store.find_by_id("devices", door_id, kind="DOOR")
    if door is not None and door.get("removed_at") is None:
        if viewer.role is Role.LANDLORD and door["landlord_id"] == account_id:
            return door
        if viewer.role is Role.TENANT and await active_lease_for_door(store, account_id, door):
            return door
    raise NotFoundError("Door", field=["doorId"])


# --- rate limit -----------------------------------------------------------------------------


async def check_rate(store: Store, account_id: ObjectId, settings: Settings) -> None:
    """At most `door_rate_limit` attempts per account in any `door_rate_window_s` seconds,
    across every worker: each attempt inserts a mark, then counts the account's marks in the
    window. Concurrent attempts see each other's marks, so the limit is never exceeded (at
    worst both are refused at the edge). A refused attempt takes its mark back, so a user
    who keeps tapping is let in again once the window has passed. Marks that left the window
    count for nothing and expire (a TTL index on `expires_at`)."""
    at = now()
    window = dt.timedelta(seconds=settings.door_rate_window_s)
    mark = {"_id": ObjectId(), "account_id": account_id, "at": at, "expires_at": at + window}
    await store.door_rate.insert_one(mark)
    since = at - window
    count = await store.door_rate.count_documents({"account_id": account_id, "at": {"$gt": since}})
    if count > settings.door_rate_limit:
        await store.door_rate.delete_one({"_id": mark["_id"]})
        raise UserInputError(
            "Too many door openings; wait a minute and try again.", code=Code.RATE_LIMITED
        )


# --- opening --------------------------------------------------------------------------------


async def open_door(
    deps: Deps, viewer: Viewer, door_id: ObjectId, reason: str | None = None
) -> Doc:
    """Sends one open command and returns its record, with the outcome the gateway gave
    within `gateway_timeout_s`. `reason` goes to the tenant a landlord's opening is told to."""
    account_id = viewer.require(Role.LANDLORD, Role.TENANT)
    errors = Collector()
    clean_reason = clean_text(errors, ["reason"], reason, max_len=MAX_REASON, required=False)
    errors.raise_if_any()
    store = deps.store
    await check_rate(store, account_id, deps.settings)
    door = await openable_door(store, viewer, door_id)
    command: Doc = {
        "_id": ObjectId(),
        "door_id": door["_id"],
        "device_id": door["device_id"],
        "door_name": door.get("name"),
        "property_id": door["property_id"],
        "room_id": door.get("room_id"),
        "landlord_id": door["landlord_id"],
        "place": door.get("place"),
        "account_id": account_id,
        "role": viewer.role.value if viewer.role else None,
        "reason": clean_reason or None,
        "status": PENDING,
        "requested_at": now(),
        "completed_at": None,
    }
    await store.door_commands.insert_one(command)
    started = time.perf_counter()
    status, error = await _send_open(
        deps.gateway, deps.settings, door["device_id"], str(command["_id"])
    )
    metrics.door_command(status, time.perf_counter() - started)
    final: Doc | None
    if status == OPENED:
        final = await mark_opened(store, command["_id"], now())
    else:
        done: dict[str, Any] = {"status": status, "error": error}
        # A timeout completed nothing that we know of: completed_at stays null.
        if status == TIMED_OUT:
            done["gave_up_at"] = now()
        else:
            done["completed_at"] = now()
        # conditional: a door.opened event that beat us here has already said OPENED
        async with store.exclusive(_guard(command["_id"])):
            final = await store.door_commands.find_one_and_update(
                {"_id": command["_id"], "status": PENDING},
                {"$set": done},
                return_document=ReturnDocument.AFTER,
            )
        if final is not None:  # attempts that did not open are audited too
            await audit.record(
                store,
                account_id,
                "door.open",
                target=("Door", door["_id"]),
                details={"commandId": str(command["_id"]), "status": status},
            )
    if final is None:  # the door's own confirmation got there first
        final = await store.door_commands.find_one({"_id": command["_id"]})
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


def _guard(command_id: ObjectId) -> str:
    return f"door-command:{command_id}"


async def mark_opened(
    store: Store, command_id: ObjectId, at: dt.datetime, *, answering: bool = True
) -> Doc | None:
    """Moves a command to OPENED (from any other state: the door did open) and, if this call
    made the move, logs the opening (an access event, REMOTE, and an audit entry) and returns
    the command; None if it was already OPENED. The move is one conditional update (the
    gateway's answer and its door.opened event arrive together: exactly one moves it).
    `answering`: a caller waits to read the opening (openDoor), so a call that lost the move
    writes the event too; the door.opened webhook, answering nobody, just stops."""
    async with store.exclusive(_guard(command_id)):
        command = await store.door_commands.find_one_and_update(
            {"_id": command_id, "status": {"$ne": OPENED}},
            {"$set": {"status": OPENED, "completed_at": at, "error": None}},
            return_document=ReturnDocument.AFTER,
        )
    first = command is not None
    if command is None:
        if not answering:
            return None
        # the other of the two moved it: its logging may still be under way, and whoever
        # asked must read the opening once answered; the event and the tenant's notice are
        # idempotent (the event's id is the command's), so write them too
        command = await store.door_commands.find_one({"_id": command_id, "status": OPENED})
        if command is None:
            return None
    await access_events.record(
        store,
        door={
            "_id": command["door_id"],
            "device_id": command["device_id"],
            "property_id": command["property_id"],
            "room_id": command.get("room_id"),
            "landlord_id": command["landlord_id"],
            "place": command.get("place"),
        },
        at=at,
        method=access_events.REMOTE,
        granted=True,
        opened_by=command["account_id"],
        command_id=command["_id"],
        access_id=command["_id"],
    )
    if first:
        await audit.record(
            store,
            command["account_id"],
            "door.open",
            target=("Door", command["door_id"]),
            details={"commandId": str(command["_id"]), "status": OPENED},
        )
    if command.get("role") == Role.LANDLORD.value and command.get("room_id") is not None:
        await _tell_tenant(store, command, at)
    return command if first else None


async def _tell_tenant(store: Store, command: Doc, at: dt.datetime) -> None:
    """DOOR_OPENED_BY_LANDLORD to the tenant living behind the door, once per opening."""
    day = at.date().isoformat()
    lease = await store.leases.find_one(
        {"room_id": command["room_id"], "status": "ACTIVE"},
        {"tenant_id": 1, "start_date": 1, "end_date": 1},
    )
    if lease is None or lease.get("tenant_id") is None:
        return  # nobody lives there, or nobody has accepted the lease yet
    if not lease["start_date"] <= day <= lease["end_date"]:
        return
    name = command.get("door_name")
    if name is None:  # a command from before commands carried their door's name
        door = await store.devices.find_one({"_id": command["door_id"]}, {"name": 1})
        name = door["name"] if door else None
    name = name or "your door"
    reason = f" Reason given: {command['reason']}" if command.get("reason") else ""
    await notifications.notify(
        store,
        lease["tenant_id"],
        "DOOR_OPENED_BY_LANDLORD",
        "房东远程开门 Your landlord opened your door",
        f"{name} was opened remotely by your landlord at {local_time(at)}.{reason}",
        lease_id=lease["_id"],
        key=f"DOOR_OPENED_BY_LANDLORD:{command['_id']}",
    )
