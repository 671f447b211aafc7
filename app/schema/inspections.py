"""Fire-safety inspections (消防检查): the record, its findings, and recordInspection's input
and payload."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

import strawberry

from app.context import Info
from app.ids import encode_id
from app.schema.accounts import Account
from app.schema.common import Node, UserError
from app.schema.hazards import Hazard, HazardInput, InspectionItem, shown_account
from app.schema.node import register_node
from app.schema.photos import Photo
from app.schema.properties import Property, property_by_id
from app.schema.rooms import Room, room_by_id
from app.services import hazards
from app.store import Doc


@strawberry.enum(description="Enforcement taken at an inspection (罚、改、停、拘).")
class EnforcementAction(enum.Enum):
    WARNING = strawberry.enum_value("WARNING", description="A warning (警告).")
    ORDER_TO_RECTIFY = strawberry.enum_value(
        "ORDER_TO_RECTIFY", description="An order to rectify within the deadline (责令改正)."
    )
    FINE = strawberry.enum_value("FINE", description="A fine (罚款).")
    SUSPENSION_OF_USE = strawberry.enum_value(
        "SUSPENSION_OF_USE", description="Use of the premises suspended (停止使用)."
    )
    DETENTION_REFERRAL = strawberry.enum_value(
        "DETENTION_REFERRAL", description="Referred to the police for detention (拘留)."
    )


@strawberry.type(description="One checklist item of an inspection.")
class InspectionFinding:
    photo_refs: strawberry.Private[list[Doc]]
    photo_ids: strawberry.Private[list[Any]]
    item: InspectionItem = strawberry.field(description="The checklist item.")
    passed: bool = strawberry.field(description="False when it failed: a hazard was opened for it.")
    note: str | None = strawberry.field(description="The inspector's words.")

    @strawberry.field(description="The inspector's photos of this item.")
    def photos(self) -> list[Photo]:
        return Photo.among(self.photo_refs, self.photo_ids)


@strawberry.type(
    description="A room as the device data showed it when the inspection was recorded."
)
class InspectionRoom:
    room_id: strawberry.Private[Any]
    occupied: bool = strawberry.field(description="Let at that moment.")
    smoke_detectors: int = strawberry.field(description="Smoke detectors bound in the room.")
    smoke_detectors_online: int = strawberry.field(description="Of those, online.")

    @strawberry.field(description="The room.")
    async def room(self, info: Info) -> Room:
        return await room_by_id(info, self.room_id)


@strawberry.type(
    description="A fire-safety inspection of a property. Seen by the property's landlord and "
    "the RESPONDER and POLICE accounts whose scope holds it."
)
class Inspection(Node):
    doc: strawberry.Private[Doc]
    inspected_at: dt.datetime = strawberry.field(description="When it took place (UTC).")
    actions: list[EnforcementAction] = strawberry.field(description="Enforcement taken.")
    note: str | None = strawberry.field(description="The inspector's general note.")

    @classmethod
    def from_doc(cls, doc: Doc) -> Inspection:
        return cls(
            id=strawberry.ID(encode_id("Inspection", doc["_id"])),
            doc=doc,
            inspected_at=doc["inspected_at"],
            actions=[EnforcementAction(a) for a in doc.get("actions") or []],
            note=doc.get("note"),
        )

    @strawberry.field(description="The property inspected.")
    async def property(self, info: Info) -> Property:
        return await property_by_id(info, self.doc["property_id"])

    @strawberry.field(description="Who inspected: the recording responder first, then the "
                      "others present (a landlord reads a police officer's name, not the "
                      "phone).")  # fmt: skip
    async def inspectors(self, info: Info) -> list[Account]:
        docs = await info.context.loaders.account_by_id.load_many(self.doc["inspectors"])
        return [shown_account(info, d) for d in docs if d is not None]

    @strawberry.field(description="The checklist, in the order recorded.")
    def findings(self) -> list[InspectionFinding]:
        refs = self.doc.get("photos") or []
        return [
            InspectionFinding(
                photo_refs=refs,
                photo_ids=f.get("photo_ids") or [],
                item=InspectionItem(f["item"]),
                passed=f["passed"],
                note=f.get("note"),
            )
            for f in self.doc.get("findings") or []
        ]

    @strawberry.field(
        description="Each room of the property then: let or not, its smoke detectors and how "
        "many were online (for the SMOKE_DETECTORS_IN_EVERY_ROOM item)."
    )
    def rooms(self) -> list[InspectionRoom]:
        return [
            InspectionRoom(
                room_id=r["room_id"],
                occupied=r["occupied"],
                smoke_detectors=r["detectors"],
                smoke_detectors_online=r["detectors_online"],
            )
            for r in self.doc.get("rooms") or []
        ]

    @strawberry.field(description="The hazards it found, as they stand now.")
    async def hazards(self, info: Info) -> list[Hazard]:
        docs = await info.context.loaders.by_id("hazards").load_many(self.doc["hazard_ids"])
        return [Hazard.from_doc(d) for d in docs if d is not None]


@register_node("Inspection")
async def _inspection_node(info: Info, oid: Any) -> Inspection | None:
    doc = await info.context.loaders.by_id("inspections").load(oid)
    if doc is None or not hazards.can_see(info.context.viewer, doc):
        return None
    return Inspection.from_doc(doc)


@strawberry.input(description="One checklist item as the inspector found it.")
class FindingInput:
    item: InspectionItem = strawberry.field(description="Each item at most once (DUPLICATE).")
    passed: bool = strawberry.field(
        description="false needs a hazard of this item in `hazards` (HAZARD_REQUIRED)."
    )
    note: str | None = strawberry.field(default=None, description="At most 500 characters.")
    photo_upload_ids: list[strawberry.ID] | None = strawberry.field(
        default=None,
        description="At most 9 INSPECTION_PHOTO uploads of the caller (TOO_MANY_PHOTOS).",
    )


@strawberry.input(description="recordInspection: an inspection as the responder recorded it.")
class RecordInspectionInput:
    property_id: strawberry.ID = strawberry.field(
        description="A property in the caller's scope (NOT_FOUND otherwise)."
    )
    inspected_at: dt.datetime = strawberry.field(
        description="Within the past 30 days, not ahead (OUT_OF_RANGE)."
    )
    co_inspector_ids: list[strawberry.ID] | None = strawberry.field(
        default=None,
        description="Other inspectors present besides the caller: at most 10 active "
        "RESPONDER or POLICE accounts (NOT_FOUND for any other).",
    )
    findings: list[FindingInput] = strawberry.field(description="The checklist.")
    hazards: list[HazardInput] = strawberry.field(
        description="At most 50; one or more per failed item, none of a passed one."
    )
    actions: list[EnforcementAction] | None = strawberry.field(
        default=None, description="Enforcement taken."
    )
    note: str | None = strawberry.field(default=None, description="At most 1000 characters.")


@strawberry.type(description="The inspection recorded, or why it was refused.")
class InspectionPayload:
    inspection: Inspection | None = strawberry.field(default=None, description="Null when refused.")
    user_errors: list[UserError] = strawberry.field(
        default_factory=list, description="Refusals, one per bad field, with stable codes."
    )
