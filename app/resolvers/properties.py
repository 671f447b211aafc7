"""myProperties, createProperty, updateProperty, archiveProperty."""

from __future__ import annotations

from typing import Annotated

import strawberry

from app.context import Info
from app.ids import decode_id
from app.schema.common import MutationInput
from app.schema.connection import After, Connection, First
from app.schema.permissions import allow
from app.schema.properties import (
    ArchivePropertyInput,
    CreatePropertyInput,
    Property,
    PropertyPayload,
    SafetyEquipmentInput,
    UpdatePropertyInput,
)
from app.services import archiving, properties
from app.viewer import Role

LANDLORD = [allow(Role.LANDLORD)]


def _safety(value: SafetyEquipmentInput | None) -> properties.SafetyIn | None:
    if value is None:
        return None
    return properties.SafetyIn(
        extinguishers=value.extinguishers,
        smoke_detectors=value.smoke_detectors,
        escape_windows=value.escape_windows,
    )


@strawberry.type
class PropertyQueries:
    @strawberry.field(
        description="LANDLORD: their own properties, oldest first; pages of 20 by default.",
        permission_classes=LANDLORD,
    )
    async def my_properties(
        self,
        info: Info,
        first: First = 20,
        after: After = None,
        include_archived: Annotated[
            bool, strawberry.argument(description="Archived properties too.")
        ] = False,
    ) -> Connection[Property]:
        ctx = info.context
        page = await properties.my_properties(
            ctx.deps, ctx.viewer, first=first, after=after, include_archived=include_archived
        )
        return Connection.of(page, Property.from_doc)


@strawberry.type
class PropertyMutations:
    @strawberry.mutation(
        description="LANDLORD: a new property of theirs. Codes: REQUIRED, TOO_LONG, "
        "OUT_OF_RANGE (a count, the location), INVALID_ARGUMENT (kind).",
        permission_classes=LANDLORD,
    )
    async def create_property(
        self, info: Info, input: MutationInput[CreatePropertyInput]
    ) -> PropertyPayload:
        ctx = info.context
        doc = await properties.create_property(
            ctx.deps,
            ctx.viewer,
            name=input.name,
            address=input.address,
            place=properties.PlaceIn(input.place.town, input.place.community, input.place.grid),
            lat=input.location.lat,
            lng=input.location.lng,
            kind=input.kind.value,
            safety=_safety(input.safety),  # type: ignore[arg-type]
        )
        return PropertyPayload(property=Property.from_doc(doc))

    @strawberry.mutation(
        description="LANDLORD (only the owner): changes a property's name, address or "
        "equipment. Codes: NOT_FOUND, PROPERTY_ARCHIVED, REQUIRED, TOO_LONG, OUT_OF_RANGE.",
        permission_classes=LANDLORD,
    )
    async def update_property(
        self, info: Info, input: MutationInput[UpdatePropertyInput]
    ) -> PropertyPayload:
        ctx = info.context
        doc = await properties.update_property(
            ctx.deps,
            ctx.viewer,
            decode_id(input.property_id, "Property", ["propertyId"]),
            name=input.name,
            address=input.address,
            safety=_safety(input.safety),
        )
        return PropertyPayload(property=Property.from_doc(doc))

    @strawberry.mutation(
        description="LANDLORD: their property and all its rooms off the market for good, "
        "when none of its rooms is let (LEASE_RUNNING otherwise); listings come down, the "
        "history stays. An archived property no longer changes (PROPERTY_ARCHIVED). Codes: "
        "NOT_FOUND, LEASE_RUNNING, PROPERTY_ARCHIVED.",
        permission_classes=LANDLORD,
    )
    async def archive_property(
        self, info: Info, input: MutationInput[ArchivePropertyInput]
    ) -> PropertyPayload:
        ctx = info.context
        doc = await archiving.archive_property(
            ctx.deps, ctx.viewer, decode_id(input.property_id, "Property", ["propertyId"])
        )
        return PropertyPayload(property=Property.from_doc(doc))
