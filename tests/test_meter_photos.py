"""A meter reading with the landlord's photo of the meter (MeterReading.photo)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx

from tests.lease_support import make_home
from tests.photo_support import opened, photo, uploaded
from tests.support import Api, Caller

RECORD = """mutation($input: RecordMeterReadingInput!) { recordMeterReading(input: $input) {
  reading { id value photo { id url thumbnailUrl width height } }
  userErrors { field message code } } }"""


def reading(landlord: Caller, room: str, value: float, **over: Any) -> dict[str, Any]:
    given = {
        "roomId": room,
        "kind": "WATER",
        "value": value,
        "readAt": (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=60 - value)).isoformat(),
        **over,
    }
    payload: dict[str, Any] = landlord.data(RECORD, {"input": given})["recordMeterReading"]
    return payload


def test_a_reading_keeps_the_photo_of_the_meter(api: Api, http: httpx.Client) -> None:
    # given a landlord's room and a photo of its water meter
    landlord = api.caller("LANDLORD")
    home = make_home(landlord, doors=False)
    upload = uploaded(landlord, photo((80, 60)), purpose="METER_PHOTO")

    # when the landlord records the reading with it
    payload = reading(landlord, home.room, 12.5, photoUploadId=upload)

    # then the reading shows the photo, checked and stored
    assert payload["userErrors"] == []
    shown = payload["reading"]["photo"]
    assert (shown["width"], shown["height"]) == (80, 60)
    assert opened(http.get(shown["url"]).content).size == (80, 60)
    # and a reading without one has none
    assert reading(landlord, home.room, 13.0)["reading"]["photo"] is None


def test_a_meter_photo_must_be_the_landlords_own_upload_for_meters(api: Api) -> None:
    # given uploads of another landlord, and of the landlord for another purpose
    landlord = api.caller("LANDLORD")
    home = make_home(landlord, doors=False)
    others = uploaded(api.caller("LANDLORD"), photo(), purpose="METER_PHOTO")
    room_photo = uploaded(landlord, photo(), purpose="ROOM_PHOTO")

    # then each is refused on photoUploadId, and no reading is recorded
    for upload, code in ((others, "NOT_FOUND"), (room_photo, "WRONG_PURPOSE")):
        payload = reading(landlord, home.room, 5.0, photoUploadId=upload)
        assert payload["reading"] is None
        assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [
            (["input", "photoUploadId"], code)
        ]
    assert reading(landlord, home.room, 5.0)["reading"]["value"] == 5.0
