"""addRoom, updateRoom, archiveRoom, addRoomPhoto, moveRoomPhoto, removeRoomPhoto."""

from __future__ import annotations

import strawberry

from app.context import Info
from app.ids import decode_id
from app.schema.common import MutationInput
from app.schema.permissions import allow
from app.schema.rooms import (
    AddRoomInput,
    AddRoomPhotoInput,
    ArchiveRoomInput,
    MoveRoomPhotoInput,
    RemoveRoomPhotoInput,
    Room,
    RoomPayload,
    UpdateRoomInput,
)
from app.services import archiving, room_changes, room_photos, rooms
from app.viewer import Role

LANDLORD = [allow(Role.LANDLORD)]


@strawberry.type
class RoomMutations:
    @strawberry.mutation(
        description="LANDLORD: adds a VACANT room to their property. Codes: INVALID_ID, NOT_FOUND,"
        " PROPERTY_ARCHIVED, REQUIRED, TOO_LONG, INVALID_ARGUMENT, DUPLICATE (the "
        "number is taken), OUT_OF_RANGE.",
        permission_classes=LANDLORD,
    )
    async def add_room(self, info: Info, input: MutationInput[AddRoomInput]) -> RoomPayload:
        ctx = info.context
        doc = await rooms.add_room(
            ctx.deps,
            ctx.viewer,
            decode_id(input.property_id, "Property", ["propertyId"]),
            number=input.number,
            floor=input.floor,
            area_sqm=input.area_sqm,
            monthly_rent_fen=input.monthly_rent_fen,
        )
        return RoomPayload(room=Room.from_doc(doc))

    @strawberry.mutation(
        description="LANDLORD: changes their room (ROOM_ARCHIVED once archived).",
        permission_classes=LANDLORD,
    )
    async def update_room(self, info: Info, input: MutationInput[UpdateRoomInput]) -> RoomPayload:
        ctx = info.context
        changes = room_changes.RoomChanges(
            number=input.number,
            floor=input.floor,
            area_sqm=input.area_sqm,
            monthly_rent_fen=input.monthly_rent_fen,
            description=input.description,
            amenities=[a.value for a in input.amenities] if input.amenities is not None else None,
            status=input.status.value if input.status is not None else None,
        )
        doc = await room_changes.update_room(
            ctx.deps, ctx.viewer, decode_id(input.room_id, "Room", ["roomId"]), changes
        )
        return RoomPayload(room=Room.from_doc(doc))

    @strawberry.mutation(
        description="LANDLORD: only a room that is not let (ROOM_OCCUPIED); its history stays. "
        "Takes its listing down; the room stays UNAVAILABLE for good.",
        permission_classes=LANDLORD,
    )
    async def archive_room(self, info: Info, input: MutationInput[ArchiveRoomInput]) -> RoomPayload:
        ctx = info.context
        doc = await archiving.archive_room(
            ctx.deps, ctx.viewer, decode_id(input.room_id, "Room", ["roomId"])
        )
        return RoomPayload(room=Room.from_doc(doc))

    @strawberry.mutation(
        description="LANDLORD: checks an upload's bytes and adds it to the room's photos (at "
        "most 20: TOO_MANY_PHOTOS). Refusals of the bytes: NOT_AN_IMAGE, TYPE_MISMATCH, "
        "TOO_LARGE, TOO_MANY_PIXELS; of the upload: UPLOAD_NOT_RECEIVED, UPLOAD_EXPIRED, "
        "UPLOAD_USED, WRONG_PURPOSE.",
        permission_classes=LANDLORD,
    )
    async def add_room_photo(
        self, info: Info, input: MutationInput[AddRoomPhotoInput]
    ) -> RoomPayload:
        ctx = info.context
        doc = await room_photos.add_room_photo(
            ctx.deps,
            ctx.viewer,
            decode_id(input.room_id, "Room", ["roomId"]),
            decode_id(input.upload_id, "Upload", ["uploadId"]),
            input.position,
        )
        return RoomPayload(room=Room.from_doc(doc))

    @strawberry.mutation(
        description="LANDLORD: puts one of the room's photos at another place.",
        permission_classes=LANDLORD,
    )
    async def move_room_photo(
        self, info: Info, input: MutationInput[MoveRoomPhotoInput]
    ) -> RoomPayload:
        ctx = info.context
        doc = await room_photos.move_room_photo(
            ctx.deps,
            ctx.viewer,
            decode_id(input.room_id, "Room", ["roomId"]),
            decode_id(input.photo_id, "Photo", ["photoId"]),
            input.position,
        )
        return RoomPayload(room=Room.from_doc(doc))

    @strawberry.mutation(
        description="LANDLORD: removes one of the room's photos; its files are deleted.",
        permission_classes=LANDLORD,
    )
    async def remove_room_photo(
        self, info: Info, input: MutationInput[RemoveRoomPhotoInput]
    ) -> RoomPayload:
        ctx = info.context
        doc = await room_photos.remove_room_photo(
            ctx.deps,
            ctx.viewer,
            decode_id(input.room_id, "Room", ["roomId"]),
            decode_id(input.photo_id, "Photo", ["photoId"]),
        )
        return RoomPayload(room=Room.from_doc(doc))
