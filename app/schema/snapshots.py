"""Camera snapshots: the type."""

from __future__ import annotations

import datetime as dt

import strawberry

from app.schema.devices import Camera
from app.store import Doc


@strawberry.type
class Snapshot:
    camera: Camera
    taken_at: dt.datetime
    content_type: str
    url: str = strawberry.field(
        description="Short-lived signed URL on this service; it stops working at expiresAt."
    )
    expires_at: dt.datetime

    @classmethod
    def from_doc(cls, doc: Doc, camera: Doc, url: str) -> Snapshot:
        return cls(
            camera=Camera.from_doc(camera),
            taken_at=doc["taken_at"],
            content_type=doc["content_type"],
            url=url,
            expires_at=doc["expires_at"],
        )
