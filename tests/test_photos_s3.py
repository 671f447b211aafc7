"""Photos end to end with ANJU_STORAGE=s3: a second Anju over the same database, storing in a
real S3-compatible server (versitygw, started here on a free loopback port). The app PUTs to
the presigned URL Anju answers; Anju reads the bytes back, checks and cleans them, stores the
photo and its thumbnail in the bucket and answers presigned download URLs. The storage tests
(tests/test_storage.py) run the disk and S3 backends through the same cases; this runs the
API over the S3 one."""

from __future__ import annotations

import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from devstack.anju import start_anju
from devstack.procs import free_port, stop
from devstack.versitygw import build, start_versitygw
from tests.conftest import ADMIN_PASSWORD, ADMIN_PHONE, Stack
from tests.fire_support import EXPORT, inspection_input, record, responder, site
from tests.photo_support import ADD_PHOTO, REMOVE_PHOTO, create_upload, opened, photo, put
from tests.support import Api
from tests.test_listings import add_room, create_property, publish

BUCKET = "anju-photos"
LISTING_PHOTOS = """query($id: ID!) { node(id: $id) { ... on Listing {
  photos { id url thumbnailUrl contentType width height } } } }"""


@pytest.fixture(scope="module")
def s3_anju(stack: Stack) -> Iterator[str]:
    """The base URL of an Anju that stores photos in versitygw."""
    try:
        build()
    except (RuntimeError, OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"versitygw could not be built (tools/versitygw): {exc}")
    workdir = Path(tempfile.mkdtemp(prefix="anju-s3-api-"))
    access, secret = "test-access-key", "test-secret-" + secrets.token_hex(8)
    s3_port, anju_port = free_port(), free_port()
    procs: list[subprocess.Popen[bytes]] = []
    try:
        procs.append(
            start_versitygw(
                s3_port, workdir / "s3", workdir / "versitygw.log", access, secret, buckets=[BUCKET]
            )
        )
        env = {
            **stack.env,
            "ANJU_PUBLIC_URL": f"http://127.0.0.1:{anju_port}",
            "ANJU_STORAGE": "s3",
            "ANJU_S3_ENDPOINT": f"http://127.0.0.1:{s3_port}",
            "ANJU_S3_BUCKET": BUCKET,
            "ANJU_S3_ACCESS_KEY": access,
            "ANJU_S3_SECRET_KEY": secret,
        }
        procs.append(start_anju(anju_port, env, log_path=workdir / "anju.log"))
        yield f"http://127.0.0.1:{anju_port}"
    finally:
        for proc in reversed(procs):
            stop(proc)
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
def s3(api: Api, s3_anju: str) -> Api:
    """The S3 Anju, over the database `api` has just emptied."""
    return Api(s3_anju, api.client, ADMIN_PHONE, ADMIN_PASSWORD, api.sim_url)


def test_a_photo_goes_through_s3_to_the_anonymous_listing(s3: Api) -> None:
    # given a listed room, and a phone's photo with its GPS position
    landlord = s3.caller("LANDLORD")
    room = add_room(landlord, create_property(landlord))
    listing = publish(landlord, room)
    original = photo((160, 120), gps=True)
    # when the landlord uploads it to the presigned URL and adds it
    upload = create_upload(landlord, original)
    assert httpx.URL(upload["uploadUrl"]).path.startswith(f"/{BUCKET}/incoming/")
    assert put(s3.client, upload, original).status_code == 200
    given = {"roomId": room, "uploadId": upload["id"]}
    room_now = landlord.mutate("addRoomPhoto", ADD_PHOTO, {"input": given})["room"]
    # then the listing shows it from S3, cleaned, with its thumbnail
    [shown] = s3.anonymous().data(LISTING_PHOTOS, {"id": listing["id"]})["node"]["photos"]
    assert shown["id"] == room_now["photos"][0]["id"]
    assert (shown["width"], shown["height"]) == (160, 120)
    full = s3.client.get(shown["url"])
    assert full.status_code == 200 and "X-Amz-Signature" in shown["url"]
    assert full.headers["content-type"] == "image/jpeg"
    assert opened(full.content).getexif() == {}
    thumb = s3.client.get(shown["thumbnailUrl"])
    assert thumb.headers["content-type"] == "image/webp"
    # and a removed photo is deleted from the bucket
    landlord.mutate(
        "removeRoomPhoto", REMOVE_PHOTO, {"input": {"roomId": room, "photoId": shown["id"]}}
    )
    assert s3.client.get(shown["url"]).status_code == 404


def test_s3_holds_the_upload_to_its_signed_type_and_anju_to_its_size(s3: Api) -> None:
    landlord = s3.caller("LANDLORD")
    room = add_room(landlord, create_property(landlord))
    data = photo()
    upload = create_upload(landlord, data)
    # the server itself refuses another content type than the one signed
    refused = s3.client.put(
        upload["uploadUrl"], content=data, headers={"Content-Type": "text/html"}
    )
    assert refused.status_code == 403
    # S3 cannot pin a presigned PUT's length: more bytes than declared arrive, and Anju
    # refuses them when the upload is attached
    assert put(s3.client, upload, data + b"\0" * 4096).status_code == 200
    given = {"roomId": room, "uploadId": upload["id"]}
    payload = landlord.data(ADD_PHOTO, {"input": given})["addRoomPhoto"]
    assert [e["code"] for e in payload["userErrors"]] == ["TOO_LARGE"]
    # and a file that is not an image is refused as on disk
    text = b"GIF89a not really" * 50
    fake = create_upload(landlord, text)
    assert put(s3.client, fake, text).status_code == 200
    payload = landlord.data(ADD_PHOTO, {"input": {"roomId": room, "uploadId": fake["id"]}})
    assert [e["code"] for e in payload["addRoomPhoto"]["userErrors"]] == ["NOT_AN_IMAGE"]


def test_the_kiosk_may_load_photos_from_the_bucket(s3: Api, s3_anju: str) -> None:
    page = s3.client.get(f"{s3_anju}/kiosk", params={"community": "松门村"})
    csp = page.headers["content-security-policy"]
    img_src = next(part for part in csp.split("; ") if part.startswith("img-src"))
    assert img_src.startswith("img-src 'self' http://127.0.0.1:")
    # and its disk routes are not served
    assert s3.client.get(f"{s3_anju}/files/photos/x.jpg?exp=1&sig=0").status_code == 404


def test_storage_settings_name_what_is_missing() -> None:
    from app.settings import SettingsError, load_settings

    with pytest.raises(SettingsError, match="ANJU_S3_BUCKET, ANJU_S3_SECRET_KEY"):
        load_settings(
            {
                "ANJU_ENV": "test",
                "ANJU_STORAGE": "s3",
                "ANJU_S3_ENDPOINT": "http://s3",
                "ANJU_S3_ACCESS_KEY": "a",
            }
        )
    with pytest.raises(SettingsError, match="disk or s3"):
        load_settings({"ANJU_ENV": "test", "ANJU_STORAGE": "ftp"})
    with pytest.raises(SettingsError, match="ANJU_PHOTO_URL_TTL_S"):
        load_settings({"ANJU_ENV": "test", "ANJU_PHOTO_URL_TTL_S": "30"})
    assert load_settings({"ANJU_ENV": "test"}).storage == "disk"


def test_a_hazard_export_is_downloaded_from_the_bucket_as_a_file(
    s3: Api, http: httpx.Client
) -> None:
    # given a hazard, on the S3 Anju
    home = site(s3)
    record(responder(s3), inspection_input(home.property_id, {"EXITS_CLEAR": None}))

    # when the town's police export it
    police = s3.caller("POLICE", scope={"town": "松门镇"})
    export = police.data(EXPORT, {"scope": {"town": "松门镇"}})["hazardsExport"]

    # then the bucket serves the CSV as a file to save
    response = http.get(export["url"])
    assert response.status_code == 200
    assert response.headers["content-disposition"] == "attachment"
    assert response.content.decode("utf-8-sig").startswith("hazard_id,town,community")
