"""Leases: starting, extending and ending them, their occupants' cards and their invoices.

Rules (the README repeats them):
- Dates are calendar days (UTC, as everywhere in Anju); a lease runs from its start date to
  its end date, both included. Its cards are valid from 00:00 UTC of the first day to 00:00 UTC
  after the last.
- A room is leased once at a time. The lock is an insert: the lease's unique `active_key` is
  the room id while it is ACTIVE (its own id after), so of two concurrent `startLease` calls
  one inserts and the other gets ROOM_OCCUPIED. (A conditional update VACANT -> OCCUPIED is no
  lock on FerretDB, whose updates are read-then-write: see services/locks.py.) The room is
  then marked OCCUPIED, and given back if the occupants are refused (ALREADY_REGISTERED).
- Everything that changes a lease or its occupants (and so their cards) holds the lease's
  lock (`locks.held`), released before the gateway is called.
- Invoices: one per calendar month of the term (`invoice_periods`), the first and last
  prorated by days: amount = round(monthly rent x days covered / days in that month), half a
  fen rounded up; a whole month is the monthly rent exactly. Due on `rentDueDay` of the
  period's month, moved into the period when it falls outside it (to its first day when the
  lease starts after the due day, to its last when it ends before it). An extension bills its new
  days the same way at its rent (the month of the old end date gets a second invoice for its
  remaining days, if any).
- Ending: the move-out date is the last day paid for, between the start and end dates and not
  after today (unless the lease has not started: then it may be cancelled from its start
  date). Invoices starting after it are voided (or, if something was paid on one, cut to what
  was paid); the invoice running across it is cut to it and re-prorated (never below what was
  paid). Every occupant is deregistered and every card revoked *before* the lease is marked
  ENDED, so a crash half-way never leaves a card valid on an ended lease.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bson import ObjectId
from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from app.db import Doc, find_by_id
from app.errors import Code, Collector, NotFoundError, UserInputError
from app.gateway import GatewayClient
from app.services import audit, cards, locks, notifications, occupants, properties, rent, stats
from app.services.clock import now, today
from app.services.listings import unpublish_for_room
from app.services.occupants import MAX_OCCUPANTS, OccupantIn, Person
from app.validation import check_int, check_phone
from app.viewer import Role, Viewer

ACTIVE, ENDED = "ACTIVE", "ENDED"
MAX_TERM_YEARS = 10
MAX_BACKDATE = dt.timedelta(days=366)
MAX_AHEAD = dt.timedelta(days=366)
MAX_DEPOSIT_FEN = 12 * properties.MAX_RENT_FEN
LEASE_ORDER = [("created_at", -1), ("_id", -1)]
INVOICE_ORDER = [("period_start", 1), ("_id", 1)]
OCCUPANT_ORDER = [("arrived_at", 1), ("_id", 1)]
MAX_MY_LEASES = 100


# --- invoices ---------------------------------------------------------------------------------


def month_days(day: dt.date) -> int:
    return calendar.monthrange(day.year, day.month)[1]


def prorate(monthly_rent_fen: int, days: int, days_in_month: int) -> int:
    """monthly rent x days / days in the month, rounded to the fen (half a fen up)."""
    return (2 * monthly_rent_fen * days + days_in_month) // (2 * days_in_month)


def invoice_periods(start: dt.date, end: dt.date) -> list[tuple[dt.date, dt.date]]:
    """[start, end] (both included) cut at calendar-month boundaries."""
    periods = []
    day = start
    while day <= end:
        last = day.replace(day=month_days(day))
        periods.append((day, min(last, end)))
        day = last + dt.timedelta(days=1)
    return periods


def due_date(period_start: dt.date, period_end: dt.date, rent_due_day: int) -> dt.date:
    """`rent_due_day` of the period's month, moved into the period if it falls outside."""
    return min(period_end, max(period_start, period_start.replace(day=rent_due_day)))


def period_amount(monthly_rent_fen: int, start: dt.date, end: dt.date) -> int:
    return prorate(monthly_rent_fen, (end - start).days + 1, month_days(start))


def invoice_docs(
    lease: Doc,
    start: dt.date,
    end: dt.date,
    monthly_rent_fen: int,
    at: dt.datetime,
    new_id: Callable[[], ObjectId] = ObjectId,
) -> list[Doc]:
    """The invoices of `lease` for the days [start, end] at `monthly_rent_fen`."""
    docs = []
    for first, last in invoice_periods(start, end):
        amount = period_amount(monthly_rent_fen, first, last)
        docs.append(
            {
                "_id": new_id(),
                "lease_id": lease["_id"],
                "landlord_id": lease["landlord_id"],
                "tenant_id": lease["tenant_id"],
                "room_id": lease["room_id"],
                "property_id": lease["property_id"],
                "period_start": first.isoformat(),
                "period_end": last.isoformat(),
                "due_date": due_date(first, last, lease["rent_due_day"]).isoformat(),
                "amount_fen": amount,
                "monthly_rent_fen": monthly_rent_fen,
                "void": False,
                "created_at": at,
                "rent_due_sent": False,  # RENT_DUE told (or found paid): rent.send_rent_due
                **rent.ledger_fields(amount),
            }
        )
    return docs


async def _trim_invoice(db: AsyncDatabase[Doc], invoice_id: ObjectId, move_out: str) -> None:
    """Cuts one invoice to the move-out date (see the module's rules); retried when a payment
    changes it meanwhile."""
    for _ in range(10):
        inv = await db.invoices.find_one({"_id": invoice_id})
        if inv is None or inv.get("void") or inv["period_end"] <= move_out:
            return
        taken = int(inv.get("paid_fen", 0)) + int(inv.get("pending_fen", 0))
        if inv["period_start"] > move_out:
            voided = await db.invoices.update_one(
                {"_id": invoice_id, "void": {"$ne": True}, "paid_fen": 0, "pending_fen": 0},
                {"$set": {"void": True, "voided_at": now()}},
            )
            if voided.matched_count or taken == 0:
                continue  # done, or a payment came and went: look again
            target, period_end = taken, inv["period_end"]
        else:
            first = dt.date.fromisoformat(inv["period_start"])
            cut = period_amount(
                int(inv.get("monthly_rent_fen") or inv["amount_fen"]),
                first,
                dt.date.fromisoformat(move_out),
            )
            target, period_end = max(cut, taken), move_out
        if target != int(inv["amount_fen"]) and not await rent.change_invoice_amount(
            db, invoice_id, target
        ):
            continue
        await db.invoices.update_one({"_id": invoice_id}, {"$set": {"period_end": period_end}})
        return


async def _trim_invoices(db: AsyncDatabase[Doc], lease_id: ObjectId, move_out: str) -> None:
    ids = await db.invoices.distinct(
        "_id", {"lease_id": lease_id, "void": {"$ne": True}, "period_end": {"$gt": move_out}}
    )
    for invoice_id in ids:
        await _trim_invoice(db, invoice_id, move_out)


# --- visibility and look-ups ------------------------------------------------------------------


def can_see_lease(viewer: Viewer, lease: Doc) -> bool:
    """The landlord and the tenant of the lease."""
    if viewer.account_id is None:
        return False
    if viewer.role is Role.LANDLORD:
        return bool(lease.get("landlord_id") == viewer.account_id)
    if viewer.role is Role.TENANT:
        return bool(lease.get("tenant_id") == viewer.account_id)
    return False


async def owned_lease(
    db: AsyncDatabase[Doc], viewer: Viewer, lease_id: ObjectId, field: Sequence[str] = ("leaseId",)
) -> Doc:
    landlord_id = viewer.require(Role.LANDLORD)
    lease = await find_by_id(db.leases, lease_id, landlord_id=landlord_id)
    if lease is None:
        raise NotFoundError("Lease", field=list(field))
    return lease


async def my_leases(db: AsyncDatabase[Doc], viewer: Viewer) -> list[Doc]:
    tenant_id = viewer.require(Role.TENANT)
    return await db.leases.find(
        {"tenant_id": tenant_id}, sort=LEASE_ORDER, limit=MAX_MY_LEASES
    ).to_list(None)


async def current_occupants(db: AsyncDatabase[Doc], lease_id: ObjectId) -> list[Doc]:
    return await db.occupants.find(
        {"lease_id": lease_id, "left_at": None}, sort=OCCUPANT_ORDER
    ).to_list(None)


def _not_active() -> UserInputError:
    return UserInputError("This lease has ended.", code=Code.LEASE_NOT_ACTIVE, field=["leaseId"])


def _plus_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


# --- starting -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class StartLeaseIn:
    room_id: ObjectId
    tenant_phone: str
    start_date: dt.date
    end_date: dt.date
    monthly_rent_fen: int
    deposit_fen: int
    rent_due_day: int
    occupants: Sequence[OccupantIn]


def lease_doc(
    room: Doc,
    tenant_id: ObjectId,
    *,
    start_date: dt.date,
    end_date: dt.date,
    monthly_rent_fen: int,
    deposit_fen: int,
    rent_due_day: int,
    at: dt.datetime,
    oid: ObjectId | None = None,
) -> Doc:
    """A new ACTIVE lease of `room` (the city builds them with this too)."""
    return {
        "_id": oid or ObjectId(),
        "room_id": room["_id"],
        "property_id": room["property_id"],
        "landlord_id": room["landlord_id"],
        "tenant_id": tenant_id,
        "place": room["place"],
        "kind": room["kind"],
        "start_date": start_date.isoformat(),
        "end_date": end_date.isoformat(),
        "monthly_rent_fen": monthly_rent_fen,
        "deposit_fen": deposit_fen,
        "rent_due_day": rent_due_day,
        "status": ACTIVE,
        "active_key": room["_id"],
        "extensions": [],
        "move_out_date": None,
        "created_at": at,
        "ended_at": None,
    }


def _check_term(errors: Collector, start: dt.date, end: dt.date, day: dt.date) -> None:
    bad = Code.INVALID_DATE_RANGE
    if end <= start:
        errors.add(["endDate"], bad, "The end date must be after the start date.")
    elif end > _plus_years(start, MAX_TERM_YEARS):
        errors.add(["endDate"], bad, f"A lease runs for at most {MAX_TERM_YEARS} years.")
    elif end < day:
        errors.add(["endDate"], bad, "This lease would already be over.")
    if start < day - MAX_BACKDATE or start > day + MAX_AHEAD:
        errors.add(["startDate"], bad, "The start date must be within a year of today.")


async def start_lease(
    db: AsyncDatabase[Doc], gateway: GatewayClient, viewer: Viewer, given: StartLeaseIn
) -> Doc:
    viewer.require(Role.LANDLORD)
    day = today()
    errors = Collector()
    phone = check_phone(errors, ["tenantPhone"], given.tenant_phone)
    _check_term(errors, given.start_date, given.end_date, day)
    properties.check_rent(errors, ["monthlyRentFen"], given.monthly_rent_fen)
    check_int(
        errors,
        ["depositFen"],
        given.deposit_fen,
        low=0,
        high=MAX_DEPOSIT_FEN,
        code=Code.OUT_OF_RANGE,
    )
    check_int(errors, ["rentDueDay"], given.rent_due_day, low=1, high=28, code=Code.OUT_OF_RANGE)
    if not 1 <= len(given.occupants) <= MAX_OCCUPANTS:
        errors.add(["occupants"], Code.OUT_OF_RANGE, f"Between 1 and {MAX_OCCUPANTS} occupants.")
    people = [
        occupants.check_person(errors, ["occupants", str(i)], o, day)
        for i, o in enumerate(given.occupants[:MAX_OCCUPANTS])
    ]
    seen: set[str] = set()
    for i, person in enumerate(people):
        if person.id_number in seen:
            errors.add(
                ["occupants", str(i), "idNumber"], Code.DUPLICATE, "The same ID number twice."
            )
        seen.add(person.id_number)
    errors.raise_if_any()

    room = await properties.owned_room(db, viewer, given.room_id)
    tenant = await db.accounts.find_one({"phone": phone, "role": Role.TENANT.value})
    if tenant is None:
        raise UserInputError(
            "No tenant account has this phone number; the tenant signs up in the app first.",
            code=Code.TENANT_NOT_FOUND,
            field=["tenantPhone"],
        )
    _check_vacant(room)
    at = now()
    lease = lease_doc(
        room,
        tenant["_id"],
        start_date=given.start_date,
        end_date=given.end_date,
        monthly_rent_fen=given.monthly_rent_fen,
        deposit_fen=given.deposit_fen,
        rent_due_day=given.rent_due_day,
        at=at,
    )
    async with locks.held(db, cards.lease_lock(lease["_id"])):
        keys = await _start(db, room, tenant, lease, people)
    await cards.apply_now(db, gateway, keys)
    return lease


def _check_vacant(room: Doc) -> None:
    if room["status"] == "OCCUPIED":
        raise UserInputError("This room is already let.", code=Code.ROOM_OCCUPIED, field=["roomId"])
    if room["status"] != "VACANT":
        raise UserInputError(
            "This room is not available for letting.", code=Code.ROOM_NOT_VACANT, field=["roomId"]
        )


async def _start(
    db: AsyncDatabase[Doc], room: Doc, tenant: Doc, lease: Doc, people: Sequence[Person]
) -> list[str]:
    # The room's lock is the lease's unique `active_key`: one insert succeeds per room. (A
    # conditional update of the room's status is no lock on FerretDB: see services/locks.py.)
    try:
        await db.leases.insert_one(lease)
    except DuplicateKeyError as exc:
        raise UserInputError(
            "This room is already let.", code=Code.ROOM_OCCUPIED, field=["roomId"]
        ) from exc
    await db.rooms.update_one({"_id": room["_id"]}, {"$set": {"status": "OCCUPIED"}})
    valid_from, valid_until = cards.lease_window(lease["start_date"], lease["end_date"])
    try:
        people_docs = await occupants.register(
            db,
            lease,
            people,
            [["occupants", str(i), "idNumber"] for i in range(len(people))],
            valid_from=valid_from,
            valid_until=valid_until,
        )
    except UserInputError:
        # refused: give the room back (vacant first, then the key), as if nothing happened
        await db.rooms.update_one({"_id": room["_id"]}, {"$set": {"status": "VACANT"}})
        await db.leases.delete_one({"_id": lease["_id"]})
        raise
    # From here on the lease exists; the rest follows from it.
    start, end = (
        dt.date.fromisoformat(lease["start_date"]),
        dt.date.fromisoformat(lease["end_date"]),
    )
    await db.invoices.insert_many(
        invoice_docs(lease, start, end, lease["monthly_rent_fen"], lease["created_at"])
    )
    await unpublish_for_room(db, room["_id"])
    await stats.bump(
        db, lease["place"], lease["kind"], occupied_rooms=1, residents=len(people_docs)
    )
    keys: list[str] = []
    for doc in people_docs:
        keys += await cards.enqueue(db, doc)
    await audit.record(
        db,
        lease["landlord_id"],
        "lease.start",
        target=f"Lease:{lease['_id']}",
        details={
            "roomId": str(room["_id"]),
            "tenantId": str(tenant["_id"]),
            "startDate": lease["start_date"],
            "endDate": lease["end_date"],
            "occupants": len(people_docs),
        },
    )
    await notifications.notify(
        db,
        tenant["_id"],
        "LEASE_CHANGED",
        "Your lease has been registered",
        f"Room {room['number']}: {lease['start_date']} to {lease['end_date']}.",
        lease_id=lease["_id"],
    )
    return keys


# --- occupants moving in and out --------------------------------------------------------------


async def register_occupant(
    db: AsyncDatabase[Doc],
    gateway: GatewayClient,
    viewer: Viewer,
    lease_id: ObjectId,
    given: OccupantIn,
) -> Doc:
    landlord_id = viewer.require(Role.LANDLORD)
    day = today()
    errors = Collector()
    person = occupants.check_person(errors, ["occupant"], given, day)
    errors.raise_if_any()
    await owned_lease(db, viewer, lease_id)
    async with locks.held(db, cards.lease_lock(lease_id)):
        lease = await owned_lease(db, viewer, lease_id)
        if lease["status"] != ACTIVE or lease["end_date"] < day.isoformat():
            raise _not_active()
        present = await db.occupants.count_documents({"lease_id": lease_id, "left_at": None})
        if present >= MAX_OCCUPANTS:
            raise UserInputError(
                f"A lease has at most {MAX_OCCUPANTS} current occupants.",
                code=Code.OUT_OF_RANGE,
                field=["occupant"],
            )
        valid_from, valid_until = cards.lease_window(lease["start_date"], lease["end_date"])
        # someone moving in later holds a card from now (to the second: the gateway's unit)
        valid_from = max(valid_from, now().replace(microsecond=0))
        (doc,) = await occupants.register(
            db,
            lease,
            [person],
            [["occupant", "idNumber"]],
            valid_from=valid_from,
            valid_until=valid_until,
        )
        await stats.bump(db, lease["place"], lease["kind"], residents=1)
        keys = await cards.enqueue(db, doc)
        await audit.record(
            db,
            landlord_id,
            "occupant.register",
            target=f"Occupant:{doc['_id']}",
            details={"leaseId": str(lease_id)},
        )
    await cards.apply_now(db, gateway, keys)
    return doc


async def deregister_occupant(
    db: AsyncDatabase[Doc], gateway: GatewayClient, viewer: Viewer, occupant_id: ObjectId
) -> Doc:
    """Someone leaves: their card is revoked at once. Idempotent: a departed occupant comes
    back as is."""
    landlord_id = viewer.require(Role.LANDLORD)
    found = await find_by_id(db.occupants, occupant_id, landlord_id=landlord_id)
    if found is None:
        raise NotFoundError("Occupant", field=["occupantId"])
    async with locks.held(db, cards.lease_lock(found["lease_id"])):
        doc = await db.occupants.find_one({"_id": occupant_id})
        if doc is None or doc["left_at"] is not None:
            return doc or found
        lease = await db.leases.find_one({"_id": doc["lease_id"]})
        assert lease is not None
        after, keys = await occupants.deregister(db, doc, lease, now())
        await audit.record(
            db,
            landlord_id,
            "occupant.deregister",
            target=f"Occupant:{occupant_id}",
            details={"leaseId": str(lease["_id"])},
        )
    await cards.apply_now(db, gateway, keys)
    return after or doc


# --- extending and ending -----------------------------------------------------------------------


async def extend_lease(
    db: AsyncDatabase[Doc],
    gateway: GatewayClient,
    viewer: Viewer,
    lease_id: ObjectId,
    *,
    new_end_date: dt.date,
    monthly_rent_fen: int | None,
) -> Doc:
    landlord_id = viewer.require(Role.LANDLORD)
    errors = Collector()
    if monthly_rent_fen is not None:
        properties.check_rent(errors, ["monthlyRentFen"], monthly_rent_fen)
    errors.raise_if_any()
    await owned_lease(db, viewer, lease_id)
    new_end = new_end_date.isoformat()
    async with locks.held(db, cards.lease_lock(lease_id)):
        lease = await owned_lease(db, viewer, lease_id)
        if lease["status"] != ACTIVE:
            raise _not_active()
        start = dt.date.fromisoformat(lease["start_date"])
        if new_end <= lease["end_date"]:
            raise UserInputError(
                "The new end date must be after the current one.",
                code=Code.INVALID_DATE_RANGE,
                field=["newEndDate"],
            )
        if new_end_date > _plus_years(start, MAX_TERM_YEARS):
            raise UserInputError(
                f"A lease runs for at most {MAX_TERM_YEARS} years.",
                code=Code.INVALID_DATE_RANGE,
                field=["newEndDate"],
            )
        rent_fen = monthly_rent_fen or lease["monthly_rent_fen"]
        at = now()
        extension = {
            "previous_end_date": lease["end_date"],
            "new_end_date": new_end,
            "monthly_rent_fen": rent_fen,
            "extended_at": at,
        }
        updated = await db.leases.find_one_and_update(
            {"_id": lease_id},
            {
                "$set": {"end_date": new_end, "monthly_rent_fen": rent_fen},
                "$push": {"extensions": extension},
            },
            return_document=ReturnDocument.AFTER,
        )
        assert updated is not None
        first_new = dt.date.fromisoformat(lease["end_date"]) + dt.timedelta(days=1)
        await db.invoices.insert_many(invoice_docs(updated, first_new, new_end_date, rent_fen, at))
        _, valid_until = cards.lease_window(updated["start_date"], new_end)
        keys: list[str] = []
        for occupant in await current_occupants(db, lease_id):
            after = await cards.change_card(
                db, {"_id": occupant["_id"], "left_at": None}, {"valid_until": valid_until}
            )
            if after is not None:
                keys += await cards.enqueue(db, after)
        await audit.record(
            db,
            landlord_id,
            "lease.extend",
            target=f"Lease:{lease_id}",
            details={
                "previousEndDate": lease["end_date"],
                "newEndDate": new_end,
                "rentFen": rent_fen,
            },
        )
        await notifications.notify(
            db,
            lease["tenant_id"],
            "LEASE_CHANGED",
            "Your lease has been extended",
            f"It now ends on {new_end}; monthly rent {rent_fen / 100:.2f} yuan.",
            lease_id=lease_id,
        )
    await cards.apply_now(db, gateway, keys)
    return updated


def _check_move_out(lease: Doc, move_out: dt.date, day: dt.date) -> None:
    start = dt.date.fromisoformat(lease["start_date"])
    end = dt.date.fromisoformat(lease["end_date"])
    latest = min(end, max(day, start))
    if not start <= move_out <= latest:
        raise UserInputError(
            f"The move-out date must be between {start} and {latest}.",
            code=Code.INVALID_DATE_RANGE,
            field=["moveOutDate"],
        )


async def end_lease(
    db: AsyncDatabase[Doc],
    gateway: GatewayClient,
    viewer: Viewer,
    lease_id: ObjectId,
    *,
    move_out_date: dt.date,
) -> Doc:
    landlord_id = viewer.require(Role.LANDLORD)
    await owned_lease(db, viewer, lease_id)
    move_out = move_out_date.isoformat()
    async with locks.held(db, cards.lease_lock(lease_id)):
        lease = await owned_lease(db, viewer, lease_id)
        if lease["status"] != ACTIVE:
            raise _not_active()
        _check_move_out(lease, move_out_date, today())
        at = now()
        keys: list[str] = []
        # Revoke first: whatever happens next, no card of this lease stays valid.
        for occupant in await current_occupants(db, lease_id):
            keys += (await occupants.deregister(db, occupant, lease, at))[1]
        ended = await db.leases.find_one_and_update(
            {"_id": lease_id},
            {
                "$set": {
                    "status": ENDED,
                    "ended_at": at,
                    "move_out_date": move_out,
                    "active_key": lease_id,
                }
            },
            return_document=ReturnDocument.AFTER,
        )
        assert ended is not None
        await _trim_invoices(db, lease_id, move_out)
        await db.rooms.update_one({"_id": lease["room_id"]}, {"$set": {"status": "VACANT"}})
        await stats.bump(db, lease["place"], lease["kind"], occupied_rooms=-1)
        await audit.record(
            db,
            landlord_id,
            "lease.end",
            target=f"Lease:{lease_id}",
            details={"moveOutDate": move_out},
        )
        await notifications.notify(
            db,
            lease["tenant_id"],
            "LEASE_CHANGED",
            "Your lease has ended",
            f"Move-out date {move_out}; the access cards no longer open the doors.",
            lease_id=lease_id,
        )
    await cards.apply_now(db, gateway, keys)
    return ended


__all__ = [
    "ACTIVE",
    "ENDED",
    "INVOICE_ORDER",
    "OCCUPANT_ORDER",
    "StartLeaseIn",
    "can_see_lease",
    "current_occupants",
    "deregister_occupant",
    "due_date",
    "end_lease",
    "extend_lease",
    "invoice_docs",
    "invoice_periods",
    "lease_doc",
    "my_leases",
    "owned_lease",
    "prorate",
    "register_occupant",
    "start_lease",
]
