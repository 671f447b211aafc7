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


@strawberry.enum
class AlarmStatus(enum.Enum):
    ACTIVE = "ACTIVE"
    ACKNOWLEDGED = "ACKNOWLEDGED"
    RESOLVED = "RESOLVED"


async def _account(info: Info, oid: Any) -> Account | None:
    if oid is None:
        return None
    doc = await info.context.loaders.account_by_id.load(oid)
    return Account.from_doc(doc) if doc else None


@strawberry.type
class Alarm(Node):
    doc: strawberry.Private[Doc]
    raised_at: dt.datetime
    status: AlarmStatus
    acknowledged_at: dt.datetime | None
    resolved_at: dt.datetime | None
    note: str | None
    level: str = strawberry.field(description="smoke, heat or test, as the detector said.")
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

    @strawberry.field
    async def detector(self, info: Info) -> SmokeDetector:
        doc = await info.context.loaders.device_by_id.load(self.doc["detector_id"])
        assert doc is not None
        return SmokeDetector.from_doc(doc)

    @strawberry.field
    async def room(self, info: Info) -> Room:
        return await room_by_id(info, self.doc["room_id"])

    @strawberry.field
    async def property(self, info: Info) -> Property:
        return await property_by_id(info, self.doc["property_id"])

    @strawberry.field
    async def acknowledged_by(self, info: Info) -> Account | None:
        return await _account(info, self.doc.get("acknowledged_by"))

    @strawberry.field
    async def resolved_by(self, info: Info) -> Account | None:
        return await _account(info, self.doc.get("resolved_by"))


@register_node("Alarm")
async def _alarm_node(info: Info, oid: Any) -> Alarm | None:
    viewer = info.context.viewer
    if viewer.account_id is None:
        return None
    doc = await info.context.loaders.by_id("alarms").load(oid)
    return Alarm.from_doc(doc) if doc and svc.can_see(viewer, doc) else None


@strawberry.type(description="How fast alarms in one community were handled.")
class AlarmResponseFigures:
    town: str
    community: str
    alarms: int
    acknowledged: int
    resolved: int
    median_seconds_to_acknowledge: float | None
    p90_seconds_to_acknowledge: float | None
    median_seconds_to_resolve: float | None
    p90_seconds_to_resolve: float | None

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


@strawberry.input
class AcknowledgeAlarmInput:
    alarm_id: strawberry.ID


@strawberry.input
class ResolveAlarmInput:
    alarm_id: strawberry.ID
    note: str


@strawberry.type
class AlarmPayload:
    alarm: Alarm | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list, description=USER_ERRORS)
