"""Online payments: charged through the payment provider (payInvoice), whose answer or
webhook settles them (app/services/payments.py has the payment document and its outcomes).

Reserve the amount on the invoice first (so that two keys cannot overpay), then
`POST /v1/charges` with the key `anju-payment-<payment id>` (idempotent at the provider:
retrying, or re-asking later, never makes a second charge). Only the caller holding the
payment's drive claim talks to the provider about it. A synchronous `succeeded` or `failed`
answer and the webhook (app/services/payment_events.py) go through the same `settle`.
Provider unreachable or refusing (nothing charged): FAILED, reservation released,
PAYMENT_PROVIDER_ERROR (AGREEMENT_INACTIVE for an autopay charge whose agreement the provider
no longer holds active). Provider silent (timeout, 5xx: a charge may exist): stays PENDING with
its reservation, PAYMENT_PROVIDER_ERROR; calling again with the same key, or the worker, asks
again and settles it.
"""

from __future__ import annotations

import logging

from bson import ObjectId

from app.clients.payments import (
    RETRIES,
    AgreementInactive,
    PaymentsRefused,
    PaymentsUnavailable,
    PaymentsUncertain,
)
from app.deps import Deps
from app.errors import Code, Collector, NotFoundError, UserInputError
from app.services import invoice_ledger, payments
from app.services.payments import (
    CHARGE_KNOWN,
    CHARGE_NONE,
    CHARGE_UNKNOWN,
    FAILED,
    PENDING,
    SUCCEEDED,
    apply_outcome,
    finish,
    fresh,
    update,
)
from app.store import Doc, Store
from app.viewer import Role, Viewer

log = logging.getLogger("anju.rent")


def provider_key(payment_id: ObjectId) -> str:
    return f"anju-payment-{payment_id}"


def drive_claim(payment_id: ObjectId) -> str:
    return f"payment-drive:{payment_id}"


async def settle(store: Store, payment: Doc, outcome: str, *, event_id: str | None = None) -> Doc:
    """The provider's outcome ("succeeded"/"failed") of an online payment, from its answer
    or its webhook: one code path, idempotent."""
    status = SUCCEEDED if outcome == "succeeded" else FAILED
    return await finish(
        store, payment, status, failure_code=Code.PAYMENT_DECLINED, event_id=event_id
    )


async def _charge(deps: Deps, payment: Doc) -> Doc:
    """Reserves the amount, then asks the provider for the charge (the caller drives it)."""
    store, pid, invoice_id = deps.store, payment["_id"], payment["invoice_id"]
    if not payment["reserved"]:
        reserved = await invoice_ledger.reserve(store, invoice_id, pid, payment["amount_fen"])
        if reserved != invoice_ledger.RESERVED:
            return await finish(store, payment, FAILED, failure_code=reserved)
        payment = await update(store, pid, {"reserved": True}) or payment
    invoice = await store.invoices.find_one({"_id": invoice_id}, {"period_start": 1})
    automatic = bool(payment.get("autopay"))
    try:
        charge = await deps.payments.create_charge(
            idempotency_key=provider_key(pid),
            amount_fen=payment["amount_fen"],
            method=payment["method"],
            description=f"Anju rent from {invoice['period_start'] if invoice else '?'}",
            notify_url=f"{deps.settings.public_url}/webhooks/payments",
            agreement_id=payment.get("agreement_id"),
            # the worker holds the autopay claim meanwhile, and asks again at its next pass
            retries=0 if automatic else RETRIES,
        )
    except AgreementInactive as exc:  # no charge was made
        log.warning("payment %s: the agreement is not active (%s)", pid, exc)
        return await finish(store, payment, FAILED, failure_code=Code.AGREEMENT_INACTIVE)
    except PaymentsUncertain as exc:
        log.warning("payment %s: outcome unknown (%s); it stays PENDING", pid, exc)
        await update(store, pid, {"charge_state": CHARGE_UNKNOWN}, charge_state=CHARGE_NONE)
        raise UserInputError(
            "The payment provider did not confirm the charge; nothing has been recorded as "
            "paid. Call again with the same idempotency key to learn the outcome.",
            code=Code.PAYMENT_PROVIDER_ERROR,
        ) from exc
    except (PaymentsUnavailable, PaymentsRefused) as exc:
        log.warning("payment %s: the provider did not take the charge (%s)", pid, exc)
        if payment["charge_state"] == CHARGE_NONE:  # no charge can exist: fail and release
            return await finish(store, payment, FAILED, failure_code=Code.PAYMENT_PROVIDER_ERROR)
        raise UserInputError(
            "The payment provider is unavailable; nothing has been recorded as paid. Call "
            "again with the same idempotency key later.",
            code=Code.PAYMENT_PROVIDER_ERROR,
        ) from exc
    current = await update(
        store, pid, {"charge_id": charge.charge_id, "charge_state": CHARGE_KNOWN}, charge_id=None
    )
    if current is None:
        current = await fresh(store, pid)
        if current["charge_id"] != charge.charge_id:
            log.error("payment %s: the provider answered another charge %s", pid, charge.charge_id)
    if charge.status == "pending":
        return current
    return await settle(store, current, charge.status)


async def drive_online(deps: Deps, payment: Doc) -> Doc:
    """Takes a PENDING online payment as far as it can go now; only the caller holding its
    drive claim acts, anyone else gets it as it stands."""
    if payment["status"] != PENDING:
        return await apply_outcome(deps.store, payment)
    claim = await deps.store.claim(drive_claim(payment["_id"]))
    if claim is None:
        return await fresh(deps.store, payment["_id"])
    try:
        current = await fresh(deps.store, payment["_id"])
        if current["status"] != PENDING:
            return await apply_outcome(deps.store, current)
        return await _charge(deps, current)
    finally:
        await deps.store.release(claim)


async def pay_invoice(
    deps: Deps,
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
    key = payments.check_common(errors, amount_fen, idempotency_key)
    if method not in payments.ONLINE_METHODS:
        errors.add(["method"], Code.INVALID_METHOD, "Pay online with WECHAT_PAY or ALIPAY.")
    errors.raise_if_any()
    store = deps.store
    invoice = await store.find_by_id("invoices", invoice_id, tenant_id=tenant_id)
    if invoice is None:
        raise NotFoundError("Invoice", field=["invoiceId"])
    payment = await payments.payment_for(store, tenant_id, key, invoice, amount_fen, method, None)
    return await payments.outcome(store, await drive_online(deps, payment))
