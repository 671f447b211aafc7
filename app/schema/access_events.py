"""The access log: the event type and the filter; the landlord's per-day counts."""

from __future__ import annotations

import datetime as dt
import enum

import strawberry

from app.context import Info
from app.ids import encode_id, given_id
from app.schema.accounts import Account
from app.schema.devices import Door, door_by_id
from app.schema.occupants import Occupant
from app.schema.visitor_passes import VisitorPass, visible_pass
from app.services import access_events
from app.store import Doc


@strawberry.enum(description="How a door was opened, or tried.")
class AccessMethod(enum.Enum):
    _value_: str

    CARD = strawberry.enum_value("CARD", description="An access card swiped on the reader.")
    REMOTE = strawberry.enum_value("REMOTE", description="Opened from an app (openDoor).")
    CODE = strawberry.enum_value("CODE", description="A visitor pass's PIN code on the keypad.")


@strawberry.type(
    description="One card swipe, keypad code or remote opening at a door. What a viewer reads "
    "of the log depends on their role (accessEvents)."
)
class AccessEvent:
    doc: strawberry.Private[Doc]
    id: strawberry.ID = strawberry.field(description="Its own ID (not a node).")
    at: dt.datetime = strawberry.field(
        description="When it happened, as the door reported it (UTC)."
    )
    method: AccessMethod = strawberry.field(description="How the door was opened or tried.")
    granted: bool = strawberry.field(description="Whether the door let them in.")

    @classmethod
    def from_doc(cls, doc: Doc) -> AccessEvent:
        return cls(
            id=strawberry.ID(encode_id("AccessEvent", doc["_id"])),
            doc=doc,
            at=doc["at"],
            method=AccessMethod(doc["method"]),
            granted=doc["granted"],
        )

    @strawberry.field(description="The door.")
    async def door(self, info: Info) -> Door:
        return await door_by_id(info, self.doc["door_id"])

    @strawberry.field(
        description="The swiped card, for CARD events: POLICE and the card's own tenant; null "
        "for a landlord."
    )
    def card_number(self, info: Info) -> str | None:
        if not access_events.shows_who(info.context.viewer, self.doc):
            return None
        number: str | None = self.doc.get("card_number")
        return number

    @strawberry.field(
        description="The registered person whose card it was, for CARD events: POLICE and the "
        "card's own tenant; null for a landlord."
    )
    async def occupant(self, info: Info) -> Occupant | None:
        if self.doc.get("occupant_id") is None:
            return None
        if not access_events.shows_who(info.context.viewer, self.doc):
            return None
        doc = await info.context.loaders.by_id("occupants").load(self.doc["occupant_id"])
        return Occupant.from_doc(doc) if doc else None

    @strawberry.field(description="For CODE events: the visitor pass whose code it was.")
    async def visitor_pass(self, info: Info) -> VisitorPass | None:
        if self.doc.get("visitor_pass_id") is None:
            return None
        return await visible_pass(info, self.doc["visitor_pass_id"])

    @strawberry.field(description="The account that opened the door, for REMOTE events.")
    async def opened_by(self, info: Info) -> Account | None:
        if self.doc.get("opened_by") is None:
            return None
        doc = await info.context.loaders.account_by_id.load(self.doc["opened_by"])
        return Account.from_doc(doc) if doc else None


@strawberry.input(
    description="Which door log to read, and the time range: `to` after `from` "
    "(INVALID_DATE_RANGE), at most 366 days apart (OUT_OF_RANGE).",
)
class AccessEventFilter:
    door_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="Only this door (INVALID_ID, NOT_FOUND for one the caller may not read).",
    )
    property_id: strawberry.ID | None = strawberry.field(
        default=None, description="Only the doors of this property (INVALID_ID, NOT_FOUND)."
    )
    id_number: str | None = strawberry.field(
        default=None, description="Events of the cards of whoever holds this ID number."
    )
    from_: dt.datetime = strawberry.field(
        name="from", description="Start of the range (UTC, included)."
    )
    to: dt.datetime = strawberry.field(description="End of the range (UTC, excluded).")

    def to_query(self) -> access_events.AccessQuery:
        return access_events.AccessQuery(
            door_id=given_id(self.door_id, "Door", "filter", "doorId"),
            property_id=given_id(self.property_id, "Property", "filter", "propertyId"),
            id_number=self.id_number,
            start=self.from_,
            end=self.to,
        )


@strawberry.type(
    description="Per-day count of granted card entries at one door: what a landlord sees "
    "instead of who came when."
)
class DoorEntryCount:
    door_id: strawberry.Private[object]
    date: dt.date = strawberry.field(description="The UTC day.")
    card_entries: int = strawberry.field(description="Card swipes the door granted that day.")
    refused: int = strawberry.field(
        description="Card swipes and keypad codes the door refused that day."
    )

    @strawberry.field(description="The door (a removed one too: its history stays).")
    async def door(self, info: Info) -> Door:
        return await door_by_id(info, self.door_id)
