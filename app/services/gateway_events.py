"""Events from the device gateway (POST /webhooks/gateway, ../shared/DEVICES.md): parsed
strictly, stored once per eventId, then applied.

Exactly once, with no transaction: the event is inserted first into `gateway_events` with
_id = eventId (unique) and `processed_at` null; it is applied; only then is `processed_at`
set. A delivery whose eventId is already processed is answered at once without touching
anything. One that finds it unprocessed (an earlier delivery failed or crashed, or is still
at work) applies it again: every effect is idempotent for a re-run, even a concurrent one
(the access event's _id is fixed at the first insert, door commands move to OPENED once by a
conditional update, an alarm is raised once by a unique rule, device updates are conditional
on `at`), so applying twice changes nothing twice. No claim is needed, and none is taken: on
FerretDB each would cost two more writes per door event.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from dataclasses import dataclass
from typing import Any

from bson import ObjectId
from bson.errors import InvalidId

from app.clock import now
from app.services import access_events, alarms, doors, safety_checks
from app.store import Doc, Store

log = logging.getLogger("anju.gateway_events")

MAX_EVENT_BYTES = 16 * 1024
MAX_FUTURE = dt.timedelta(hours=1)  # a clock that far ahead is not a clock we trust
SMOKE_LEVELS = frozenset({"smoke", "heat", "test"})
_EVENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")
_DEVICE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
_CARD_NUMBER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")

# The fields each type's `data` holds, exactly.
DATA_FIELDS: dict[str, frozenset[str]] = {
    "door.card": frozenset({"cardNumber", "granted"}),
    "door.opened": frozenset({"commandId"}),
    "door.code": frozenset({"codeId", "granted"}),
    "smoke.alarm": frozenset({"level"}),
    "smoke.cleared": frozenset(),
    "device.online": frozenset(),
    "device.offline": frozenset(),
}
EVENT_FIELDS = frozenset({"eventId", "type", "deviceId", "at", "data"})


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
    elif kind == "door.code":
        code_id = data["codeId"]
        if code_id is not None and not (isinstance(code_id, str) and _CARD_NUMBER.match(code_id)):
            raise MalformedEvent("codeId must be a code id or null")
        if not isinstance(data["granted"], bool):
            raise MalformedEvent("granted must be true or false")
    elif kind == "door.opened":
        command = data["commandId"]
        if command is not None and (not isinstance(command, str) or not 0 < len(command) <= 64):
            raise MalformedEvent("commandId must be a string or null")
    elif kind == "smoke.alarm" and data["level"] not in SMOKE_LEVELS:
        raise MalformedEvent("level must be smoke, heat or test")


# --- exactly once ---------------------------------------------------------------------------

PROCESSED, DUPLICATE = "processed", "duplicate"


async def ingest(store: Store, event: GatewayEvent) -> str:
    """Stores and applies an event once: PROCESSED, or DUPLICATE (already done: nothing
    changed)."""
    doc: Doc = {
        "_id": event.event_id,
        "type": event.type,
        "device_id": event.device_id,
        "at": event.at,
        "data": event.data,
        "received_at": now(),
        "processed_at": None,
        "attempts": 1,  # deliveries that applied it, failed ones included
        # the _id of the access event this event writes, fixed now so that a re-run after
        # a failure writes the same one
        "effect_id": ObjectId(),
    }
    if not await store.insert_once("gateway_events", doc):
        existing = await store.gateway_events.find_one_and_update(
            {"_id": event.event_id, "processed_at": None}, {"$inc": {"attempts": 1}}
        )
        if existing is None:
            return DUPLICATE
        doc = existing
    await apply(store, doc)
    await store.gateway_events.update_one({"_id": doc["_id"]}, {"$set": {"processed_at": now()}})
    return PROCESSED


async def apply(store: Store, event: Doc) -> None:
    """The effects of one stored event. Unknown devices (and events that do not fit the
    device's kind) change nothing: the event stays stored for the record."""
    device = await store.devices.find_one({"device_id": event["device_id"]})
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
    await store.gateway_events.update_one({"_id": event["_id"]}, {"$set": link})
    event = {**event, **link}
    kind, at = event["type"], event["at"]
    if kind in {"device.online", "device.offline"}:
        await _set_online(store, device, online=kind == "device.online", at=at)
    elif kind == "door.card" and device["kind"] == "DOOR":
        await _card_swiped(store, device, event)
    elif kind == "door.opened" and device["kind"] == "DOOR":
        await _door_opened(store, device, event)
    elif kind == "door.code" and device["kind"] == "DOOR":
        await _code_typed(store, device, event)
    elif kind in {"smoke.alarm", "smoke.cleared"} and device["kind"] == "SMOKE_DETECTOR":
        if kind == "smoke.alarm":
            await store.devices.update_one({"_id": device["_id"]}, {"$max": {"last_alarm_at": at}})
        await alarms.on_smoke_event(store, device, event)


async def _set_online(store: Store, device: Doc, *, online: bool, at: dt.datetime) -> None:
    """Applies the newest state only: an event older than the last applied one (by the
    gateway's `at`) arrived late and is ignored."""
    await store.devices.update_one(
        {
            "_id": device["_id"],
            "$or": [{"online_changed_at": None}, {"online_changed_at": {"$lte": at}}],
        },
        {"$set": {"online": online, "online_changed_at": at}},
    )
    if device["kind"] == "SMOKE_DETECTOR":
        await safety_checks.mark(store, device["property_id"])


async def _card_swiped(store: Store, door: Doc, event: Doc) -> None:
    number = event["data"]["cardNumber"]
    occupant = await store.occupants.find_one(
        {"card.card_number": number}, {"_id": 1, "tenant_id": 1, "landlord_id": 1}
    )
    await access_events.record(
        store,
        door=door,
        at=event["at"],
        method=access_events.CARD,
        granted=event["data"]["granted"],
        card_number=number,
        occupant=occupant,
        event_id=event["_id"],
        access_id=event["effect_id"],
    )


async def _code_typed(store: Store, door: Doc, event: Doc) -> None:
    """A code typed on the keypad: a CODE access event, linked to the visitor pass whose code
    it was (the codeId is the pass's id; null when no code matched)."""
    visitor_pass = None
    raw = event["data"].get("codeId")
    if raw is not None and ObjectId.is_valid(raw):
        visitor_pass = await store.find_by_id(
            "visitor_passes",
            ObjectId(raw),
            {"room_id": 1, "issued_by": 1},
            property_id=door["property_id"],
        )
    await access_events.record(
        store,
        door=door,
        at=event["at"],
        method=access_events.CODE,
        granted=event["data"]["granted"],
        visitor_pass=visitor_pass,
        event_id=event["_id"],
        access_id=event["effect_id"],
    )


async def _door_opened(store: Store, door: Doc, event: Doc) -> None:
    """A remote opening of ours is confirmed (mark_opened writes its access event, which moves
    the door's latest events); any other opening (a key, the button inside, a command not
    ours) only moves `last_event_at`. One write to the door either way: on FerretDB v1 two
    updates of one document at once may lose one (its updates rewrite the whole document)."""
    command = None
    raw = event["data"].get("commandId")
    if raw is not None:
        try:
            command_id = ObjectId(raw)
        except (InvalidId, TypeError):
            command_id = None
        if command_id is not None:
            command = await store.find_by_id(
                "door_commands", command_id, {"status": 1}, door_id=door["_id"]
            )
    if command is not None:
        # ours: whoever moves it to OPENED logs it (the gateway's answer, usually)
        if command.get("status") != doors.OPENED:
            await doors.mark_opened(store, command["_id"], event["at"], answering=False)
        return
    await store.devices.update_one({"_id": door["_id"]}, {"$max": {"last_event_at": event["at"]}})
