"""Fire-safety figures of a town, community or grid (表格化管理: one row of the town's table),
for responders and police.

Every figure is an indexed count or a short indexed read, never a scan of the hazards:
hazards and inspections carry `scope_keys` (one equality whatever the scope's level), devices
and alarms their place (an equality prefix of their index). Of a period (`from` to `to`,
whole days of the city, UTC+8, at most 366): inspections and the properties they covered,
hazards found and rectified, the median days from found to rectified (the middle entries of
an index in days order, skipped to: no hazard read but those), equipment added to the
properties' records. Now: hazards open and overdue, smoke detectors offline, let rooms
without a detector (Anju's open NO_DETECTOR hazards). Alarms: this calendar year to now,
against last year to the same day (test alarms left out).

`record_equipment_added` keeps what a property's recorded equipment gained at each update
(`equipment_added`), for the new extinguishers, smoke detectors and escape windows of a
period.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from bson import ObjectId

from app.clock import now
from app.deps import Deps
from app.errors import Code, Collector
from app.services import audit, hazards, stats
from app.services.hazards import NO_DETECTOR, OPEN_STATUSES
from app.services.notifications import LOCAL_TZ
from app.store import Doc, Store
from app.viewer import Role, Scope, Viewer, place_keys

MAX_PERIOD_DAYS = 366
EQUIPMENT = ("extinguishers", "smoke_detectors", "escape_windows")


def _local_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=LOCAL_TZ).astimezone(dt.UTC)


async def record_equipment_added(store: Store, prop: Doc, before: Doc | None, after: Doc) -> None:
    """What an update of the property's recorded equipment added (decreases count as
    nothing), for the period figures."""
    gained = {k: max(0, int(after.get(k, 0)) - int((before or {}).get(k, 0))) for k in EQUIPMENT}
    if not any(gained.values()):
        return
    await store.equipment_added.insert_one(
        {
            "_id": ObjectId(),
            "property_id": prop["_id"],
            "scope_keys": place_keys(prop["place"]),
            "at": now(),
            **gained,
        }
    )


async def safety_stats(
    deps: Deps, viewer: Viewer, asked: Scope | None, start: dt.date, end: dt.date
) -> dict[str, Any]:
    """RESPONDER and POLICE: the figures of a scope within theirs (FORBIDDEN outside it;
    INVALID_DATE_RANGE when `to` is before `from`, OUT_OF_RANGE over 366 days). A police
    look-up is audited."""
    viewer.require(Role.RESPONDER, Role.POLICE)
    errors = Collector()
    if end < start:
        errors.add(["to"], Code.INVALID_DATE_RANGE, "`to` is before `from`.")
    elif (end - start).days >= MAX_PERIOD_DAYS:
        errors.add(["to"], Code.OUT_OF_RANGE, f"At most {MAX_PERIOD_DAYS} days.")
    errors.raise_if_any()
    scope = stats.effective_scope(viewer, asked)
    key = hazards.scope_key(scope)
    store = deps.store
    period = {"$gte": _local_midnight(start), "$lt": _local_midnight(end + dt.timedelta(days=1))}
    inspected = {"scope_keys": key, "inspected_at": period}
    open_hazards = {"scope_keys": key, "status": {"$in": list(OPEN_STATUSES)}}
    rectified = {"scope_keys": key, "rectified_at": period}
    rectified_count = await store.hazards.count_documents(rectified)
    figures: dict[str, Any] = {
        "inspections": await store.inspections.count_documents(inspected),
        "properties_inspected": len(await store.inspections.distinct("property_id", inspected)),
        "hazards_found": await store.hazards.count_documents(
            {"scope_keys": key, "found_at": period}
        ),
        "hazards_open": await store.hazards.count_documents(open_hazards),
        "hazards_overdue": await store.hazards.count_documents(
            {**open_hazards, "due_at": {"$lte": now()}}
        ),
        "hazards_rectified": rectified_count,
        "median_days_to_rectify": await _median_days(store, rectified, rectified_count),
        "detectors_offline": await store.devices.count_documents(
            {
                "kind": "SMOKE_DETECTOR",
                "removed_at": None,
                "online": False,
                **scope.place_filter(),
            }
        ),
        "occupied_rooms_without_detector": await store.hazards.count_documents(
            {"scope_keys": key, "source": NO_DETECTOR, "status": {"$in": list(OPEN_STATUSES)}}
        ),
        **await _alarms(store, scope),
        **await _equipment(store, key, period),
    }
    if viewer.role is Role.POLICE:
        await audit.record(
            store,
            viewer.account_id,
            "police.safetyStats",
            target="scope:" + "/".join(scope.as_claim().values()),
            details={"scope": scope.as_claim(), "from": start.isoformat(), "to": end.isoformat()},
        )
    return figures


async def _median_days(store: Store, rectified: Doc, count: int) -> float | None:
    """The median of `days_to_rectify` over the `count` hazards `rectified` matches: the one
    or two middle entries of the index in days order."""
    if count == 0:
        return None
    middle = await store.hazards.find(
        rectified,
        {"days_to_rectify": 1, "_id": 0},
        sort=[("days_to_rectify", 1)],
        skip=(count - 1) // 2,
        limit=2 - count % 2,
    ).to_list(None)
    values = [float(d["days_to_rectify"]) for d in middle if d.get("days_to_rectify") is not None]
    return round(sum(values) / len(values), 2) if values else None


async def _alarms(store: Store, scope: Scope) -> dict[str, int]:
    """Alarms (smoke or heat) this year to now, and last year to the same moment."""
    at = now()
    local = at.astimezone(LOCAL_TZ)
    this_year = _local_midnight(dt.date(local.year, 1, 1))
    last_year = _local_midnight(dt.date(local.year - 1, 1, 1))
    same_moment = at - (this_year - last_year)
    where = {**scope.place_filter(), "level": {"$ne": "test"}}
    return {
        "alarms_this_year": await store.alarms.count_documents(
            {**where, "raised_at": {"$gte": this_year, "$lte": at}}
        ),
        "alarms_last_year": await store.alarms.count_documents(
            {**where, "raised_at": {"$gte": last_year, "$lte": same_moment}}
        ),
    }


async def _equipment(store: Store, key: str, period: Doc) -> dict[str, int]:
    """The equipment the scope's properties' records gained in the period."""
    totals = dict.fromkeys(EQUIPMENT, 0)
    async for row in await store.equipment_added.aggregate(
        [
            {"$match": {"scope_keys": key, "at": period}},
            {"$group": {"_id": None, **{k: {"$sum": f"${k}"} for k in EQUIPMENT}}},
        ]
    ):
        for name in EQUIPMENT:
            totals[name] += int(row.get(name) or 0)
    return {f"new_{name}": value for name, value in totals.items()}
