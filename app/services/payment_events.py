"""The provider's word on payments: its webhook events (POST /webhooks/payments) and the
worker's reconciliation of whatever a crash or a lost answer left unfinished.

An event is stored once by its eventId (`payment_events._id`) and marked done after it is
applied; a replay of a done event changes nothing. Applying is `payments.settle` (a charge's
outcome) or `autopay.on_agreement` (an agreement signed or cancelled), both idempotent, so a
delivery that finds its event half-done (a concurrent delivery, a crash) applies it again
safely.
"""

from __future__ import annotations

import asyncio
import logging

from app.clock import now
from app.deps import Deps
from app.errors import UserInputError
from app.services import autopay, autopay_charges, charges, payments
from app.store import Doc, Store

log = logging.getLogger("anju.rent")

PROCESSED, DUPLICATE, UNKNOWN_CHARGE = "processed", "duplicate", "unknown_charge"
UNKNOWN_CHARGE_WAITS_S = (0.1, 0.2, 0.4)


async def handle_payment_event(
    store: Store, event_id: str, charge_id: str, status: str, at: str | None
) -> str:
    """Processes one provider event once: PROCESSED, DUPLICATE (processed before), or
    UNKNOWN_CHARGE (not recorded, so that the provider's retry is processed later)."""
    event = {"_id": event_id, "charge_id": charge_id, "status": status, "at": at}
    if not await _stored(store, event):
        return DUPLICATE
    payment = await store.payments.find_one({"charge_id": charge_id})
    for pause in UNKNOWN_CHARGE_WAITS_S:
        if payment is not None:
            break
        # the provider may call before Anju has stored the charge id from its own answer
        await asyncio.sleep(pause)
        payment = await store.payments.find_one({"charge_id": charge_id})
    if payment is None:
        await store.payment_events.delete_one({"_id": event_id, "state": "processing"})
        return UNKNOWN_CHARGE
    await charges.settle(store, payment, status, event_id=event_id)
    await store.payment_events.update_one(
        {"_id": event_id}, {"$set": {"state": "done", "payment_id": payment["_id"]}}
    )
    return PROCESSED


async def _stored(store: Store, event: Doc) -> bool:
    """Stores an event once; False if it was processed before ("processing": a concurrent
    delivery or a crash, and applying is idempotent)."""
    if await store.insert_once(
        "payment_events", {**event, "received_at": now(), "state": "processing"}
    ):
        return True
    seen = await store.payment_events.find_one({"_id": event["_id"]})
    return not (seen is not None and seen.get("state") == "done")


async def handle_agreement_event(
    store: Store, event_id: str, event_type: str, agreement_id: str, at: str | None
) -> str:
    """Processes one agreement event once: PROCESSED, DUPLICATE, or UNKNOWN_CHARGE for an
    agreement Anju does not know (yet: the provider retries)."""
    event = {"_id": event_id, "type": event_type, "agreement_id": agreement_id, "at": at}
    if not await _stored(store, event):
        return DUPLICATE
    known = await autopay.on_agreement(store, event_type, agreement_id)
    for pause in UNKNOWN_CHARGE_WAITS_S:
        if known:
            break
        await asyncio.sleep(pause)  # Anju may not have stored the agreement's id yet
        known = await autopay.on_agreement(store, event_type, agreement_id)
    if not known:
        await store.payment_events.delete_one({"_id": event_id, "state": "processing"})
        return UNKNOWN_CHARGE
    await store.payment_events.update_one({"_id": event_id}, {"$set": {"state": "done"}})
    return PROCESSED


async def reconcile(deps: Deps, limit: int = 200) -> int:
    """Finishes payments left unfinished for FOLLOW_UP_AFTER: a crash between two steps, a
    lost webhook, an unanswered charge (asking the provider again with the same key is
    safe). Reads only the follow-ups that are due (payments.insert_payment), so an idle pass
    reads nothing. Returns how many it looked at."""
    store = deps.store
    due = await store.payment_followups.find(
        {"due_at": {"$lte": now()}}, sort=[("due_at", 1)], limit=limit
    ).to_list(None)
    for followup in due:
        payment = await store.payments.find_one({"_id": followup["_id"]})
        if payment is None or payment["applied"]:  # never inserted (a key in use), or done
            await store.payment_followups.delete_one({"_id": followup["_id"]})
            continue
        try:
            if payment["status"] != payments.PENDING:
                await payments.apply_outcome(store, payment)
            elif payment["kind"] == payments.OFFLINE:
                await payments.complete_offline(store, payment)
            elif payment.get("autopay"):  # sent only while its autopay is on
                await autopay_charges.drive_left(deps, payment)
            else:
                await charges.drive_online(deps, payment)
        except UserInputError as exc:
            log.info("payment %s still unfinished: %s", payment["_id"], exc.message)
        # still unfinished: look again later, not every pass (an applied one has none)
        fresh = await store.payments.find_one({"_id": payment["_id"]}, {"applied": 1})
        if fresh is not None and not fresh["applied"]:
            await payments.follow_up(store, payment["_id"], now() + payments.FOLLOW_UP_AFTER)
    return len(due)
