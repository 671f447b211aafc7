"""The hazards of a scope as a CSV file (the town's 隐患整改台账), for responders and police.

`hazardsExport` writes the file to the photo storage under `exports/<id>.csv` and answers a
signed URL that lives ANJU_HAZARD_EXPORT_URL_TTL_S (5 minutes by default): the URL is the
capability, as a photo's is, and the file is removed with its record once it expires (the
storage janitor: `sweep`). One row per hazard of the scope (all statuses, or one), most urgent
first, at most ANJU_HAZARD_EXPORT_MAX_ROWS (TOO_MANY_ROWS: narrow the scope or the status);
exports per account are limited (ANJU_HAZARD_EXPORTS_PER_HOUR) and every one is audited.

The columns (README, "Fire safety"): hazard_id, town, community, grid, property, address,
room, landlord, landlord_phone, source, item, severity, status, overdue, found_at, deadline,
reported_at, rectified_at, days_to_rectify, escalated_at, description. Times are the city's
(UTC+8, `YYYY-MM-DD HH:MM`). UTF-8 with a byte-order mark (spreadsheets then read the Chinese
right). A cell that a spreadsheet would run as a formula (starting with = + - @, a tab or a
carriage return) is prefixed with an apostrophe: descriptions and notes are what people typed.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Sequence
from typing import Any

from bson import ObjectId

from app.clients.storage import StorageError
from app.clock import now
from app.deps import Deps
from app.errors import Code, UserInputError
from app.ids import encode_id
from app.services import audit, hazards, rate_limits, stats, uploads
from app.services.notifications import LOCAL_TZ
from app.store import Doc, Store, count_up_to
from app.viewer import Role, Scope, Viewer

COLUMNS = (
    "hazard_id",
    "town",
    "community",
    "grid",
    "property",
    "address",
    "room",
    "landlord",
    "landlord_phone",
    "source",
    "item",
    "severity",
    "status",
    "overdue",
    "found_at",
    "deadline",
    "reported_at",
    "rectified_at",
    "days_to_rectify",
    "escalated_at",
    "description",
)
CONTENT_TYPE = "text/csv"
PREFIX = "exports"
BATCH = 500
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# the janitor leaves an expired export this long (a download under way as its URL expired)
SWEEP_GRACE = dt.timedelta(minutes=2)


def cell(value: Any) -> str:
    """A value as a CSV cell a spreadsheet shows and never runs."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, bool):
        return "yes" if value else "no"
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _row(
    hazard: Doc, prop: Doc | None, room: Doc | None, landlord: Doc | None, at: Any
) -> list[str]:
    place = hazard["place"]
    values: Sequence[Any] = (
        encode_id("Hazard", hazard["_id"]),
        place.get("town"),
        place.get("community"),
        place.get("grid"),
        prop["name"] if prop else None,
        prop["address"] if prop else None,
        room["number"] if room else None,
        landlord["name"] if landlord else None,
        landlord["phone"] if landlord else None,
        hazard["source"],
        hazard.get("item"),
        hazard["severity"],
        hazard["status"],
        hazards.is_overdue(hazard, at),
        hazard["found_at"],
        hazard["deadline"],
        hazard.get("reported_at"),
        hazard.get("rectified_at"),
        hazard.get("days_to_rectify"),
        hazard.get("escalated_at"),
        hazard["description"],
    )
    return [cell(v) for v in values]


async def _rows(store: Store, batch: list[Doc], at: Any) -> Iterable[list[str]]:
    props = await store.find_by_ids("properties", [h["property_id"] for h in batch])
    rooms = await store.find_by_ids("rooms", [h["room_id"] for h in batch if h.get("room_id")])
    landlords = await store.find_by_ids("accounts", [h["landlord_id"] for h in batch])
    return [
        _row(
            h,
            props.get(h["property_id"]),
            rooms.get(h.get("room_id")),
            landlords.get(h["landlord_id"]),
            at,
        )
        for h in batch
    ]


async def csv_of(store: Store, where: Doc) -> bytes:
    """The CSV file of the hazards `where` matches, most urgent first."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    at = now()
    batch: list[Doc] = []
    async for hazard in store.hazards.find(where, sort=hazards.HAZARD_ORDER):
        batch.append(hazard)
        if len(batch) == BATCH:
            writer.writerows(await _rows(store, batch, at))
            batch = []
    if batch:
        writer.writerows(await _rows(store, batch, at))
    return ("\ufeff" + out.getvalue()).encode("utf-8")


async def export_hazards(
    deps: Deps, viewer: Viewer, asked: Scope | None, status: str | None
) -> tuple[Doc, str]:
    """RESPONDER and POLICE: the file of a scope within theirs (FORBIDDEN outside it); the
    export's record and its signed URL. TOO_MANY_ROWS, RATE_LIMITED, SERVICE_UNAVAILABLE
    when the storage is down."""
    account_id = viewer.require(Role.RESPONDER, Role.POLICE)
    store, settings = deps.store, deps.settings
    scope = stats.effective_scope(viewer, asked)
    where: Doc = {
        "scope_keys": hazards.scope_key(scope),
        "status": status or {"$in": list(hazards.STATUSES)},
    }
    rows, capped = await count_up_to(store.hazards, where, settings.hazard_export_max_rows)
    if capped:
        raise UserInputError(
            f"More than {settings.hazard_export_max_rows} hazards: narrow the scope or the status.",
            code=Code.TOO_MANY_ROWS,
            field=["scope"],
        )
    await rate_limits.hit(
        store,
        settings,
        "hazard-export",
        str(account_id),
        limit=settings.hazard_exports_per_hour,
        window_s=3600,
    )
    data = await csv_of(store, where)
    export_id = ObjectId()
    key = f"{PREFIX}/{export_id}.csv"
    expires_at = uploads.wall_clock_in(settings.hazard_export_url_ttl_s)
    doc: Doc = {
        "_id": export_id,
        "account_id": account_id,
        "scope": scope.as_claim(),
        "status": status,
        "rows": rows,
        "key": key,
        "created_at": now(),
        "expires_at": expires_at.replace(microsecond=expires_at.microsecond // 1000 * 1000),
    }
    # recorded first, so that the janitor removes the file whatever happens next
    await store.exports.insert_one(doc)
    try:
        await deps.storage.put(key, data, CONTENT_TYPE)
        url = await deps.storage.download_url(key, expires_at)
    except StorageError as exc:
        raise uploads.storage_down(exc) from exc
    await audit.record(
        store,
        account_id,
        "hazards.export",
        target="scope:" + "/".join(scope.as_claim().values()),
        details={"scope": scope.as_claim(), "status": status, "rows": rows},
    )
    return doc, url


async def sweep(deps: Deps, limit: int = 200) -> int:
    """Removes expired exports and their files (the storage janitor's pass); how many."""
    store = deps.store
    expired = await store.exports.find(
        {"expires_at": {"$lt": now() - SWEEP_GRACE}}, {"key": 1}, limit=limit
    ).to_list(None)
    for doc in expired:
        await deps.storage.delete(doc["key"])  # StorageError: the next pass tries again
        await store.exports.delete_one({"_id": doc["_id"]})
    return len(expired)
