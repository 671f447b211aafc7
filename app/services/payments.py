"""Payments of rent: online through the provider (payInvoice) and offline (recordPayment).

A payment document is inserted first: its unique (account_id, idempotency_key) makes any
number of concurrent calls with one key one payment. The caller that inserted it drives it
(the claim `payment-drive:<id>`, app/store); the others answer with it as it stands. Its
status moves PENDING -> SUCCEEDED or PENDING -> FAILED once, by a conditional update: the
first outcome wins, a contradicting later one is recorded on the payment
(`conflicting_outcomes`) and never acted on. Its effect on the invoice goes through the
ledger (app/services/invoice_ledger.py), whose every operation is idempotent per payment; then
the landlord is told (once: a unique key) and the payment is marked `applied`. Whatever a
crash leaves between those steps, the worker's `reconcile` finishes.

Online payments go through the provider: app/services/charges.py.
"""

from __future__ import annotations

import datetime as dt
import logging
import re

from bson import ObjectId
from pymongo import ReturnDocument

from app.clock import now
from app.deps import Deps
from app.errors import Code, Collector, NotFoundError, UserInputError
from app.services import invoice_ledger, invoices
from app.services.notifications import notify, yuan
from app.store import Doc, Store
from app.validation import clean_text
from app.viewer import Role, Viewer

# how long a payment may stay unfinished before the worker finishes it
FOLLOW_UP_AFTER = dt.timedelta(minutes=2)

log = logging.getLogger("anju.rent")

PENDING, SUCCEEDED, FAILED = "PENDING", "SUCCEEDED", "FAILED"
ONLINE_METHODS = frozenset({"WECHAT_PAY", "ALIPAY"})
OFFLINE_METHODS = frozenset({"CASH", "BANK_TRANSFER"})
ONLINE, OFFLINE = "ONLINE", "OFFLINE"
# charge_state: NONE = the provider has taken no request for it; UNKNOWN = a request got no
# usable answer (a charge may exist); KNOWN = charge_id is set.
CHARGE_NONE, CHARGE_UNKNOWN, CHARGE_KNOWN = "NONE", "UNKNOWN", "KNOWN"
PAYMENT_ORDER = [("created_at", 1), ("_id", 1)]

IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9._:\-]+$")
MAX_KEY = 100
MAX_AMOUNT_FEN = 100_000_000_000
MAX_NOTE = 200

FAILURE_MESSAGES = {
    Code.AMOUNT_EXCEEDS_BALANCE: "That is more than is still owed on this invoice.",
    Code.INVOICE_NOT_PAYABLE: "Nothing can be paid on this invoice.",
    Code.PAYMENT_PROVIDER_ERROR: "The payment provider was unavailable; nothing was charged. "
    "Pay again with a new idempotency key.",
    Code.PAYMENT_DECLINED: "The payment provider declined the charge; nothing was paid.",
}


def can_see_payment(viewer: Viewer, payment: Doc) -> bool:
    return viewer.account_id is not None and viewer.account_id in (
        payment["tenant_id"],
        payment["landlord_id"],
    )


# --- input checks ----------------------------------------------------------------------------


def check_common(errors: Collector, amount_fen: int, idempotency_key: str) -> str:
    key = (idempotency_key or "").strip()
    if not key:
        errors.add(["idempotencyKey"], Code.REQUIRED, "An idempotency key is required.")
    elif len(key) > MAX_KEY:
        errors.add(["idempotencyKey"], Code.TOO_LONG, f"At most {MAX_KEY} characters.")
    elif not IDEMPOTENCY_KEY.match(key):
        errors.add(
            ["idempotencyKey"],
            Code.INVALID_ARGUMENT,
            "Letters, digits and . _ : - only (a UUID makes a good key).",
        )
    if not 1 <= amount_fen <= MAX_AMOUNT_FEN:
        errors.add(["amountFen"], Code.INVALID_AMOUNT, "The amount must be at least 1 fen.")
    return key


def _check_payable(invoice: Doc, amount_fen: int) -> None:
    status = invoices.invoice_status(invoice)
    if status in (invoices.PAID, invoices.VOID):
        raise UserInputError(
            f"This invoice is {status.lower()}; nothing can be paid on it.",
            code=Code.INVOICE_NOT_PAYABLE,
            field=["invoiceId"],
        )
    available = int(invoice["open_fen"])
    if amount_fen > available:
        waiting = int(invoice.get("pending_fen", 0))
        extra = f"; {waiting} fen more await the provider's confirmation" if waiting else ""
        raise UserInputError(
            f"At most {available} fen can be paid on this invoice now{extra}.",
            code=Code.AMOUNT_EXCEEDS_BALANCE,
            field=["amountFen"],
        )


def _check_same(existing: Doc, invoice_id: ObjectId, amount_fen: int, method: str) -> None:
    if (
        existing["invoice_id"] != invoice_id
        or existing["amount_fen"] != amount_fen
        or existing["method"] != method
    ):
        raise UserInputError(
            "This idempotency key was used for a different payment.",
            code=Code.IDEMPOTENCY_CONFLICT,
            field=["idempotencyKey"],
        )


def _failure(payment: Doc) -> UserInputError:
    code = payment.get("failure_code") or Code.PAYMENT_DECLINED
    field = ["amountFen"] if code == Code.AMOUNT_EXCEEDS_BALANCE else None
    return UserInputError(FAILURE_MESSAGES.get(code, "The payment failed."), code=code, field=field)


# --- the payment document --------------------------------------------------------------------


def new_payment_doc(
    caller: ObjectId | None, key: str, invoice: Doc, amount_fen: int, method: str, note: str | None
) -> Doc:
    t = now()
    return {
        "_id": ObjectId(),
        "account_id": caller,
        "idempotency_key": key,
        "invoice_id": invoice["_id"],
        "lease_id": invoice.get("lease_id"),
        "landlord_id": invoice["landlord_id"],
        "tenant_id": invoice["tenant_id"],
        "amount_fen": amount_fen,
        "method": method,
        "kind": ONLINE if method in ONLINE_METHODS else OFFLINE,
        "status": PENDING,
        "note": note,
        "reserved": False,
        "charge_id": None,
        "charge_state": CHARGE_NONE,
        "failure_code": None,
        "applied": False,  # the outcome's effects (invoice, notification) are all done
        "conflicting_outcomes": [],
        "created_at": t,
        "updated_at": t,
        "paid_at": None,
        "failed_at": None,
    }


async def insert_payment(store: Store, payment: Doc) -> bool:
    """Inserts a new payment (once per caller and idempotency key: False if one exists),
    its follow-up first: the worker finishes whatever a crash leaves of it
    (payment_events.reconcile) by reading only the follow-ups of unfinished payments, never
    the ledger. A follow-up whose payment was never inserted is dropped there."""
    await follow_up(store, payment["_id"], payment["created_at"] + FOLLOW_UP_AFTER)
    return await store.insert_once("payments", payment)


async def follow_up(store: Store, pid: ObjectId, at: dt.datetime) -> None:
    """Makes sure the worker looks at this payment at `at` unless it is applied by then."""
    await store.payment_followups.update_one({"_id": pid}, {"$set": {"due_at": at}}, upsert=True)


async def fresh(store: Store, pid: ObjectId) -> Doc:
    doc = await store.payments.find_one({"_id": pid})
    assert doc is not None
    return doc


async def update(store: Store, pid: ObjectId, changes: Doc, **where: object) -> Doc | None:
    """Sets fields of a payment (if it still matches `where`); the payment after, or None."""
    return await store.payments.find_one_and_update(
        {"_id": pid, **where},
        {"$set": {**changes, "updated_at": now()}},
        return_document=ReturnDocument.AFTER,
    )


# --- outcomes --------------------------------------------------------------------------------


async def finish(
    store: Store,
    payment: Doc,
    status: str,
    *,
    failure_code: str | None = None,
    event_id: str | None = None,
) -> Doc:
    """PENDING -> `status`, once (the first outcome wins), then its effects."""
    pid = payment["_id"]
    t = now()
    changes: Doc = {"status": status}
    if status == SUCCEEDED:
        changes["paid_at"] = t
    else:
        changes |= {"failed_at": t, "failure_code": failure_code or Code.PAYMENT_DECLINED}
    async with store.exclusive(f"payment:{pid}"):
        done = await update(store, pid, changes, status=PENDING)
    if done is None:
        current = await fresh(store, pid)
        if current["status"] != status:
            log.warning(
                "payment %s is %s; a later %s (event %s) is recorded and ignored",
                pid,
                current["status"],
                status,
                event_id,
            )
            await store.payments.update_one(
                {"_id": pid},
                {
                    "$push": {
                        "conflicting_outcomes": {"status": status, "at": t, "event_id": event_id}
                    }
                },
            )
            return current
        done = current
    return await apply_outcome(store, done)


async def apply_outcome(store: Store, payment: Doc) -> Doc:
    """The effects of a finished payment, each idempotent: the invoice's ledger, the
    landlord told, then `applied`."""
    if payment["applied"] or payment["status"] == PENDING:
        return payment
    pid, invoice_id, amount = payment["_id"], payment["invoice_id"], payment["amount_fen"]
    if payment["status"] == SUCCEEDED and payment["kind"] == ONLINE:
        if not await invoice_ledger.credit_reserved(store, invoice_id, pid, amount):
            log.error("payment %s succeeded without a reservation on its invoice", pid)
        await _notify_received(store, payment)
    elif payment["status"] == FAILED:  # a reservation, if any, goes back to open
        await invoice_ledger.release(store, invoice_id, pid, amount)
    if payment.get("autopay"):
        from app.services.autopay_charges import after_charge

        await after_charge(store, payment)
    done = await update(store, pid, {"applied": True}) or payment
    await store.payment_followups.delete_one({"_id": pid})
    return done


async def _notify_received(store: Store, payment: Doc) -> None:
    tenant = await store.accounts.find_one({"_id": payment["tenant_id"]}, {"name": 1})
    invoice = await store.invoices.find_one({"_id": payment["invoice_id"]}, {"period_start": 1})
    who = tenant["name"] if tenant else "Your tenant"
    period = f" for the rent from {invoice['period_start']}" if invoice else ""
    await notify(
        store,
        payment["landlord_id"],
        "PAYMENT_RECEIVED",
        "收到租金 Rent received",
        f"{who} paid {yuan(payment['amount_fen'])} by {payment['method']}{period}.",
        invoice_id=payment["invoice_id"],
        lease_id=payment.get("lease_id"),
        key=f"PAYMENT_RECEIVED:{payment['_id']}",
    )


# --- starting -------------------------------------------------------------------------------


async def outcome(store: Store, payment: Doc) -> tuple[Doc, Doc]:
    if payment["status"] == FAILED:
        raise _failure(payment)
    invoice = await store.invoices.find_one({"_id": payment["invoice_id"]})
    assert invoice is not None
    return payment, invoice


async def _by_key(store: Store, account_id: ObjectId, key: str) -> Doc | None:
    return await store.payments.find_one({"account_id": account_id, "idempotency_key": key})


async def payment_for(
    store: Store,
    caller: ObjectId,
    key: str,
    invoice: Doc,
    amount_fen: int,
    method: str,
    note: str | None,
) -> Doc:
    """The payment of the caller's idempotency key: inserted for a new key, else the one the
    key already names (asked again, it must be the same payment)."""
    existing = await _by_key(store, caller, key)
    if existing is None:
        try:
            _check_payable(invoice, amount_fen)
        except UserInputError:
            # a concurrent call with this very key may be what used the balance up
            existing = await _by_key(store, caller, key)
            if existing is None:
                raise
        else:
            payment = new_payment_doc(caller, key, invoice, amount_fen, method, note)
            if await insert_payment(store, payment):
                return payment
            existing = await _by_key(store, caller, key)  # a concurrent call inserted it
    assert existing is not None
    _check_same(existing, invoice["_id"], amount_fen, method)
    return existing


# --- offline ---------------------------------------------------------------------------------


async def complete_offline(store: Store, payment: Doc) -> Doc:
    if payment["status"] != PENDING:
        return await apply_outcome(store, payment)
    taken = await invoice_ledger.take(
        store, payment["invoice_id"], payment["_id"], payment["amount_fen"]
    )
    if taken == invoice_ledger.CREDITED:
        return await finish(store, payment, SUCCEEDED)
    return await finish(store, payment, FAILED, failure_code=taken)


async def record_payment(
    deps: Deps,
    viewer: Viewer,
    *,
    invoice_id: ObjectId,
    amount_fen: int,
    method: str,
    idempotency_key: str,
    note: str | None,
) -> tuple[Doc, Doc]:
    """LANDLORD: records rent received in cash or by bank transfer. Returns (payment, invoice)."""
    landlord_id = viewer.require(Role.LANDLORD)
    errors = Collector()
    key = check_common(errors, amount_fen, idempotency_key)
    if method not in OFFLINE_METHODS:
        errors.add(["method"], Code.INVALID_METHOD, "Record CASH or BANK_TRANSFER here.")
    clean_note = clean_text(errors, ["note"], note, max_len=MAX_NOTE, required=False) or None
    errors.raise_if_any()
    store = deps.store
    invoice = await store.find_by_id("invoices", invoice_id, landlord_id=landlord_id)
    if invoice is None:
        raise NotFoundError("Invoice", field=["invoiceId"])
    payment = await payment_for(store, landlord_id, key, invoice, amount_fen, method, clean_note)
    return await outcome(store, await complete_offline(store, payment))
