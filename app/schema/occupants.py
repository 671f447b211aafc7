"""Occupants and their access cards: types, inputs and payload."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from app.context import Info
from app.ids import encode_id
from app.schema.common import USER_ERRORS, Node, UserError
from app.schema.node import register_node
from app.schema.rooms import Room, room_by_id
from app.services.occupants import can_see_occupant
from app.store import Doc

if TYPE_CHECKING:
    from app.schema.leases import Lease


@strawberry.type(
    description="One card per person (一人一卡), valid on the room's doors and the building "
    "entrance."
)
class AccessCard:
    doc: strawberry.Private[Doc]
    card_number: str = strawberry.field(
        description="The number printed on the card and read by the doors."
    )
    valid_from: dt.datetime = strawberry.field(
        description="When the doors start accepting it (UTC): the lease's start."
    )
    valid_until: dt.datetime = strawberry.field(
        description="When the doors stop accepting it (UTC): the lease's end, moved by extendLease."
    )
    revoked_at: dt.datetime | None = strawberry.field(
        description="When it was revoked (deregistration, lease end); null while valid."
    )

    @strawberry.field(
        description="False while a change of this card (issued, extended, revoked) has not yet "
        "been confirmed by every door: the gateway was unreachable, and Anju keeps retrying."
    )
    async def synced_at_gateway(self, info: Info) -> bool:
        loader = info.context.loaders.pending_card_jobs_by("occupant_id")
        return not await loader.load(self.doc["_id"])

    @classmethod
    def from_occupant(cls, doc: Doc) -> AccessCard:
        card = doc["card"]
        return cls(
            doc=doc,
            card_number=card["card_number"],
            valid_from=card["valid_from"],
            valid_until=card["valid_until"],
            revoked_at=card.get("revoked_at"),
        )


@strawberry.type(
    description="Real-name registration of a person living in a room: registered on arrival, "
    "deregistered on departure."
)
class Occupant(Node):
    doc: strawberry.Private[Doc]
    name: str = strawberry.field(description="Their name as on their ID card.")
    id_number_masked: str = strawberry.field(
        description="Resident ID number with the middle digits hidden, e.g. 330782********1234."
    )
    phone: str = strawberry.field(description="Their mobile phone, 11 digits.")
    arrived_at: dt.datetime = strawberry.field(description="When they were registered (UTC).")
    left_at: dt.datetime | None = strawberry.field(
        description="When they were deregistered (UTC); null while they live there."
    )

    @classmethod
    def from_doc(cls, doc: Doc) -> Occupant:
        return cls(
            id=strawberry.ID(encode_id("Occupant", doc["_id"])),
            doc=doc,
            name=doc["name"],
            id_number_masked=doc["id_number_masked"],
            phone=doc["phone"],
            arrived_at=doc["arrived_at"],
            left_at=doc.get("left_at"),
        )

    @strawberry.field(description="The room they live in.")
    async def room(self, info: Info) -> Room:
        return await room_by_id(info, self.doc["room_id"])

    @strawberry.field(description="Their access card; null if none was issued.")
    def card(self) -> AccessCard | None:
        return AccessCard.from_occupant(self.doc) if self.doc.get("card") else None

    @strawberry.field(
        description="The lease under which this person is registered: for its landlord and "
        "its tenant; null for everyone else (police read the register, not the lease's money)."
    )
    async def lease(
        self, info: Info
    ) -> Annotated[Lease, strawberry.lazy("app.schema.leases")] | None:
        from app.schema.leases import Lease
        from app.services.leases import can_see_lease

        doc = await info.context.loaders.lease_by_id.load(self.doc["lease_id"])
        return Lease.from_doc(doc) if doc and can_see_lease(info.context.viewer, doc) else None


@register_node("Occupant")
async def _occupant_node(info: Info, oid: Any) -> Occupant | None:
    doc = await info.context.loaders.by_id("occupants").load(oid)
    return Occupant.from_doc(doc) if doc and can_see_occupant(info.context.viewer, doc) else None


@strawberry.input(description="A person to register in a room (real-name registration).")
class OccupantInput:
    name: str = strawberry.field(
        description="Their name as on their ID card, 1-50 characters (REQUIRED, TOO_LONG)."
    )
    id_number: str = strawberry.field(
        description="18-character PRC resident ID number; its check digit is verified."
    )
    phone: str = strawberry.field(
        description="Their mainland mobile phone, e.g. 13912345678 or +86 139-1234-5678 "
        "(INVALID_PHONE)."
    )


@strawberry.input(description="Someone moving in under a running lease.")
class RegisterOccupantInput:
    lease_id: strawberry.ID = strawberry.field(
        description="The caller's ACTIVE lease (INVALID_ID, NOT_FOUND, LEASE_NOT_ACTIVE)."
    )
    occupant: OccupantInput = strawberry.field(
        description="Who; at most 10 current occupants a lease (OUT_OF_RANGE), one ID number once "
        "(ALREADY_REGISTERED)."
    )


@strawberry.input(description="Someone who has left.")
class DeregisterOccupantInput:
    occupant_id: strawberry.ID = strawberry.field(
        description="A current occupant of the caller's lease (INVALID_ID, NOT_FOUND)."
    )


@strawberry.type(description="The answer of registerOccupant and deregisterOccupant.")
class OccupantPayload:
    occupant: Occupant | None = strawberry.field(
        default=None, description="The occupant as they now are; null when userErrors says why not."
    )
    user_errors: list[UserError] = strawberry.field(default_factory=list, description=USER_ERRORS)
