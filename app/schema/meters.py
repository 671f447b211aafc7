"""Meters: a room's rates, readings, and their inputs and payload."""

from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from app.context import Info
from app.ids import encode_id
from app.schema.common import USER_ERRORS, Node, UserError
from app.schema.node import register_node
from app.schema.photos import Photo
from app.services import meters
from app.store import Doc

if TYPE_CHECKING:
    from app.schema.invoices import Invoice


@strawberry.enum(description="Which meter of a room.")
class MeterKind(enum.Enum):
    _value_: str

    WATER = strawberry.enum_value("WATER", description="The water meter, in cubic metres (m³).")
    ELECTRICITY = strawberry.enum_value(
        "ELECTRICITY", description="The electricity meter, in kilowatt-hours (kWh)."
    )


@strawberry.type(
    description="What a room's water and electricity cost the tenant; 0 means included in "
    "the rent (never billed)."
)
class MeterRates:
    water_fen_per_cubic_metre: int = strawberry.field(description="Fen per cubic metre of water.")
    electricity_fen_per_kwh: int = strawberry.field(description="Fen per kilowatt-hour.")

    @classmethod
    def from_doc(cls, doc: Doc) -> MeterRates:
        return cls(
            water_fen_per_cubic_metre=doc["water_fen_per_m3"],
            electricity_fen_per_kwh=doc["electricity_fen_per_kwh"],
        )


@strawberry.type(
    description="One meter reading: seen by the room's landlord, and by the tenant of the "
    "lease it was read in."
)
class MeterReading(Node):
    doc: strawberry.Private[Doc]
    kind: MeterKind = strawberry.field(description="Which meter.")
    value: float = strawberry.field(
        description="The meter's reading: m³ of water or kWh, at most 3 decimals."
    )
    read_at: dt.datetime = strawberry.field(description="When the meter was read (UTC).")
    replacement: bool = strawberry.field(
        description="A new meter's first reading: it starts the count again."
    )
    usage: float | None = strawberry.field(
        description="Since the lease's reading before, when there was one (what was billed)."
    )
    billed_fen: int = strawberry.field(
        description="What the usage added to an invoice (0: first reading, or rate 0)."
    )

    @classmethod
    def from_doc(cls, doc: Doc) -> MeterReading:
        return cls(
            id=strawberry.ID(encode_id("MeterReading", doc["_id"])),
            doc=doc,
            kind=MeterKind(doc["kind"]),
            value=doc["value"],
            read_at=doc["read_at"],
            replacement=doc["replacement"],
            usage=doc.get("usage"),
            billed_fen=int(doc.get("amount_fen", 0)),
        )

    @strawberry.field(description="The landlord's photo of the meter, if one was taken.")
    def photo(self) -> Photo | None:
        refs = self.doc.get("photos") or []
        return Photo.from_ref(refs[0]) if refs else None

    @strawberry.field(description="The invoice that carries the usage's line.")
    async def invoice(
        self, info: Info
    ) -> Annotated[Invoice, strawberry.lazy("app.schema.invoices")] | None:
        from app.schema.invoices import invoice_of

        return await invoice_of(info, self.doc.get("invoice_id"))


@register_node("MeterReading")
async def _reading_node(info: Info, oid: Any) -> MeterReading | None:
    doc = await info.context.loaders.by_id("meter_readings").load(oid)
    if doc is None:
        return None
    lease = None
    if doc.get("lease_id") is not None:
        lease = await info.context.loaders.lease_by_id.load(doc["lease_id"])
    return MeterReading.from_doc(doc) if meters.can_see(info.context.viewer, doc, lease) else None


@strawberry.input(description="LANDLORD: a room's rates, for readings recorded from now on.")
class SetMeterRatesInput:
    room_id: strawberry.ID = strawberry.field(
        description="The caller's room (INVALID_ID, NOT_FOUND)."
    )
    water_fen_per_cubic_metre: int = strawberry.field(description="0-10000 (0: not billed).")
    electricity_fen_per_kwh: int = strawberry.field(description="0-1000 (0: not billed).")


@strawberry.input(
    description="LANDLORD: a reading of one of their rooms' meters. The usage since the "
    "lease's reading before is billed on its next invoice."
)
class RecordMeterReadingInput:
    room_id: strawberry.ID = strawberry.field(
        description="The caller's room (INVALID_ID, NOT_FOUND)."
    )
    kind: MeterKind = strawberry.field(description="Which meter was read.")
    value: float = strawberry.field(
        description="0 to 1e9; not lower than the last reading (READING_BELOW_PREVIOUS) unless "
        "a replacement."
    )
    read_at: dt.datetime = strawberry.field(
        description="Within the past year, after the last reading (READING_OUT_OF_ORDER)."
    )
    replacement: bool | None = strawberry.field(
        default=False, description="A new meter: the reading may be lower than the last one."
    )
    photo_upload_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="A METER_PHOTO upload of the caller: the photo of the meter (refusals as "
        "in addRoomPhoto).",
    )


@strawberry.type(description="The answer of recordMeterReading.")
class MeterReadingPayload:
    reading: MeterReading | None = strawberry.field(
        default=None,
        description="The reading, with its usage and what it billed; null when userErrors says why"
        " not.",
    )
    user_errors: list[UserError] = strawberry.field(default_factory=list, description=USER_ERRORS)
