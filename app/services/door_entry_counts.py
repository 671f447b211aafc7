"""Door entry counts: what a landlord learns of card entries at their doors instead of the log
itself: how many were granted and refused, per door and day (UTC), never whose or when in the
day. Refused keypad codes count as refused too (someone trying PINs is the landlord's
business); entries with visitors' codes are not counted (the landlord's own repair passes
show in their log).

One aggregation over the property's events of the range (the index on (property_id, at)),
grouped by the `day` each event carries.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from bson import ObjectId

from app.deps import Deps
from app.errors import Code, UserInputError
from app.services.access_events import CARD, CODE
from app.services.cards import day_start
from app.services.properties import owned_property
from app.viewer import Role, Viewer

MAX_DAYS = 366


async def door_entry_counts(
    deps: Deps, viewer: Viewer, property_id: ObjectId, start: dt.date, end: dt.date
) -> list[dict[str, Any]]:
    """LANDLORD: per door and day from `start` to `end` (both included), the granted card
    entries and the refused swipes and codes; days without any are left out. In day order,
    then the doors in the order they were bound."""
    viewer.require(Role.LANDLORD)
    prop = await owned_property(deps.store, viewer, property_id)
    if end < start:
        raise UserInputError(
            "`to` must not be before `from`.", code=Code.INVALID_DATE_RANGE, field=["to"]
        )
    if (end - start).days + 1 > MAX_DAYS:
        raise UserInputError(
            f"At most {MAX_DAYS} days at a time.", code=Code.OUT_OF_RANGE, field=["to"]
        )
    pipeline: list[dict[str, Any]] = [
        {
            "$match": {
                "property_id": prop["_id"],
                "at": {"$gte": day_start(start), "$lt": day_start(end) + dt.timedelta(days=1)},
                "method": {"$in": [CARD, CODE]},
            }
        },
        {
            "$group": {
                "_id": {
                    "door": "$door_id",
                    "day": "$day",
                    "method": "$method",
                    "granted": "$granted",
                },
                "n": {"$sum": 1},
            }
        },
    ]
    rows: dict[tuple[str, ObjectId], dict[str, Any]] = {}
    async for group in await deps.store.access_events.aggregate(pipeline):
        key = group["_id"]
        if not key.get("day"):
            continue
        row = rows.setdefault(
            (key["day"], key["door"]),
            {"door_id": key["door"], "date": key["day"], "card_entries": 0, "refused": 0},
        )
        if not key["granted"]:
            row["refused"] += group["n"]
        elif key["method"] == CARD:
            row["card_entries"] += group["n"]
    doors = await deps.store.devices.find(
        {"property_id": prop["_id"], "kind": "DOOR"}, {"created_at": 1}
    ).to_list(None)
    bound = sorted(doors, key=lambda d: (d["created_at"], d["_id"]))
    order = {d["_id"]: i for i, d in enumerate(bound)}
    found = [r for r in rows.values() if r["card_entries"] or r["refused"]]
    found.sort(key=lambda r: (r["date"], order.get(r["door_id"], len(order))))
    for row in found:
        row["date"] = dt.date.fromisoformat(row["date"])
    return found
