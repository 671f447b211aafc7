"""reportRectification, verifyRectification."""

from __future__ import annotations

import strawberry

from app.context import Info
from app.ids import decode_id
from app.schema.common import MutationInput
from app.schema.hazards import (
    Hazard,
    HazardPayload,
    ReportRectificationInput,
    VerifyRectificationInput,
)
from app.schema.permissions import allow
from app.services import rectifications
from app.viewer import Role


@strawberry.type
class RectificationMutations:
    @strawberry.mutation(
        description="LANDLORD (their property): what was done about an OPEN or REOPENED "
        "INSPECTION hazard, with photos; the area's responders are asked to verify. "
        "NOT_FOUND for another's; INVALID_TRANSITION in another status or for Anju's own "
        "hazards (closed by themselves); TOO_MANY_PHOTOS and the photos' own codes.",
        permission_classes=[allow(Role.LANDLORD)],
    )
    async def report_rectification(
        self, info: Info, input: MutationInput[ReportRectificationInput]
    ) -> HazardPayload:
        ctx = info.context
        doc = await rectifications.report_rectification(
            ctx.deps,
            ctx.viewer,
            decode_id(input.hazard_id, "Hazard", ["hazardId"]),
            note=input.note,
            photo_upload_ids=[
                decode_id(u, "Upload", ["photoUploadIds", str(i)])
                for i, u in enumerate(input.photo_upload_ids or [])
            ],
        )
        return HazardPayload(hazard=Hazard.from_doc(doc))

    @strawberry.mutation(
        description="RESPONDER (their scope): accepts a rectification (RECTIFIED; the landlord "
        "is notified, HAZARD_RECTIFIED) or rejects a reported one (REOPENED, with a note and "
        "optionally a new deadline). NOT_FOUND outside the scope; INVALID_TRANSITION in "
        "another status or for Anju's own hazards.",
        permission_classes=[allow(Role.RESPONDER)],
    )
    async def verify_rectification(
        self, info: Info, input: MutationInput[VerifyRectificationInput]
    ) -> HazardPayload:
        ctx = info.context
        doc = await rectifications.verify_rectification(
            ctx.deps,
            ctx.viewer,
            decode_id(input.hazard_id, "Hazard", ["hazardId"]),
            accepted=input.accepted,
            note=input.note,
            deadline=input.deadline,
        )
        return HazardPayload(hazard=Hazard.from_doc(doc))
