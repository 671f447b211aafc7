"""The access log: the event type and the filter."""

from __future__ import annotations

import datetime as dt
import enum

import strawberry

from app.context import Info
from app.ids import encode_id, given_id
from app.schema.accounts import Account
from app.schema.devices import Door, door_by_id
from app.schema.occupants import Occupant
from app.services import access_events
from app.store import Doc


@strawberry.enum
class AccessMethod(enum.Enum):
    CARD = "CARD"
    REMOTE = "REMOTE"


@strawberry.type
class AccessEvent:
    doc: strawberry.Private[Doc]
    id: strawberry.ID
    at: dt.datetime
    method: AccessMethod
    granted: bool
    card_number: str | None

    @classmethod
    def from_doc(cls, doc: Doc) -> AccessEvent:
        return cls(
            id=strawberry.ID(encode_id("AccessEvent", doc["_id"])),
            doc=doc,
            at=doc["at"],
            method=AccessMethod(doc["method"]),
            granted=doc["granted"],
            card_number=doc.get("card_number"),
        )

    @strawberry.field
    async def door(self, info: Info) -> Door:
        return await door_by_id(info, self.doc["door_id"])

    @strawberry.field(description="The registered person whose card it was, for CARD events.")
    async def occupant(self, info: Info) -> Occupant | None:
        if self.doc.get("occupant_id") is None:
            return None
        doc = await info.context.loaders.by_id("occupants").load(self.doc["occupant_id"])
        if doc is None or not access_events.can_see_occupant(info.context.viewer, doc):
            return None
        return Occupant.from_doc(doc)

    @strawberry.field(description="The account that opened the door, for REMOTE events.")
    async def opened_by(self, info: Info) -> Account | None:
        if self.doc.get("opened_by") is None:
            return None
        doc = await info.context.loaders.account_by_id.load(self.doc["opened_by"])
        return Account.from_doc(doc) if doc else None


@strawberry.input
class AccessEventFilter:
    door_id: strawberry.ID | None = None
    property_id: strawberry.ID | None = None
    id_number: str | None = strawberry.field(
        default=None, description="Events of the cards of whoever holds this ID number."
    )
    from_: dt.datetime = strawberry.field(name="from")
    to: dt.datetime

    def to_query(self) -> access_events.AccessQuery:
        return access_events.AccessQuery(
            door_id=given_id(self.door_id, "Door", "filter", "doorId"),
            property_id=given_id(self.property_id, "Property", "filter", "propertyId"),
            id_number=self.id_number,
            start=self.from_,
            end=self.to,
        )
