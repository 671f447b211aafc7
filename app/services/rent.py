"""Rent: invoice states, the invoice's ledger, reminders, RENT_DUE and the landlord's rent roll.
Payments themselves (payInvoice, recordPayment, the provider's webhook) are in rent_payments.

The ledger on each invoice, kept by every write below:
    amount_fen = paid_fen + pending_fen + open_fen, each >= 0
    paid_fen    credited by SUCCEEDED payments, whose ids are in `credited_payment_ids`
    pending_fen reserved by PENDING online payments, whose ids are in `pending_payment_ids`
    open_fen    what a new payment may still take
A payment id enters `pending_payment_ids` once, leaves it once, either into
`credited_payment_ids` (credit) or back to `open_fen` (release), and enters
`credited_payment_ids` at most once: never credited twice, and payments together never take
more than is owed.

Why a lock as well as conditional updates: on MongoDB a conditional `$inc` is atomic, but
FerretDB v1 applies an update by reading the document and writing it back whole, so two
concurrent updates of one document lose one another (measured: 20 concurrent guarded
decrements of a counter at 5 all "matched" 12 times; 20 concurrent `$set`s of different fields
kept 5). Inserts against a unique index are reliable on both. So every write to an invoice's
ledger, and to its payments, happens holding `invoice_lock` (a document inserted with the
invoice's id as `_id`, deleted after); the conditions stay on the updates, so on MongoDB even a
lock broken by a crash cannot overpay. No multi-document transactions anywhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import re
import time
from collections.abc import AsyncIterator
from typing import Any

from bson import ObjectId
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from app.db import Doc, find_by_id
from app.errors import Code, NotFoundError, UnavailableError, UserInputError
from app.services.clock import now, today
from app.services.notifications import notify
from app.viewer import Role, Viewer

OPEN, PARTIALLY_PAID, PAID, OVERDUE, VOID = "OPEN", "PARTIALLY_PAID", "PAID", "OVERDUE", "VOID"
RENT_DUE_DAYS = 3
LOCK_TTL = dt.timedelta(seconds=10)  # a holder does a few database writes, then lets go
LOCK_WAIT_S = 8.0
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


# --- states --------------------------------------------------------------------------------


def invoice_status(doc: Doc, on: dt.date | None = None) -> str:
    """VOID if voided; PAID once paid_fen reaches amount_fen; else OVERDUE after its due date
    (UTC); else PARTIALLY_PAID if anything is paid; else OPEN."""
    if doc.get("void"):
        return VOID
    paid = int(doc.get("paid_fen", 0))
    if paid >= int(doc["amount_fen"]):
        return PAID
    if doc["due_date"] < (on or today()).isoformat():
        return OVERDUE
    return PARTIALLY_PAID if paid > 0 else OPEN


def owed_fen(doc: Doc) -> int:
    return max(0, int(doc["amount_fen"]) - int(doc.get("paid_fen", 0)))


def open_fen(doc: Doc) -> int:
    """What a new payment may take now: owed minus what awaits the provider."""
    return int(doc.get("open_fen", owed_fen(doc)))


_UNPAID: dict[str, Any] = {
    "$or": [
        {"open_fen": {"$gt": 0}},
        {"pending_fen": {"$gt": 0}},
        {"open_fen": {"$exists": False}},  # a ledger not started: nothing paid yet
    ]
}


def status_filter(status: str, on: dict[str, Any] | None = None) -> dict[str, Any]:
    """`on` narrowed to the invoices in `status` today, in plain conditions (no $expr)."""
    day = today().isoformat()
    live = {"void": {"$ne": True}}
    filters: dict[str, dict[str, Any]] = {
        VOID: {"void": True},
        PAID: {**live, "open_fen": 0, "pending_fen": 0},
        OVERDUE: {**live, "due_date": {"$lt": day}, **_UNPAID},
        OPEN: {**live, "due_date": {"$gte": day}, "paid_fen": 0},
        PARTIALLY_PAID: {**live, "due_date": {"$gte": day}, "paid_fen": {"$gt": 0}, **_UNPAID},
    }
    return {**(on or {}), **filters[status]}


# --- the ledger ----------------------------------------------------------------------------


def ledger_fields(amount_fen: int) -> Doc:
    """The rent fields of a new invoice (an invoice without them gets them on first use)."""
    return {
        "paid_fen": 0,
        "pending_fen": 0,
        "open_fen": amount_fen,
        "pending_payment_ids": [],
        "credited_payment_ids": [],
    }


@contextlib.asynccontextmanager
async def invoice_lock(db: AsyncDatabase[Doc], invoice_id: ObjectId) -> AsyncIterator[None]:
    """Holds the invoice's lock: one writer of its ledger and its payments at a time, on
    FerretDB and MongoDB alike. Not re-entrant. A lock left by a crash expires after LOCK_TTL.
    Raises UnavailableError after LOCK_WAIT_S."""
    token = ObjectId()
    deadline = time.monotonic() + LOCK_WAIT_S
    pause = 0.005
    while True:
        try:
            await db.invoice_locks.insert_one(
                {"_id": invoice_id, "token": token, "expires_at": now() + LOCK_TTL}
            )
            break
        except DuplicateKeyError:
            held = await db.invoice_locks.find_one({"_id": invoice_id})
            if held is not None and held["expires_at"] < now():
                await db.invoice_locks.delete_one({"_id": invoice_id, "token": held["token"]})
                continue
            if time.monotonic() > deadline:
                raise UnavailableError("The invoice is busy; try again shortly.") from None
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.05)
    try:
        yield
    finally:
        await db.invoice_locks.delete_one({"_id": invoice_id, "token": token})


async def ledger(db: AsyncDatabase[Doc], invoice_id: ObjectId) -> Doc | None:
    """The invoice with its ledger fields, added if missing. Call holding the lock."""
    invoice = await db.invoices.find_one({"_id": invoice_id})
    if invoice is None or "open_fen" in invoice:
        return invoice
    fields = {
        "paid_fen": int(invoice.get("paid_fen", 0)),
        "pending_fen": 0,
        "open_fen": owed_fen(invoice),
        "pending_payment_ids": [],
        "credited_payment_ids": [],
    }
    await db.invoices.update_one(
        {"_id": invoice_id, "open_fen": {"$exists": False}}, {"$set": fields}
    )
    return {**invoice, **fields}


def _refusal(invoice: Doc, amount: int) -> str | None:
    if invoice_status(invoice) in (PAID, VOID):
        return Code.INVOICE_NOT_PAYABLE
    if open_fen(invoice) < amount:
        return Code.AMOUNT_EXCEEDS_BALANCE
    return None


async def reserve(db: AsyncDatabase[Doc], invoice_id: ObjectId, pid: ObjectId, amount: int) -> str:
    """Moves `amount` from open to pending for an online payment (holding the lock):
    "reserved" (now or before), or the code of why not."""
    invoice = await ledger(db, invoice_id)
    if invoice is None:
        return Code.INVOICE_NOT_PAYABLE
    if pid in invoice["pending_payment_ids"] or pid in invoice["credited_payment_ids"]:
        return "reserved"
    refused = _refusal(invoice, amount)
    if refused:
        return refused
    result = await db.invoices.update_one(
        {
            "_id": invoice_id,
            "void": {"$ne": True},
            "open_fen": {"$gte": amount},
            "pending_payment_ids": {"$ne": pid},
            "credited_payment_ids": {"$ne": pid},
        },
        {
            "$inc": {"open_fen": -amount, "pending_fen": amount},
            "$push": {"pending_payment_ids": pid},
        },
    )
    return "reserved" if result.matched_count else Code.AMOUNT_EXCEEDS_BALANCE


async def credit_reserved(
    db: AsyncDatabase[Doc], invoice_id: ObjectId, pid: ObjectId, amount: int
) -> bool:
    """Moves a reserved amount from pending to paid, once (holding the lock). False if the
    payment holds no reservation and was never credited."""
    result = await db.invoices.update_one(
        {"_id": invoice_id, "pending_payment_ids": pid, "pending_fen": {"$gte": amount}},
        {
            "$inc": {"pending_fen": -amount, "paid_fen": amount},
            "$pull": {"pending_payment_ids": pid},
            "$push": {"credited_payment_ids": pid},
        },
    )
    if result.matched_count:
        return True
    invoice = await db.invoices.find_one({"_id": invoice_id}, {"credited_payment_ids": 1})
    return invoice is not None and pid in invoice.get("credited_payment_ids", [])


async def release(db: AsyncDatabase[Doc], invoice_id: ObjectId, pid: ObjectId, amount: int) -> None:
    """Gives a failed payment's reservation back to open, once (holding the lock)."""
    await db.invoices.update_one(
        {"_id": invoice_id, "pending_payment_ids": pid, "pending_fen": {"$gte": amount}},
        {
            "$inc": {"pending_fen": -amount, "open_fen": amount},
            "$pull": {"pending_payment_ids": pid},
        },
    )


async def take(db: AsyncDatabase[Doc], invoice_id: ObjectId, pid: ObjectId, amount: int) -> str:
    """Credits an offline payment straight from open, once (holding the lock): "credited"
    (now or before), or the code of why not."""
    invoice = await ledger(db, invoice_id)
    if invoice is None:
        return Code.INVOICE_NOT_PAYABLE
    if pid in invoice["credited_payment_ids"]:
        return "credited"
    refused = _refusal(invoice, amount)
    if refused:
        return refused
    result = await db.invoices.update_one(
        {
            "_id": invoice_id,
            "void": {"$ne": True},
            "open_fen": {"$gte": amount},
            "credited_payment_ids": {"$ne": pid},
            "pending_payment_ids": {"$ne": pid},
        },
        {"$inc": {"open_fen": -amount, "paid_fen": amount}, "$push": {"credited_payment_ids": pid}},
    )
    return "credited" if result.matched_count else Code.AMOUNT_EXCEEDS_BALANCE


async def change_invoice_amount(
    db: AsyncDatabase[Doc],
    invoice_id: ObjectId,
    new_amount_fen: int,
    *,
    period_end: str | None = None,
) -> bool:
    """Changes an invoice's amount (a prorated last month), and its period end if given,
    keeping the ledger; False (nothing changed) when that would be less than is paid or
    awaiting the provider."""
    if new_amount_fen < 0:
        return False
    async with invoice_lock(db, invoice_id):
        invoice = await ledger(db, invoice_id)
        if invoice is None:
            return False
        delta = new_amount_fen - int(invoice["amount_fen"])
        if int(invoice["open_fen"]) + delta < 0:
            return False
        query: Doc = {"_id": invoice_id, "amount_fen": invoice["amount_fen"]}
        if delta < 0:
            query["open_fen"] = {"$gte": -delta}
        update: Doc = {"$inc": {"amount_fen": delta, "open_fen": delta}}
        if period_end is not None:
            update["$set"] = {"period_end": period_end}
        result = await db.invoices.update_one(query, update)
        return result.matched_count == 1


async def void_if_unpaid(db: AsyncDatabase[Doc], invoice_id: ObjectId) -> bool:
    """Voids an invoice on which nothing is paid or awaiting the provider (holding its lock,
    so that no payment slips in between); False if something is."""
    async with invoice_lock(db, invoice_id):
        invoice = await ledger(db, invoice_id)
        if invoice is None or invoice.get("void"):
            return False
        if int(invoice["paid_fen"]) or int(invoice["pending_fen"]):
            return False
        result = await db.invoices.update_one(
            {"_id": invoice_id, "void": {"$ne": True}, "paid_fen": 0, "pending_fen": 0},
            {"$set": {"void": True, "voided_at": now()}},
        )
        return result.matched_count == 1


# --- reminders and RENT_DUE ----------------------------------------------------------------


def yuan(fen: int) -> str:
    return f"¥{fen / 100:.2f}"


async def remind_tenant(db: AsyncDatabase[Doc], viewer: Viewer, invoice_id: ObjectId) -> Doc:
    """LANDLORD: a RENT_REMINDER to the invoice's tenant, at most one per invoice a UTC day."""
    landlord_id = viewer.require(Role.LANDLORD)
    invoice = await find_by_id(db.invoices, invoice_id, landlord_id=landlord_id)
    if invoice is None:
        raise NotFoundError("Invoice", field=["invoiceId"])
    status = invoice_status(invoice)
    if status in (PAID, VOID):
        raise UserInputError(
            f"This invoice is {status.lower()}; nothing is owed.",
            code=Code.INVOICE_NOT_PAYABLE,
            field=["invoiceId"],
        )
    when = "was due" if status == OVERDUE else "is due"
    sent = await notify(
        db,
        invoice["tenant_id"],
        "RENT_REMINDER",
        "房租提醒 Rent reminder",
        f"Your landlord reminds you: {yuan(owed_fen(invoice))} {when} on "
        f"{invoice['due_date']} (rent from {invoice['period_start']} to "
        f"{invoice['period_end']}).",
        invoice_id=invoice["_id"],
        lease_id=invoice.get("lease_id"),
        key=f"RENT_REMINDER:{invoice['_id']}:{today().isoformat()}",
    )
    if sent is None:
        raise UserInputError(
            "The tenant has already been reminded about this invoice today.",
            code=Code.ALREADY_REMINDED,
            field=["invoiceId"],
        )
    return sent


async def send_rent_due(
    db: AsyncDatabase[Doc], *, on: dt.date | None = None, tenant_id: ObjectId | None = None
) -> int:
    """RENT_DUE to the tenant of every unpaid invoice due within RENT_DUE_DAYS (today
    included), once per invoice and due date (a unique key). Returns how many were sent.
    An invoice told about, or found paid, is marked `rent_due_sent` and not read again (a
    due date never changes), so each pass reads only the invoices newly in the window."""
    day = on or today()
    query: Doc = {
        "void": {"$ne": True},
        "rent_due_sent": {"$ne": True},
        "due_date": {
            "$gte": day.isoformat(),
            "$lte": (day + dt.timedelta(days=RENT_DUE_DAYS)).isoformat(),
        },
    }
    if tenant_id is not None:
        query["tenant_id"] = tenant_id
    sent = 0
    async for invoice in db.invoices.find(query):
        if invoice_status(invoice, day) == PAID:
            await _rent_due_done(db, invoice["_id"])
            continue
        days = (dt.date.fromisoformat(invoice["due_date"]) - day).days
        when = "today" if days == 0 else f"in {days} day{'s' if days > 1 else ''}"
        made = await notify(
            db,
            invoice["tenant_id"],
            "RENT_DUE",
            "房租即将到期 Rent due",
            f"{yuan(owed_fen(invoice))} of rent is due {when} ({invoice['due_date']}).",
            invoice_id=invoice["_id"],
            lease_id=invoice.get("lease_id"),
            key=f"RENT_DUE:{invoice['_id']}:{invoice['due_date']}",
        )
        sent += made is not None
        await _rent_due_done(db, invoice["_id"])
    return sent


async def _rent_due_done(db: AsyncDatabase[Doc], invoice_id: ObjectId) -> None:
    # under the invoice's lock: on FerretDB an update rewrites the whole document, and a
    # payment credited meanwhile would be lost. A busy invoice is marked by a later pass (the
    # notification's unique key keeps it from being sent twice meanwhile).
    with contextlib.suppress(UnavailableError):
        async with invoice_lock(db, invoice_id):
            await db.invoices.update_one({"_id": invoice_id}, {"$set": {"rent_due_sent": True}})


# --- the rent roll -------------------------------------------------------------------------


def month_bounds(month: str) -> tuple[str, str]:
    """["YYYY-MM-01", first day of the next month) as date strings; INVALID_ARGUMENT else."""
    match = _MONTH.match(month or "")
    year, mon = (int(match.group(1)), int(match.group(2))) if match else (0, 0)
    if not match or not 2000 <= year <= 2100 or not 1 <= mon <= 12:
        raise UserInputError(
            "month must be YYYY-MM, e.g. 2026-03.", code=Code.INVALID_ARGUMENT, field=["month"]
        )
    nxt = (year + 1, 1) if mon == 12 else (year, mon + 1)
    return f"{year:04d}-{mon:02d}-01", f"{nxt[0]:04d}-{nxt[1]:02d}-01"


async def rent_roll(db: AsyncDatabase[Doc], viewer: Viewer, month: str) -> Doc:
    """LANDLORD: over their invoices (every lease, ended ones too) whose period starts in
    `month`, VOID ones excluded: expected = sum of amounts, collected = sum of paid,
    outstanding = expected - collected (online payments awaiting the provider count as
    outstanding; they are also shown as pending); overdue = those of them OVERDUE today."""
    landlord_id = viewer.require(Role.LANDLORD)
    start, end = month_bounds(month)
    day = today()
    expected = collected = pending = 0
    overdue: list[Doc] = []
    async for invoice in db.invoices.find(
        {"landlord_id": landlord_id, "period_start": {"$gte": start, "$lt": end}},
        sort=[("due_date", 1), ("_id", 1)],
    ):
        if invoice.get("void"):
            continue
        expected += int(invoice["amount_fen"])
        collected += int(invoice.get("paid_fen", 0))
        pending += int(invoice.get("pending_fen", 0))
        if invoice_status(invoice, day) == OVERDUE:
            overdue.append(invoice)
    return {
        "month": month,
        "expected_fen": expected,
        "collected_fen": collected,
        "outstanding_fen": expected - collected,
        "pending_fen": pending,
        "overdue": overdue,
    }
