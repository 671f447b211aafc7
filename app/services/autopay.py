"""Autopay: a tenant's standing payment agreement with the provider (../shared/DEVICES.md,
"Payment agreements"), through which the rent worker charges each invoice when it falls due
(app/services/autopay_charges.py).

One document per lease in `autopays` (`_id` = the lease's), its status PENDING (the agreement
waits for the tenant's signature in their wallet app, at `sign_url`), ACTIVE (signed: the
provider's `agreement.active`) or STOPPED (by the tenant here or in their wallet, by the end
of the lease, or by the provider refusing the agreement). Each new agreement is a new
generation with its own idempotency key (`anju-autopay-<lease>-<generation>`), so asking the
provider again after a lost answer finds the same agreement, and turning autopay off and on
makes a new one.

Everything that starts or stops autopay, and the worker's charging, holds the lease's autopay
claim (`autopay:<lease>`): a stop waits for a charge being sent, and once setAutopay(null)
has answered no new charge is made. A stop cancels the agreement at the provider (a charge
already taken still settles); a cancellation the provider did not take is retried by the
worker (`cancel_agreement_ids`). Single-document changes of the autopay document are
conditional updates under its guard (`autopay-doc:<lease>`).
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from bson import ObjectId
from pymongo import ReturnDocument

from app.clients.payments import PaymentsError, PaymentsUncertain
from app.clock import now
from app.deps import Deps
from app.errors import Code, NotFoundError, UserInputError
from app.services.invoice_lines import yuan
from app.services.notifications import notify
from app.store import Doc, Store
from app.viewer import Role, Viewer

log = logging.getLogger("anju.rent")

PENDING, ACTIVE, STOPPED = "PENDING", "ACTIVE", "STOPPED"
METHODS = frozenset({"WECHAT_PAY", "ALIPAY"})
# why autopay stopped
BY_TENANT, IN_WALLET, LEASE_ENDED, AGREEMENT_INACTIVE, PROVIDER_REFUSED = (
    "TENANT",
    "WALLET",
    "LEASE_ENDED",
    "AGREEMENT_INACTIVE",
    "PROVIDER_REFUSED",
)
STOP_WAIT_S = 30.0  # a stop waits this long for a charge being sent (the provider's timeout)
RETRY_AGREEMENT_AFTER = dt.timedelta(minutes=1)


def claim_name(lease_id: ObjectId) -> str:
    return f"autopay:{lease_id}"


def _guard(lease_id: ObjectId) -> str:
    return f"autopay-doc:{lease_id}"


async def change(store: Store, lease_id: ObjectId, where: Doc, update: Doc) -> Doc | None:
    """One conditional update of a lease's autopay document; the document after, or None."""
    async with store.exclusive(_guard(lease_id)):
        return await store.autopays.find_one_and_update(
            {"_id": lease_id, **where}, update, return_document=ReturnDocument.AFTER
        )


async def bump(store: Store, lease_id: ObjectId) -> None:
    """Asks the worker to look at a lease's autopay at its next pass (its invoices or
    payments changed). Counted in `bumps`, so that a pass running meanwhile does not put its
    older plan over this."""
    await change(
        store,
        lease_id,
        {"status": ACTIVE},
        {"$set": {"next_run_at": now()}, "$inc": {"bumps": 1}},
    )


async def _tell(store: Store, doc: Doc, title: str, body: str, key: str | None = None) -> None:
    await notify(store, doc["tenant_id"], "AUTOPAY", title, body, lease_id=doc["_id"], key=key)


# --- the tenant's switch -------------------------------------------------------------------------


async def set_autopay(deps: Deps, viewer: Viewer, lease_id: ObjectId, method: str | None) -> Doc:
    """TENANT: turns autopay on with `method` (a new agreement to sign; the same method again
    changes nothing) or off (None). Returns the lease."""
    tenant_id = viewer.require(Role.TENANT)
    if method is not None and method not in METHODS:
        raise UserInputError(
            "Autopay goes through WECHAT_PAY or ALIPAY.", code=Code.INVALID_METHOD, field=["method"]
        )
    store = deps.store
    lease = await store.find_by_id("leases", lease_id, tenant_id=tenant_id)
    if lease is None:
        raise NotFoundError("Lease", field=["leaseId"])
    async with store.claimed(claim_name(lease_id), wait_s=STOP_WAIT_S):
        current = await store.autopays.find_one({"_id": lease_id})
        live = current is not None and current["status"] != STOPPED
        if method is None:
            if live and current is not None:
                await stop(deps, current, BY_TENANT)
            return lease
        if lease["status"] != "ACTIVE" or lease["end_date"] < now().date().isoformat():
            raise UserInputError(
                "This lease has ended.", code=Code.LEASE_NOT_ACTIVE, field=["leaseId"]
            )
        if live and current is not None and current["method"] == method:
            if current.get("agreement_id") is None:
                await _ask_agreement(deps, current)  # the provider's answer was lost
            return lease
        if live and current is not None:
            await stop(deps, current, BY_TENANT)  # another wallet: a new agreement
        await _new_agreement(deps, lease, current, method)
    return lease


async def _new_agreement(deps: Deps, lease: Doc, current: Doc | None, method: str) -> None:
    generation = int(current["generation"]) + 1 if current else 1
    at = now()
    doc: Doc = {
        "lease_id": lease["_id"],
        "tenant_id": lease["tenant_id"],
        "landlord_id": lease["landlord_id"],
        "method": method,
        "status": PENDING,
        "since": at,
        "active_since": None,
        "generation": generation,
        "agreement_key": f"anju-autopay-{lease['_id']}-{generation}",
        "agreement_id": None,
        "agreement_ids": list(current.get("agreement_ids", [])) if current else [],
        "sign_url": None,
        "stopped_at": None,
        "stop_reason": None,
        "next_run_at": None,
        "bumps": 0,
        "cancel_agreement_ids": list(current.get("cancel_agreement_ids", [])) if current else [],
        "updated_at": at,
    }
    async with deps.store.exclusive(_guard(lease["_id"])):
        await deps.store.autopays.replace_one({"_id": lease["_id"]}, doc, upsert=True)
    await _ask_agreement(deps, {"_id": lease["_id"], **doc})


async def _ask_agreement(deps: Deps, doc: Doc) -> Doc:
    """Asks the provider for the document's agreement (created, or found by its key)."""
    store, lease_id = deps.store, doc["_id"]
    account = await store.accounts.find_one({"_id": doc["tenant_id"]}, {"phone": 1})
    try:
        agreement = await deps.payments.create_agreement(
            idempotency_key=doc["agreement_key"],
            method=doc["method"],
            payer_phone=account["phone"] if account else "",
            description="Anju rent autopay",
            notify_url=f"{deps.settings.public_url}/webhooks/payments",
        )
    except PaymentsError as exc:
        log.warning("autopay %s: no agreement (%s)", lease_id, exc)
        if not isinstance(exc, PaymentsUncertain):  # nothing was created: say so
            await change(
                store,
                lease_id,
                {"generation": doc["generation"], "status": PENDING},
                {"$set": _stopped(PROVIDER_REFUSED)},
            )
        raise UserInputError(
            "The payment provider could not set up autopay now; nothing will be charged. "
            "Try again in a moment.",
            code=Code.PAYMENT_PROVIDER_ERROR,
            field=["method"],
        ) from exc
    update: dict[str, Any] = {
        "$set": {"agreement_id": agreement.agreement_id, "sign_url": agreement.sign_url},
        "$addToSet": {"agreement_ids": agreement.agreement_id},
    }
    after = await change(
        store, lease_id, {"generation": doc["generation"], "agreement_id": None}, update
    )
    if agreement.status == "active":  # signed already (a lost answer asked again)
        await on_agreement(store, "agreement.active", agreement.agreement_id)
    return after or doc


def _stopped(reason: str) -> Doc:
    at = now()
    return {
        "status": STOPPED,
        "since": at,
        "stopped_at": at,
        "stop_reason": reason,
        "next_run_at": None,
        "updated_at": at,
    }


async def stop(deps: Deps, doc: Doc, reason: str) -> None:
    """Stops autopay and cancels its agreement at the provider (retried by the worker when
    the provider does not take it). The caller holds the autopay claim."""
    lease_id, agreement_id = doc["_id"], doc.get("agreement_id")
    update: dict[str, Any] = {"$set": _stopped(reason)}
    if agreement_id and reason not in (IN_WALLET, AGREEMENT_INACTIVE):
        update["$addToSet"] = {"cancel_agreement_ids": agreement_id}
    stopped = await change(deps.store, lease_id, {"status": {"$ne": STOPPED}}, update)
    if stopped is None:
        return
    await cancel_agreements(deps, stopped)
    if reason == LEASE_ENDED:
        await _tell(
            deps.store,
            stopped,
            "自动扣款已停止 Autopay stopped",
            "The lease has ended, and with it autopay: nothing more will be charged.",
            key=f"AUTOPAY:ended:{lease_id}:{doc['generation']}",
        )


async def cancel_agreements(deps: Deps, doc: Doc) -> None:
    """Cancels at the provider the agreements waiting for it; each leaves the list once
    the provider has taken it."""
    for agreement_id in doc.get("cancel_agreement_ids", []):
        try:
            await deps.payments.cancel_agreement(agreement_id)
        except PaymentsError as exc:
            log.warning("autopay %s: %s not cancelled yet (%s)", doc["_id"], agreement_id, exc)
            continue
        await change(deps.store, doc["_id"], {}, {"$pull": {"cancel_agreement_ids": agreement_id}})


async def end_with_lease(deps: Deps, lease_id: ObjectId) -> None:
    """The lease ended: so does its autopay (a charge being sent settles first)."""
    async with deps.store.claimed(claim_name(lease_id), wait_s=STOP_WAIT_S):
        current = await deps.store.autopays.find_one({"_id": lease_id})
        if current is not None and current["status"] != STOPPED:
            await stop(deps, current, LEASE_ENDED)


# --- the provider's word --------------------------------------------------------------------------


async def on_agreement(store: Store, event_type: str, agreement_id: str) -> bool:
    """`agreement.active` or `agreement.cancelled`; False for an agreement Anju does not know.
    Idempotent: a repeated event finds the document changed already."""
    doc = await store.autopays.find_one({"agreement_ids": agreement_id})
    if doc is None:
        return False
    lease_id = doc["_id"]
    current = doc.get("agreement_id") == agreement_id
    if event_type == "agreement.active":
        if not current or doc["status"] == STOPPED:  # signed after it was stopped or replaced
            await change(store, lease_id, {}, {"$addToSet": {"cancel_agreement_ids": agreement_id}})
            return True
        at = now()
        active = await change(
            store,
            lease_id,
            {"agreement_id": agreement_id, "status": PENDING},
            {
                "$set": {
                    "status": ACTIVE,
                    "since": at,
                    "active_since": at,
                    "next_run_at": at,
                    "updated_at": at,
                }
            },
        )
        if active is not None:
            await _tell(
                store,
                active,
                "自动扣款已开通 Autopay is on",
                f"From today, each invoice's open amount is charged by {active['method']} on "
                "its due date. You can stop it at any time in the app.",
                key=f"AUTOPAY:active:{agreement_id}",
            )
        return True
    if current:
        stopped = await change(
            store,
            lease_id,
            {"agreement_id": agreement_id, "status": {"$ne": STOPPED}},
            {"$set": _stopped(IN_WALLET)},
        )
        if stopped is not None:
            await _tell(
                store,
                stopped,
                "自动扣款已停止 Autopay stopped",
                "The agreement was cancelled in your wallet app: nothing more will be charged "
                "automatically. Pay in the app, or turn autopay on again.",
                key=f"AUTOPAY:cancelled:{agreement_id}",
            )
    await change(store, lease_id, {}, {"$pull": {"cancel_agreement_ids": agreement_id}})
    return True


async def agreement_inactive(store: Store, payment: Doc) -> None:
    """The provider refused a charge because the agreement is not active: autopay stops."""
    stopped = await change(
        store,
        payment["lease_id"],
        {"agreement_id": payment.get("agreement_id"), "status": ACTIVE},
        {"$set": _stopped(AGREEMENT_INACTIVE)},
    )
    if stopped is not None:
        await _tell(
            store,
            stopped,
            "自动扣款已停止 Autopay stopped",
            f"Your wallet refused to charge {yuan(payment['amount_fen'])}: the agreement is no "
            "longer active. Pay in the app, or turn autopay on again.",
            key=f"AUTOPAY:inactive:{payment['_id']}",
        )
