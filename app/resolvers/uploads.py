"""createUpload."""

from __future__ import annotations

import strawberry

from app.context import Info
from app.schema.common import MutationInput
from app.schema.permissions import allow
from app.schema.uploads import CreateUploadInput, CreateUploadPayload, Upload
from app.services import uploads


@strawberry.type
class UploadMutations:
    @strawberry.mutation(
        description="LANDLORD (ROOM_PHOTO, METER_PHOTO, INSPECTION_PHOTO), TENANT "
        "(MAINTENANCE_PHOTO), RESPONDER (INSPECTION_PHOTO): a short-lived signed URL to PUT "
        "one photo to. Rate-limited per account (ANJU_UPLOADS_PER_HOUR: RATE_LIMITED).",
        permission_classes=[allow(*uploads.UPLOADERS)],
    )
    async def create_upload(
        self, info: Info, input: MutationInput[CreateUploadInput]
    ) -> CreateUploadPayload:
        ctx = info.context
        doc, url, headers = await uploads.create_upload(
            ctx.deps,
            ctx.viewer,
            purpose=str(input.purpose.value),
            content_type=input.content_type,
            byte_size=input.byte_size,
        )
        return CreateUploadPayload(upload=Upload.of(doc, url, headers))
