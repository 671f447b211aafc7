"""inspections, recordInspection."""

from __future__ import annotations

from typing import Annotated

import strawberry

from app.context import Info
from app.ids import decode_id
from app.schema.accounts import StatsScope, scope_of
from app.schema.common import MutationInput
from app.schema.connection import Connection
from app.schema.inspections import Inspection, InspectionPayload, RecordInspectionInput
from app.schema.permissions import allow
from app.services import inspections
from app.viewer import Role


@strawberry.type
class InspectionQueries:
    @strawberry.field(
        description="RESPONDER and POLICE (their scope, or a part of it: FORBIDDEN outside), "
        "LANDLORD (their properties; no scope). One property's with propertyId (NOT_FOUND "
        "for another's or one outside the scope). Newest first.",
        permission_classes=[allow(Role.RESPONDER, Role.POLICE, Role.LANDLORD)],
    )
    async def inspections(
        self,
        info: Info,
        property_id: Annotated[
            strawberry.ID | None, strawberry.argument(description="One property's only.")
        ] = None,
        scope: Annotated[
            StatsScope | None,
            strawberry.argument(description="A town, community or grid within the caller's."),
        ] = None,
        first: Annotated[int | None, strawberry.argument(description="Page size.")] = 20,
        after: Annotated[str | None, strawberry.argument(description="A cursor.")] = None,
    ) -> Connection[Inspection]:
        ctx = info.context
        page = await inspections.inspections(
            ctx.deps,
            ctx.viewer,
            scope=scope_of(scope),
            property_id=decode_id(property_id, "Property", ["propertyId"]) if property_id else None,
            first=first,
            after=after,
        )
        return Connection.of(page, Inspection.from_doc)


@strawberry.type
class InspectionMutations:
    @strawberry.mutation(
        description="RESPONDER (a property in their scope): records an inspection and opens "
        "its hazards; the landlord and the area's responders are notified (HAZARD_FOUND). "
        "Refusals: OUT_OF_RANGE, DUPLICATE, HAZARD_REQUIRED, ITEM_NOT_FAILED, "
        "TOO_MANY_PHOTOS, NOT_FOUND, PROPERTY_ARCHIVED, and the photos' own codes.",
        permission_classes=[allow(Role.RESPONDER)],
    )
    async def record_inspection(
        self, info: Info, input: MutationInput[RecordInspectionInput]
    ) -> InspectionPayload:
        ctx = info.context
        given = inspections.InspectionIn(
            property_id=decode_id(input.property_id, "Property", ["propertyId"]),
            inspected_at=input.inspected_at,
            co_inspector_ids=[
                decode_id(a, "Account", ["coInspectorIds", str(i)])
                for i, a in enumerate(input.co_inspector_ids or [])
            ],
            findings=[
                inspections.FindingIn(
                    item=f.item.name,
                    passed=f.passed,
                    note=f.note,
                    photo_upload_ids=[
                        decode_id(u, "Upload", ["findings", str(i), "photoUploadIds", str(j)])
                        for j, u in enumerate(f.photo_upload_ids or [])
                    ],
                )
                for i, f in enumerate(input.findings)
            ],
            hazards=[
                inspections.HazardIn(
                    item=h.item.name,
                    room_id=decode_id(h.room_id, "Room", ["hazards", str(i), "roomId"])
                    if h.room_id
                    else None,
                    description=h.description,
                    severity=h.severity.name,
                    deadline=h.deadline,
                )
                for i, h in enumerate(input.hazards)
            ],
            actions=[a.name for a in input.actions or []],
            note=input.note,
        )
        doc = await inspections.record_inspection(ctx.deps, ctx.viewer, given)
        return InspectionPayload(inspection=Inspection.from_doc(doc))
