"""The ledger on each invoice, kept by every write below:

    amount_fen = paid_fen + pending_fen + open_fen, each >= 0
    paid_fen    credited by SUCCEEDED payments, whose ids are in `credited_payment_ids`
    pending_fen reserved by PENDING online payments, whose ids are in `pending_payment_ids`
    open_fen    what a new payment may still take

and amount_fen = the sum of the invoice's lines (app/services/invoice_lines.py), whose
changes (`rewrite_lines`) are conditional on `lines_version`, bumped by each.

A payment id enters `pending_payment_ids` once, leaves it once, either into
`credited_payment_ids` (credit) or back to `open_fen` (release), and enters
`credited_payment_ids` at most once: never credited twice, and payments together never take
more than is owed.

Each write is one conditional update of the invoice (the condition is the rule: enough open,
this payment not yet counted), inside `store.exclusive(invoice_guard(id))`: on MongoDB the
update's atomicity keeps the ledger, on FerretDB v1 the guard does (app/store). No
multi-document transactions anywhere.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bson import ObjectId
from pymongo import ReturnDocument

from app.clock import now
from app.errors import Code
from app.services import invoice_lines
from app.store import Doc, Store, busy

RESERVED, CREDITED = "reserved", "credited"


def invoice_guard(invoice_id: ObjectId) -> str:
    return f"invoice:{invoice_id}"


def ledger_fields(lines: list[Doc]) -> Doc:
    """The money fields of a new invoice of these lines."""
    amount_fen = invoice_lines.total(lines)
    return {
        "amount_fen": amount_fen,
        "lines": lines,
        "lines_version": 0,
        "paid_fen": 0,
        "pending_fen": 0,
        "open_fen": amount_fen,
        "pending_payment_ids": [],
        "credited_payment_ids": [],
    }


def _refusal(invoice: Doc, amount: int) -> str | None:
    if invoice.get("void") or int(invoice["paid_fen"]) >= int(invoice["amount_fen"]):
        return Code.INVOICE_NOT_PAYABLE
    if int(invoice["open_fen"]) < amount:
        return Code.AMOUNT_EXCEEDS_BALANCE
    return None


async def reserve(store: Store, invoice_id: ObjectId, pid: ObjectId, amount: int) -> str:
    """Moves `amount` from open to pending for an online payment: RESERVED (now or
    before), or the code of why not."""
    return await _from_open(store, invoice_id, pid, amount, into="pending")


async def _from_open(
    store: Store, invoice_id: ObjectId, pid: ObjectId, amount: int, *, into: str
) -> str:
    """Moves `amount` of a payment from open into pending (a reservation) or paid (an
    offline payment's credit), once per payment."""
    done, field, ids = (
        (RESERVED, "pending_fen", "pending_payment_ids")
        if into == "pending"
        else (CREDITED, "paid_fen", "credited_payment_ids")
    )
    async with store.exclusive(invoice_guard(invoice_id)):
        invoice = await store.invoices.find_one({"_id": invoice_id})
        if invoice is None:
            return Code.INVOICE_NOT_PAYABLE
        if pid in invoice[ids] or (into == "pending" and pid in invoice["credited_payment_ids"]):
            return done
        refused = _refusal(invoice, amount)
        if refused:
            return refused
        result = await store.invoices.update_one(
            {
                "_id": invoice_id,
                "void": {"$ne": True},
                "open_fen": {"$gte": amount},
                "pending_payment_ids": {"$ne": pid},
                "credited_payment_ids": {"$ne": pid},
            },
            {"$inc": {"open_fen": -amount, field: amount}, "$push": {ids: pid}},
        )
    return done if result.matched_count else Code.AMOUNT_EXCEEDS_BALANCE


async def credit_reserved(store: Store, invoice_id: ObjectId, pid: ObjectId, amount: int) -> bool:
    """Moves a reserved amount from pending to paid, once. False if the payment holds no
    reservation and was never credited."""
    async with store.exclusive(invoice_guard(invoice_id)):
        result = await store.invoices.update_one(
            {"_id": invoice_id, "pending_payment_ids": pid, "pending_fen": {"$gte": amount}},
            {
                "$inc": {"pending_fen": -amount, "paid_fen": amount},
                "$pull": {"pending_payment_ids": pid},
                "$push": {"credited_payment_ids": pid},
            },
        )
    if result.matched_count:
        return True
    invoice = await store.invoices.find_one({"_id": invoice_id}, {"credited_payment_ids": 1})
    return invoice is not None and pid in invoice.get("credited_payment_ids", [])


async def release(store: Store, invoice_id: ObjectId, pid: ObjectId, amount: int) -> None:
    """Gives a failed payment's reservation back to open, once."""
    async with store.exclusive(invoice_guard(invoice_id)):
        await store.invoices.update_one(
            {"_id": invoice_id, "pending_payment_ids": pid, "pending_fen": {"$gte": amount}},
            {
                "$inc": {"pending_fen": -amount, "open_fen": amount},
                "$pull": {"pending_payment_ids": pid},
            },
        )


async def take(store: Store, invoice_id: ObjectId, pid: ObjectId, amount: int) -> str:
    """Credits an offline payment straight from open, once: CREDITED (now or before), or
    the code of why not."""
    return await _from_open(store, invoice_id, pid, amount, into="paid")


# A change of an invoice's lines: its new lines and other fields to set with them, or None
# for "nothing to change". Decided from the invoice as read; decided again if it changed.
LinesChange = Callable[[Doc], tuple[list[Doc], Doc] | None]
REWRITE_TRIES = 20


async def rewrite_lines(store: Store, invoice_id: ObjectId, change: LinesChange) -> Doc | None:
    """Replaces an invoice's lines as `change` decides, its amount and open balance moving
    by the difference; never below what is paid or pending (`change` must keep to that: the
    update is refused otherwise, and `change` asked again). Conditional on everything the
    decision read (the lines' version, the amount, what is paid and pending): if a payment
    came meanwhile, `change` decides again. The invoice after (as it is when `change` says
    None), or None if there is no such invoice; BUSY if it kept changing."""
    for _ in range(REWRITE_TRIES):
        invoice = await store.invoices.find_one({"_id": invoice_id})
        if invoice is None:
            return None
        decided = change(invoice)
        if decided is None:
            return invoice
        new_lines, also = decided
        amount = int(invoice["amount_fen"])
        delta = invoice_lines.total(new_lines) - amount
        version = invoice.get("lines_version")
        # decided from these: any of them changed meanwhile (a payment) and it is decided again
        query: dict[str, Any] = {
            "_id": invoice_id,
            "amount_fen": amount,
            "paid_fen": invoice["paid_fen"],
            "pending_fen": invoice["pending_fen"],
            "void": invoice.get("void", False),
            "lines_version": version if version is not None else {"$exists": False},
        }
        if delta < 0:
            query["open_fen"] = {"$gte": -delta}
        update = {
            "$set": {**also, "lines": new_lines},
            "$inc": {"amount_fen": delta, "open_fen": delta, "lines_version": 1},
        }
        async with store.exclusive(invoice_guard(invoice_id)):
            after = await store.invoices.find_one_and_update(
                query, update, return_document=ReturnDocument.AFTER
            )
        if after is not None:
            return after
    raise busy()


async def void_if_unpaid(store: Store, invoice_id: ObjectId) -> bool:
    """Voids an invoice on which nothing is paid or awaiting the provider; False if
    something is (or it is void already)."""
    async with store.exclusive(invoice_guard(invoice_id)):
        result = await store.invoices.update_one(
            {"_id": invoice_id, "void": {"$ne": True}, "paid_fen": 0, "pending_fen": 0},
            {"$set": {"void": True, "voided_at": now()}},
        )
    return result.matched_count == 1


async def mark_rent_due_sent(store: Store, invoice_id: ObjectId) -> None:
    """Marks an invoice told about (RENT_DUE) or found paid. Under the guard: on FerretDB an
    update rewrites the whole document, and a payment credited meanwhile would be lost."""
    async with store.exclusive(invoice_guard(invoice_id)):
        await store.invoices.update_one({"_id": invoice_id}, {"$set": {"rent_due_sent": True}})
