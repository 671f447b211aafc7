"""Photos for tests, as a phone makes them, and the upload steps an app takes: createUpload,
a PUT to the signed URL, then attaching the upload by its id."""

from __future__ import annotations

import io
from typing import Any

import httpx
from PIL import ExifTags, Image

from tests.support import Caller

CREATE_UPLOAD = """mutation($input: CreateUploadInput!) { createUpload(input: $input) {
  upload { id uploadUrl headers { name value } expiresAt } userErrors { field message code } } }"""
PHOTO_FIELDS = "id url thumbnailUrl contentType width height"
ADD_PHOTO = f"""mutation($input: AddRoomPhotoInput!) {{ addRoomPhoto(input: $input) {{
  room {{ id photos {{ {PHOTO_FIELDS} }} }} userErrors {{ field message code }} }} }}"""
REMOVE_PHOTO = f"""mutation($input: RemoveRoomPhotoInput!) {{ removeRoomPhoto(input: $input) {{
  room {{ id photos {{ {PHOTO_FIELDS} }} }} userErrors {{ field message code }} }} }}"""
MOVE_PHOTO = f"""mutation($input: MoveRoomPhotoInput!) {{ moveRoomPhoto(input: $input) {{
  room {{ id photos {{ {PHOTO_FIELDS} }} }} userErrors {{ field message code }} }} }}"""


def photo(
    size: tuple[int, int] = (64, 48),
    colour: tuple[int, int, int] = (200, 120, 40),
    fmt: str = "JPEG",
    *,
    gps: bool = False,
) -> bytes:
    """An image; with `gps`, the position, camera and comment a phone writes into a JPEG."""
    im = Image.new("RGB", size, colour)
    im.paste((20, 60, 200), (0, 0, size[0] // 2, size[1]))
    out = io.BytesIO()
    params: dict[str, Any] = {}
    if gps:
        exif = Image.Exif()
        exif[ExifTags.Base.Make] = "PhoneMaker"
        located = exif.get_ifd(ExifTags.IFD.GPSInfo)
        located[ExifTags.GPS.GPSLatitudeRef] = "N"
        located[ExifTags.GPS.GPSLatitude] = (28.0, 21.0, 7.5)
        located[ExifTags.GPS.GPSLongitudeRef] = "E"
        located[ExifTags.GPS.GPSLongitude] = (121.0, 36.0, 3.25)
        params = {"exif": exif, "comment": b"tenant: Zhang San"}
    im.save(out, fmt, **params)
    return out.getvalue()


def create_upload(
    caller: Caller, data: bytes, content_type: str = "image/jpeg", purpose: str = "ROOM_PHOTO"
) -> dict[str, Any]:
    upload: dict[str, Any] = caller.mutate(
        "createUpload",
        CREATE_UPLOAD,
        {"input": {"purpose": purpose, "contentType": content_type, "byteSize": len(data)}},
    )["upload"]
    return upload


def put(client: httpx.Client, upload: dict[str, Any], data: bytes) -> httpx.Response:
    """The app's PUT of the bytes to the signed URL, with the headers it was given."""
    headers = {h["name"]: h["value"] for h in upload["headers"]}
    return client.put(upload["uploadUrl"], content=data, headers=headers)


def uploaded(
    caller: Caller, data: bytes, content_type: str = "image/jpeg", purpose: str = "ROOM_PHOTO"
) -> str:
    """An upload whose bytes arrived: its id."""
    upload = create_upload(caller, data, content_type, purpose)
    response = put(caller.api.client, upload, data)
    assert response.status_code == 200, (response.status_code, response.text)
    return str(upload["id"])


def add_photo(
    landlord: Caller, room_id: str, data: bytes | None = None, position: int | None = None
) -> list[dict[str, Any]]:
    """Uploads a photo and adds it to the room; the room's photos."""
    upload_id = uploaded(landlord, data or photo())
    given = {"roomId": room_id, "uploadId": upload_id, "position": position}
    room = landlord.mutate("addRoomPhoto", ADD_PHOTO, {"input": given})["room"]
    photos: list[dict[str, Any]] = room["photos"]
    return photos


def opened(data: bytes) -> Image.Image:
    im = Image.open(io.BytesIO(data))
    im.load()
    return im
