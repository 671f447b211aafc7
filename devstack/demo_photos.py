"""Demo photos, amenities and repair requests for `make run`, through the public API as the
apps make them: each demo room gets amenities and two generated pictures (uploaded to the
signed URL createUpload answers, then added with addRoomPhoto); the demo tenants report a few
repairs, which their landlords handle. Idempotent: rooms with photos and tenants with
requests are left as they are. (`make city` has no photos: its rooms are written directly.)"""

from __future__ import annotations

import datetime as dt
import io
import random
from typing import TYPE_CHECKING, Any

from PIL import Image, ImageDraw

if TYPE_CHECKING:
    from devstack.demo import DemoClient, DemoPlace

AMENITY_SETS = (
    ["AIR_CONDITIONER", "WATER_HEATER", "WIFI", "FURNISHED"],
    ["AIR_CONDITIONER", "WATER_HEATER", "PRIVATE_BATHROOM", "KITCHEN", "WIFI"],
    ["WATER_HEATER", "WASHING_MACHINE", "BALCONY", "EBIKE_CHARGING"],
    ["AIR_CONDITIONER", "PRIVATE_BATHROOM", "LIFT", "WIFI", "EBIKE_CHARGING"],
)
_ROOM = """query($id: ID!) { node(id: $id) { ... on Room { id photos { id } amenities } } }"""
_UPLOAD = """mutation($i: CreateUploadInput!) { createUpload(input: $i) {
  upload { id uploadUrl headers { name value } } userErrors { code message } } }"""
_ADD_PHOTO = """mutation($i: AddRoomPhotoInput!) { addRoomPhoto(input: $i) {
  room { id } userErrors { code message } } }"""
_UPDATE_ROOM = """mutation($i: UpdateRoomInput!) { updateRoom(input: $i) {
  room { id } userErrors { code message } } }"""
_REQUESTS = "{ maintenanceRequests(first: 5) { totalCount } }"
_REPORT = """mutation($i: ReportMaintenanceInput!) { reportMaintenance(input: $i) {
  request { id } userErrors { code message } } }"""
_UPDATE = """mutation($i: UpdateMaintenanceInput!) { updateMaintenance(input: $i) {
  request { id } userErrors { code message } } }"""
_RATE = """mutation($i: RateMaintenanceInput!) { rateMaintenance(input: $i) {
  request { id } userErrors { code message } } }"""


def room_picture(seed: int, label: str, size: tuple[int, int] = (960, 720)) -> bytes:
    """A plain drawing of a rented room (a wall, a window, a bed, a floor), as a JPEG."""
    rng = random.Random(seed)
    width, height = size
    wall = (rng.randint(200, 240), rng.randint(200, 235), rng.randint(185, 225))
    im = Image.new("RGB", size, wall)
    draw = ImageDraw.Draw(im)
    horizon = int(height * 0.68)
    draw.rectangle((0, horizon, width, height), fill=(150 + rng.randint(0, 40), 110, 70))
    left = rng.randint(60, width // 2)
    draw.rectangle(
        (left, 90, left + 300, 330), fill=(170, 210, 240), outline=(250, 250, 250), width=14
    )
    draw.line((left + 150, 90, left + 150, 330), fill=(250, 250, 250), width=8)
    bed = rng.randint(40, width - 480)
    draw.rectangle((bed, horizon - 90, bed + 420, horizon + 120), fill=(90, 120, 170))
    draw.rectangle((bed, horizon - 130, bed + 110, horizon - 60), fill=(240, 240, 240))
    draw.rectangle((20, 20, 200, 70), fill=(255, 255, 255))
    draw.text((34, 32), label, fill=(20, 20, 20))
    out = io.BytesIO()
    im.save(out, "JPEG", quality=85)
    return out.getvalue()


def _mutate(client: DemoClient, query: str, name: str, given: dict[str, Any], token: str) -> Any:
    payload = client.gql(query, {"i": given}, token=token)[name]
    if payload["userErrors"]:
        raise RuntimeError(f"demo data: {name}: {payload['userErrors']}")
    return payload


def upload_photo(client: DemoClient, token: str, data: bytes, purpose: str) -> str:
    """createUpload, then the PUT to its signed URL: the upload's id."""
    given = {"purpose": purpose, "contentType": "image/jpeg", "byteSize": len(data)}
    upload = _mutate(client, _UPLOAD, "createUpload", given, token)["upload"]
    headers = {h["name"]: h["value"] for h in upload["headers"]}
    client.http.put(upload["uploadUrl"], content=data, headers=headers).raise_for_status()
    return str(upload["id"])


def ensure_demo_photos(client: DemoClient, places: dict[str, DemoPlace]) -> int:
    """Amenities and two pictures on every demo room that has no photo yet; how many added."""
    added = 0
    for p, place in enumerate(places.values()):
        for r, (number, room_id) in enumerate(sorted(place.rooms.items())):
            room = client.gql(_ROOM, {"id": room_id}, token=place.token)["node"]
            if not room["amenities"]:
                amenities = AMENITY_SETS[(p + r) % len(AMENITY_SETS)]
                given = {"roomId": room_id, "amenities": amenities}
                _mutate(client, _UPDATE_ROOM, "updateRoom", given, place.token)
            if room["photos"]:
                continue
            for shot in range(2):
                data = room_picture(p * 1000 + r * 10 + shot, f"{number} #{shot + 1}")
                upload_id = upload_photo(client, place.token, data, "ROOM_PHOTO")
                given = {"roomId": room_id, "uploadId": upload_id}
                _mutate(client, _ADD_PHOTO, "addRoomPhoto", given, place.token)
                added += 1
    return added


def ensure_demo_repairs(
    client: DemoClient, tokens: dict[str, str], places: dict[str, DemoPlace]
) -> int:
    """The demo tenants' repair requests, each at another step; how many reported now."""
    donghai = next(p for name, p in places.items() if name.startswith("东海路18号"))
    anju = next(p for name, p in places.items() if name.startswith("安居公寓"))
    reported = 0
    zhang, liu = tokens["13900000011"], tokens["13900000012"]
    if client.gql(_REQUESTS, token=zhang)["maintenanceRequests"]["totalCount"] == 0:
        leak = upload_photo(client, zhang, room_picture(7, "leak"), "MAINTENANCE_PHOTO")
        plumbing = _report(
            client,
            zhang,
            donghai.rooms["101"],
            "PLUMBING",
            "卫生间水管漏水, 地上有积水。The bathroom pipe leaks.",
            [leak],
        )
        when = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).replace(minute=0, second=0)
        given = {
            "requestId": plumbing,
            "status": "SCHEDULED",
            "scheduledFor": when.isoformat(),
            "note": "师傅明天上午来 The plumber comes tomorrow morning.",
        }
        _mutate(client, _UPDATE, "updateMaintenance", given, donghai.token)
        _report(
            client,
            zhang,
            donghai.rooms["101"],
            "FIRE_SAFETY",
            "楼道里有人给电动车充电。Someone charges an e-bike in the stairwell.",
            [],
        )
        reported += 2
    if client.gql(_REQUESTS, token=liu)["maintenanceRequests"]["totalCount"] == 0:
        socket = _report(
            client,
            liu,
            anju.rooms["101"],
            "ELECTRICAL",
            "床头插座松了, 有火花。The socket by the bed sparks.",
            [],
        )
        given = {"requestId": socket, "status": "DONE", "note": "换了新插座 New socket fitted."}
        _mutate(client, _UPDATE, "updateMaintenance", given, anju.token)
        _mutate(client, _RATE, "rateMaintenance", {"requestId": socket, "rating": 5}, liu)
        reported += 1
    return reported


def _report(
    client: DemoClient,
    token: str,
    room_id: str,
    category: str,
    description: str,
    uploads: list[str],
) -> str:
    given = {
        "roomId": room_id,
        "category": category,
        "description": description,
        "photoUploadIds": uploads,
        "availability": "工作日晚上 weekday evenings",
    }
    return str(_mutate(client, _REPORT, "reportMaintenance", given, token)["request"]["id"])
