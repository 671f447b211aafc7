"""Smoke alarms: types, inputs and payloads."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

import strawberry

from app.context import Info
from app.ids import encode_id
from app.schema.accounts import Account
from app.schema.common import USER_ERRORS, Node, UserError
from app.schema.devices import SmokeDetector
from app.schema.node import register_node
from app.schema.properties import Property, property_by_id
from app.schema.rooms import Room, room_by_id
from app.services import alarms as svc
from app.store import Doc


@strawberry.enum(
    description="Where an alarm is in its handling: ACTIVE > ACKNOWLEDGED > RESOLVED (resolving an"
    " ACTIVE one acknowledges it too).",
)
class AlarmStatus(enum.Enum):
    _value_: str

    ACTIVE = strawberry.enum_value(
        "ACTIVE", description="Raised by a detector; nobody has acknowledged it yet."
    )
    ACKNOWLEDGED = strawberry.enum_value(
        "ACKNOWLEDGED", description="Someone is on it (acknowledgeAlarm)."
    )
    RESOLVED = strawberry.enum_value(
        "RESOLVED",
        description="Closed with a note (resolveAlarm); a new signal from the detector raises a "
        "new alarm.",
    )


async def _account(info: Info, oid: Any) -> Account | None:
    if oid is None:
        return None
    doc = await info.context.loaders.account_by_id.load(oid)
    return Account.from_doc(doc) if doc else None


@strawberry.type(
    description="A smoke alarm raised by a connected smoke detector. Seen by the LANDLORD of the "
    "property (only the owner) and by RESPONDER and POLICE accounts whose scope holds "
    "it; node(id:) answers null to anyone else. While open, repeated signals from the "
    "detector add to it rather than raise another.",
)
class Alarm(Node):
    doc: strawberry.Private[Doc]
    raised_at: dt.datetime = strawberry.field(
        description="When the detector first reported it (UTC)."
    )
    status: AlarmStatus = strawberry.field(description="Where it is in its handling.")
    acknowledged_at: dt.datetime | None = strawberry.field(
        description="When someone acknowledged it (UTC); null while ACTIVE."
    )
    resolved_at: dt.datetime | None = strawberry.field(
        description="When it was resolved (UTC); null until RESOLVED."
    )
    note: str | None = strawberry.field(
        description="What the person who resolved it wrote (at most 500 characters); null until "
        "RESOLVED."
    )
    level: str = strawberry.field(
        description="What the detector sensed: smoke, heat or test (a test button press)."
    )
    cleared_at: dt.datetime | None = strawberry.field(
        description="When the detector reported the smoke gone (the alarm stays open until "
        "someone resolves it)."
    )

    @classmethod
    def from_doc(cls, doc: Doc) -> Alarm:
        return cls(
            id=strawberry.ID(encode_id("Alarm", doc["_id"])),
            doc=doc,
            raised_at=doc["raised_at"],
            status=AlarmStatus(doc["status"]),
            acknowledged_at=doc.get("acknowledged_at"),
            resolved_at=doc.get("resolved_at"),
            note=doc.get("note"),
            level=doc.get("level", "smoke"),
            cleared_at=doc.get("cleared_at"),
        )

    @strawberry.field(description="The smoke detector that raised it.")
    async def detector(self, info: Info) -> SmokeDetector:
        doc = await info.context.loaders.device_by_id.load(self.doc["detector_id"])
        assert doc is not None
        return SmokeDetector.from_doc(doc)

    @strawberry.field(description="The room the detector is in.")
    async def room(self, info: Info) -> Room:
        return await room_by_id(info, self.doc["room_id"])

    @strawberry.field(description="The property the room is in.")
    async def property(self, info: Info) -> Property:
        return await property_by_id(info, self.doc["property_id"])

    @strawberry.field(
        description="Who acknowledged it (a LANDLORD or RESPONDER account); null while ACTIVE.",
    )
    async def acknowledged_by(self, info: Info) -> Account | None:
        return await _account(info, self.doc.get("acknowledged_by"))

    @strawberry.field(description="Who resolved it; null until RESOLVED.")
    async def resolved_by(self, info: Info) -> Account | None:
        return await _account(info, self.doc.get("resolved_by"))


@register_node("Alarm")
async def _alarm_node(info: Info, oid: Any) -> Alarm | None:
    viewer = info.context.viewer
    if viewer.account_id is None:
        return None
    doc = await info.context.loaders.by_id("alarms").load(oid)
    return Alarm.from_doc(doc) if doc and svc.can_see(viewer, doc) else None


@strawberry.type(
    description="How fast alarms in one community were handled, over the window asked for "
    "(alarmResponseFigures). Times are seconds from raisedAt; null when no alarm of "
    "the window got that far.",
)
class AlarmResponseFigures:
    town: str = strawberry.field(description="The town (镇街).")
    community: str = strawberry.field(description="The community (村居) in the town.")
    alarms: int = strawberry.field(description="Alarms raised in the window.")
    acknowledged: int = strawberry.field(
        description="How many of them were acknowledged (or resolved directly)."
    )
    resolved: int = strawberry.field(description="How many of them were resolved.")
    median_seconds_to_acknowledge: float | None = strawberry.field(
        description="Median seconds from raised to acknowledged."
    )
    p90_seconds_to_acknowledge: float | None = strawberry.field(
        description="90th percentile of the seconds from raised to acknowledged."
    )
    median_seconds_to_resolve: float | None = strawberry.field(
        description="Median seconds from raised to resolved."
    )
    p90_seconds_to_resolve: float | None = strawberry.field(
        description="90th percentile of the seconds from raised to resolved."
    )

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> AlarmResponseFigures:
        return cls(
            town=row["town"],
            community=row["community"],
            alarms=row["alarms"],
            acknowledged=row["acknowledged"],
            resolved=row["resolved"],
            median_seconds_to_acknowledge=row["median_ack_s"],
            p90_seconds_to_acknowledge=row["p90_ack_s"],
            median_seconds_to_resolve=row["median_resolve_s"],
            p90_seconds_to_resolve=row["p90_resolve_s"],
        )


@strawberry.input(description="Which alarm to acknowledge.")
class AcknowledgeAlarmInput:
    alarm_id: strawberry.ID = strawberry.field(
        description="The alarm's global ID (INVALID_ID, NOT_FOUND)."
    )


@strawberry.input(description="Which alarm to resolve, and what was found.")
class ResolveAlarmInput:
    alarm_id: strawberry.ID = strawberry.field(
        description="The alarm's global ID (INVALID_ID, NOT_FOUND)."
    )
    note: str = strawberry.field(
        description="What was found and done, 1-500 characters, several lines allowed (REQUIRED, "
        "TOO_LONG)."
    )


@strawberry.type(description="The answer of acknowledgeAlarm and resolveAlarm.")
class AlarmPayload:
    alarm: Alarm | None = strawberry.field(
        default=None, description="The alarm as it now is; null when userErrors says why not."
    )
    user_errors: list[UserError] = strawberry.field(default_factory=list, description=USER_ERRORS)
