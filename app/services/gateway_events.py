"""Events from the device gateway (POST /webhooks/gateway, ../shared/DEVICES.md): parsed
strictly, stored once per eventId, then applied.

Exactly once, with no transaction: the event is inserted first into `gateway_events` with
_id = eventId (unique), carrying a claim (`claimed_at`) and `processed_at` null; it is applied;
only then is `processed_at` set. A delivery whose eventId is already processed is answered
at once without touching anything. One that finds it unprocessed was an earlier delivery
that failed (its claim was released) or crashed (its claim is older than CLAIM_TIMEOUT): it
takes the claim over and applies the event again. Every effect is idempotent for a re-run
(the access event's _id is fixed at the first insert, door commands move to OPENED once,
device updates are conditional on `at`), so applying twice changes nothing twice.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from bson import ObjectId
from bson.errors import InvalidId
from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from app.db import Doc, find_by_id
from app.services import doors, locks
from app.services.clock import now

log = logging.getLogger("anju.gateway_events")

MAX_EVENT_BYTES = 16 * 1024
CLAIM_TIMEOUT = dt.timedelta(seconds=30)
MAX_FUTURE = dt.timedelta(hours=1)  # a clock that far ahead is not a clock we trust
SMOKE_LEVELS = frozenset({"smoke", "heat", "test"})
_EVENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")
_DEVICE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
_CARD_NUMBER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")

# The fields each type's `data` holds, exactly.
DATA_FIELDS: dict[str, frozenset[str]] = {
    "door.card": frozenset({"cardNumber", "granted"}),
    "door.opened": frozenset({"commandId"}),
    "smoke.alarm": frozenset({"level"}),
    "smoke.cleared": frozenset(),
    "device.online": frozenset(),
    "device.offline": frozenset(),
}
EVENT_FIELDS = frozenset({"eventId", "type", "deviceId", "at", "data"})

# Called as `await hook(db, detector, event)` after a smoke.alarm or smoke.cleared event of a
# registered detector is stored: `detector` is its devices document, `event` the stored
# gateway_events document (type, at, data.level, room_id, property_id...). A hook that
# raises makes the delivery fail (HTTP 500) and the gateway's retry runs it again, so hooks
# must be idempotent. The alarms domain registers here.
SmokeHook = Callable[[AsyncDatabase[Doc], Doc, Doc], Awaitable[Any]]
SMOKE_EVENT_HOOKS: list[SmokeHook] = []


class MalformedEvent(ValueError):
    """The body is not a gateway event as the protocol defines it (HTTP 400)."""


@dataclass(frozen=True)
class GatewayEvent:
    event_id: str
    type: str
    device_id: str
    at: dt.datetime
    data: dict[str, Any]


def _reject_constant(name: str) -> Any:
    raise MalformedEvent(f"{name} is not JSON")


def parse_event(raw: bytes) -> GatewayEvent:
    """A gateway event from its raw body, or MalformedEvent saying what is wrong."""
    if len(raw) > MAX_EVENT_BYTES:
        raise MalformedEvent("the body is too large")
    try:
        body = json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedEvent("the body is not JSON") from exc
    if not isinstance(body, dict):
        raise MalformedEvent("the body must be a JSON object")
    if set(body) != EVENT_FIELDS:
        raise MalformedEvent("the body must have exactly eventId, type, deviceId, at and data")
    event_id, kind, device_id = body["eventId"], body["type"], body["deviceId"]
    at, data = body["at"], body["data"]
    if not isinstance(event_id, str) or not _EVENT_ID.match(event_id):
        raise MalformedEvent("eventId must be a short id")
    if not isinstance(kind, str) or kind not in DATA_FIELDS:
        raise MalformedEvent("unknown event type")
    if not isinstance(device_id, str) or not _DEVICE_ID.match(device_id):
        raise MalformedEvent("deviceId must be a device id")
    when = _parse_at(at)
    if not isinstance(data, dict) or set(data) != DATA_FIELDS[kind]:
        raise MalformedEvent(f"data of {kind} must have exactly {sorted(DATA_FIELDS[kind])}")
    _check_data(kind, data)
    return GatewayEvent(event_id, kind, device_id, when, data)


def _parse_at(value: object) -> dt.datetime:
    if not isinstance(value, str) or len(value) > 40:
        raise MalformedEvent("at must be an ISO-8601 time")
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise MalformedEvent("at must be an ISO-8601 time") from exc
    if parsed.tzinfo is None:
        raise MalformedEvent("at needs a time zone")
    parsed = parsed.astimezone(dt.UTC)
    parsed = parsed.replace(microsecond=parsed.microsecond // 1000 * 1000)
    if parsed > now() + MAX_FUTURE:
        raise MalformedEvent("at is in the future")
    return parsed


def _check_data(kind: str, data: dict[str, Any]) -> None:
    if kind == "door.card":
        number = data["cardNumber"]
        if not isinstance(number, str) or not _CARD_NUMBER.match(number):
            raise MalformedEvent("cardNumber must be a card number")
        if not isinstance(data["granted"], bool):
            raise MalformedEvent("granted must be true or false")
    elif kind == "door.opened":
        command = data["commandId"]
        if command is not None and (not isinstance(command, str) or not 0 < len(command) <= 64):
            raise MalformedEvent("commandId must be a string or null")
    elif kind == "smoke.alarm" and data["level"] not in SMOKE_LEVELS:
        raise MalformedEvent("level must be smoke, heat or test")


# --- exactly once ---------------------------------------------------------------------------

PROCESSED, DUPLICATE, BUSY = "processed", "duplicate", "busy"


async def ingest(db: AsyncDatabase[Doc], event: GatewayEvent) -> str:
    """Stores and applies an event once: PROCESSED, DUPLICATE (already done: nothing
    changed), or BUSY (another delivery of it is being applied right now: retry later)."""
    t = now()
    doc: Doc = {
        "_id": event.event_id,
        "type": event.type,
        "device_id": event.device_id,
        "at": event.at,
        "data": event.data,
        "received_at": t,
        "claimed_at": t,
        "processed_at": None,
        "attempts": 1,
        # the _id of the access event this event writes, fixed now so that a re-run
        # after a failure writes the same one
        "effect_id": ObjectId(),
    }
    try:
        await db.gateway_events.insert_one(doc)
    except DuplicateKeyError:
        existing = await db.gateway_events.find_one({"_id": event.event_id}, {"processed_at": 1})
        if existing is None or existing.get("processed_at") is not None:
            return DUPLICATE
        # the event's lock makes the claim exclusive on FerretDB too (locks.py)
        async with locks.held(db, f"gateway-event:{event.event_id}"):
            taken = await db.gateway_events.find_one_and_update(
                {
                    "_id": event.event_id,
                    "processed_at": None,
                    "$or": [{"claimed_at": None}, {"claimed_at": {"$lte": t - CLAIM_TIMEOUT}}],
                },
                {"$set": {"claimed_at": t}, "$inc": {"attempts": 1}},
                return_document=ReturnDocument.AFTER,
            )
        if taken is None:
            return BUSY
        doc = taken
    try:
        await apply(db, doc)
    except Exception:
        # release the claim so that the gateway's retry applies the event again at once (if
        # even this fails, the claim goes stale after CLAIM_TIMEOUT)
        with contextlib.suppress(Exception):
            await db.gateway_events.update_one({"_id": doc["_id"]}, {"$set": {"claimed_at": None}})
        raise
    await db.gateway_events.update_one(
        {"_id": doc["_id"]}, {"$set": {"processed_at": now(), "claimed_at": None}}
    )
    return PROCESSED


async def apply(db: AsyncDatabase[Doc], event: Doc) -> None:
    """The effects of one stored event. Unknown devices (and events that do not fit the
    device's kind) change nothing: the event stays stored for the record."""
    device = await db.devices.find_one({"device_id": event["device_id"]})
    if device is None:
        return
    link = {
        "device": device["_id"],
        "kind": device["kind"],
        "property_id": device["property_id"],
        "room_id": device.get("room_id"),
        "landlord_id": device["landlord_id"],
        "place": device.get("place"),
    }
    await db.gateway_events.update_one({"_id": event["_id"]}, {"$set": link})
    event = {**event, **link}
    kind, at = event["type"], event["at"]
    if kind in {"device.online", "device.offline"}:
        await _set_online(db, device, online=kind == "device.online", at=at)
    elif kind == "door.card" and device["kind"] == "DOOR":
        await _card_swiped(db, device, event)
    elif kind == "door.opened" and device["kind"] == "DOOR":
        await _door_opened(db, device, event)
    elif kind in {"smoke.alarm", "smoke.cleared"} and device["kind"] == "SMOKE_DETECTOR":
        if kind == "smoke.alarm":
            await db.devices.update_one({"_id": device["_id"]}, {"$max": {"last_alarm_at": at}})
        for hook in SMOKE_EVENT_HOOKS:
            await hook(db, device, event)


async def _set_online(
    db: AsyncDatabase[Doc], device: Doc, *, online: bool, at: dt.datetime
) -> None:
    """Applies the newest state only: an event older than the last applied one (by the
    gateway's `at`) arrived late and is ignored."""
    await db.devices.update_one(
        {
            "_id": device["_id"],
            "$or": [{"online_changed_at": None}, {"online_changed_at": {"$lte": at}}],
        },
        {"$set": {"online": online, "online_changed_at": at}},
    )


async def _card_swiped(db: AsyncDatabase[Doc], door: Doc, event: Doc) -> None:
    number = event["data"]["cardNumber"]
    occupant = await db.occupants.find_one(
        {"card.card_number": number}, {"_id": 1, "tenant_id": 1, "landlord_id": 1}
    )
    await doors.record_access(
        db,
        door=door,
        at=event["at"],
        method=doors.CARD,
        granted=event["data"]["granted"],
        card_number=number,
        occupant=occupant,
        event_id=event["_id"],
        access_id=event["effect_id"],
    )


async def _door_opened(db: AsyncDatabase[Doc], door: Doc, event: Doc) -> None:
    await db.devices.update_one({"_id": door["_id"]}, {"$max": {"last_event_at": event["at"]}})
    raw = event["data"].get("commandId")
    if raw is None:
        return  # a key or the button inside: nothing of ours to confirm
    try:
        command_id = ObjectId(raw)
    except (InvalidId, TypeError):
        return
    command = await find_by_id(db.door_commands, command_id, {"_id": 1}, door_id=door["_id"])
    if command is not None:
        await doors.mark_opened(db, command_id, event["at"])
