"""meterReadings, setMeterRates, recordMeterReading."""

from __future__ import annotations

from typing import Annotated

import strawberry

from app.context import Info
from app.ids import decode_id
from app.schema.common import MutationInput
from app.schema.connection import After, First, UncountedConnection
from app.schema.meters import (
    MeterKind,
    MeterReading,
    MeterReadingPayload,
    RecordMeterReadingInput,
    SetMeterRatesInput,
)
from app.schema.permissions import allow
from app.schema.rooms import Room, RoomPayload
from app.services import meters
from app.viewer import Role

LANDLORD = [allow(Role.LANDLORD)]


@strawberry.type
class MeterQueries:
    @strawberry.field(
        description="LANDLORD (their room) and TENANT (the readings of their own leases of "
        "the room), newest first; NOT_FOUND for anyone else's room.",
        permission_classes=[allow(Role.LANDLORD, Role.TENANT)],
    )
    async def meter_readings(
        self,
        info: Info,
        room_id: Annotated[
            strawberry.ID,
            strawberry.argument(description="The room (INVALID_ID, NOT_FOUND)."),
        ],
        kind: Annotated[
            MeterKind | None,
            strawberry.argument(description="Only this meter; both when omitted."),
        ] = None,
        first: First = 20,
        after: After = None,
    ) -> UncountedConnection[MeterReading]:
        page = await meters.readings(
            info.context.deps,
            info.context.viewer,
            decode_id(room_id, "Room", ["roomId"]),
            kind.value if kind else None,
            first=first,
            after=after,
        )
        return UncountedConnection.of(page, MeterReading.from_doc)


@strawberry.type
class MeterMutations:
    @strawberry.mutation(
        description="LANDLORD: a room's water and electricity rates (audited), for readings "
        "recorded from now on. Codes: INVALID_ID, NOT_FOUND, OUT_OF_RANGE.",
        permission_classes=LANDLORD,
    )
    async def set_meter_rates(
        self, info: Info, input: MutationInput[SetMeterRatesInput]
    ) -> RoomPayload:
        doc = await meters.set_meter_rates(
            info.context.deps,
            info.context.viewer,
            decode_id(input.room_id, "Room", ["roomId"]),
            water_fen=input.water_fen_per_cubic_metre,
            electricity_fen=input.electricity_fen_per_kwh,
        )
        return RoomPayload(room=Room.from_doc(doc))

    @strawberry.mutation(
        description="LANDLORD: records a meter reading of one of their rooms; the usage since "
        "the lease's reading before goes onto its next invoice as a line.",
        permission_classes=LANDLORD,
    )
    async def record_meter_reading(
        self, info: Info, input: MutationInput[RecordMeterReadingInput]
    ) -> MeterReadingPayload:
        doc = await meters.record_meter_reading(
            info.context.deps,
            info.context.viewer,
            decode_id(input.room_id, "Room", ["roomId"]),
            kind=input.kind.value,
            value=input.value,
            read_at=input.read_at,
            replacement=bool(input.replacement),
            photo_upload_id=decode_id(input.photo_upload_id, "Upload", ["photoUploadId"])
            if input.photo_upload_id
            else None,
        )
        return MeterReadingPayload(reading=MeterReading.from_doc(doc))
