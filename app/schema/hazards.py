"""Fire-safety hazards (火灾隐患): the enums of inspections and hazards, the hazard, its
history, and the inputs of the rectification steps."""

from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from app.context import Info
from app.ids import encode_id
from app.schema.accounts import Account
from app.schema.common import Node, UserError
from app.schema.node import register_node
from app.schema.photos import Photo
from app.schema.properties import Property, property_by_id
from app.schema.rooms import Room, room_by_id
from app.services import hazards
from app.store import Doc
from app.viewer import Role

if TYPE_CHECKING:
    from app.schema.inspections import Inspection


@strawberry.enum(description="The fire-safety checklist of an inspection (消防检查).")
class InspectionItem(enum.Enum):
    RESPONSIBILITY_SYSTEM = strawberry.enum_value(
        "RESPONSIBILITY_SYSTEM",
        description="A fire-safety responsibility system set up and posted.",
    )
    EXITS_CLEAR = strawberry.enum_value("EXITS_CLEAR", description="Safety exits unblocked.")
    EVACUATION_ROUTES_CLEAR = strawberry.enum_value(
        "EVACUATION_ROUTES_CLEAR", description="Evacuation routes and stairs unblocked."
    )
    FIRE_LANE_CLEAR = strawberry.enum_value(
        "FIRE_LANE_CLEAR", description="The fire engine lane unblocked."
    )
    EXTINGUISHERS_WORKING = strawberry.enum_value(
        "EXTINGUISHERS_WORKING", description="Extinguishers present, charged, in date."
    )
    HYDRANTS_WORKING = strawberry.enum_value(
        "HYDRANTS_WORKING", description="Hydrants with water and hoses."
    )
    AUTOMATIC_EQUIPMENT_WORKING = strawberry.enum_value(
        "AUTOMATIC_EQUIPMENT_WORKING",
        description="Automatic fire equipment (sprinklers, alarm systems) working.",
    )
    NO_EBIKES_INDOORS = strawberry.enum_value(
        "NO_EBIKES_INDOORS",
        description="No electric bikes parked or charged in corridors, exits or stairwells.",
    )
    SMOKE_DETECTORS_IN_EVERY_ROOM = strawberry.enum_value(
        "SMOKE_DETECTORS_IN_EVERY_ROOM",
        description="A smoke detector present and online in every room (Anju's own "
        "DETECTOR_OFFLINE and NO_DETECTOR hazards carry this item).",
    )
    ESCAPE_WINDOWS = strawberry.enum_value(
        "ESCAPE_WINDOWS", description="Escape windows without fixed bars."
    )
    WIRING_SAFE = strawberry.enum_value(
        "WIRING_SAFE", description="Electrical wiring safe (no flying leads, no overload)."
    )


@strawberry.enum(description="How serious a hazard is.")
class HazardSeverity(enum.Enum):
    LOW = strawberry.enum_value("LOW", description="A lapse to fix (a missing sign).")
    MEDIUM = strawberry.enum_value("MEDIUM", description="Weakens the building's defences.")
    HIGH = strawberry.enum_value("HIGH", description="Could start a fire or block an escape.")
    CRITICAL = strawberry.enum_value(
        "CRITICAL", description="A danger to life now (suspension of use is usual)."
    )


@strawberry.enum(description="Who found the hazard: an inspection, or Anju from device data.")
class HazardSource(enum.Enum):
    INSPECTION = strawberry.enum_value("INSPECTION", description="Found by an inspector.")
    DETECTOR_OFFLINE = strawberry.enum_value(
        "DETECTOR_OFFLINE",
        description="A smoke detector offline longer than ANJU_DETECTOR_OFFLINE_HAZARD_HOURS; "
        "Anju closes it when the detector is back online or removed.",
    )
    NO_DETECTOR = strawberry.enum_value(
        "NO_DETECTOR",
        description="A let room without a smoke detector; closed when one is registered in "
        "it or the room is no longer let.",
    )
    EQUIPMENT_BELOW_STANDARD = strawberry.enum_value(
        "EQUIPMENT_BELOW_STANDARD",
        description="The property's recorded equipment below the standard (ANJU_STANDARD_*); "
        "closed when updateProperty records enough.",
    )


@strawberry.enum(description="OPEN > RECTIFICATION_REPORTED > RECTIFIED, or REOPENED.")
class HazardStatus(enum.Enum):
    OPEN = strawberry.enum_value("OPEN", description="Found, waiting for the landlord.")
    RECTIFICATION_REPORTED = strawberry.enum_value(
        "RECTIFICATION_REPORTED",
        description="The landlord reported what was done; waiting for a responder.",
    )
    RECTIFIED = strawberry.enum_value(
        "RECTIFIED", description="Verified by a responder (or its cause gone: Anju's own)."
    )
    REOPENED = strawberry.enum_value(
        "REOPENED", description="A responder rejected the reported rectification."
    )


def shown_account(info: Info, doc: Doc) -> Account:
    """An inspector or a hazard's actor as the viewer may see them: a landlord reads a police
    officer's name, not their phone (the area's responders are their contact)."""
    if info.context.viewer.role is Role.LANDLORD and doc["role"] == Role.POLICE.value:
        return Account.from_doc({**doc, "phone": "*" * 11})
    return Account.from_doc(doc)


async def _account_or_none(info: Info, oid: Any) -> Account | None:
    if oid is None:
        return None
    doc = await info.context.loaders.account_by_id.load(oid)
    return shown_account(info, doc) if doc else None


@strawberry.type(description="One change of a hazard, with who made it.")
class HazardChange:
    entry: strawberry.Private[Doc]
    photo_refs: strawberry.Private[list[Doc]]
    at: dt.datetime = strawberry.field(description="When (UTC).")
    status: HazardStatus = strawberry.field(description="The status after the change.")
    note: str | None = strawberry.field(
        description="The landlord's report, the responder's reason, or Anju's (escalation, "
        "automatic closing)."
    )

    @strawberry.field(description="Who made it; null: Anju itself.")
    async def by(self, info: Info) -> Account | None:
        return await _account_or_none(info, self.entry.get("by"))

    @strawberry.field(description="Photos taken with it (a rectification report's).")
    def photos(self) -> list[Photo]:
        return Photo.among(self.photo_refs, self.entry.get("photo_ids") or [])


@strawberry.type(
    description="A fire-safety hazard of a property, followed until rectified. Seen by its "
    "landlord and the RESPONDER and POLICE accounts whose scope holds the property."
)
class Hazard(Node):
    doc: strawberry.Private[Doc]
    source: HazardSource = strawberry.field(description="An inspection's, or Anju's own.")
    item: InspectionItem | None = strawberry.field(
        description="The checklist item (null for EQUIPMENT_BELOW_STANDARD)."
    )
    description: str = strawberry.field(description="What is wrong, in the finder's words.")
    severity: HazardSeverity = strawberry.field(description="How serious.")
    status: HazardStatus = strawberry.field(description="Where its rectification stands.")
    found_at: dt.datetime = strawberry.field(description="When it was found (UTC).")
    deadline: dt.date = strawberry.field(
        description="Rectify by the end of this day in the city (midnight after it, UTC+8)."
    )
    overdue: bool = strawberry.field(description="Past its deadline and not rectified.")
    escalated_at: dt.datetime | None = strawberry.field(
        description="When the overdue hazard was escalated to the town's responders."
    )
    rectified_at: dt.datetime | None = strawberry.field(
        description="When it was verified rectified (or Anju closed it)."
    )

    @classmethod
    def from_doc(cls, doc: Doc) -> Hazard:
        return cls(
            id=strawberry.ID(encode_id("Hazard", doc["_id"])),
            doc=doc,
            source=HazardSource(doc["source"]),
            item=InspectionItem(doc["item"]) if doc.get("item") else None,
            description=doc["description"],
            severity=HazardSeverity(doc["severity"]),
            status=HazardStatus(doc["status"]),
            found_at=doc["found_at"],
            deadline=dt.date.fromisoformat(doc["deadline"]),
            overdue=hazards.is_overdue(doc),
            escalated_at=doc.get("escalated_at"),
            rectified_at=doc.get("rectified_at"),
        )

    @strawberry.field(description="The property it is in.")
    async def property(self, info: Info) -> Property:
        return await property_by_id(info, self.doc["property_id"])

    @strawberry.field(description="The room, if the hazard is in one.")
    async def room(self, info: Info) -> Room | None:
        if self.doc.get("room_id") is None:
            return None
        return await room_by_id(info, self.doc["room_id"])

    @strawberry.field(description="The inspection that found it (INSPECTION hazards).")
    async def inspection(
        self, info: Info
    ) -> Annotated[Inspection, strawberry.lazy("app.schema.inspections")] | None:
        from app.schema.inspections import Inspection

        if self.doc.get("inspection_id") is None:
            return None
        doc = await info.context.loaders.by_id("inspections").load(self.doc["inspection_id"])
        return Inspection.from_doc(doc) if doc else None

    @strawberry.field(description="Every change, oldest first, with who made it.")
    def history(self) -> list[HazardChange]:
        refs = self.doc.get("photos") or []
        return [
            HazardChange(
                entry=e,
                photo_refs=refs,
                at=e["at"],
                status=HazardStatus(e["status"]),
                note=e.get("note"),
            )
            for e in self.doc.get("history") or []
        ]


async def visible_hazard(info: Info, oid: Any) -> Hazard | None:
    """The hazard if the viewer may see it, else None (exactly as for a missing one)."""
    doc = await info.context.loaders.by_id("hazards").load(oid)
    if doc is None or not hazards.can_see(info.context.viewer, doc):
        return None
    return Hazard.from_doc(doc)


register_node("Hazard")(visible_hazard)


@strawberry.input(description="A hazard found by an inspection: of an item failed in findings.")
class HazardInput:
    item: InspectionItem = strawberry.field(
        description="A failed item of the findings (ITEM_NOT_FAILED otherwise)."
    )
    room_id: strawberry.ID | None = strawberry.field(
        default=None, description="A room of the inspected property (NOT_FOUND otherwise)."
    )
    description: str = strawberry.field(description="What is wrong: at most 500 characters.")
    severity: HazardSeverity = strawberry.field(description="How serious.")
    deadline: dt.date = strawberry.field(
        description="From the inspection's day (UTC+8) to 180 days after it (OUT_OF_RANGE)."
    )


@strawberry.input(description="reportRectification: what the landlord did about a hazard.")
class ReportRectificationInput:
    hazard_id: strawberry.ID = strawberry.field(
        description="An OPEN or REOPENED INSPECTION hazard of the caller's property."
    )
    note: str = strawberry.field(description="What was done: 1 to 1000 characters.")
    photo_upload_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="At most 9 INSPECTION_PHOTO uploads of the caller, in order."
    )


@strawberry.input(description="verifyRectification: a responder's verdict on a hazard.")
class VerifyRectificationInput:
    hazard_id: strawberry.ID = strawberry.field(description="A hazard in the caller's scope.")
    accepted: bool = strawberry.field(
        description="true: RECTIFIED (from a report, or found fixed on site from OPEN or "
        "REOPENED); false: REOPENED (a reported rectification only)."
    )
    note: str | None = strawberry.field(
        default=None,
        description="At most 1000 characters; required when rejecting (the landlord reads it).",
    )
    deadline: dt.date | None = strawberry.field(
        default=None,
        description="When rejecting, a new deadline (today to 180 days on, UTC+8); refused "
        "when accepting.",
    )


@strawberry.type(description="A hazard after a rectification step, or why it was refused.")
class HazardPayload:
    hazard: Hazard | None = strawberry.field(default=None, description="Null when refused.")
    user_errors: list[UserError] = strawberry.field(
        default_factory=list, description="Refusals, one per bad field, with stable codes."
    )
