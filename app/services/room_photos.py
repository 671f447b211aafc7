"""A room's photos: at most MAX_ROOM_PHOTOS, in the landlord's order, the first one on the
listing's card. Shown on the room (its landlord, its tenant, staff in scope), on its live
listing (everyone: the listing copies them) and on the kiosk.

The order lives in the room's `photos` (references, app/services/photos.py); each change
rewrites that list under the room's exclusive section, guarded by a revision number, so that
two landlords' devices adding at once neither lose a photo nor pass the limit.
"""

from __future__ import annotations

from collections.abc import Callable

from bson import ObjectId
from pymongo import ReturnDocument

from app.deps import Deps
from app.errors import Code, NotFoundError, UserInputError
from app.services import listings, photos, rooms
from app.services.room_changes import archived_room
from app.store import Doc, Store, busy
from app.viewer import Viewer

MAX_ROOM_PHOTOS = 20
PURPOSE = "ROOM_PHOTO"
_ATTEMPTS = 20  # a loser of a revision race tries again (MongoDB; FerretDB serialises)

Edit = Callable[[list[Doc]], list[Doc]]


def _too_many() -> UserInputError:
    return UserInputError(
        f"A room has at most {MAX_ROOM_PHOTOS} photos.",
        code=Code.TOO_MANY_PHOTOS,
        field=["roomId"],
    )


def _check_position(position: int | None) -> None:
    if position is not None and not 0 <= position < MAX_ROOM_PHOTOS:
        raise UserInputError(
            f"Must be between 0 and {MAX_ROOM_PHOTOS - 1}.",
            code=Code.OUT_OF_RANGE,
            field=["position"],
        )


async def _rewrite(store: Store, room_id: ObjectId, edit: Edit) -> Doc:
    """Applies `edit` to the room's photo list (it raises to refuse); the updated room."""
    for _ in range(_ATTEMPTS):
        async with store.exclusive(rooms.room_guard(room_id)):
            room = await store.rooms.find_one({"_id": room_id})
            if room is None:
                raise NotFoundError("Room", field=["roomId"])
            refs = edit(list(room.get("photos") or []))
            updated = await store.rooms.find_one_and_update(
                {"_id": room_id, "photo_rev": room.get("photo_rev")},
                {"$set": {"photos": refs, "photo_rev": int(room.get("photo_rev") or 0) + 1}},
                return_document=ReturnDocument.AFTER,
            )
        if updated is not None:
            await listings.follow_room(store, room_id)
            return updated
    raise busy()


async def add_room_photo(
    deps: Deps, viewer: Viewer, room_id: ObjectId, upload_id: ObjectId, position: int | None
) -> Doc:
    """LANDLORD: an upload becomes the room's photo at `position` (0-based; the end when
    None or past it). Refusals: the upload's (app/services/photos.py), ROOM_ARCHIVED,
    TOO_MANY_PHOTOS, OUT_OF_RANGE (position)."""
    store = deps.store
    room = await rooms.owned_room(store, viewer, room_id)
    _check_position(position)
    if room.get("archived_at") is not None:
        raise archived_room()
    if len(room.get("photos") or []) >= MAX_ROOM_PHOTOS:
        raise _too_many()
    photo = await photos.attach(
        deps,
        viewer,
        upload_id,
        purpose=PURPOSE,
        subject=photos.Subject("rooms", room_id, rooms.room_guard(room_id)),
        field=["uploadId"],
    )
    ref = photos.ref(photo)

    def insert(refs: list[Doc]) -> list[Doc]:
        if len(refs) >= MAX_ROOM_PHOTOS:
            raise _too_many()
        at = len(refs) if position is None else min(position, len(refs))
        return [*refs[:at], ref, *refs[at:]]

    try:
        current = await store.rooms.find_one({"_id": room_id}, {"archived_at": 1})
        if current is None or current.get("archived_at") is not None:
            raise archived_room()
        return await _rewrite(store, room_id, insert)
    except Exception:
        await photos.discard(deps, [photo["_id"]])
        raise


async def move_room_photo(
    deps: Deps, viewer: Viewer, room_id: ObjectId, photo_id: ObjectId, position: int
) -> Doc:
    """LANDLORD: puts one of the room's photos at `position` (the end when past it)."""
    await rooms.owned_room(deps.store, viewer, room_id)
    _check_position(position)

    def move(refs: list[Doc]) -> list[Doc]:
        moving = [r for r in refs if r["id"] == photo_id]
        if not moving:
            raise NotFoundError("Photo", field=["photoId"])
        rest = [r for r in refs if r["id"] != photo_id]
        return [*rest[:position], moving[0], *rest[position:]]

    return await _rewrite(deps.store, room_id, move)


async def remove_room_photo(
    deps: Deps, viewer: Viewer, room_id: ObjectId, photo_id: ObjectId
) -> Doc:
    """LANDLORD: removes one of the room's photos (also from an archived room); its bytes
    are deleted."""
    await rooms.owned_room(deps.store, viewer, room_id)

    def remove(refs: list[Doc]) -> list[Doc]:
        if not any(r["id"] == photo_id for r in refs):
            raise NotFoundError("Photo", field=["photoId"])
        return [r for r in refs if r["id"] != photo_id]

    updated = await _rewrite(deps.store, room_id, remove)
    await photos.discard(deps, [photo_id])
    return updated
