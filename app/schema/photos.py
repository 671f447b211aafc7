"""Photos as the apps show them (a room's, a listing's, a repair request's): short-lived
signed URLs of the cleaned image and of its thumbnail."""

from __future__ import annotations

from typing import Any

import strawberry

from app.context import Info
from app.ids import encode_id
from app.services import photos
from app.store import Doc


@strawberry.type(
    description="A checked photo: a real JPEG, PNG or WebP, turned upright, with its metadata "
    "(EXIF, GPS position, camera, comments) removed."
)
class Photo:
    ref: strawberry.Private[Doc]
    id: strawberry.ID = strawberry.field(description="The photo's id (removeRoomPhoto takes it).")
    content_type: str = strawberry.field(
        description="Its media type: image/jpeg, image/png or image/webp (of `url`; "
        "thumbnails are WebP)."
    )
    width: int = strawberry.field(description="Pixels, as stored (upright).")
    height: int = strawberry.field(description="Pixels, as stored (upright).")

    @classmethod
    def from_ref(cls, ref: Doc) -> Photo:
        return cls(
            ref=ref,
            id=strawberry.ID(encode_id("Photo", ref["id"])),
            content_type=ref["content_type"],
            width=ref["width"],
            height=ref["height"],
        )

    @classmethod
    def all(cls, refs: list[Doc] | None) -> list[Photo]:
        return [cls.from_ref(r) for r in refs or []]

    @classmethod
    def among(cls, refs: list[Doc], ids: list[Any]) -> list[Photo]:
        """Those of a subject's photos that one part of it holds (an inspection's finding, a
        hazard's change), in the subject's order."""
        wanted = set(ids)
        return cls.all([r for r in refs if r["id"] in wanted])

    @strawberry.field(
        description="Short-lived signed URL of the full image: it lives one to two "
        "ANJU_PHOTO_URL_TTL_S periods (an hour by default) and is the same for every request "
        "within one period, so that it can be cached."
    )
    async def url(self, info: Info) -> str:
        return await photos.url(info.context.deps, self.ref["key"])

    @strawberry.field(
        description="Short-lived signed URL of a small WebP (at most 480 px on its longer "
        "side) for lists and cards."
    )
    async def thumbnail_url(self, info: Info) -> str:
        return await photos.url(info.context.deps, self.ref["thumbnail_key"])
