"""Autopay's charges: the rent worker's pass over the active autopays whose time has come
(`next_run_at`), and what it tells the tenant.

Rules (the README repeats them):
- An invoice of a lease with ACTIVE autopay is charged when it falls due (from 00:00 UTC of
  its due date), if it fell due on or after the day autopay became active, for its open
  amount then: what no payment, manual or online, succeeded or awaiting the provider, has
  covered. Nothing open: nothing is charged.
- Each attempt is a payment (online, through the agreement) with its own key,
  `autopay-<invoice>-<attempt>`: its insert is the one way to make an attempt, so two
  workers (or two passes) make one; at the provider it is `anju-payment-<payment>`, so
  asking again never charges twice. An invoice whose autopay charge succeeded is never
  charged by autopay again.
- A charge the provider declines or cannot take is tried again ANJU_AUTOPAY_RETRY_S later,
  at most ANJU_AUTOPAY_MAX_ATTEMPTS times in all; the tenant is told of each failure, and of
  each success. An attempt refused before reaching the provider because the invoice was paid
  meanwhile is not a failure: the next pass charges what is left, if anything.
- The pass over a lease holds its autopay claim (app/services/autopay.py) and reads the
  autopay's status inside it: once stopped, nothing new is sent. A charge sent before the
  stop settles by the provider's answer or webhook, once, like any online payment.
"""

from __future__ import annotations

import datetime as dt
import logging

from bson import ObjectId

from app.clock import now, today
from app.deps import Deps
from app.errors import Code, UserInputError
from app.services import autopay, charges, invoices, payments
from app.services.invoice_lines import yuan
from app.services.notifications import notify
from app.store import Doc, Store

log = logging.getLogger("anju.rent")

PROVIDER_FAILURES = frozenset({Code.PAYMENT_DECLINED, Code.PAYMENT_PROVIDER_ERROR})
PASS_LIMIT = 100
LOOK_AGAIN = dt.timedelta(minutes=2)  # a charge awaiting the provider


def _midnight(day: str) -> dt.datetime:
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(), tzinfo=dt.UTC)


def _sooner(a: dt.datetime | None, b: dt.datetime | None) -> dt.datetime | None:
    return b if a is None else a if b is None else min(a, b)


async def run_due(deps: Deps) -> int:
    """One pass: every active autopay whose time has come, each under its claim (held
    elsewhere: skipped, the holder is on it). Returns how many it ran."""
    store = deps.store
    ran = 0
    due = store.autopays.find(
        {"status": autopay.ACTIVE, "next_run_at": {"$lte": now()}}, {"_id": 1}, limit=PASS_LIMIT
    )
    async for doc in due:
        claim = await store.claim(autopay.claim_name(doc["_id"]))
        if claim is None:
            continue
        try:
            await run_one(deps, doc["_id"])
            ran += 1
        except UserInputError as exc:  # BUSY, the provider's silence: the next pass
            log.info("autopay %s: %s", doc["_id"], exc.message)
        finally:
            await store.release(claim)
    async for doc in store.autopays.find({"cancel_agreement_ids": {"$gt": ""}}, limit=20):
        await autopay.cancel_agreements(deps, doc)
    return ran


async def run_one(deps: Deps, lease_id: ObjectId) -> None:
    """Charges what is due on one lease, then says when to look again. The caller holds the
    lease's autopay claim."""
    store = deps.store
    doc = await store.autopays.find_one({"_id": lease_id})
    if doc is None or doc["status"] != autopay.ACTIVE:
        return
    lease = await store.leases.find_one({"_id": lease_id})
    if lease is None or lease["status"] != "ACTIVE":
        await autopay.stop(deps, doc, autopay.LEASE_ENDED)
        return
    day = today().isoformat()
    since = doc["active_since"].date().isoformat()
    later: dt.datetime | None = None
    async for invoice in store.invoices.find({"lease_id": lease_id}, sort=invoices.INVOICE_ORDER):
        if invoice.get("void") or invoice["due_date"] < since:
            continue
        if invoice["due_date"] > day:
            if int(invoice["open_fen"]) > 0:  # paid ahead: nothing to wait for
                later = _sooner(later, _midnight(invoice["due_date"]))
            continue
        later = _sooner(later, await _charge_invoice(deps, doc, invoice))
    # unless bumped meanwhile (a payment settled, an invoice added): then the next pass
    await autopay.change(
        store,
        lease_id,
        {"status": autopay.ACTIVE, "generation": doc["generation"], "bumps": doc.get("bumps", 0)},
        {"$set": {"next_run_at": later}},
    )


async def _charge_invoice(deps: Deps, doc: Doc, invoice: Doc) -> dt.datetime | None:
    """Makes or follows the autopay attempt of one due invoice; when to look at it again."""
    store = deps.store
    attempts = await store.payments.find(
        {"invoice_id": invoice["_id"], "autopay": True}, sort=[("autopay_attempt", 1)]
    ).to_list(None)
    if any(p["status"] == payments.SUCCEEDED for p in attempts):
        return None
    last = attempts[-1] if attempts else None
    if last is not None and last["status"] == payments.PENDING:
        await _drive(deps, last)
        return now() + LOOK_AGAIN
    failures = [p for p in attempts if p.get("failure_code") in PROVIDER_FAILURES]
    settings = deps.settings
    if len(failures) >= settings.autopay_max_attempts:
        return None  # given up: the tenant was told to pay in the app
    if last is not None and last in failures:
        retry_at = last["failed_at"] + dt.timedelta(seconds=settings.autopay_retry_s)
        if now() < retry_at:
            return retry_at
    amount = int(invoice["open_fen"])
    if amount <= 0:
        return None
    attempt = len(attempts) + 1
    payment = payments.new_payment_doc(
        None, f"autopay-{invoice['_id']}-{attempt}", invoice, amount, doc["method"], None
    ) | {
        "autopay": True,
        "autopay_attempt": attempt,
        "autopay_failures_before": len(failures),
        "autopay_max_attempts": settings.autopay_max_attempts,
        "autopay_retry_s": settings.autopay_retry_s,
        "agreement_id": doc["agreement_id"],
    }
    if not await payments.insert_payment(store, payment):
        return now()  # made meanwhile: follow it at the next pass
    done = await _drive(deps, payment)
    if done["status"] == payments.PENDING:
        return now() + LOOK_AGAIN
    if done["status"] == payments.FAILED:
        if done.get("failure_code") in PROVIDER_FAILURES:
            return done["failed_at"] + dt.timedelta(seconds=settings.autopay_retry_s)
        return now()  # paid meanwhile (or the agreement ended): look again
    return None


async def _drive(deps: Deps, payment: Doc) -> Doc:
    try:
        return await charges.drive_online(deps, payment)
    except UserInputError as exc:  # the provider did not answer: still PENDING
        log.info("autopay payment %s: %s", payment["_id"], exc.message)
        return await payments.fresh(deps.store, payment["_id"])


async def drive_left(deps: Deps, payment: Doc) -> Doc:
    """The worker's reconciliation of an autopay payment left PENDING: sent again (the same
    key) under the autopay claim while its autopay is active with its agreement; never sent
    at all and autopay stopped since: FAILED, nothing charged."""
    store = deps.store
    claim = await store.claim(autopay.claim_name(payment["lease_id"]))
    if claim is None:
        return payment
    try:
        current = await payments.fresh(store, payment["_id"])
        if current["status"] != payments.PENDING:
            return await payments.apply_outcome(store, current)
        doc = await store.autopays.find_one({"_id": payment["lease_id"]})
        live = (
            doc is not None
            and doc["status"] == autopay.ACTIVE
            and doc.get("agreement_id") == payment.get("agreement_id")
        )
        if not live and current["charge_state"] == payments.CHARGE_NONE:
            return await payments.finish(
                store, current, payments.FAILED, failure_code=Code.AUTOPAY_STOPPED
            )
        return await _drive(deps, current)
    finally:
        await store.release(claim)


# --- telling the tenant -------------------------------------------------------------------------


async def after_charge(store: Store, payment: Doc) -> None:
    """An autopay payment finished: the tenant is told, and the worker looks again."""
    tenant_id = payment.get("tenant_id")
    invoice = await store.invoices.find_one({"_id": payment["invoice_id"]}, {"period_start": 1})
    what = f"the invoice from {invoice['period_start']}" if invoice else "your invoice"
    amount = yuan(payment["amount_fen"])
    code = payment.get("failure_code")
    if payment["status"] == payments.SUCCEEDED:
        title, body = "自动扣款成功 Autopay paid", f"Autopay paid {amount} of {what}."
    elif code == Code.AGREEMENT_INACTIVE:
        await autopay.agreement_inactive(store, payment)
        title = ""
    elif code in PROVIDER_FAILURES:
        failures = int(payment.get("autopay_failures_before", 0)) + 1
        most = int(payment.get("autopay_max_attempts", 1))
        if failures < most:
            retry = payment["failed_at"] + dt.timedelta(seconds=payment["autopay_retry_s"])
            then = f"It will be tried again on {retry.date().isoformat()} ({failures} of {most})."
        else:
            then = "That was the last try: please pay it in the app."
        title, body = (
            "自动扣款失败 Autopay failed",
            f"Autopay could not take {amount} for {what}. {then}",
        )
    else:
        title = ""  # paid meanwhile, or autopay stopped before it was sent: nothing charged
    if title and tenant_id is not None:
        await notify(
            store,
            tenant_id,
            "AUTOPAY",
            title,
            body,
            invoice_id=payment["invoice_id"],
            lease_id=payment.get("lease_id"),
            key=f"AUTOPAY:{payment['_id']}:{payment['status']}",
        )
    await autopay.bump(store, payment["lease_id"])
