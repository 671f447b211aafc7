"""A lease reaches a tenant's account only when that account accepts it.

`startLease` names the tenant by phone: the lease is written, its occupants registered and
their cards put on the doors at once (the people move in whether or not they use the app),
and an invitation goes to that phone: an SMS always, and a LEASE_INVITATION notification to
the account that holds the phone, if one does. Until an account whose phone is the invited
one accepts (`acceptLease`), no account is the lease's tenant: nobody opens its doors, sees
its occupants or pays its invoices through the app, and the landlord sees the phone the
invitation went to, never an account's name (so a landlord cannot look up who is behind a
phone, and a typo gives a stranger nothing). An invitation expires after
ANJU_LEASE_INVITATION_TTL_S; the landlord can send it again, to a corrected phone.
"""

from __future__ import annotations

import datetime as dt

from bson import ObjectId
from pymongo import ReturnDocument

from app.clock import now
from app.deps import Deps
from app.errors import Code, Collector, NotFoundError, UserInputError
from app.services import audit
from app.services.notifications import notify
from app.store import Doc
from app.validation import check_phone
from app.viewer import Role, Viewer

ACTIVE = "ACTIVE"


def invitation_fields(deps: Deps, phone: str, at: dt.datetime) -> Doc:
    return {
        "invited_phone": phone,
        "invited_at": at,
        "invitation_expires_at": at + dt.timedelta(seconds=deps.settings.lease_invitation_ttl_s),
    }


async def send(deps: Deps, lease: Doc, room: Doc) -> None:
    """Tells the invited phone: an SMS, and a notification to its account if it has one."""
    phone = lease["invited_phone"]
    prop = await deps.store.properties.find_one({"_id": lease["property_id"]}, {"address": 1})
    address = f"{prop['address'] if prop else ''} {room['number']}".strip()
    await deps.sms.queue(
        phone,
        "lease_invitation",
        {"address": address, "from": lease["start_date"], "until": lease["end_date"]},
    )
    account = await deps.store.accounts.find_one(
        {"phone": phone, "role": Role.TENANT.value}, {"_id": 1}
    )
    if account is not None:
        await notify(
            deps.store,
            account["_id"],
            "LEASE_INVITATION",
            "租约邀请 Lease invitation",
            f"A lease of {address} from {lease['start_date']} to {lease['end_date']} waits "
            "for you to accept it in the app.",
            lease_id=lease["_id"],
            key=f"LEASE_INVITATION:{lease['_id']}:{phone}:{lease['invited_at'].isoformat()}",
        )


async def _tenant_phone(deps: Deps, viewer: Viewer) -> tuple[ObjectId, str]:
    tenant_id = viewer.require(Role.TENANT)
    account = await deps.store.accounts.find_one({"_id": tenant_id}, {"phone": 1})
    if account is None:
        raise NotFoundError("Lease", field=["leaseId"])
    return tenant_id, account["phone"]


async def accept_lease(deps: Deps, viewer: Viewer, lease_id: ObjectId) -> Doc:
    """TENANT: accepts a lease sent to their phone; from then on it is theirs. Idempotent."""
    tenant_id, phone = await _tenant_phone(deps, viewer)
    store = deps.store
    lease = await store.leases.find_one({"_id": lease_id})
    if lease is not None and lease.get("tenant_id") == tenant_id:
        await _hand_over(deps, lease, tenant_id)  # again: finishes a hand-over a crash cut
        return lease
    if lease is None or lease.get("tenant_id") is not None or lease["invited_phone"] != phone:
        raise NotFoundError("Lease", field=["leaseId"])  # as if it did not exist
    if lease["status"] != ACTIVE:
        raise UserInputError("This lease has ended.", code=Code.LEASE_NOT_ACTIVE, field=["leaseId"])
    at = now()
    if lease["invitation_expires_at"] <= at:
        raise UserInputError(
            "This invitation has expired; ask the landlord to send it again.",
            code=Code.INVITATION_EXPIRED,
            field=["leaseId"],
        )
    async with store.exclusive(f"lease-invitation:{lease_id}"):
        accepted = await store.leases.find_one_and_update(
            {"_id": lease_id, "tenant_id": None, "invited_phone": phone},
            {"$set": {"tenant_id": tenant_id, "tenant_accepted_at": at}},
            return_document=ReturnDocument.AFTER,
        )
    if accepted is None:
        raise NotFoundError("Lease", field=["leaseId"])
    await _hand_over(deps, accepted, tenant_id)
    account = await store.accounts.find_one({"_id": tenant_id}, {"name": 1})
    await notify(
        store,
        accepted["landlord_id"],
        "LEASE_CHANGED",
        "租约已接受 Lease accepted",
        f"{account['name'] if account else 'The tenant'} accepted the lease from "
        f"{accepted['start_date']} to {accepted['end_date']}.",
        lease_id=lease_id,
        key=f"LEASE_ACCEPTED:{lease_id}",
    )
    await audit.record(store, tenant_id, "lease.accept", target=("Lease", lease_id))
    return accepted


async def _hand_over(deps: Deps, lease: Doc, tenant_id: ObjectId) -> None:
    """The lease's occupants and invoices carry their tenant (each access check is then one
    condition). A lease is accepted once, so everything of it gets the one tenant."""
    for collection in ("occupants", "invoices"):
        await deps.store[collection].update_many(
            {"lease_id": lease["_id"]}, {"$set": {"tenant_id": tenant_id}}
        )


async def resend(deps: Deps, viewer: Viewer, lease_id: ObjectId, tenant_phone: str) -> Doc:
    """LANDLORD: sends the invitation again (a new window), to a corrected phone if need be."""
    from app.services.leases import owned_lease

    errors = Collector()
    phone = check_phone(errors, ["tenantPhone"], tenant_phone)
    errors.raise_if_any()
    store = deps.store
    lease = await owned_lease(store, viewer, lease_id)
    if lease["status"] != ACTIVE:
        raise UserInputError("This lease has ended.", code=Code.LEASE_NOT_ACTIVE, field=["leaseId"])
    fields = invitation_fields(deps, phone, now())
    async with store.exclusive(f"lease-invitation:{lease_id}"):
        updated = await store.leases.find_one_and_update(
            {"_id": lease_id, "tenant_id": None},
            {"$set": fields},
            return_document=ReturnDocument.AFTER,
        )
    if updated is None:
        raise UserInputError(
            "The tenant has accepted this lease already.",
            code=Code.ALREADY_ACCEPTED,
            field=["leaseId"],
        )
    room = await store.rooms.find_one({"_id": lease["room_id"]}, {"number": 1})
    await send(deps, updated, room or {"number": ""})
    await audit.record(
        store,
        lease["landlord_id"],
        "lease.invite",
        target=("Lease", lease_id),
        details={"phoneChanged": phone != lease["invited_phone"]},
    )
    return updated


async def open_invitations(deps: Deps, tenant_id: ObjectId) -> list[Doc]:
    """The leases waiting for this tenant's acceptance (sent to their phone, not expired)."""
    account = await deps.store.accounts.find_one({"_id": tenant_id}, {"phone": 1})
    if account is None:
        return []
    return await deps.store.leases.find(
        {
            "invited_phone": account["phone"],
            "tenant_id": None,
            "status": ACTIVE,
            "invitation_expires_at": {"$gt": now()},
        }
    ).to_list(None)
