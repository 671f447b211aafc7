"""The police register: Resident, its co-residents and its filter. What a Resident offers is
the register (the person, the room, who lives with them, the landlord); the lease behind it,
its rent, deposit, invoices and tenant account, stays with the landlord and the tenant
(Occupant.lease is null for police)."""

from __future__ import annotations

import datetime as dt

import strawberry

from app.context import Info
from app.ids import given_id
from app.schema.accounts import Account
from app.schema.occupants import Occupant
from app.schema.properties import Property, property_by_id
from app.schema.rooms import Room, room_by_id
from app.services import residents
from app.store import Doc


@strawberry.type(
    description="POLICE: another person registered under the same lease as a resident (who "
    "lives, or lived, with them), with the full ID number; recorded in the look-up's audit "
    "entry."
)
class CoResident:
    name: str = strawberry.field(description="Their name as on their ID card.")
    id_number: str = strawberry.field(
        description="Their full resident ID number (18 characters): POLICE only."
    )
    phone: str = strawberry.field(description="Their mobile phone, 11 digits.")
    arrived_at: dt.datetime = strawberry.field(description="When they were registered (UTC).")
    left_at: dt.datetime | None = strawberry.field(
        description="When they were deregistered (UTC); null while they live there."
    )

    @classmethod
    def from_doc(cls, doc: Doc, id_number: str) -> CoResident:
        return cls(
            name=doc["name"],
            id_number=id_number,
            phone=doc["phone"],
            arrived_at=doc["arrived_at"],
            left_at=doc.get("left_at"),
        )


@strawberry.type(description="The police view of one registration, with the full ID number.")
class Resident:
    doc: strawberry.Private[Doc]
    name: str = strawberry.field(description="Their name as on their ID card.")
    id_number: str = strawberry.field(
        description="Their full resident ID number (18 characters): POLICE only."
    )
    phone: str = strawberry.field(description="Their mobile phone, 11 digits.")
    arrived_at: dt.datetime = strawberry.field(description="When they were registered (UTC).")
    left_at: dt.datetime | None = strawberry.field(
        description="When they were deregistered (UTC); null while they live there."
    )
    co_residents: list[CoResident] = strawberry.field(
        description="The others registered under the same lease, current and past, first "
        "arrived first."
    )

    @classmethod
    def from_doc(cls, doc: Doc, id_number: str, co_residents: list[CoResident]) -> Resident:
        return cls(
            doc=doc,
            name=doc["name"],
            id_number=id_number,
            phone=doc["phone"],
            arrived_at=doc["arrived_at"],
            left_at=doc.get("left_at"),
            co_residents=co_residents,
        )

    @strawberry.field(
        description="The registration as the apps show it (its card; its lease is null here)."
    )
    def occupant(self) -> Occupant:
        return Occupant.from_doc(self.doc)

    @strawberry.field(description="The property they live in.")
    async def property(self, info: Info) -> Property:
        return await property_by_id(info, self.doc["property_id"])

    @strawberry.field(description="The room they live in.")
    async def room(self, info: Info) -> Room:
        return await room_by_id(info, self.doc["room_id"])

    @strawberry.field(description="The landlord who registered them.")
    async def landlord(self, info: Info) -> Account:
        doc = await info.context.loaders.account_by_id.load(self.doc["landlord_id"])
        assert doc is not None
        return Account.from_doc(doc)


@strawberry.input(
    description="At least one of: idNumber (exact), name (from its start, at least two letters "
    "or digits: TOO_SHORT otherwise), phone, propertyId, town, community."
)
class ResidentFilter:
    id_number: str | None = strawberry.field(
        default=None,
        description="The full 18-character resident ID number, exactly (INVALID_ID_NUMBER).",
    )
    name: str | None = strawberry.field(
        default=None,
        description="The start of their name, at least two letters or digits (TOO_SHORT).",
    )
    phone: str | None = strawberry.field(
        default=None, description="Their mobile phone (INVALID_PHONE)."
    )
    property_id: strawberry.ID | None = strawberry.field(
        default=None, description="Only this property (INVALID_ID)."
    )
    town: str | None = strawberry.field(default=None, description="Only this town (镇街).")
    community: str | None = strawberry.field(
        default=None, description="Only this community (村居)."
    )
    current_only: bool | None = strawberry.field(
        default=True,
        description="Only people living there now (the default); false includes those who left.",
    )

    def to_query(self) -> residents.ResidentQuery:
        return residents.ResidentQuery(
            id_number=self.id_number,
            name=self.name,
            phone=self.phone,
            property_id=given_id(self.property_id, "Property", "filter", "propertyId"),
            town=self.town,
            community=self.community,
            current_only=self.current_only is not False,
        )
