"""cameraSnapshot."""

from __future__ import annotations

from typing import Annotated

import strawberry

from app.context import Info
from app.ids import decode_id
from app.schema.permissions import allow
from app.schema.snapshots import Snapshot
from app.services import snapshots
from app.viewer import Role


@strawberry.type
class SnapshotQueries:
    @strawberry.field(
        description="LANDLORD: a live still from one of their cameras (only the owner). Errors: "
        "DEVICE_OFFLINE, DEVICE_NOT_FOUND, DEVICE_ERROR (not a usable picture).",
        permission_classes=[allow(Role.LANDLORD)],
    )
    async def camera_snapshot(
        self,
        info: Info,
        camera_id: Annotated[
            strawberry.ID,
            strawberry.argument(description="One of the caller's cameras (INVALID_ID, NOT_FOUND)."),
        ],
    ) -> Snapshot:
        oid = decode_id(camera_id, "Camera", ["cameraId"])
        doc, camera, url = await snapshots.take_snapshot(
            info.context.deps, info.context.viewer, oid
        )
        return Snapshot.from_doc(doc, camera, url)
