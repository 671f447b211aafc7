"""Smoke alarms: raised from the gateway's smoke events, seen and handled by the people who
must act. One unresolved alarm per detector: repeats while it is unresolved add nothing.

The unresolved alarm of a detector is held by a lock document (`active_alarms`, _id = the
detector) inserted before the alarm: its unique _id makes two concurrent `smoke.alarm`
events raise one alarm, on FerretDB and MongoDB alike, with no transaction.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any

from bson import ObjectId
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from app.db import Doc
from app.errors import Code, Collector, NotFoundError, UserInputError
from app.services import gateway_events, locks
from app.services.clock import now
from app.services.notifications import notify
from app.validation import clean_text
from app.viewer import Role, Scope, Viewer

ACTIVE, ACKNOWLEDGED, RESOLVED = "ACTIVE", "ACKNOWLEDGED", "RESOLVED"
Notifier = Callable[..., Awaitable[Any]]


async def on_smoke_event(db: AsyncDatabase[Doc], detector: Doc, event: Doc) -> None:
    """Registered with the gateway webhook: smoke.alarm raises, smoke.cleared is noted."""
    if event["type"] == "smoke.alarm":
        level = str((event.get("data") or {}).get("level", "smoke"))
        await raise_alarm(
            db, detector, at=event["at"], level=level, event_id=event["_id"], notify=notify
        )
    elif event["type"] == "smoke.cleared":
        await note_cleared(db, detector, at=event["at"])


async def raise_alarm(
    db: AsyncDatabase[Doc],
    detector: Doc,
    *,
    at: dt.datetime,
    level: str,
    event_id: str | None = None,
    notify: Notifier = notify,
) -> Doc | None:
    """Raises the detector's alarm unless one is unresolved; returns the new alarm or None.

    Safe to run again for the same event (the webhook retries a failed delivery): the alarm
    is found by its lock, and the notifications carry keys, so nobody is told twice."""
    alarm_id = ObjectId()
    try:
        await db.active_alarms.insert_one({"_id": detector["_id"], "alarm_id": alarm_id})
    except DuplicateKeyError:
        lock = await db.active_alarms.find_one({"_id": detector["_id"]})
        existing = await db.alarms.find_one({"_id": lock["alarm_id"]}) if lock else None
        if existing is not None:
            if event_id is not None and existing.get("event_id") == event_id:
                await _notify_all(db, existing, detector, notify)  # a retried delivery
                return None
            async with locks.held(db, _lock_name(existing["_id"])):
                await db.alarms.update_one(
                    {"_id": existing["_id"]},
                    {"$set": {"last_signal_at": at}, "$inc": {"signals": 1}},
                )
            return None
        # a lock left by a crash between the two inserts: take it over (once)
        async with locks.held(db, f"active-alarm:{detector['_id']}"):
            taken = await db.active_alarms.find_one_and_update(
                {"_id": detector["_id"], "alarm_id": lock["alarm_id"] if lock else None},
                {"$set": {"alarm_id": alarm_id}},
            )
        if taken is None:
            return None
    created = now()
    alarm: Doc = {
        "_id": alarm_id,
        "detector_id": detector["_id"],
        "device_id": detector["device_id"],
        "room_id": detector["room_id"],
        "property_id": detector["property_id"],
        "landlord_id": detector["landlord_id"],
        "place": detector["place"],
        "level": level,
        "event_id": event_id,
        "raised_at": at,
        "created_at": created,
        "last_signal_at": at,
        "signals": 1,
        "status": ACTIVE,
        "cleared_at": None,
        "acknowledged_at": None,
        "acknowledged_by": None,
        "resolved_at": None,
        "resolved_by": None,
        "note": None,
    }
    await db.alarms.insert_one(alarm)
    await _notify_all(db, alarm, detector, notify)
    return alarm


async def _notify_all(db: AsyncDatabase[Doc], alarm: Doc, detector: Doc, notify: Notifier) -> None:
    room = await db.rooms.find_one({"_id": alarm["room_id"]}, {"number": 1})
    prop = await db.properties.find_one({"_id": alarm["property_id"]}, {"name": 1, "address": 1})
    where = f"{prop['name'] if prop else ''} {room['number'] if room else ''}".strip()
    body = (
        f"{where} ({prop['address'] if prop else ''}): smoke detector {detector['name']} "
        f"reports {alarm['level']} at {alarm['raised_at'].strftime('%H:%M:%S')} UTC."
    )
    for account_id in await recipients(db, alarm):
        await notify(
            db,
            account_id,
            "SMOKE_ALARM",
            f"火警 Smoke alarm: {where}",
            body,
            alarm_id=alarm["_id"],
            key=f"alarm:{alarm['_id']}:{account_id}",
        )


async def recipients(db: AsyncDatabase[Doc], alarm: Doc) -> list[ObjectId]:
    """The landlord, the tenant of the room's active lease, and every responder whose scope
    contains the property."""
    people: list[ObjectId] = [alarm["landlord_id"]]
    lease = await db.leases.find_one(
        {"room_id": alarm["room_id"], "status": "ACTIVE"}, {"tenant_id": 1}
    )
    if lease:
        people.append(lease["tenant_id"])
    town = alarm["place"].get("town")
    async for responder in db.accounts.find(
        {"role": Role.RESPONDER.value, "$or": [{"scope": None}, {"scope.town": town}]},
        {"scope": 1},
    ):
        scope = Scope(**(responder.get("scope") or {}))
        if scope.contains(alarm["place"]):
            people.append(responder["_id"])
    return list(dict.fromkeys(people))


async def note_cleared(db: AsyncDatabase[Doc], detector: Doc, *, at: dt.datetime) -> None:
    lock = await db.active_alarms.find_one({"_id": detector["_id"]})
    if lock:
        await db.alarms.update_one(
            {"_id": lock["alarm_id"], "cleared_at": None}, {"$set": {"cleared_at": at}}
        )


def visible_filter(viewer: Viewer) -> dict[str, Any]:
    """Which alarms the viewer sees: a landlord their own, police and responders their scope."""
    viewer.require(Role.LANDLORD, Role.RESPONDER, Role.POLICE)
    if viewer.role is Role.LANDLORD:
        return {"landlord_id": viewer.account_id}
    return viewer.scope.place_filter()


def can_see(viewer: Viewer, alarm: Doc) -> bool:
    if viewer.role is Role.LANDLORD:
        return bool(alarm["landlord_id"] == viewer.account_id)
    if viewer.role in (Role.RESPONDER, Role.POLICE):
        return viewer.scope.contains(alarm["place"])
    return False


def _lock_name(alarm_id: ObjectId) -> str:
    return f"alarm:{alarm_id}"


async def _handled(
    db: AsyncDatabase[Doc],
    viewer: Viewer,
    alarm_id: ObjectId,
    *,
    allowed_from: list[str],
    changes: dict[str, Any],
) -> Doc:
    """Moves the alarm on if its status allows: read, check and write under the alarm's lock,
    so of two people acting at once exactly one succeeds and a resolved alarm never goes
    back to acknowledged (FerretDB does not make a conditional update exclusive)."""
    account_id = viewer.require(Role.LANDLORD, Role.RESPONDER)
    async with locks.held(db, _lock_name(alarm_id)):
        alarm = await db.alarms.find_one({"_id": alarm_id})
        if alarm is None or not can_see(viewer, alarm):
            raise NotFoundError("Alarm", field=["alarmId"])
        if alarm["status"] not in allowed_from:
            raise UserInputError(
                f"The alarm is {alarm['status'].lower()}.",
                code=Code.INVALID_TRANSITION,
                field=["alarmId"],
            )
        stamp = now()
        filled = {
            k: (stamp if v == "now" else account_id if v == "me" else v) for k, v in changes.items()
        }
        # resolving an alarm never acknowledged counts as acknowledging it then
        if filled.get("status") == RESOLVED and alarm.get("acknowledged_at") is None:
            filled |= {"acknowledged_at": stamp, "acknowledged_by": account_id}
        await db.alarms.update_one({"_id": alarm_id}, {"$set": filled})
    return {**alarm, **filled}


async def acknowledge(db: AsyncDatabase[Doc], viewer: Viewer, alarm_id: ObjectId) -> Doc:
    return await _handled(
        db,
        viewer,
        alarm_id,
        allowed_from=[ACTIVE],
        changes={"status": ACKNOWLEDGED, "acknowledged_at": "now", "acknowledged_by": "me"},
    )


async def resolve(db: AsyncDatabase[Doc], viewer: Viewer, alarm_id: ObjectId, note: str) -> Doc:
    errors = Collector()
    clean = clean_text(errors, ["note"], note, max_len=500, multiline=True)
    errors.raise_if_any()
    alarm = await _handled(
        db,
        viewer,
        alarm_id,
        allowed_from=[ACTIVE, ACKNOWLEDGED],
        changes={"status": RESOLVED, "resolved_at": "now", "resolved_by": "me", "note": clean},
    )
    await db.active_alarms.delete_one({"_id": alarm["detector_id"], "alarm_id": alarm_id})
    return alarm


async def response_figures(
    db: AsyncDatabase[Doc], viewer: Viewer, since: dt.datetime
) -> list[dict[str, Any]]:
    """Per community: alarms, and the median and 90th percentile seconds to acknowledge and
    to resolve, over alarms raised since `since` in the responder's scope."""
    viewer.require(Role.RESPONDER, Role.POLICE)
    query = {**viewer.scope.place_filter(), "raised_at": {"$gte": since}}
    ack: dict[tuple[str, str], list[float]] = defaultdict(list)
    res: dict[tuple[str, str], list[float]] = defaultdict(list)
    counts: dict[tuple[str, str], int] = defaultdict(int)
    async for alarm in db.alarms.find(
        query, {"place": 1, "raised_at": 1, "acknowledged_at": 1, "resolved_at": 1}
    ):
        key = (alarm["place"]["town"], alarm["place"]["community"])
        counts[key] += 1
        if alarm.get("acknowledged_at"):
            ack[key].append((alarm["acknowledged_at"] - alarm["raised_at"]).total_seconds())
        if alarm.get("resolved_at"):
            res[key].append((alarm["resolved_at"] - alarm["raised_at"]).total_seconds())

    def p(values: list[float], q: float) -> float | None:
        if not values:
            return None
        if len(values) == 1:
            return values[0]
        return statistics.quantiles(values, n=100, method="inclusive")[int(q * 100) - 1]

    return [
        {
            "town": town,
            "community": community,
            "alarms": counts[(town, community)],
            "acknowledged": len(ack[(town, community)]),
            "resolved": len(res[(town, community)]),
            "median_ack_s": p(ack[(town, community)], 0.5),
            "p90_ack_s": p(ack[(town, community)], 0.9),
            "median_resolve_s": p(res[(town, community)], 0.5),
            "p90_resolve_s": p(res[(town, community)], 0.9),
        }
        for town, community in sorted(counts)
    ]


gateway_events.SMOKE_EVENT_HOOKS.append(on_smoke_event)
