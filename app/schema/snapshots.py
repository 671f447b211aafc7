"""Camera snapshots: the type."""

from __future__ import annotations

import datetime as dt

import strawberry

from app.schema.devices import Camera
from app.store import Doc


@strawberry.type(description="A still picture just taken by a camera, kept 5 minutes.")
class Snapshot:
    camera: Camera = strawberry.field(description="The camera that took it.")
    taken_at: dt.datetime = strawberry.field(description="When it was taken (UTC).")
    content_type: str = strawberry.field(description="Its media type, e.g. image/jpeg.")
    url: str = strawberry.field(
        description="Short-lived signed URL on this service; it stops working at expiresAt."
    )
    expires_at: dt.datetime = strawberry.field(
        description="When url stops working and the picture is deleted (UTC): 5 minutes after it "
        "was taken."
    )

    @classmethod
    def from_doc(cls, doc: Doc, camera: Doc, url: str) -> Snapshot:
        return cls(
            camera=Camera.from_doc(camera),
            taken_at=doc["taken_at"],
            content_type=doc["content_type"],
            url=url,
            expires_at=doc["expires_at"],
        )
