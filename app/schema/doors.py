"""Remote opening of doors: the command, openDoor's input and payload."""

from __future__ import annotations

import datetime as dt
import enum

import strawberry

from app.context import Info
from app.ids import encode_id
from app.schema.common import USER_ERRORS, UserError
from app.schema.devices import Door, door_by_id
from app.services import doors
from app.store import Doc


@strawberry.enum
class DoorCommandStatus(enum.Enum):
    OPENED = "OPENED"
    FAILED = "FAILED"
    DEVICE_OFFLINE = "DEVICE_OFFLINE"
    TIMED_OUT = "TIMED_OUT"


@strawberry.type(
    description="One remote opening. OPENED only when the door confirmed it; TIMED_OUT means "
    "no answer in time (the door may still open: retrying is safe)."
)
class DoorCommand:
    doc: strawberry.Private[Doc]
    id: strawberry.ID
    status: DoorCommandStatus
    requested_at: dt.datetime
    completed_at: dt.datetime | None

    @classmethod
    def from_doc(cls, doc: Doc) -> DoorCommand:
        # PENDING only exists while the request runs (or if it died): not an outcome
        status = doc["status"] if doc["status"] != doors.PENDING else doors.TIMED_OUT
        return cls(
            id=strawberry.ID(encode_id("DoorCommand", doc["_id"])),
            doc=doc,
            status=DoorCommandStatus(status),
            requested_at=doc["requested_at"],
            completed_at=doc.get("completed_at"),
        )

    @strawberry.field
    async def door(self, info: Info) -> Door:
        return await door_by_id(info, self.doc["door_id"])


@strawberry.input
class OpenDoorInput:
    door_id: strawberry.ID
    reason: str | None = strawberry.field(
        default=None,
        description="Why (at most 200 characters): told to the tenant when a landlord opens "
        "an occupied room's door.",
    )


@strawberry.type
class OpenDoorPayload:
    command: DoorCommand | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list, description=USER_ERRORS)
