"""Deposits: held from the start of a lease, settled by the landlord after it ends, disputable
by the tenant for a while.

Rules (the README repeats them):
- startLease with a deposit writes a DEPOSIT invoice (one DEPOSIT line) due on the start
  date, paid online or recorded like rent; what is paid on it is held (`depositPaidFen`).
  Extending the lease keeps it; nothing but settlement touches it.
- settleDeposit (the landlord, once, after endLease): what is held first pays what the
  lease's other invoices still owe, oldest first (each such payment a DEPOSIT payment on its
  invoice, and a deduction named after it), then the landlord's own deductions (damage,
  cleaning: a reason and an amount each), which may not take more than is left; the rest is
  refunded by the method the landlord chooses (recorded: Anju moves no money back). Refused
  while a payment of the deposit awaits the provider. The tenant is told (DEPOSIT_SETTLED).
- The settlement is one document per lease (`_id` = the lease's): written once, after its
  deductions were paid (payments with one key per invoice and attempt), so settling again
  after a crash counts what was already taken from the deposit and never takes it twice.
- disputeDeposit (the tenant, once, within ANJU_DEPOSIT_DISPUTE_DAYS of the settlement):
  the note is recorded and shown to both; the landlord is told. Resolving it is theirs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from bson import ObjectId
from pymongo import ReturnDocument

from app.clock import now
from app.deps import Deps
from app.errors import Code, Collector, NotFoundError, UserInputError
from app.services import audit, invoice_lines, invoices, payments
from app.services.card_outbox import lease_claim
from app.services.invoice_lines import DEPOSIT, yuan
from app.services.notifications import notify
from app.store import Doc, Store
from app.validation import check_int, clean_text
from app.viewer import Role, Viewer

DEPOSIT_METHOD = "DEPOSIT"  # the method of a payment taken from the deposit
REFUND_METHODS = frozenset({"CASH", "BANK_TRANSFER", "WECHAT_PAY", "ALIPAY"})
MAX_DEDUCTIONS = 20
MAX_REASON = 200
MAX_NOTE = 1000
TAKE_TRIES = 5


@dataclass(frozen=True)
class DeductionIn:
    reason: str
    amount_fen: int


def deposit_invoice_doc(lease: Doc, at: dt.datetime) -> Doc:
    """The lease's DEPOSIT invoice: one line, due on the start date."""
    start = dt.date.fromisoformat(lease["start_date"])
    line = invoice_lines.line(DEPOSIT, "Deposit", int(lease["deposit_fen"]))
    return invoices.invoice_doc(lease, invoices.DEPOSIT_INVOICE, (start, start), start, [line], at)


def held_fen(lease_invoices: Sequence[Doc]) -> int:
    """What is paid on the lease's deposit (from its invoices)."""
    return sum(
        int(i.get("paid_fen", 0))
        for i in lease_invoices
        if i.get("kind") == invoices.DEPOSIT_INVOICE and not i.get("void")
    )


async def _ended_lease(store: Store, viewer: Viewer, lease_id: ObjectId) -> Doc:
    from app.services.leases import ACTIVE, owned_lease

    lease = await owned_lease(store, viewer, lease_id)
    if lease["status"] == ACTIVE:
        raise UserInputError(
            "Settle the deposit once the lease has ended (endLease).",
            code=Code.LEASE_ACTIVE,
            field=["leaseId"],
        )
    return lease


def _check(deductions: Sequence[DeductionIn], refund_method: str) -> list[DeductionIn]:
    errors = Collector()
    if len(deductions) > MAX_DEDUCTIONS:
        errors.add(["deductions"], Code.OUT_OF_RANGE, f"At most {MAX_DEDUCTIONS} deductions.")
    cleaned = []
    for i, d in enumerate(deductions[:MAX_DEDUCTIONS]):
        reason = clean_text(errors, ["deductions", str(i), "reason"], d.reason, max_len=MAX_REASON)
        check_int(
            errors,
            ["deductions", str(i), "amountFen"],
            d.amount_fen,
            low=1,
            high=payments.MAX_AMOUNT_FEN,
            code=Code.INVALID_AMOUNT,
        )
        cleaned.append(DeductionIn(reason, d.amount_fen))
    if refund_method not in REFUND_METHODS:
        errors.add(["refundMethod"], Code.INVALID_METHOD, "Refund by cash, transfer or wallet.")
    errors.raise_if_any()
    return cleaned


async def settle_deposit(
    deps: Deps,
    viewer: Viewer,
    lease_id: ObjectId,
    deductions: Sequence[DeductionIn],
    refund_method: str,
) -> Doc:
    """LANDLORD: settles an ended lease's deposit (see the rules). Returns the lease."""
    landlord_id = viewer.require(Role.LANDLORD)
    store = deps.store
    await _ended_lease(store, viewer, lease_id)
    asked = _check(deductions, refund_method)
    async with store.claimed(lease_claim(lease_id)):
        lease = await _ended_lease(store, viewer, lease_id)
        if await store.deposit_settlements.find_one({"_id": lease_id}, {"_id": 1}):
            raise UserInputError(
                "This deposit has been settled already.",
                code=Code.ALREADY_SETTLED,
                field=["leaseId"],
            )
        settlement = await _settle(deps, lease, asked, refund_method)
    await audit.record(
        store,
        landlord_id,
        "deposit.settle",
        target=("Lease", lease_id),
        details={"heldFen": settlement["held_fen"], "refundedFen": settlement["refunded_fen"]},
    )
    if lease.get("tenant_id") is not None:
        taken = settlement["held_fen"] - settlement["refunded_fen"]
        await notify(
            store,
            lease["tenant_id"],
            "DEPOSIT_SETTLED",
            "押金已结算 Deposit settled",
            f"Of your deposit of {yuan(settlement['held_fen'])}, {yuan(taken)} was deducted "
            f"and {yuan(settlement['refunded_fen'])} is refunded by "
            f"{refund_method}. You may dispute it in the app until "
            f"{settlement['dispute_until'].date().isoformat()}.",
            lease_id=lease_id,
            key=f"DEPOSIT_SETTLED:{lease_id}",
        )
    return lease


async def _settle(deps: Deps, lease: Doc, asked: list[DeductionIn], refund_method: str) -> Doc:
    store, lease_id = deps.store, lease["_id"]
    docs = await store.invoices.find({"lease_id": lease_id}, sort=invoices.INVOICE_ORDER).to_list(
        None
    )
    deposit = [i for i in docs if i.get("kind") == invoices.DEPOSIT_INVOICE]
    if any(int(i.get("pending_fen", 0)) for i in deposit):
        raise UserInputError(
            "A payment of the deposit awaits the provider's confirmation; settle it after.",
            code=Code.DEPOSIT_PAYMENT_PENDING,
            field=["leaseId"],
        )
    held = held_fen(docs)
    taken: list[Doc] = []  # what earlier attempts took from the deposit for invoices
    async for p in store.payments.find(
        {"lease_id": lease_id, "method": DEPOSIT_METHOD, "status": payments.SUCCEEDED}
    ):
        taken.append({"invoice_id": p["invoice_id"], "amount_fen": p["amount_fen"]})
    left = held - sum(t["amount_fen"] for t in taken)
    owing = [i for i in docs if i.get("kind") != invoices.DEPOSIT_INVOICE and not i.get("void")]
    planned = left  # what the invoices leave (a payment meanwhile only leaves more)
    for i in owing:
        planned -= min(int(i["open_fen"]), planned)
    wanted = sum(d.amount_fen for d in asked)
    if wanted > planned:
        raise UserInputError(
            f"After the unpaid invoices, {yuan(planned)} of the deposit is left to deduct from.",
            code=Code.DEDUCTIONS_EXCEED_DEPOSIT,
            field=["deductions"],
        )
    for invoice in owing:
        if left <= 0:
            break
        got = await _take(store, lease, invoice["_id"], left)
        if got:
            taken.append({"invoice_id": invoice["_id"], "amount_fen": got})
            left -= got
    by_invoice = {i["_id"]: i for i in docs}
    deductions = [
        {
            "reason": _unpaid_reason(by_invoice.get(t["invoice_id"])),
            "amount_fen": t["amount_fen"],
            "invoice_id": t["invoice_id"],
        }
        for t in taken
    ] + [{"reason": d.reason, "amount_fen": d.amount_fen, "invoice_id": None} for d in asked]
    at = now()
    settlement = {
        "_id": lease_id,
        "lease_id": lease_id,
        "landlord_id": lease["landlord_id"],
        "tenant_id": lease.get("tenant_id"),
        "held_fen": held,
        "deductions": deductions,
        "refunded_fen": held - sum(d["amount_fen"] for d in deductions),
        "refund_method": refund_method,
        "settled_at": at,
        "dispute_until": at + dt.timedelta(days=deps.settings.deposit_dispute_days),
        "disputed_at": None,
        "dispute_note": None,
    }
    await store.insert_once("deposit_settlements", settlement)
    return settlement


def _unpaid_reason(invoice: Doc | None) -> str:
    if invoice is None:
        return "Unpaid invoice"
    what = "utilities" if invoice.get("kind") == invoices.UTILITIES_INVOICE else "rent"
    return f"Unpaid {what} {invoice['period_start']} to {invoice['period_end']}"


async def _take(store: Store, lease: Doc, invoice_id: ObjectId, most: int) -> int:
    """Pays what an invoice still owes (at most `most`) from the deposit; what it took."""
    for attempt in range(1, TAKE_TRIES + 1):
        invoice = await store.invoices.find_one({"_id": invoice_id})
        if invoice is None or invoice.get("void"):
            return 0
        amount = min(int(invoice["open_fen"]), most)
        if amount <= 0:
            return 0
        key = f"deposit-{lease['_id']}-{invoice_id}-{attempt}"
        payment = await store.payments.find_one({"account_id": None, "idempotency_key": key})
        if payment is not None and payment["status"] != payments.PENDING:
            continue  # an earlier settlement's attempt: counted already, or it failed
        if payment is None:
            payment = payments.new_payment_doc(
                None, key, invoice, amount, DEPOSIT_METHOD, "Taken from the deposit"
            )
            if not await payments.insert_payment(store, payment):
                continue
        done = await payments.complete_offline(store, payment)
        if done["status"] == payments.SUCCEEDED:
            return int(done["amount_fen"])
    return 0


# --- disputes -----------------------------------------------------------------------------------


async def dispute_deposit(deps: Deps, viewer: Viewer, lease_id: ObjectId, note: str) -> Doc:
    """TENANT: disputes their lease's deposit settlement, once, within the window. Returns
    the lease."""
    tenant_id = viewer.require(Role.TENANT)
    errors = Collector()
    text = clean_text(errors, ["note"], note, max_len=MAX_NOTE, multiline=True)
    errors.raise_if_any()
    store = deps.store
    lease = await store.find_by_id("leases", lease_id, tenant_id=tenant_id)
    if lease is None:
        raise NotFoundError("Lease", field=["leaseId"])
    settlement = await store.deposit_settlements.find_one({"_id": lease_id})
    if settlement is None:
        raise UserInputError(
            "The landlord has not settled this deposit yet.",
            code=Code.NOT_SETTLED,
            field=["leaseId"],
        )
    at = now()
    if settlement["dispute_until"] < at:
        raise UserInputError(
            "The time to dispute this settlement has passed.",
            code=Code.DISPUTE_WINDOW_CLOSED,
            field=["leaseId"],
        )
    async with store.exclusive(f"deposit:{lease_id}"):
        disputed = await store.deposit_settlements.find_one_and_update(
            {"_id": lease_id, "disputed_at": None},
            {"$set": {"disputed_at": at, "dispute_note": text}},
            return_document=ReturnDocument.AFTER,
        )
    if disputed is None:
        raise UserInputError(
            "This settlement has been disputed already.",
            code=Code.ALREADY_DISPUTED,
            field=["leaseId"],
        )
    await audit.record(store, tenant_id, "deposit.dispute", target=("Lease", lease_id))
    await notify(
        store,
        lease["landlord_id"],
        "DEPOSIT_SETTLED",
        "押金结算有异议 Deposit settlement disputed",
        f"Your tenant disputes the settlement of the deposit of the lease from "
        f"{lease['start_date']}: {text[:300]}",
        lease_id=lease_id,
        key=f"DEPOSIT_DISPUTED:{lease_id}",
    )
    return lease
