"""Room photos through the API and the disk storage's signed routes: createUpload, the PUT
of the bytes, addRoomPhoto's checks (a real image within the limits, metadata stripped), the
photos on the room, the anonymous listing and its thumbnails, their order, their removal."""

from __future__ import annotations

import socket
import time
from typing import Any

import httpx
import pytest
from pymongo import MongoClient

from app.store import Doc
from tests.conftest import Stack
from tests.photo_support import (
    ADD_PHOTO,
    CREATE_UPLOAD,
    MOVE_PHOTO,
    REMOVE_PHOTO,
    add_photo,
    create_upload,
    opened,
    photo,
    put,
    uploaded,
)
from tests.support import Api, Caller, eventually
from tests.test_listings import add_room, create_property, object_id, publish, search

LISTING_PHOTOS = """query($filter: ListingFilter) { listings(filter: $filter, first: 10) {
  edges { node { id photos { id url thumbnailUrl contentType width height } } } } }"""
MAX_BYTES = 10 * 1024 * 1024


@pytest.fixture
def landlord(api: Api) -> Caller:
    return api.caller("LANDLORD")


@pytest.fixture
def room(landlord: Caller) -> str:
    return add_room(landlord, create_property(landlord))


def attach(landlord: Caller, room_id: str, upload_id: str, **over: Any) -> dict[str, Any]:
    given = {"roomId": room_id, "uploadId": upload_id, **over}
    payload: dict[str, Any] = landlord.data(ADD_PHOTO, {"input": given})["addRoomPhoto"]
    return payload


def status_of_put(url: str, content_type: str, declared_length: int) -> int:
    """The status a PUT gets that declares `declared_length` bytes and sends a few: what a
    client lying about its size would see (httpx refuses to send such a request)."""
    target = httpx.URL(url)
    with socket.create_connection((target.host, target.port or 80), timeout=10) as sock:
        sock.sendall(
            f"PUT {target.raw_path.decode()} HTTP/1.1\r\nHost: {target.host}\r\n"
            f"Content-Type: {content_type}\r\nContent-Length: {declared_length}\r\n\r\n".encode()
            + b"\0" * 16
        )
        status_line = sock.recv(1024).split(b"\r\n", 1)[0]
    return int(status_line.split()[1])


def codes(payload: dict[str, Any]) -> list[str]:
    return [e["code"] for e in payload["userErrors"]]


# --- the story -------------------------------------------------------------------------------


def test_a_photo_goes_up_through_the_signed_url_and_shows_on_the_anonymous_listing(
    api: Api, landlord: Caller, room: str
) -> None:
    # given a phone's photo, with its GPS position, camera and a comment
    original = photo((120, 80), gps=True)
    assert opened(original).getexif().get_ifd(0x8825)  # the GPS block is there
    # when the landlord uploads it and adds it to a published room
    listing = publish(landlord, room)
    upload = create_upload(landlord, original)
    assert upload["headers"] == [{"name": "Content-Type", "value": "image/jpeg"}]
    assert put(api.client, upload, original).status_code == 200
    payload = attach(landlord, room, upload["id"])
    # then the room has the photo, as stored: upright, its size read from the file
    assert payload["userErrors"] == []
    [shown] = payload["room"]["photos"]
    assert (shown["contentType"], shown["width"], shown["height"]) == ("image/jpeg", 120, 80)
    # and anyone sees it on the listing, without GPS, camera or comment
    found = search(api.anonymous(), filter={"community": "松门村"})
    assert [e["node"]["id"] for e in found["edges"]] == [listing["id"]]
    [on_listing] = api.anonymous().data(LISTING_PHOTOS, {"filter": {"community": "松门村"}})[
        "listings"
    ]["edges"][0]["node"]["photos"]
    assert on_listing["id"] == shown["id"]
    full = api.client.get(on_listing["url"])
    assert full.status_code == 200
    assert full.headers["content-type"] == "image/jpeg"
    assert full.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in full.headers["content-security-policy"]
    stored = opened(full.content)
    assert stored.size == (120, 80)
    assert stored.getexif().get_ifd(0x8825) == {}
    assert dict(stored.getexif()) == {} and "comment" not in stored.info
    # and a small WebP for the cards
    thumb = api.client.get(on_listing["thumbnailUrl"])
    assert thumb.headers["content-type"] == "image/webp"
    assert opened(thumb.content).format == "WEBP"


def test_photo_urls_are_signed_and_short_lived(api: Api, landlord: Caller, room: str) -> None:
    # given a room photo
    [shown] = add_photo(landlord, room)
    url = httpx.URL(shown["url"])
    # then its URL is a signed capability that lives at most two hours by default
    assert url.path.startswith("/files/photos/")
    assert 3600 <= int(url.params["exp"]) - int(time.time()) <= 7200
    # and a changed signature, key or expiry is refused
    forged = [
        url.copy_set_param("sig", "0" * 64),
        url.copy_set_param("exp", str(int(url.params["exp"]) + 1)),
        url.copy_with(path=url.path.replace(".jpg", ".thumb.webp")),
    ]
    for bad in forged:
        assert api.client.get(bad).status_code == 403, bad
    # and the same URL comes back within its period (cacheable)
    [again] = landlord.data(
        "query($id: ID!) { node(id: $id) { ... on Room { photos { url } } } }", {"id": room}
    )["node"]["photos"]
    assert again["url"] == shown["url"]


# --- what the bytes must be ------------------------------------------------------------------


def test_a_file_that_is_not_an_image_is_refused(api: Api, landlord: Caller, room: str) -> None:
    # given a text file declared as a JPEG
    text = b"<html><script>alert(1)</script></html>" * 10
    upload_id = uploaded(landlord, text)
    # when it is added
    payload = attach(landlord, room, upload_id)
    # then it is refused, and the upload cannot be tried again
    assert codes(payload) == ["NOT_AN_IMAGE"]
    assert payload["userErrors"][0]["field"] == ["input", "uploadId"]
    assert codes(attach(landlord, room, upload_id)) == ["UPLOAD_USED"]
    assert (
        landlord.data(
            "query($id: ID!) { node(id: $id) { ... on Room { photos { id } } } }", {"id": room}
        )["node"]["photos"]
        == []
    )


def test_a_png_declared_as_jpeg_is_a_type_mismatch(api: Api, landlord: Caller, room: str) -> None:
    upload_id = uploaded(landlord, photo(fmt="PNG"), content_type="image/jpeg")
    assert codes(attach(landlord, room, upload_id)) == ["TYPE_MISMATCH"]


def test_png_and_webp_are_kept_in_their_format(api: Api, landlord: Caller, room: str) -> None:
    for fmt, content_type in (("PNG", "image/png"), ("WEBP", "image/webp")):
        upload_id = uploaded(landlord, photo(fmt=fmt), content_type=content_type)
        payload = attach(landlord, room, upload_id)
        assert payload["userErrors"] == []
        assert payload["room"]["photos"][-1]["contentType"] == content_type


def test_the_size_limit_is_declared_and_enforced(api: Api, landlord: Caller, room: str) -> None:
    # when an upload over the limit is asked for, it is refused at once
    payload = landlord.data(
        CREATE_UPLOAD,
        {
            "input": {
                "purpose": "ROOM_PHOTO",
                "contentType": "image/jpeg",
                "byteSize": MAX_BYTES + 1,
            }
        },
    )["createUpload"]
    assert codes(payload) == ["TOO_LARGE"] and payload["upload"] is None
    # and bytes other than the size declared are refused by the signed URL
    data = photo()
    upload = create_upload(landlord, data)
    assert put(api.client, upload, data + b"\0" * 100).status_code == 403
    assert put(api.client, upload, data[:-10]).status_code == 403
    # and so is another content type than the one signed
    headers = {"Content-Type": "text/html"}
    assert api.client.put(upload["uploadUrl"], content=data, headers=headers).status_code == 403
    # and a body over the limit never gets read
    assert status_of_put(upload["uploadUrl"], "image/jpeg", MAX_BYTES + 1) == 413
    # and nothing arrived: the upload says so
    assert codes(attach(landlord, room, upload["id"])) == ["UPLOAD_NOT_RECEIVED"]
    # until the right bytes are PUT
    assert put(api.client, upload, data).status_code == 200
    assert attach(landlord, room, upload["id"])["userErrors"] == []


@pytest.mark.parametrize(
    ("given", "code", "field"),
    [
        ({"contentType": "image/gif"}, "UNSUPPORTED_TYPE", "contentType"),
        ({"contentType": "image/svg+xml"}, "UNSUPPORTED_TYPE", "contentType"),
        ({"byteSize": 0}, "OUT_OF_RANGE", "byteSize"),
        ({"purpose": "MAINTENANCE_PHOTO"}, "PURPOSE_NOT_ALLOWED", "purpose"),
    ],
)
def test_create_upload_validation(
    api: Api, landlord: Caller, given: dict[str, Any], code: str, field: str
) -> None:
    upload = {"purpose": "ROOM_PHOTO", "contentType": "image/jpeg", "byteSize": 1000, **given}
    payload = landlord.data(CREATE_UPLOAD, {"input": upload})["createUpload"]
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [(code, ["input", field])]


# --- whose uploads -----------------------------------------------------------------------------


def test_an_upload_is_its_uploaders_once_for_its_purpose_and_for_a_while(
    api: Api, landlord: Caller, room: str
) -> None:
    # given another landlord's upload, and a tenant's for a repair request
    other = api.caller("LANDLORD")
    theirs = uploaded(other, photo())
    tenant = api.caller("TENANT")
    repair = uploaded(tenant, photo(), purpose="MAINTENANCE_PHOTO")
    # then neither can be attached to this landlord's room
    assert codes(attach(landlord, room, theirs)) == ["NOT_FOUND"]
    assert codes(attach(landlord, room, repair)) == ["NOT_FOUND"]
    # and another landlord cannot attach to this room
    mine = uploaded(landlord, photo())
    assert codes(attach(other, room, uploaded(other, photo()))) == ["NOT_FOUND"]
    # and an upload is attached once
    assert attach(landlord, room, mine)["userErrors"] == []
    assert codes(attach(landlord, room, mine)) == ["UPLOAD_USED"]
    # and not after it expired (10 minutes by default)
    late = uploaded(landlord, photo())
    api.move_clock(11 * 60)
    assert codes(attach(landlord, room, late)) == ["UPLOAD_EXPIRED"]
    # and a bad id is refused before any query
    assert codes(attach(landlord, room, "not-an-id")) == ["INVALID_ID"]


def test_a_wrong_purpose_is_refused(api: Api, landlord: Caller, room: str) -> None:
    meter = uploaded(landlord, photo(), purpose="METER_PHOTO")
    assert codes(attach(landlord, room, meter)) == ["WRONG_PURPOSE"]


@pytest.mark.parametrize("role", ["POLICE", "ADMIN"])
def test_roles_that_upload_nothing_are_refused(api: Api, role: str) -> None:
    caller = api.caller(role)
    body = caller.post(
        CREATE_UPLOAD,
        {"input": {"purpose": "ROOM_PHOTO", "contentType": "image/jpeg", "byteSize": 10}},
    )
    assert "FORBIDDEN" in [e["extensions"]["code"] for e in body["errors"]]
    anonymous = api.anonymous().post(
        CREATE_UPLOAD,
        {"input": {"purpose": "ROOM_PHOTO", "contentType": "image/jpeg", "byteSize": 10}},
    )
    assert [e["extensions"]["code"] for e in anonymous["errors"]] == ["UNAUTHENTICATED"]


@pytest.mark.parametrize("role", ["TENANT", "POLICE", "RESPONDER", "ADMIN"])
def test_only_landlords_change_room_photos(
    api: Api, landlord: Caller, room: str, role: str
) -> None:
    [shown] = add_photo(landlord, room)
    caller = api.caller(role)
    for query, given in (
        (ADD_PHOTO, {"roomId": room, "uploadId": shown["id"]}),
        (REMOVE_PHOTO, {"roomId": room, "photoId": shown["id"]}),
        (MOVE_PHOTO, {"roomId": room, "photoId": shown["id"], "position": 0}),
    ):
        body = caller.post(query, {"input": given})
        assert "FORBIDDEN" in [e["extensions"]["code"] for e in body["errors"]]


# --- order, limit, removal ----------------------------------------------------------------------


def test_photos_keep_their_order_up_to_twenty(api: Api, landlord: Caller, room: str) -> None:
    # given three photos, the third put first
    first = add_photo(landlord, room, photo(colour=(10, 10, 10)))[0]["id"]
    second = add_photo(landlord, room, photo(colour=(20, 20, 20)))[-1]["id"]
    photos = add_photo(landlord, room, photo(colour=(30, 30, 30)), position=0)
    third = photos[0]["id"]
    assert [p["id"] for p in photos] == [third, first, second]
    # when one is moved to the end
    moved = landlord.mutate(
        "moveRoomPhoto",
        MOVE_PHOTO,
        {"input": {"roomId": room, "photoId": third, "position": 19}},
    )["room"]["photos"]
    assert [p["id"] for p in moved] == [first, second, third]
    # when the room has twenty
    for i in range(17):
        add_photo(landlord, room, photo(colour=(i, 100, 100)))
    # then a twenty-first is refused
    payload = attach(landlord, room, uploaded(landlord, photo()))
    assert codes(payload) == ["TOO_MANY_PHOTOS"]
    assert codes(attach(landlord, room, uploaded(landlord, photo()), position=20)) == [
        "OUT_OF_RANGE"
    ]


def test_a_removed_photo_is_gone_from_the_room_the_listing_and_the_storage(
    api: Api, landlord: Caller, room: str, stack: Stack
) -> None:
    # given a listed room with two photos
    listing = publish(landlord, room)
    keep = add_photo(landlord, room)[0]
    gone = add_photo(landlord, room)[-1]
    assert api.client.get(gone["url"]).status_code == 200
    # when one is removed
    photos = landlord.mutate(
        "removeRoomPhoto", REMOVE_PHOTO, {"input": {"roomId": room, "photoId": gone["id"]}}
    )["room"]["photos"]
    # then the room and the listing show the other only
    assert [p["id"] for p in photos] == [keep["id"]]
    node = api.anonymous().data(
        "query($id: ID!) { node(id: $id) { ... on Listing { photos { id } } } }",
        {"id": listing["id"]},
    )["node"]
    assert node["photos"] == [{"id": keep["id"]}]
    # and its files are deleted, though its URL has not expired
    assert api.client.get(gone["url"]).status_code == 404
    assert api.client.get(gone["thumbnailUrl"]).status_code == 404
    assert not list((stack.workdir / "files" / "photos").glob(f"{object_id(gone['id'])}*"))
    # and removing it again says it is not there
    payload = landlord.data(REMOVE_PHOTO, {"input": {"roomId": room, "photoId": gone["id"]}})[
        "removeRoomPhoto"
    ]
    assert codes(payload) == ["NOT_FOUND"]


def test_expired_uploads_are_swept_with_their_bytes(
    api: Api, landlord: Caller, stack: Stack, mongo: MongoClient[Doc]
) -> None:
    # given an upload whose bytes arrived but that was never attached
    upload_id = uploaded(landlord, photo())
    raw = object_id(upload_id)
    incoming = stack.workdir / "files" / "incoming" / raw
    assert incoming.exists()
    # when it has expired (and the janitor's grace has passed)
    api.move_clock(15 * 60)
    # then the janitor removes it and its bytes
    db = mongo[stack.db_name]
    assert eventually(lambda: db.uploads.count_documents({}) == 0, within=30)
    assert not incoming.exists()
