"""cameraSnapshot."""

from __future__ import annotations

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
        description="LANDLORD: a live still from one of their cameras.",
        permission_classes=[allow(Role.LANDLORD)],
    )
    async def camera_snapshot(self, info: Info, camera_id: strawberry.ID) -> Snapshot:
        oid = decode_id(camera_id, "Camera", ["cameraId"])
        doc, camera, url = await snapshots.take_snapshot(
            info.context.deps, info.context.viewer, oid
        )
        return Snapshot.from_doc(doc, camera, url)
