"""Visitor passes: letting a named visitor or a repair worker in without lending anyone a card
(一人一卡 holds: a card stays with the person registered as living there).

A tenant (for their room, at most 24 hours, within their lease) or the landlord (for a room
of theirs, at most 7 days) issues a pass to a person named as for a registration: name,
phone, resident ID number (checked, stored like an occupant's: encrypted, a keyed hash,
masked). The pass's PIN code (app/services/door_codes.py) goes onto the room's doors and the
property's entrances for the pass's window through the card outbox, with its retries, and to
the visitor's phone by SMS (`visitor_pass`: code, from, until, address). A pass ends at its
window's end (the doors refuse it), when revoked (its issuer, or the tenant of the room), and,
for a tenant's pass, when their lease ends: each revocation deletes the code from every door,
also when the gateway is down at that moment (the outbox keeps trying).

Nobody registered as living in the room gets a pass to it (they hold a card), and one person
holds one live pass per room. The landlord's pass to an occupied room is the tenant's to know:
they are told (VISITOR_PASS) and may revoke it. Police find passes, and entries with them, by
the visitor's ID number. A pass is kept ANJU_VISITOR_PASS_RETENTION_DAYS after its end (a TTL
index), then forgotten.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from bson import ObjectId
from pymongo import ReturnDocument

from app.clock import now, today
from app.deps import Deps
from app.errors import Code, Collector, NotFoundError, UserInputError
from app.services import audit, cards, door_codes, idnumbers, maintenance, rate_limits
from app.services.access_events import running_leases
from app.services.card_outbox import pass_claim
from app.services.notifications import local_time, notify
from app.store import Doc, Store
from app.validation import check_phone, clean_text
from app.viewer import Role, Viewer

TENANT_MAX = dt.timedelta(hours=24)
LANDLORD_MAX = dt.timedelta(days=7)
MAX_AHEAD = dt.timedelta(days=30)
MAX_NAME, MAX_PURPOSE = 50, 200
REVOKED, LEASE_ENDED = "REVOKED", "LEASE_ENDED"


@dataclass(frozen=True)
class PassIn:
    """A pass as its issuer typed it."""

    room_id: ObjectId
    visitor_name: str
    visitor_phone: str
    visitor_id_number: str
    purpose: str | None
    valid_from: dt.datetime
    valid_until: dt.datetime
    maintenance_request_id: ObjectId | None = None


def _window(
    errors: Collector, role: Role | None, start: dt.datetime, end: dt.datetime
) -> tuple[dt.datetime, dt.datetime]:
    """The window to the second (the gateway's unit), starting now at the earliest."""
    if start.tzinfo is None or end.tzinfo is None:
        errors.add(["validFrom"], Code.INVALID_ARGUMENT, "Give times with their time zone.")
        return start, end
    at = now().replace(microsecond=0)
    start = max(start.astimezone(dt.UTC).replace(microsecond=0), at)
    end = end.astimezone(dt.UTC).replace(microsecond=0)
    longest = LANDLORD_MAX if role is Role.LANDLORD else TENANT_MAX
    if start > at + MAX_AHEAD:
        errors.add(["validFrom"], Code.OUT_OF_RANGE, "A pass starts within 30 days.")
    elif end <= start:
        errors.add(["validUntil"], Code.INVALID_DATE_RANGE, "The pass must end after it starts.")
    elif end - start > longest:
        hours = int(longest.total_seconds() // 3600)
        errors.add(["validUntil"], Code.OUT_OF_RANGE, f"A pass lasts at most {hours} hours.")
    return start, end


async def _issuable_room(store: Store, viewer: Viewer, room_id: ObjectId) -> tuple[Doc, Doc | None]:
    """The room and, for a tenant, their running lease of it; NOT_FOUND for anyone else."""
    room = await store.find_by_id("rooms", room_id)
    if room is not None and viewer.role is Role.LANDLORD:
        if room["landlord_id"] == viewer.account_id:
            return room, None
    elif room is not None and viewer.account_id is not None:
        for lease in await running_leases(store, viewer.account_id):
            if lease["room_id"] == room_id:
                return room, lease
    raise NotFoundError("Room", field=["roomId"])


async def _tenant_of(store: Store, room_id: ObjectId) -> Doc | None:
    """The room's accepted lease running today, if any."""
    day = today().isoformat()
    lease = await store.leases.find_one({"room_id": room_id, "status": "ACTIVE"})
    if lease is None or lease.get("tenant_id") is None:
        return None
    return lease if lease["start_date"] <= day <= lease["end_date"] else None


async def address_of(store: Store, room: Doc) -> str:
    prop = await store.properties.find_one({"_id": room["property_id"]}, {"address": 1})
    return f"{prop['address'] if prop else ''} {room['number']}".strip()


async def issue_pass(deps: Deps, viewer: Viewer, given: PassIn) -> Doc:
    """TENANT or LANDLORD: a pass for a room (the rules above)."""
    account_id = viewer.require(Role.LANDLORD, Role.TENANT)
    store, settings = deps.store, deps.settings
    errors = Collector()
    name = clean_text(errors, ["visitorName"], given.visitor_name, max_len=MAX_NAME)
    phone = check_phone(errors, ["visitorPhone"], given.visitor_phone)
    number = idnumbers.normalize(given.visitor_id_number)
    why = idnumbers.problem(number, today())
    if why is not None:
        errors.add(["visitorIdNumber"], Code.INVALID_ID_NUMBER, why)
    purpose = clean_text(errors, ["purpose"], given.purpose, max_len=MAX_PURPOSE, required=False)
    start, end = _window(errors, viewer.role, given.valid_from, given.valid_until)
    errors.raise_if_any()
    room, lease = await _issuable_room(store, viewer, given.room_id)
    if given.maintenance_request_id is not None:
        # the landlord's pass for the worker of a scheduled repair of this room
        await maintenance.for_visitor_pass(deps, viewer, given.maintenance_request_id, room["_id"])
    if lease is not None and end > cards.lease_window(lease["start_date"], lease["end_date"])[1]:
        raise UserInputError(
            "A pass ends with your lease at the latest.",
            code=Code.OUT_OF_RANGE,
            field=["validUntil"],
        )
    await rate_limits.hit(
        store,
        settings,
        "visitor-pass",
        str(account_id),
        limit=settings.visitor_passes_per_day,
        window_s=24 * 3600,
    )
    cipher = idnumbers.cipher(settings)
    person = cipher.lookup_hash(number)
    if await store.occupants.find_one(
        {"id_number_hash": person, "current": True, "room_id": room["_id"]}, {"_id": 1}
    ):
        raise UserInputError(
            "This person lives in the room and holds a card.",
            code=Code.ALREADY_REGISTERED,
            field=["visitorIdNumber"],
        )
    async with store.claimed(f"visitor-codes:{room['property_id']}"):
        live = door_codes.live_query(room["property_id"], room["_id"])
        if await store.visitor_passes.find_one({**live, "id_number_hash": person}, {"_id": 1}):
            raise UserInputError(
                "This visitor already holds a pass to this room; revoke it first.",
                code=Code.DUPLICATE,
                field=["visitorIdNumber"],
            )
        at = now()
        doc: Doc = {
            "_id": ObjectId(),
            "room_id": room["_id"],
            "property_id": room["property_id"],
            "landlord_id": room["landlord_id"],
            "place": room.get("place"),
            "lease_id": lease["_id"] if lease else None,
            "issued_by": account_id,
            "issuer_role": viewer.role.value if viewer.role else None,
            "visitor_name": name,
            "visitor_phone": phone,
            **cipher.stored_fields(number),
            "purpose": purpose or None,
            "code": door_codes.new_code(await door_codes.live_codes(store, room["property_id"])),
            "valid_from": start,
            "valid_until": end,
            "revoked_at": None,
            "version": 1,
            "changed_at": at,
            "created_at": at,
            "expires_at": end + dt.timedelta(days=settings.visitor_pass_retention_days),
            "maintenance_request_id": given.maintenance_request_id,
        }
        keys = await deps.outbox.intend_pass(doc)  # its code's jobs first (card_outbox.py)
        await store.visitor_passes.insert_one(doc)
    address = await address_of(store, room)
    window = {"from": local_time(start), "until": local_time(end)}
    await deps.sms.queue(phone, "visitor_pass", {"code": doc["code"], **window, "address": address})
    await audit.record(
        store,
        account_id,
        "visitorPass.issue",
        target=("VisitorPass", doc["_id"]),
        details={"roomId": str(room["_id"]), "from": start.isoformat(), "until": end.isoformat()},
    )
    if viewer.role is Role.LANDLORD and (tenant := await _tenant_of(store, room["_id"])):
        await notify(
            store,
            tenant["tenant_id"],
            "VISITOR_PASS",
            "房东发放了通行证 Your landlord let someone in",
            f"{name} may enter {address} from {local_time(start)} until {local_time(end)}"
            + (f" ({purpose})." if purpose else ".")
            + " You can revoke the pass in the app.",
            visitor_pass_id=doc["_id"],
            key=f"VISITOR_PASS:{doc['_id']}:issued",
        )
    if given.maintenance_request_id is not None:
        await maintenance.note_visitor_pass(deps, given.maintenance_request_id, doc["_id"])
    await deps.outbox.apply_now(keys)
    return doc


async def _revoke(
    deps: Deps, pass_id: ObjectId, by: ObjectId | None, why: str
) -> tuple[bool, list[str]]:
    """Ends a live pass (once) and queues its code's deletion; the caller holds its claim.
    (whether this call ended it, the outbox keys)."""
    store = deps.store
    at = now()
    async with store.exclusive(f"visitor-pass:{pass_id}"):
        current = await store.visitor_passes.find_one({"_id": pass_id, "revoked_at": None})
        if current is None:
            return False, []
        changes = {"revoked_at": at, "revoked_by": by, "end_reason": why, "changed_at": at}
        version = int(current["version"]) + 1
        # the code's deletion is queued first, then written (app/services/card_outbox.py)
        keys = await deps.outbox.intend_pass({**current, **changes, "version": version})
        after = await store.visitor_passes.find_one_and_update(
            {"_id": pass_id, "revoked_at": None, "version": current["version"]},
            {"$set": {**changes, "version": version}},
            return_document=ReturnDocument.AFTER,
        )
    if after is None:
        return False, []
    return True, keys


async def revocable(store: Store, viewer: Viewer, pass_id: ObjectId) -> Doc:
    """A pass the viewer may revoke: one they issued, or one to the room they live in."""
    doc = await store.find_by_id("visitor_passes", pass_id)
    if doc is not None and viewer.account_id is not None:
        if doc["issued_by"] == viewer.account_id:
            return doc
        if viewer.role is Role.TENANT:
            tenant = await _tenant_of(store, doc["room_id"])
            if tenant is not None and tenant["tenant_id"] == viewer.account_id:
                return doc
    raise NotFoundError("VisitorPass", field=["passId"])


async def revoke_pass(deps: Deps, viewer: Viewer, pass_id: ObjectId) -> Doc:
    """Ends a pass at once; its code is deleted from every door. Idempotent."""
    account_id = viewer.require(Role.LANDLORD, Role.TENANT)
    store = deps.store
    await revocable(store, viewer, pass_id)
    async with store.claimed(pass_claim(pass_id)):
        ended, keys = await _revoke(deps, pass_id, account_id, REVOKED)
    doc = await store.visitor_passes.find_one({"_id": pass_id})
    assert doc is not None
    if ended:
        await audit.record(
            store, account_id, "visitorPass.revoke", target=("VisitorPass", pass_id), details=None
        )
    if ended and doc["issued_by"] != account_id:
        await notify(
            store,
            doc["issued_by"],
            "VISITOR_PASS",
            "通行证已被撤销 A pass was revoked",
            f"The tenant revoked {doc['visitor_name']}'s pass; the code no longer opens the doors.",
            visitor_pass_id=pass_id,
            key=f"VISITOR_PASS:{pass_id}:revoked",
        )
    await deps.outbox.apply_now(keys)
    return doc


async def end_with_lease(deps: Deps, lease_id: ObjectId) -> list[str]:
    """Ends the passes a tenant issued under a lease that ends; returns the outbox keys of
    their codes' deletion, for the caller to apply."""
    keys: list[str] = []
    found = deps.store.visitor_passes.find({"lease_id": lease_id, "revoked_at": None}, {"_id": 1})
    for pass_id in [p["_id"] async for p in found]:
        async with deps.store.claimed(pass_claim(pass_id)):
            keys += (await _revoke(deps, pass_id, None, LEASE_ENDED))[1]
    return keys
