"""Leases: starting, extending and ending them.

Rules (the README repeats them):
- Dates are calendar days (UTC, as everywhere in Anju); a lease runs from its start date to
  its end date, both included. Its cards are valid from 00:00 UTC of the first day to 00:00 UTC
  after the last.
- A room is leased once at a time: a rule of the store (`UniqueWhile("one_active_per_room")`),
  kept by the insert of the lease, so of two concurrent `startLease` calls one inserts and
  the other gets ROOM_OCCUPIED. The room is then marked OCCUPIED, and given back if the
  occupants are refused (ALREADY_REGISTERED).
- Everything that changes a lease or its occupants (and so their cards) holds the lease's
  claim, released before the gateway is called.
- The tenant is invited by phone and the lease reaches their account when they accept it:
  app/services/lease_invitations.py.
- Invoices: see app/services/invoices.py; the deposit's: app/services/deposits.py; late fees
  (a policy at start, replaceable at each extension for its new months):
  app/services/late_fees.py; autopay, which ends with the lease: app/services/autopay.py.
- Extending keeps everything already billed: invoices, payments, fees, the deposit.
- Ending: the move-out date is the last day paid for, between the start and end dates and not
  after today (unless the lease has not started: then it may be cancelled from its start
  date). Every occupant is deregistered and every card revoked *before* the lease is marked
  ENDED, so a crash half-way never leaves a card valid on an ended lease.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from bson import ObjectId
from pymongo import ReturnDocument

from app.clock import now, today
from app.deps import Deps
from app.errors import Code, Collector, NotFoundError, UserInputError
from app.services import (
    audit,
    autopay,
    cards,
    deposits,
    invoices,
    lease_invitations,
    lease_terms,
    listings,
    notifications,
    occupants,
    rooms,
    stats,
    visitor_passes,
)
from app.services.card_outbox import lease_claim
from app.services.occupants import Person
from app.store import Doc, Store
from app.viewer import Role, Viewer

ACTIVE, ENDED = "ACTIVE", "ENDED"
LEASE_ORDER = [("created_at", -1), ("_id", -1)]
MAX_MY_LEASES = 100


# --- visibility and look-ups ------------------------------------------------------------------


def can_see_lease(viewer: Viewer, lease: Doc) -> bool:
    """The landlord and the tenant of the lease (an invoice carries both too)."""
    if viewer.account_id is None:
        return False
    if viewer.role is Role.LANDLORD:
        return bool(lease.get("landlord_id") == viewer.account_id)
    if viewer.role is Role.TENANT:
        return bool(lease.get("tenant_id") == viewer.account_id)
    return False


async def owned_lease(
    store: Store, viewer: Viewer, lease_id: ObjectId, field: Sequence[str] = ("leaseId",)
) -> Doc:
    landlord_id = viewer.require(Role.LANDLORD)
    lease = await store.find_by_id("leases", lease_id, landlord_id=landlord_id)
    if lease is None:
        raise NotFoundError("Lease", field=list(field))
    return lease


async def my_leases(deps: Deps, viewer: Viewer) -> list[Doc]:
    """TENANT: their leases and the invitations waiting for them, newest first."""
    tenant_id = viewer.require(Role.TENANT)
    mine = await deps.store.leases.find(
        {"tenant_id": tenant_id}, sort=LEASE_ORDER, limit=MAX_MY_LEASES
    ).to_list(None)
    waiting = await lease_invitations.open_invitations(deps, tenant_id)
    both = sorted(waiting + mine, key=lambda d: (d["created_at"], d["_id"]), reverse=True)
    return both[:MAX_MY_LEASES]


async def _tell_tenant(
    store: Store, lease: Doc, title: str, body: str, *, lease_id: ObjectId
) -> None:
    """LEASE_CHANGED to the lease's tenant, once one has accepted it."""
    if lease.get("tenant_id") is not None:
        await notifications.notify(
            store, lease["tenant_id"], "LEASE_CHANGED", title, body, lease_id=lease_id
        )


def _not_active() -> UserInputError:
    return UserInputError("This lease has ended.", code=Code.LEASE_NOT_ACTIVE, field=["leaseId"])


def check_running(lease: Doc) -> None:
    """LEASE_NOT_ACTIVE unless the lease is ACTIVE and not past its end date."""
    if lease["status"] != ACTIVE or lease["end_date"] < today().isoformat():
        raise _not_active()


# --- starting -----------------------------------------------------------------------------------


def _room_occupied() -> UserInputError:
    return UserInputError("This room is already let.", code=Code.ROOM_OCCUPIED, field=["roomId"])


async def start_lease(deps: Deps, viewer: Viewer, given: lease_terms.StartLeaseIn) -> Doc:
    viewer.require(Role.LANDLORD)
    phone, people, policy = lease_terms.check_start(given, today())
    store = deps.store
    room = await rooms.owned_room(store, viewer, given.room_id)
    if room["status"] == rooms.OCCUPIED:
        raise _room_occupied()
    if room["status"] != rooms.VACANT:
        raise UserInputError(
            "This room is not available for letting.", code=Code.ROOM_NOT_VACANT, field=["roomId"]
        )
    at = now()
    lease = lease_terms.lease_doc(
        room,
        None,
        start_date=given.start_date,
        end_date=given.end_date,
        monthly_rent_fen=given.monthly_rent_fen,
        deposit_fen=given.deposit_fen,
        rent_due_day=given.rent_due_day,
        at=at,
        late_fee_policy=policy,
    )
    lease |= lease_invitations.invitation_fields(deps, phone, at)
    async with store.claimed(lease_claim(lease["_id"])):
        keys = await _start(deps, room, lease, people)
    await deps.outbox.apply_now(keys)
    return lease


async def _start(deps: Deps, room: Doc, lease: Doc, people: Sequence[Person]) -> list[str]:
    store = deps.store
    await store.insert_unique("leases", lease, _room_occupied())
    # an archived room is never let: archiving checks for a lease after it archives, and
    # this for the archive after the lease exists, so one of two racing calls refuses
    if not await rooms.set_status(store, room["_id"], rooms.OCCUPIED, where={"archived_at": None}):
        await store.leases.delete_one({"_id": lease["_id"]})
        raise UserInputError(
            "This room is not available for letting.", code=Code.ROOM_NOT_VACANT, field=["roomId"]
        )
    valid_from, valid_until = cards.lease_window(lease["start_date"], lease["end_date"])
    try:
        people_docs, keys = await occupants.register(
            deps,
            lease,
            people,
            [["occupants", str(i), "idNumber"] for i in range(len(people))],
            valid_from=valid_from,
            valid_until=valid_until,
        )
    except UserInputError:
        # refused: give the room back (vacant first, then the lease), as if nothing happened
        await rooms.set_status(store, room["_id"], rooms.VACANT)
        await store.leases.delete_one({"_id": lease["_id"]})
        raise
    # From here on the lease exists; the rest follows from it.
    start = dt.date.fromisoformat(lease["start_date"])
    end = dt.date.fromisoformat(lease["end_date"])
    billed = invoices.invoice_docs(
        lease, start, end, lease["monthly_rent_fen"], lease["created_at"]
    )
    if lease["deposit_fen"] > 0:
        billed.append(deposits.deposit_invoice_doc(lease, lease["created_at"]))
    await store.invoices.insert_many(billed)
    await listings.unpublish_for_room(store, room["_id"])
    await stats.bump(
        store, lease["place"], lease["kind"], occupied_rooms=1, residents=len(people_docs)
    )
    await audit.record(
        store,
        lease["landlord_id"],
        "lease.start",
        target=("Lease", lease["_id"]),
        details={
            "roomId": str(room["_id"]),
            "startDate": lease["start_date"],
            "endDate": lease["end_date"],
            "occupants": len(people_docs),
        },
    )
    await lease_invitations.send(deps, lease, room)
    return keys


# --- extending and ending -----------------------------------------------------------------------


async def extend_lease(
    deps: Deps,
    viewer: Viewer,
    lease_id: ObjectId,
    *,
    new_end_date: dt.date,
    monthly_rent_fen: int | None,
    late_fee_policy: lease_terms.LateFeePolicyIn | None = None,
) -> Doc:
    """LANDLORD: a later end date, the new days billed at the rent given (the current one by
    default) under the late fee policy given (the current one by default)."""
    landlord_id = viewer.require(Role.LANDLORD)
    errors = Collector()
    if monthly_rent_fen is not None:
        rooms.check_rent(errors, ["monthlyRentFen"], monthly_rent_fen)
    policy = lease_terms.check_late_fee_policy(errors, late_fee_policy)
    errors.raise_if_any()
    store = deps.store
    await owned_lease(store, viewer, lease_id)
    new_end = new_end_date.isoformat()
    async with store.claimed(lease_claim(lease_id)):
        lease = await owned_lease(store, viewer, lease_id)
        if lease["status"] != ACTIVE:
            raise _not_active()
        lease_terms.check_extension(lease, new_end_date)
        rent_fen = monthly_rent_fen or lease["monthly_rent_fen"]
        if late_fee_policy is None:
            policy = lease.get("late_fee_policy")
        at = now()
        extension = {
            "previous_end_date": lease["end_date"],
            "new_end_date": new_end,
            "monthly_rent_fen": rent_fen,
            "late_fee_policy": policy,
            "extended_at": at,
        }
        updated = await store.leases.find_one_and_update(
            {"_id": lease_id},
            {
                "$set": {
                    "end_date": new_end,
                    "monthly_rent_fen": rent_fen,
                    "late_fee_policy": policy,
                },
                "$push": {"extensions": extension},
            },
            return_document=ReturnDocument.AFTER,
        )
        assert updated is not None
        first_new = dt.date.fromisoformat(lease["end_date"]) + dt.timedelta(days=1)
        await store.invoices.insert_many(
            invoices.invoice_docs(updated, first_new, new_end_date, rent_fen, at)
        )
        await autopay.bump(store, lease_id)  # it goes on to the new months
        _, valid_until = cards.lease_window(updated["start_date"], new_end)
        keys: list[str] = []
        for occupant in await occupants.current_occupants(store, lease_id):
            _, changed = await deps.outbox.change_card(
                occupant, {"valid_until": valid_until}, where={"current": True}
            )
            keys += changed
        await audit.record(
            store,
            landlord_id,
            "lease.extend",
            target=("Lease", lease_id),
            details={
                "previousEndDate": lease["end_date"],
                "newEndDate": new_end,
                "rentFen": rent_fen,
            },
        )
        await _tell_tenant(
            store,
            lease,
            "Your lease has been extended",
            f"It now ends on {new_end}; monthly rent {rent_fen / 100:.2f} yuan.",
            lease_id=lease_id,
        )
    await deps.outbox.apply_now(keys)
    return updated


async def end_lease(
    deps: Deps, viewer: Viewer, lease_id: ObjectId, *, move_out_date: dt.date
) -> Doc:
    landlord_id = viewer.require(Role.LANDLORD)
    store = deps.store
    await owned_lease(store, viewer, lease_id)
    move_out = move_out_date.isoformat()
    async with store.claimed(lease_claim(lease_id)):
        lease = await owned_lease(store, viewer, lease_id)
        if lease["status"] != ACTIVE:
            raise _not_active()
        lease_terms.check_move_out(lease, move_out_date, today())
        at = now()
        keys: list[str] = []
        # Revoke first: whatever happens next, no card or visitor's code of this lease stays
        # valid.
        for occupant in await occupants.current_occupants(store, lease_id):
            keys += (await occupants.deregister(deps, occupant, lease, at))[1]
        keys += await visitor_passes.end_with_lease(deps, lease_id)
        ended = await store.leases.find_one_and_update(
            {"_id": lease_id},
            {"$set": {"status": ENDED, "ended_at": at, "move_out_date": move_out}},
            return_document=ReturnDocument.AFTER,
        )
        assert ended is not None
        await autopay.end_with_lease(deps, lease_id)
        await invoices.cut_to_move_out(store, lease_id, move_out)
        await rooms.set_status(store, lease["room_id"], rooms.VACANT)
        await stats.bump(store, lease["place"], lease["kind"], occupied_rooms=-1)
        await audit.record(
            store,
            landlord_id,
            "lease.end",
            target=("Lease", lease_id),
            details={"moveOutDate": move_out},
        )
        await _tell_tenant(
            store,
            lease,
            "Your lease has ended",
            f"Move-out date {move_out}; the access cards no longer open the doors.",
            lease_id=lease_id,
        )
    await deps.outbox.apply_now(keys)
    return ended
