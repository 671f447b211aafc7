"""Smoke alarms: raised from the gateway's smoke events, seen and handled by the people who
must act. One open (unresolved) alarm per detector: a rule of the store
(`UniqueWhile("one_open_per_detector")`), kept by the insert that raises it, so two
concurrent `smoke.alarm` events raise one alarm and repeats while it is open add a signal.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from bson import ObjectId
from pymongo import ReturnDocument

from app.clock import now
from app.deps import Deps
from app.errors import Code, Collector, NotFoundError, UserInputError
from app.services.notifications import notify
from app.services.sessions import while_valid
from app.store import Doc, Page, Store
from app.validation import clean_text
from app.viewer import Role, Scope, Viewer

ACTIVE, ACKNOWLEDGED, RESOLVED = "ACTIVE", "ACKNOWLEDGED", "RESOLVED"
ALARM_ORDER = [("raised_at", -1), ("_id", -1)]
MAX_FIGURE_DAYS = 366
Notifier = Callable[..., Awaitable[Any]]


async def on_smoke_event(store: Store, detector: Doc, event: Doc) -> None:
    """From the gateway's webhook: smoke.alarm raises, smoke.cleared is noted. Idempotent:
    a failed delivery is retried by the gateway."""
    if event["type"] == "smoke.alarm":
        level = str((event.get("data") or {}).get("level", "smoke"))
        await raise_alarm(
            store, detector, at=event["at"], level=level, event_id=event["_id"], notify=notify
        )
    elif event["type"] == "smoke.cleared":
        await note_cleared(store, detector, at=event["at"])


async def raise_alarm(
    store: Store,
    detector: Doc,
    *,
    at: dt.datetime,
    level: str,
    event_id: str | None = None,
    notify: Notifier = notify,
) -> Doc | None:
    """Raises the detector's alarm unless one is open; returns the new alarm or None.

    Safe to run again for the same event (the webhook retries a failed delivery): the open
    alarm is found, and the notifications carry keys, so nobody is told twice."""
    created = now()
    alarm: Doc = {
        "_id": ObjectId(),
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
        "open": True,
        "cleared_at": None,
        "acknowledged_at": None,
        "acknowledged_by": None,
        "resolved_at": None,
        "resolved_by": None,
        "note": None,
    }
    if not await store.insert_once("alarms", alarm):
        existing = await store.alarms.find_one({"detector_id": detector["_id"], "open": True})
        if existing is None:
            return None  # resolved meanwhile: the next signal raises a new one
        if event_id is not None and existing.get("event_id") == event_id:
            await _notify_all(store, existing, detector, notify)  # a retried delivery
            return None
        async with store.exclusive(_guard(existing["_id"])):
            await store.alarms.update_one(
                {"_id": existing["_id"]},
                {"$set": {"last_signal_at": at}, "$inc": {"signals": 1}},
            )
        return None
    await _notify_all(store, alarm, detector, notify)
    return alarm


async def _notify_all(store: Store, alarm: Doc, detector: Doc, notify: Notifier) -> None:
    room = await store.rooms.find_one({"_id": alarm["room_id"]}, {"number": 1})
    prop = await store.properties.find_one({"_id": alarm["property_id"]}, {"name": 1, "address": 1})
    where = f"{prop['name'] if prop else ''} {room['number'] if room else ''}".strip()
    body = (
        f"{where} ({prop['address'] if prop else ''}): smoke detector {detector['name']} "
        f"reports {alarm['level']} at {alarm['raised_at'].strftime('%H:%M:%S')} UTC."
    )
    for account_id in await recipients(store, alarm):
        await notify(
            store,
            account_id,
            "SMOKE_ALARM",
            f"火警 Smoke alarm: {where}",
            body,
            alarm_id=alarm["_id"],
            key=f"alarm:{alarm['_id']}:{account_id}",
        )


async def recipients(store: Store, alarm: Doc) -> list[ObjectId]:
    """The landlord, the tenant of the room's active lease, and every responder whose scope
    contains the property."""
    people: list[ObjectId] = [alarm["landlord_id"]]
    lease = await store.leases.find_one(
        {"room_id": alarm["room_id"], "status": "ACTIVE"}, {"tenant_id": 1}
    )
    if lease and lease.get("tenant_id") is not None:  # once a tenant has accepted it
        people.append(lease["tenant_id"])
    town = alarm["place"].get("town")
    async for responder in store.accounts.find(
        {"role": Role.RESPONDER.value, "$or": [{"scope": None}, {"scope.town": town}]},
        {"scope": 1},
    ):
        scope = Scope(**(responder.get("scope") or {}))
        if scope.contains(alarm["place"]):
            people.append(responder["_id"])
    return list(dict.fromkeys(people))


async def note_cleared(store: Store, detector: Doc, *, at: dt.datetime) -> None:
    alarm = await store.alarms.find_one({"detector_id": detector["_id"], "open": True})
    if alarm:
        async with store.exclusive(_guard(alarm["_id"])):
            await store.alarms.update_one(
                {"_id": alarm["_id"], "cleared_at": None}, {"$set": {"cleared_at": at}}
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


def _guard(alarm_id: ObjectId) -> str:
    return f"alarm:{alarm_id}"


async def _handled(
    store: Store,
    viewer: Viewer,
    alarm_id: ObjectId,
    *,
    allowed_from: list[str],
    changes: dict[str, Any],
) -> Doc:
    """Moves the alarm on if its status allows, by one conditional update: of two people
    acting at once exactly one succeeds, and a resolved alarm never goes back to
    acknowledged."""
    account_id = viewer.require(Role.LANDLORD, Role.RESPONDER)
    async with store.exclusive(_guard(alarm_id)):
        alarm = await store.alarms.find_one({"_id": alarm_id})
        if alarm is None or not can_see(viewer, alarm):
            raise NotFoundError("Alarm", field=["alarmId"])
        stamp = now()
        filled = {
            k: (stamp if v == "now" else account_id if v == "me" else v) for k, v in changes.items()
        }
        # resolving an alarm never acknowledged counts as acknowledging it then
        if filled.get("status") == RESOLVED and alarm.get("acknowledged_at") is None:
            filled |= {"acknowledged_at": stamp, "acknowledged_by": account_id}
        moved = await store.alarms.find_one_and_update(
            {"_id": alarm_id, "status": {"$in": allowed_from}},
            {"$set": filled},
            return_document=ReturnDocument.AFTER,
        )
    if moved is None:
        current = await store.alarms.find_one({"_id": alarm_id}, {"status": 1})
        status = current["status"] if current else alarm["status"]
        raise UserInputError(
            f"The alarm is {status.lower()}.", code=Code.INVALID_TRANSITION, field=["alarmId"]
        )
    return moved


async def acknowledge(deps: Deps, viewer: Viewer, alarm_id: ObjectId) -> Doc:
    return await _handled(
        deps.store,
        viewer,
        alarm_id,
        allowed_from=[ACTIVE],
        changes={"status": ACKNOWLEDGED, "acknowledged_at": "now", "acknowledged_by": "me"},
    )


async def resolve(deps: Deps, viewer: Viewer, alarm_id: ObjectId, note: str) -> Doc:
    errors = Collector()
    clean = clean_text(errors, ["note"], note, max_len=500, multiline=True)
    errors.raise_if_any()
    return await _handled(
        deps.store,
        viewer,
        alarm_id,
        allowed_from=[ACTIVE, ACKNOWLEDGED],
        changes={
            "status": RESOLVED,
            "open": False,
            "resolved_at": "now",
            "resolved_by": "me",
            "note": clean,
        },
    )


async def alarms(
    deps: Deps, viewer: Viewer, status: str | None, *, first: int | None, after: str | None
) -> Page:
    """LANDLORD (own properties), RESPONDER and POLICE (their scope), newest first."""
    query = visible_filter(viewer)
    if status is not None:
        query["status"] = status
    return await deps.store.page(
        "alarms", query, ALARM_ORDER, first=first, after=after, with_total=True
    )


async def watch_raised(deps: Deps, viewer: Viewer) -> AsyncIterator[Doc]:
    """Alarms raised from now on that the viewer may see (the subscription), until the
    viewer's token expires or its session ends."""
    visible_filter(viewer)  # refuses other roles before anything is watched
    raised = deps.live.watch("alarms", lambda d: can_see(viewer, d))
    async for doc in while_valid(deps, viewer, raised):
        yield doc


async def response_figures(deps: Deps, viewer: Viewer, days: int) -> list[dict[str, Any]]:
    """Per community: alarms, and the median and 90th percentile seconds to acknowledge and
    to resolve, over alarms raised in the last `days` days (1 to a year) in the caller's
    scope."""
    viewer.require(Role.RESPONDER, Role.POLICE)
    since = now() - dt.timedelta(days=max(1, min(days, MAX_FIGURE_DAYS)))
    query = {**viewer.scope.place_filter(), "raised_at": {"$gte": since}}
    ack: dict[tuple[str, str], list[float]] = defaultdict(list)
    res: dict[tuple[str, str], list[float]] = defaultdict(list)
    counts: dict[tuple[str, str], int] = defaultdict(int)
    async for alarm in deps.store.alarms.find(
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
