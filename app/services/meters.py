"""Water and electricity meters: a room's rates and its readings, and the lines their usage
adds to the tenant's invoices.

Rules (the README repeats them):
- The landlord sets a room's rates (fen per m³ of water, per kWh of electricity; 0 or unset:
  included in the rent, never billed) and records readings: a value (at most 3 decimals), the
  time it was read, and whether it is a new meter's first reading.
- Readings of a room and kind follow each other in time; a reading lower than the one
  before is refused (READING_BELOW_PREVIOUS) unless it is a replacement. The same reading
  sent twice (value, time and replacement equal) is recorded once.
- A reading belongs to the lease of the room it was read in: the ended lease whose term
  (start to move-out) holds its day, else the active lease (a reading just before moving in
  is that lease's first). Usage is billed between two readings of one lease (the first
  reading of a lease, or of a new meter, only starts the count), at the rates in force when
  the second is recorded, rounded to the fen (half up).
- The usage goes as a WATER or ELECTRICITY line onto the lease's next rent invoice (the
  first one not yet due); when there is none (the lease ended, or its last month is due), onto
  a UTILITIES invoice of the lease due UTILITIES_DUE_DAYS later, one at a time.
- Who sees readings: the room's landlord, and a tenant those of their own leases of the room.
- Recording holds the room's meter claim; the reading is written first, then its line (one
  per reading: the line carries the reading's id), then the reading marked billed, so that
  the next reading of the room finishes what a crash left.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from bson import ObjectId
from pymongo import ReturnDocument

from app.clock import now, today
from app.deps import Deps
from app.errors import Code, Collector, NotFoundError, UserInputError
from app.services import audit, autopay, invoice_ledger, invoice_lines, invoices, photos, rooms
from app.services.invoice_lines import ELECTRICITY, WATER
from app.store import Doc, Page, Store, busy
from app.validation import check_float, check_int
from app.viewer import Role, Viewer

KINDS = {WATER: ("m³", "water_fen_per_m3"), ELECTRICITY: ("kWh", "electricity_fen_per_kwh")}
MAX_WATER_RATE_FEN = 10_000  # ¥100 a cubic metre
MAX_ELECTRICITY_RATE_FEN = 1_000  # ¥10 a kWh
MAX_VALUE = 1_000_000_000.0
MAX_BACKDATE = dt.timedelta(days=366)
FUTURE_SKEW = dt.timedelta(minutes=5)
UTILITIES_DUE_DAYS = 7
READING_ORDER = [("read_at", -1), ("_id", -1)]


# --- rates ------------------------------------------------------------------------------------


async def set_meter_rates(
    deps: Deps, viewer: Viewer, room_id: ObjectId, *, water_fen: int, electricity_fen: int
) -> Doc:
    """LANDLORD: a room's rates, for the readings recorded from now on. Returns the room."""
    errors = Collector()
    for field, fen, high in (
        ("waterFenPerCubicMetre", water_fen, MAX_WATER_RATE_FEN),
        ("electricityFenPerKwh", electricity_fen, MAX_ELECTRICITY_RATE_FEN),
    ):
        check_int(errors, [field], fen, low=0, high=high, code=Code.OUT_OF_RANGE)
    errors.raise_if_any()
    store = deps.store
    room = await rooms.owned_room(store, viewer, room_id)
    rates = {
        "landlord_id": room["landlord_id"],
        "water_fen_per_m3": water_fen,
        "electricity_fen_per_kwh": electricity_fen,
        "updated_at": now(),
    }
    await store.meter_rates.replace_one({"_id": room_id}, rates, upsert=True)
    await audit.record(
        store,
        room["landlord_id"],
        "room.meter_rates",
        target=("Room", room_id),
        details={"water": water_fen, "electricity": electricity_fen},
    )
    return room


# --- readings ---------------------------------------------------------------------------------


def _check_reading(kind: str, value: float, read_at: dt.datetime) -> float:
    errors = Collector()
    if kind not in KINDS:
        errors.add(["kind"], Code.INVALID_ARGUMENT, "WATER or ELECTRICITY.")
    check_float(errors, ["value"], value, low=0, high=MAX_VALUE, code=Code.OUT_OF_RANGE)
    at = now()
    if read_at.tzinfo is None or not at - MAX_BACKDATE <= read_at <= at + FUTURE_SKEW:
        errors.add(["readAt"], Code.OUT_OF_RANGE, "A time within the past year, not ahead.")
    errors.raise_if_any()
    return round(float(value), 3)


async def record_meter_reading(
    deps: Deps,
    viewer: Viewer,
    room_id: ObjectId,
    *,
    kind: str,
    value: float,
    read_at: dt.datetime,
    replacement: bool,
    photo_upload_id: ObjectId | None = None,
) -> Doc:
    """LANDLORD: records a reading and bills the usage since the one before (see the rules),
    with a photo of the meter if given (a METER_PHOTO upload: the photos' refusals on
    `photoUploadId`). Returns the reading."""
    store = deps.store
    room = await rooms.owned_room(store, viewer, room_id)
    clean = _check_reading(kind, value, read_at)
    read_at = read_at.astimezone(dt.UTC).replace(microsecond=read_at.microsecond // 1000 * 1000)
    reading_id = ObjectId()
    taken: list[Doc] = []
    if photo_upload_id is not None:
        subject = photos.Subject("meter_readings", reading_id, f"meter-reading:{reading_id}")
        taken = [
            await photos.attach(
                deps,
                viewer,
                photo_upload_id,
                purpose="METER_PHOTO",
                subject=subject,
                field=["photoUploadId"],
            )
        ]
    try:
        reading = await _record(
            store, viewer, room, kind, clean, read_at, replacement, reading_id, taken
        )
    except BaseException:
        await photos.discard(deps, [p["_id"] for p in taken])
        raise
    if taken and reading["_id"] != reading_id:  # a repeat of the last reading: kept as it was
        await photos.discard(deps, [p["_id"] for p in taken])
    return reading


async def _record(
    store: Store,
    viewer: Viewer,
    room: Doc,
    kind: str,
    clean: float,
    read_at: dt.datetime,
    replacement: bool,
    reading_id: ObjectId,
    taken: list[Doc],
) -> Doc:
    room_id = room["_id"]
    async with store.claimed(f"meter:{room_id}"):
        previous = await store.meter_readings.find_one(
            {"room_id": room_id, "kind": kind}, sort=READING_ORDER
        )
        if previous is not None:
            await _bill(store, previous)  # what a crash may have left
            same = (previous["value"], previous["read_at"], previous["replacement"])
            if same == (clean, read_at, replacement):
                return previous
            if read_at <= previous["read_at"]:
                raise UserInputError(
                    "A reading must be later than the last one "
                    f"({previous['read_at'].isoformat()}).",
                    code=Code.READING_OUT_OF_ORDER,
                    field=["readAt"],
                )
            if clean < previous["value"] and not replacement:
                raise UserInputError(
                    f"Lower than the last reading ({previous['value']}); mark it as a "
                    "replacement if the meter was changed.",
                    code=Code.READING_BELOW_PREVIOUS,
                    field=["value"],
                )
        lease = await _lease_at(store, room_id, read_at.date())
        counts = (
            previous is not None
            and not replacement
            and lease is not None
            and previous.get("lease_id") == lease["_id"]
        )
        reading: Doc = {
            "_id": reading_id,
            "room_id": room_id,
            "property_id": room["property_id"],
            "landlord_id": room["landlord_id"],
            "lease_id": lease["_id"] if lease else None,
            "kind": kind,
            "value": clean,
            "read_at": read_at,
            "replacement": replacement,
            "recorded_by": viewer.account_id,
            "previous_id": previous["_id"] if counts and previous else None,
            "usage": _usage(clean, previous["value"]) if counts and previous else None,
            "billed": not counts,
            "amount_fen": 0,
            "invoice_id": None,
            "photos": [photos.ref(p) for p in taken],
            "created_at": now(),
        }
        await store.meter_readings.insert_one(reading)
        return await _bill(store, reading)


def _usage(value: float, before: float) -> float:
    return float(Decimal(str(value)) - Decimal(str(before)))


async def _lease_at(store: Store, room_id: ObjectId, day: dt.date) -> Doc | None:
    """The lease of the room on `day`: an ended one whose term holds it, else the active
    one (until its end date)."""
    iso = day.isoformat()
    active = None
    async for lease in store.leases.find({"room_id": room_id}, sort=[("created_at", -1)]):
        if lease["status"] == "ACTIVE":
            active = lease
        elif lease["start_date"] <= iso <= (lease.get("move_out_date") or lease["end_date"]):
            return lease
    return active if active is not None and iso <= active["end_date"] else None


async def _bill(store: Store, reading: Doc) -> Doc:
    """Puts a reading's usage on an invoice, once; the reading after."""
    if reading["billed"]:
        return reading
    unit, field = KINDS[reading["kind"]]
    rates = await store.meter_rates.find_one({"_id": reading["room_id"]}) or {}
    rate = int(rates.get(field, 0))
    usage = Decimal(str(reading["usage"]))
    amount = int((usage * rate).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    invoice_id = None
    if amount > 0:
        previous = await store.meter_readings.find_one({"_id": reading["previous_id"]})
        since = previous["read_at"].date() if previous else reading["read_at"].date()
        line = invoice_lines.line(
            reading["kind"],
            f"{reading['kind'].capitalize()} {since.isoformat()} to "
            f"{reading['read_at'].date().isoformat()}: {usage.normalize():f} {unit} "
            f"({previous['value'] if previous else '?'} to {reading['value']}) x "
            f"{invoice_lines.yuan(rate)}/{unit}",
            amount,
            reading_id=reading["_id"],
        )
        invoice_id = await _carry(store, reading, line, since)
        await autopay.bump(store, reading["lease_id"])  # more to charge, maybe sooner
    done = await store.meter_readings.find_one_and_update(
        {"_id": reading["_id"]},
        {"$set": {"billed": True, "amount_fen": amount, "invoice_id": invoice_id}},
        return_document=ReturnDocument.AFTER,
    )
    return done or reading


async def _carry(store: Store, reading: Doc, line: Doc, since: dt.date) -> ObjectId:
    """The invoice that now carries `line`: the lease's next invoice not yet due (not the
    deposit's), or a new utilities one."""

    def carries(invoice: Doc) -> bool:
        return any(x.get("reading_id") == reading["_id"] for x in invoice_lines.lines_of(invoice))

    def add(current: Doc) -> tuple[list[Doc], Doc] | None:
        if current.get("void") or carries(current):
            return None
        return [*invoice_lines.lines_of(current), line], {}

    day = today().isoformat()
    for _ in range(5):
        docs = await store.invoices.find(
            {"lease_id": reading["lease_id"]}, sort=invoices.INVOICE_ORDER
        ).to_list(None)
        for invoice in docs:
            if carries(invoice):
                return ObjectId(invoice["_id"])  # carried before a crash
        target = next(
            (
                i
                for i in docs
                if not i.get("void")
                and i["due_date"] > day
                and i.get("kind") != invoices.DEPOSIT_INVOICE
            ),
            None,
        )
        if target is None:
            lease = await store.leases.find_one({"_id": reading["lease_id"]})
            assert lease is not None
            due = today() + dt.timedelta(days=UTILITIES_DUE_DAYS)
            period = (since, reading["read_at"].date())
            doc = invoices.invoice_doc(
                lease, invoices.UTILITIES_INVOICE, period, due, [line], now()
            )
            await store.invoices.insert_one(doc)
            return ObjectId(doc["_id"])
        after = await invoice_ledger.rewrite_lines(store, target["_id"], add)
        if after is not None and carries(after):
            return ObjectId(target["_id"])
        # voided meanwhile (the lease ended): look again
    raise busy()


async def readings(
    deps: Deps,
    viewer: Viewer,
    room_id: ObjectId,
    kind: str | None,
    *,
    first: int | None,
    after: str | None,
) -> Page:
    """LANDLORD (their room) or TENANT (the readings of their own leases of the room), newest
    first; NOT_FOUND for anyone else's room."""
    account_id = viewer.require()
    query: dict[str, Any] = {"room_id": room_id}
    if viewer.role is Role.LANDLORD:
        room = await deps.store.find_by_id("rooms", room_id, landlord_id=account_id)
        if room is None:
            raise NotFoundError("Room", field=["roomId"])
    else:
        mine = await deps.store.leases.distinct(
            "_id", {"room_id": room_id, "tenant_id": account_id}
        )
        if not mine:
            raise NotFoundError("Room", field=["roomId"])
        query["lease_id"] = {"$in": mine}
    if kind is not None:
        query["kind"] = kind
    return await deps.store.page("meter_readings", query, READING_ORDER, first=first, after=after)


def can_see(viewer: Viewer, reading: Doc, lease: Doc | None) -> bool:
    """The room's landlord, and the tenant of the lease it was read in."""
    if viewer.account_id is None:
        return False
    if viewer.role is Role.LANDLORD:
        return bool(reading["landlord_id"] == viewer.account_id)
    return (
        viewer.role is Role.TENANT
        and lease is not None
        and lease.get("tenant_id") == viewer.account_id
    )
