"""cameraSnapshot and the signed snapshot URLs it hands out."""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from bson import Binary
from pymongo import MongoClient

from app.settings import DEV_URL_SIGNING_KEY
from tests.door_support import Building, building
from tests.support import Api, sim_post

SNAPSHOT = """query($id: ID!) { cameraSnapshot(cameraId: $id) {
  camera { id deviceId } takenAt contentType url expiresAt } }"""


@pytest.fixture
def home(api: Api) -> Building:
    return building(api.caller("LANDLORD"))


def parts(url: str) -> tuple[str, str, str]:
    split = urlsplit(url)
    query = parse_qs(split.query)
    return split.path.rsplit("/", 1)[1], query["exp"][0], query["sig"][0]


def url_for(stack: Any, snapshot_id: str, exp: int, key: str = DEV_URL_SIGNING_KEY) -> str:
    """A snapshot URL signed the way Anju signs them (the test stack uses the dev key)."""
    sig = hmac.new(key.encode(), f"snapshot:{snapshot_id}:{exp}".encode(), hashlib.sha256)
    return f"{stack.anju_url}/snapshots/{snapshot_id}?exp={exp}&sig={sig.hexdigest()}"


def test_the_landlord_gets_a_working_short_lived_url(
    home: Building, http: httpx.Client, stack: Any, mongo: MongoClient[Any]
) -> None:
    # when
    snap = home.landlord.data(SNAPSHOT, {"id": home.camera_id})["cameraSnapshot"]

    # then: a URL on Anju that serves the JPEG, uncached
    assert snap["camera"] == {"id": home.camera_id, "deviceId": home.camera_device}
    assert snap["contentType"] == "image/jpeg"
    assert snap["url"].startswith(f"{stack.anju_url}/snapshots/")
    assert snap["expiresAt"] > snap["takenAt"]
    answer = http.get(snap["url"])
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "image/jpeg"
    assert answer.headers["cache-control"] == "no-store"
    assert answer.content.startswith(b"\xff\xd8\xff")
    # kept as bytes with an expiry, for minutes, not forever
    [kept] = mongo[stack.db_name].snapshots.find({})
    assert isinstance(kept["data"], bytes | Binary)
    lifetime = kept["expires_at"] - kept["taken_at"]
    assert 60 <= lifetime.total_seconds() <= 600


def test_changed_urls_are_refused_without_leaking(
    home: Building, http: httpx.Client, stack: Any
) -> None:
    # given
    snap = home.landlord.data(SNAPSHOT, {"id": home.camera_id})["cameraSnapshot"]
    snapshot_id, exp, sig = parts(snap["url"])
    flipped = ("0" if sig[0] != "0" else "1") + sig[1:]
    other_id = snapshot_id[:-1] + ("0" if snapshot_id[-1] != "0" else "1")
    base = f"{stack.anju_url}/snapshots"

    # when / then
    for url in (
        f"{base}/{snapshot_id}?exp={exp}&sig={flipped}",  # signature changed
        f"{base}/{snapshot_id}?exp={int(exp) + 3600}&sig={sig}",  # lifetime stretched
        f"{base}/{other_id}?exp={exp}&sig={sig}",  # another snapshot
        f"{base}/{snapshot_id}?exp={exp}",  # no signature
        f"{base}/{snapshot_id}",
        url_for(stack, snapshot_id, int(exp), key="not-our-key"),
    ):
        answer = http.get(url)
        assert answer.status_code in {403, 404}, url
        assert answer.content == b""
        assert answer.headers.get("cache-control") == "no-store"


def test_expired_urls_are_refused(home: Building, http: httpx.Client, stack: Any) -> None:
    # given a real snapshot, and a URL for it correctly signed but expired a second ago
    snap = home.landlord.data(SNAPSHOT, {"id": home.camera_id})["cameraSnapshot"]
    snapshot_id, _, _ = parts(snap["url"])
    expired = url_for(stack, snapshot_id, int(time.time()) - 1)
    # then
    answer = http.get(expired)
    assert answer.status_code == 403
    assert answer.content == b""
    # a correctly signed URL for a snapshot that does not exist is simply not found
    assert http.get(url_for(stack, "0" * 24, int(time.time()) + 60)).status_code == 404


def test_another_landlords_camera_is_not_found(api: Api, home: Building) -> None:
    stranger = api.caller("LANDLORD")
    assert stranger.errors(SNAPSHOT, {"id": home.camera_id}) == ["NOT_FOUND"]
    assert home.landlord.errors(SNAPSHOT, {"id": home.door_id}) == ["INVALID_ID"]


@pytest.mark.parametrize("role", ["TENANT", "POLICE", "RESPONDER", "ADMIN"])
def test_other_roles_are_forbidden(api: Api, home: Building, role: str) -> None:
    assert api.caller(role).errors(SNAPSHOT, {"id": home.camera_id}) == ["FORBIDDEN"]


def test_anonymous_callers_must_sign_in(api: Api, home: Building) -> None:
    assert api.anonymous().errors(SNAPSHOT, {"id": home.camera_id}) == ["UNAUTHENTICATED"]


@pytest.mark.parametrize(
    ("control", "body", "code"),
    [
        ("/sim/devices/{}/offline", None, "DEVICE_OFFLINE"),
        ("/sim/cameras/{}/mode", {"mode": "garbage"}, "DEVICE_ERROR"),
        ("/sim/cameras/{}/mode", {"mode": "huge"}, "DEVICE_ERROR"),
        ("/sim/cameras/{}/mode", {"mode": "error"}, "SERVICE_UNAVAILABLE"),
        ("/sim/gateway/offline", None, "SERVICE_UNAVAILABLE"),
    ],
)
def test_camera_failures_have_clear_codes(
    home: Building,
    http: httpx.Client,
    stack: Any,
    mongo: MongoClient[Any],
    control: str,
    body: Any,
    code: str,
) -> None:
    # given
    sim_post(http, stack.sim_url, control.format(home.camera_device), body)
    # then
    assert home.landlord.errors(SNAPSHOT, {"id": home.camera_id}) == [code]
    assert mongo[stack.db_name].snapshots.count_documents({}) == 0
