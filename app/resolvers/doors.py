"""openDoor."""

from __future__ import annotations

import strawberry

from app.context import Info
from app.ids import decode_id
from app.schema.common import MutationInput
from app.schema.doors import DoorCommand, OpenDoorInput, OpenDoorPayload
from app.schema.permissions import allow
from app.services import doors
from app.viewer import Role


@strawberry.type
class DoorMutations:
    @strawberry.mutation(
        description="LANDLORD (own doors) and the TENANT of the room. A landlord's opening of "
        "an occupied room's door is told to its tenant at once (DOOR_OPENED_BY_LANDLORD); "
        "every opening is audited. How it ended is the command's status. Codes: INVALID_ID, "
        "NOT_FOUND, TOO_LONG (reason), RATE_LIMITED (too many openings a minute).",
        permission_classes=[allow(Role.LANDLORD, Role.TENANT)],
    )
    async def open_door(self, info: Info, input: MutationInput[OpenDoorInput]) -> OpenDoorPayload:
        door_id = decode_id(input.door_id, "Door", ["doorId"])
        command = await doors.open_door(
            info.context.deps, info.context.viewer, door_id, input.reason
        )
        return OpenDoorPayload(command=DoorCommand.from_doc(command))
