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


@strawberry.enum(description="How a remote opening ended.")
class DoorCommandStatus(enum.Enum):
    _value_: str

    OPENED = strawberry.enum_value("OPENED", description="The door confirmed it opened.")
    FAILED = strawberry.enum_value(
        "FAILED", description="The door answered that it could not open (jammed, error)."
    )
    DEVICE_OFFLINE = strawberry.enum_value(
        "DEVICE_OFFLINE",
        description="The gateway says the door is not connected: nothing was sent.",
    )
    TIMED_OUT = strawberry.enum_value(
        "TIMED_OUT", description="No answer in time; the door may still open, and retrying is safe."
    )


@strawberry.type(
    description="One remote opening. OPENED only when the door confirmed it; TIMED_OUT means "
    "no answer in time (the door may still open: retrying is safe)."
)
class DoorCommand:
    doc: strawberry.Private[Doc]
    id: strawberry.ID = strawberry.field(
        description="Its own ID (not a node: read it from openDoor's answer)."
    )
    status: DoorCommandStatus = strawberry.field(description="How it ended.")
    requested_at: dt.datetime = strawberry.field(description="When it was asked for (UTC).")
    completed_at: dt.datetime | None = strawberry.field(
        description="When the door answered (UTC); null for DEVICE_OFFLINE and TIMED_OUT."
    )

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

    @strawberry.field(description="The door it opened.")
    async def door(self, info: Info) -> Door:
        return await door_by_id(info, self.doc["door_id"])


@strawberry.input(description="The door to open, and why.")
class OpenDoorInput:
    door_id: strawberry.ID = strawberry.field(
        description="A door the caller may open (INVALID_ID, NOT_FOUND)."
    )
    reason: str | None = strawberry.field(
        default=None,
        description="Why (at most 200 characters): told to the tenant when a landlord opens "
        "an occupied room's door.",
    )


@strawberry.type(description="The answer of openDoor.")
class OpenDoorPayload:
    command: DoorCommand | None = strawberry.field(
        default=None, description="The opening and how it ended; null when userErrors says why not."
    )
    user_errors: list[UserError] = strawberry.field(default_factory=list, description=USER_ERRORS)
