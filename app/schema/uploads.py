"""createUpload: the input, the upload it answers, and its payload."""

from __future__ import annotations

import datetime as dt
import enum

import strawberry

from app.ids import encode_id
from app.schema.common import USER_ERRORS, UserError
from app.store import Doc


@strawberry.enum(description="What an upload is for, which decides who may make it.")
class UploadPurpose(enum.Enum):
    ROOM_PHOTO = strawberry.enum_value("ROOM_PHOTO", description="LANDLORD: addRoomPhoto.")
    MAINTENANCE_PHOTO = strawberry.enum_value(
        "MAINTENANCE_PHOTO", description="TENANT: reportMaintenance's photoUploadIds."
    )
    INSPECTION_PHOTO = strawberry.enum_value(
        "INSPECTION_PHOTO",
        description="RESPONDER (an inspection) or LANDLORD (a rectification report).",
    )
    METER_PHOTO = strawberry.enum_value("METER_PHOTO", description="LANDLORD: a meter reading.")


@strawberry.input(description="A photo the caller is about to upload.")
class CreateUploadInput:
    purpose: UploadPurpose = strawberry.field(
        description="PURPOSE_NOT_ALLOWED when the caller's role may not upload for it."
    )
    content_type: str = strawberry.field(
        description="The media type: image/jpeg, image/png or image/webp (UNSUPPORTED_TYPE "
        "otherwise); the PUT must send exactly this Content-Type."
    )
    byte_size: int = strawberry.field(
        description="The file's exact size in bytes: at most ANJU_PHOTO_MAX_BYTES (10 MiB by "
        "default; TOO_LARGE beyond)."
    )


@strawberry.type(description="Where to PUT a photo's bytes.")
class HttpHeader:
    name: str = strawberry.field(description="The header's name.")
    value: str = strawberry.field(description="Its value, to send exactly.")


@strawberry.type(
    description="A signed, single-use place for one photo's bytes. PUT the file to uploadUrl "
    "with the headers before expiresAt, then attach it by id (addRoomPhoto, "
    "reportMaintenance); Anju checks the bytes then."
)
class Upload:
    doc: strawberry.Private[Doc]
    id: strawberry.ID = strawberry.field(description="Attach the upload by this id.")
    upload_url: str = strawberry.field(
        description="PUT the bytes here, with the headers below, before expiresAt."
    )
    headers: list[HttpHeader] = strawberry.field(description="Headers the PUT must send.")
    expires_at: dt.datetime = strawberry.field(
        description="After this (ANJU_UPLOAD_URL_TTL_S, 10 minutes by default) neither the "
        "URL nor the upload works (UPLOAD_EXPIRED)."
    )

    @classmethod
    def of(cls, doc: Doc, url: str, headers: dict[str, str]) -> Upload:
        return cls(
            doc=doc,
            id=strawberry.ID(encode_id("Upload", doc["_id"])),
            upload_url=url,
            headers=[HttpHeader(name=k, value=v) for k, v in headers.items()],
            expires_at=doc["expires_at"],
        )


@strawberry.type(description="The answer of createUpload.")
class CreateUploadPayload:
    upload: Upload | None = strawberry.field(
        default=None,
        description="Where and how to PUT the bytes; null when userErrors says why not.",
    )
    user_errors: list[UserError] = strawberry.field(default_factory=list, description=USER_ERRORS)
