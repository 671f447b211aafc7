"""Payments of rent: online through the provider (payInvoice, its webhook) and offline
(recordPayment), and the worker that finishes whatever a crash or a lost answer left open.

A payment document is inserted first: its unique (account_id, idempotency_key) makes any
number of concurrent calls with one key one payment, and the caller that inserted it drives
it (`lock_until`); the others answer with it as it stands. Its status moves PENDING ->
SUCCEEDED or PENDING -> FAILED once: the first outcome wins, a contradicting later one is
recorded on the payment (`conflicting_outcomes`) and never acted on. Every change to a
payment and to its invoice's ledger happens holding the invoice's lock (rent.invoice_lock);
the provider is called without it.

Online: reserve the amount on the invoice (so that two keys cannot overpay), then
`POST /v1/charges` with the key `anju-payment-<payment id>` (idempotent at the provider:
retrying, or re-asking later, never makes a second charge). A synchronous `succeeded` or
`failed` answer and the webhook go through the same `settle`. Provider unreachable or refusing
(nothing charged): FAILED, reservation released, PAYMENT_PROVIDER_ERROR. Provider silent
(timeout, 5xx: a charge may exist): stays PENDING with its reservation, PAYMENT_PROVIDER_ERROR;
calling again with the same key, or the worker, asks again and settles it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
from collections.abc import Callable

from bson import ObjectId
from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from app.db import Doc, find_by_id
from app.errors import Code, Collector, NotFoundError, UserInputError
from app.payments import PaymentsClient, PaymentsRefused, PaymentsUnavailable, PaymentsUncertain
from app.services import rent
from app.services.clock import now
from app.services.notifications import notify
from app.services.pacing import Pace
from app.settings import Settings
from app.validation import clean_text
from app.viewer import Role, Viewer

log = logging.getLogger("anju.rent")

PENDING, SUCCEEDED, FAILED = "PENDING", "SUCCEEDED", "FAILED"
ONLINE_METHODS = frozenset({"WECHAT_PAY", "ALIPAY"})
OFFLINE_METHODS = frozenset({"CASH", "BANK_TRANSFER"})
ONLINE, OFFLINE = "ONLINE", "OFFLINE"
# charge_state: NONE = the provider has taken no request for it; UNKNOWN = a request got no
# usable answer (a charge may exist); KNOWN = charge_id is set.
CHARGE_NONE, CHARGE_UNKNOWN, CHARGE_KNOWN = "NONE", "UNKNOWN", "KNOWN"

IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9._:\-]+$")
MAX_KEY = 100
MAX_AMOUNT_FEN = 100_000_000_000
MAX_NOTE = 200
DRIVE = dt.timedelta(seconds=30)  # how long one caller may drive a payment before another may
WORKER_INTERVAL_S = 60.0
STALE = dt.timedelta(minutes=2)  # a payment unfinished this long is finished by the worker
UNKNOWN_CHARGE_WAITS_S = (0.1, 0.2, 0.4)

FAILURE_MESSAGES = {
    Code.AMOUNT_EXCEEDS_BALANCE: "That is more than is still owed on this invoice.",
    Code.INVOICE_NOT_PAYABLE: "Nothing can be paid on this invoice.",
    Code.PAYMENT_PROVIDER_ERROR: "The payment provider was unavailable; nothing was charged. "
    "Pay again with a new idempotency key.",
    Code.PAYMENT_DECLINED: "The payment provider declined the charge; nothing was paid.",
}


def provider_key(payment_id: ObjectId) -> str:
    return f"anju-payment-{payment_id}"


def can_see_payment(viewer: Viewer, payment: Doc) -> bool:
    return viewer.account_id is not None and viewer.account_id in (
        payment["tenant_id"],
        payment["landlord_id"],
    )


# --- input checks ----------------------------------------------------------------------------


def _check_common(errors: Collector, amount_fen: int, idempotency_key: str) -> str:
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
    status = rent.invoice_status(invoice)
    if status in (rent.PAID, rent.VOID):
        raise UserInputError(
            f"This invoice is {status.lower()}; nothing can be paid on it.",
            code=Code.INVOICE_NOT_PAYABLE,
            field=["invoiceId"],
        )
    available = rent.open_fen(invoice)
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
    caller: ObjectId, key: str, invoice: Doc, amount_fen: int, method: str, note: str | None
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
        # the inserting call drives the payment; concurrent callers with its key answer with it
        "lock_until": t + DRIVE,
    }


async def _fresh(db: AsyncDatabase[Doc], pid: ObjectId) -> Doc:
    doc = await db.payments.find_one({"_id": pid})
    assert doc is not None
    return doc


async def _update(db: AsyncDatabase[Doc], pid: ObjectId, changes: Doc) -> Doc:
    """Sets fields of a payment; call holding its invoice's lock."""
    doc = await db.payments.find_one_and_update(
        {"_id": pid},
        {"$set": {**changes, "updated_at": now()}},
        return_document=ReturnDocument.AFTER,
    )
    assert doc is not None
    return doc


async def _claim(db: AsyncDatabase[Doc], payment: Doc) -> Doc | None:
    """The payment, now driven by this caller; None if another drives it or it is finished."""
    async with rent.invoice_lock(db, payment["invoice_id"]):
        current = await _fresh(db, payment["_id"])
        t = now()
        if current["status"] != PENDING or (current["lock_until"] or t) > t:
            return None
        return await _update(db, current["_id"], {"lock_until": t + DRIVE})


async def _let_go(db: AsyncDatabase[Doc], payment: Doc) -> None:
    async with rent.invoice_lock(db, payment["invoice_id"]):
        await db.payments.update_one(
            {"_id": payment["_id"], "lock_until": payment["lock_until"]},
            {"$set": {"lock_until": None}},
        )


async def _finish_locked(
    db: AsyncDatabase[Doc],
    payment: Doc,
    status: str,
    *,
    failure_code: str | None = None,
    event_id: str | None = None,
) -> Doc:
    """PENDING -> `status`, once, and its effect on the invoice (holding the lock)."""
    current = await _fresh(db, payment["_id"])
    t = now()
    if current["status"] == PENDING:
        changes: Doc = {"status": status}
        if status == SUCCEEDED:
            changes["paid_at"] = t
        else:
            changes |= {"failed_at": t, "failure_code": failure_code or Code.PAYMENT_DECLINED}
        current = await _update(db, current["_id"], changes)
    elif current["status"] != status:
        log.warning(
            "payment %s is %s; a later %s (event %s) is recorded and ignored",
            current["_id"],
            current["status"],
            status,
            event_id,
        )
        await db.payments.update_one(
            {"_id": current["_id"]},
            {"$push": {"conflicting_outcomes": {"status": status, "at": t, "event_id": event_id}}},
        )
        return current
    return await _apply_locked(db, current)


async def _apply_locked(db: AsyncDatabase[Doc], payment: Doc) -> Doc:
    """The invoice effect of a finished payment (idempotent; holding the lock)."""
    if payment["applied"] or payment["status"] == PENDING:
        return payment
    pid, invoice_id, amount = payment["_id"], payment["invoice_id"], payment["amount_fen"]
    if payment["status"] == SUCCEEDED and payment["kind"] == ONLINE:
        if not await rent.credit_reserved(db, invoice_id, pid, amount):
            log.error("payment %s succeeded without a reservation on its invoice", pid)
    elif payment["status"] == FAILED:
        await rent.release(db, invoice_id, pid, amount)
    return payment


async def _after(db: AsyncDatabase[Doc], payment: Doc) -> Doc:
    """After a payment is finished: PAYMENT_RECEIVED to the landlord for an online payment
    (once: a unique key), then the payment is marked applied."""
    if payment["applied"] or payment["status"] == PENDING:
        return payment
    if payment["status"] == SUCCEEDED and payment["kind"] == ONLINE:
        await _notify_received(db, payment)
    async with rent.invoice_lock(db, payment["invoice_id"]):
        return await _update(db, payment["_id"], {"applied": True})


async def _notify_received(db: AsyncDatabase[Doc], payment: Doc) -> None:
    tenant = await db.accounts.find_one({"_id": payment["tenant_id"]}, {"name": 1})
    invoice = await db.invoices.find_one({"_id": payment["invoice_id"]}, {"period_start": 1})
    who = tenant["name"] if tenant else "Your tenant"
    period = f" for the rent from {invoice['period_start']}" if invoice else ""
    await notify(
        db,
        payment["landlord_id"],
        "PAYMENT_RECEIVED",
        "收到租金 Rent received",
        f"{who} paid {rent.yuan(payment['amount_fen'])} by {payment['method']}{period}.",
        invoice_id=payment["invoice_id"],
        lease_id=payment.get("lease_id"),
        key=f"PAYMENT_RECEIVED:{payment['_id']}",
    )


async def settle(
    db: AsyncDatabase[Doc], payment: Doc, outcome: str, *, event_id: str | None = None
) -> Doc:
    """The provider's outcome ("succeeded"/"failed") of an online payment, from its answer
    or its webhook: one code path, idempotent."""
    status = SUCCEEDED if outcome == "succeeded" else FAILED
    async with rent.invoice_lock(db, payment["invoice_id"]):
        done = await _finish_locked(
            db, payment, status, failure_code=Code.PAYMENT_DECLINED, event_id=event_id
        )
    return await _after(db, done)


# --- online ----------------------------------------------------------------------------------


async def _charge(
    db: AsyncDatabase[Doc], client: PaymentsClient, settings: Settings, payment: Doc
) -> Doc:
    """Reserves the amount, then asks the provider for the charge (the caller drives it)."""
    pid, invoice_id = payment["_id"], payment["invoice_id"]
    lock = rent.invoice_lock
    if not payment["reserved"]:
        async with lock(db, invoice_id):
            reserved = await rent.reserve(db, invoice_id, pid, payment["amount_fen"])
            if reserved != "reserved":
                return await _finish_locked(db, payment, FAILED, failure_code=reserved)
            payment = await _update(db, pid, {"reserved": True})
    invoice = await db.invoices.find_one({"_id": invoice_id}, {"period_start": 1})
    try:
        charge = await client.create_charge(
            idempotency_key=provider_key(pid),
            amount_fen=payment["amount_fen"],
            method=payment["method"],
            description=f"Anju rent from {invoice['period_start'] if invoice else '?'}",
            notify_url=f"{settings.public_url}/webhooks/payments",
        )
    except PaymentsUncertain as exc:
        log.warning("payment %s: outcome unknown (%s); it stays PENDING", pid, exc)
        if payment["charge_state"] == CHARGE_NONE:
            async with lock(db, invoice_id):
                await _update(db, pid, {"charge_state": CHARGE_UNKNOWN})
        raise UserInputError(
            "The payment provider did not confirm the charge; nothing has been recorded as "
            "paid. Call again with the same idempotency key to learn the outcome.",
            code=Code.PAYMENT_PROVIDER_ERROR,
        ) from exc
    except (PaymentsUnavailable, PaymentsRefused) as exc:
        log.warning("payment %s: the provider did not take the charge (%s)", pid, exc)
        if payment["charge_state"] == CHARGE_NONE:  # no charge can exist: fail and release
            async with lock(db, invoice_id):
                return await _finish_locked(
                    db, payment, FAILED, failure_code=Code.PAYMENT_PROVIDER_ERROR
                )
        raise UserInputError(
            "The payment provider is unavailable; nothing has been recorded as paid. Call "
            "again with the same idempotency key later.",
            code=Code.PAYMENT_PROVIDER_ERROR,
        ) from exc
    async with lock(db, invoice_id):
        current = await _fresh(db, pid)
        if current["charge_id"] not in (None, charge.charge_id):
            log.error("payment %s: the provider answered another charge %s", pid, charge.charge_id)
        elif current["charge_id"] is None:
            current = await _update(
                db, pid, {"charge_id": charge.charge_id, "charge_state": CHARGE_KNOWN}
            )
        if charge.status == "pending":
            return current
        status = SUCCEEDED if charge.status == "succeeded" else FAILED
        return await _finish_locked(db, current, status, failure_code=Code.PAYMENT_DECLINED)


async def _drive_online(
    db: AsyncDatabase[Doc],
    client: PaymentsClient,
    settings: Settings,
    payment: Doc,
    *,
    claimed: bool = False,
) -> Doc:
    """Takes a PENDING online payment as far as it can go now; only the caller driving it
    acts, anyone else gets it as it stands."""
    if payment["status"] != PENDING:
        return await _after(db, payment)
    held = payment if claimed else await _claim(db, payment)
    if held is None:
        return await _fresh(db, payment["_id"])
    try:
        done = await _charge(db, client, settings, held)
    finally:
        await _let_go(db, held)
    return await _after(db, done)


async def _outcome(db: AsyncDatabase[Doc], payment: Doc) -> tuple[Doc, Doc]:
    if payment["status"] == FAILED:
        raise _failure(payment)
    invoice = await db.invoices.find_one({"_id": payment["invoice_id"]})
    assert invoice is not None
    return payment, invoice


async def pay_invoice(
    db: AsyncDatabase[Doc],
    client: PaymentsClient,
    settings: Settings,
    viewer: Viewer,
    *,
    invoice_id: ObjectId,
    amount_fen: int,
    method: str,
    idempotency_key: str,
) -> tuple[Doc, Doc]:
    """TENANT: pays their invoice online. Returns (payment, invoice)."""
    tenant_id = viewer.require(Role.TENANT)
    errors = Collector()
    key = _check_common(errors, amount_fen, idempotency_key)
    if method not in ONLINE_METHODS:
        errors.add(["method"], Code.INVALID_METHOD, "Pay online with WECHAT_PAY or ALIPAY.")
    errors.raise_if_any()
    invoice = await find_by_id(db.invoices, invoice_id, tenant_id=tenant_id)
    if invoice is None:
        raise NotFoundError("Invoice", field=["invoiceId"])

    async def replay(existing: Doc) -> tuple[Doc, Doc]:
        _check_same(existing, invoice_id, amount_fen, method)
        return await _outcome(db, await _drive_online(db, client, settings, existing))

    payment = await _start(db, tenant_id, key, invoice, amount_fen, method, None)
    if payment is None:
        existing = await _by_key(db, tenant_id, key)
        assert existing is not None
        return await replay(existing)
    return await _outcome(db, await _drive_online(db, client, settings, payment, claimed=True))


async def _by_key(db: AsyncDatabase[Doc], account_id: ObjectId, key: str) -> Doc | None:
    return await db.payments.find_one({"account_id": account_id, "idempotency_key": key})


async def _start(
    db: AsyncDatabase[Doc],
    caller: ObjectId,
    key: str,
    invoice: Doc,
    amount_fen: int,
    method: str,
    note: str | None,
) -> Doc | None:
    """Inserts the payment for a new key, or None when the key has one (then it answers)."""
    if await _by_key(db, caller, key) is not None:
        return None
    try:
        _check_payable(invoice, amount_fen)
    except UserInputError:
        # a concurrent call with this very key may be what used the balance up
        if await _by_key(db, caller, key) is not None:
            return None
        raise
    payment = new_payment_doc(caller, key, invoice, amount_fen, method, note)
    try:
        await db.payments.insert_one(payment)
    except DuplicateKeyError:
        return None
    return payment


# --- offline ---------------------------------------------------------------------------------


async def _complete_offline(db: AsyncDatabase[Doc], payment: Doc, *, claimed: bool) -> Doc:
    if payment["status"] != PENDING:
        return await _after(db, payment)
    held = payment if claimed else await _claim(db, payment)
    if held is None:
        return await _fresh(db, payment["_id"])
    async with rent.invoice_lock(db, held["invoice_id"]):
        taken = await rent.take(db, held["invoice_id"], held["_id"], held["amount_fen"])
        if taken == "credited":
            done = await _finish_locked(db, held, SUCCEEDED)
        else:
            done = await _finish_locked(db, held, FAILED, failure_code=taken)
        await db.payments.update_one({"_id": held["_id"]}, {"$set": {"lock_until": None}})
    return await _after(db, done)


async def record_payment(
    db: AsyncDatabase[Doc],
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
    key = _check_common(errors, amount_fen, idempotency_key)
    if method not in OFFLINE_METHODS:
        errors.add(["method"], Code.INVALID_METHOD, "Record CASH or BANK_TRANSFER here.")
    clean_note = clean_text(errors, ["note"], note, max_len=MAX_NOTE, required=False) or None
    errors.raise_if_any()
    invoice = await find_by_id(db.invoices, invoice_id, landlord_id=landlord_id)
    if invoice is None:
        raise NotFoundError("Invoice", field=["invoiceId"])
    payment = await _start(db, landlord_id, key, invoice, amount_fen, method, clean_note)
    if payment is None:
        existing = await _by_key(db, landlord_id, key)
        assert existing is not None
        _check_same(existing, invoice_id, amount_fen, method)
        return await _outcome(db, await _complete_offline(db, existing, claimed=False))
    return await _outcome(db, await _complete_offline(db, payment, claimed=True))


# --- the provider's webhook ------------------------------------------------------------------


async def handle_payment_event(
    db: AsyncDatabase[Doc], event_id: str, charge_id: str, status: str, at: str | None
) -> str:
    """Processes one provider event once: "processed", "duplicate" (processed before), or
    "unknown_charge" (not recorded, so that the provider's retry is processed later)."""
    claim: Doc = {
        "_id": event_id,
        "charge_id": charge_id,
        "status": status,
        "at": at,
        "received_at": now(),
        "state": "processing",
    }
    try:
        await db.payment_events.insert_one(claim)
    except DuplicateKeyError:
        seen = await db.payment_events.find_one({"_id": event_id})
        if seen is not None and seen.get("state") == "done":
            return "duplicate"
        # "processing": a concurrent delivery or a crash; settling is idempotent
    payment = await db.payments.find_one({"charge_id": charge_id})
    for pause in UNKNOWN_CHARGE_WAITS_S:
        if payment is not None:
            break
        # the provider may call before Anju has stored the charge id from its own answer
        await asyncio.sleep(pause)
        payment = await db.payments.find_one({"charge_id": charge_id})
    if payment is None:
        await db.payment_events.delete_one({"_id": event_id, "state": "processing"})
        return "unknown_charge"
    await settle(db, payment, status, event_id=event_id)
    await db.payment_events.update_one(
        {"_id": event_id}, {"$set": {"state": "done", "payment_id": payment["_id"]}}
    )
    return "processed"


# --- the worker ------------------------------------------------------------------------------


async def reconcile(db: AsyncDatabase[Doc], client: PaymentsClient, settings: Settings) -> int:
    """Finishes payments left unfinished for STALE: a crash between two steps, a lost
    webhook, an unanswered charge (asking the provider again with the same key is safe).
    Returns how many it looked at."""
    looked = 0
    async for payment in db.payments.find(
        {"applied": False, "updated_at": {"$lt": now() - STALE}},
        sort=[("updated_at", 1)],
        limit=200,
    ):
        looked += 1
        try:
            if payment["status"] != PENDING:
                async with rent.invoice_lock(db, payment["invoice_id"]):
                    done = await _apply_locked(db, await _fresh(db, payment["_id"]))
                await _after(db, done)
            elif payment["kind"] == OFFLINE:
                await _complete_offline(db, payment, claimed=False)
            else:
                done = await _drive_online(db, client, settings, payment)
                if done["status"] == PENDING:  # look again in STALE, not at every pass
                    async with rent.invoice_lock(db, payment["invoice_id"]):
                        await _update(db, payment["_id"], {})
        except UserInputError as exc:
            log.info("payment %s still unfinished: %s", payment["_id"], exc.message)
    return looked


async def run_worker(
    db: AsyncDatabase[Doc],
    client: PaymentsClient,
    settings: Settings,
    ready: Callable[[], bool],
    interval: float = WORKER_INTERVAL_S,
) -> None:
    """Every `interval` seconds (less often if a pass is slow: services/pacing.py): RENT_DUE
    notifications, then unfinished payments."""
    loop = asyncio.get_running_loop()
    pace = Pace(interval)
    while True:
        if not ready():
            await asyncio.sleep(1.0)
            continue
        started = loop.time()
        try:
            await rent.send_rent_due(db)
            await reconcile(db, client, settings)
        except asyncio.CancelledError:
            raise
        except Exception:  # a database hiccup must not end the worker
            log.exception("rent worker pass failed")
        await asyncio.sleep(pace.ran(started, loop.time()))
