"""Water and electricity meters through GraphQL: a room's rates, readings and the lines their
usage adds to the next invoice; lower readings refused unless a new meter; who sees what; a
last reading after the lease's last invoice billed on a utilities invoice."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tests.billing_support import (
    READINGS,
    RECORD_READING,
    SET_RATES,
    bill,
    billing,
    from_today,
)
from tests.lease_support import END_LEASE
from tests.rent_support import codes, today
from tests.support import Api, Caller

ROOM_RATES = """query($id: ID!) { node(id: $id) { ... on Lease { room {
  meterRates { waterFenPerCubicMetre electricityFenPerKwh } } } } }"""


def at(minutes_ago: float) -> str:
    return (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=minutes_ago)).isoformat()


def rates(landlord: Caller, room: str, water: int = 500, electricity: int = 80) -> dict[str, Any]:
    payload: dict[str, Any] = landlord.data(
        SET_RATES,
        {
            "input": {
                "roomId": room,
                "waterFenPerCubicMetre": water,
                "electricityFenPerKwh": electricity,
            }
        },
    )["setMeterRates"]
    return payload


def read(
    landlord: Caller,
    room: str,
    kind: str,
    value: float,
    minutes_ago: float,
    replacement: bool = False,
    read_at: str | None = None,
) -> dict[str, Any]:
    payload: dict[str, Any] = landlord.data(
        RECORD_READING,
        {
            "input": {
                "roomId": room,
                "kind": kind,
                "value": value,
                "readAt": read_at or at(minutes_ago),
                "replacement": replacement,
            }
        },
    )["recordMeterReading"]
    return payload


def readings(caller: Caller, room: str, kind: str | None = None) -> list[dict[str, Any]]:
    data = caller.data(READINGS, {"roomId": room, "kind": kind, "first": 50})["meterReadings"]
    return [e["node"] for e in data["edges"]]


def test_two_readings_bill_water_and_electricity_on_the_next_invoice(api: Api) -> None:
    # given a lease, its room's rates and the readings taken at move-in
    t = from_today(api, months_ahead=2)
    assert rates(t.landlord, t.room)["userErrors"] == []
    first_water = read(t.landlord, t.room, "WATER", 100.0, 60)
    first_power = read(t.landlord, t.room, "ELECTRICITY", 2000.0, 60)
    assert first_water["reading"]["usage"] is None and first_water["reading"]["billedFen"] == 0
    assert first_power["reading"]["invoice"] is None

    # when the next readings are recorded
    water = read(t.landlord, t.room, "WATER", 112.5, 10)["reading"]
    power = read(t.landlord, t.room, "ELECTRICITY", 2150.25, 10)["reading"]

    # then the usage is billed at the rates: 12.5 m³ x ¥5.00, 150.25 kWh x ¥0.80
    assert (water["usage"], water["billedFen"]) == (12.5, 6_250)
    assert (power["usage"], power["billedFen"]) == (150.25, 12_020)
    # on the next invoice not yet due (this month's is due today)
    upcoming = t.invoices[1]
    assert water["invoice"]["id"] == power["invoice"]["id"] == upcoming["id"]
    seen = bill(t, upcoming["id"])
    assert [(x["kind"], x["amountFen"]) for x in seen["lines"]] == [
        ("RENT", upcoming["amountFen"]),
        ("WATER", 6_250),
        ("ELECTRICITY", 12_020),
    ]
    assert "12.5 m³ (100.0 to 112.5) x ¥5.00/m³" in seen["lines"][1]["description"]
    assert seen["amountFen"] == upcoming["amountFen"] + 18_270
    assert bill(t, t.invoices[0]["id"])["amountFen"] == t.invoices[0]["amountFen"]

    # and the tenant sees the readings, the rates and the lines; the landlord too
    mine = readings(t.tenant, t.room)
    assert [(r["kind"], r["value"]) for r in mine] == [
        ("ELECTRICITY", 2150.25),
        ("WATER", 112.5),
        ("ELECTRICITY", 2000.0),
        ("WATER", 100.0),
    ]
    assert [r["value"] for r in readings(t.landlord, t.room, "WATER")] == [112.5, 100.0]
    room = t.tenant.data(ROOM_RATES, {"id": t.lease["id"]})["node"]["room"]
    assert room["meterRates"] == {"waterFenPerCubicMetre": 500, "electricityFenPerKwh": 80}
    node = t.tenant.data(
        "query($id: ID!) { node(id: $id) { ... on MeterReading { value billedFen } } }",
        {"id": water["id"]},
    )["node"]
    assert node == {"value": 112.5, "billedFen": 6_250}


def test_a_lower_reading_needs_a_new_meter(api: Api) -> None:
    # given two water readings
    t = from_today(api, months_ahead=2)
    rates(t.landlord, t.room)
    read(t.landlord, t.room, "WATER", 100.0, 60)
    read(t.landlord, t.room, "WATER", 104.0, 50)

    # then a lower one is refused, and one before the last
    assert codes(read(t.landlord, t.room, "WATER", 90.0, 40)) == ["READING_BELOW_PREVIOUS"]
    assert codes(read(t.landlord, t.room, "WATER", 110.0, 55)) == ["READING_OUT_OF_ORDER"]
    # and a reading sent twice is recorded once
    again = read(t.landlord, t.room, "WATER", 106.0, 45)
    twice = read(t.landlord, t.room, "WATER", 106.0, 0, read_at=again["reading"]["readAt"])
    assert twice["reading"]["id"] == again["reading"]["id"]

    # when the meter is replaced: the new one starts at 3, then reads 5
    new = read(t.landlord, t.room, "WATER", 3.0, 30, replacement=True)["reading"]
    after = read(t.landlord, t.room, "WATER", 5.0, 20)["reading"]

    # then the replacement bills nothing, the next reading what the new meter counted
    assert (new["replacement"], new["usage"], new["billedFen"]) == (True, None, 0)
    assert (after["usage"], after["billedFen"]) == (2.0, 1_000)
    waters = [x for x in bill(t, t.invoices[1]["id"])["lines"] if x["kind"] == "WATER"]
    assert [x["amountFen"] for x in waters] == [2_000, 1_000, 1_000]


def test_readings_without_rates_bill_nothing(api: Api) -> None:
    t = from_today(api, months_ahead=2)
    read(t.landlord, t.room, "ELECTRICITY", 10.0, 30)
    reading = read(t.landlord, t.room, "ELECTRICITY", 30.0, 20)["reading"]
    assert (reading["usage"], reading["billedFen"], reading["invoice"]) == (20.0, 0, None)
    assert [x["kind"] for x in bill(t, t.invoices[1]["id"])["lines"]] == ["RENT"]


def test_the_last_reading_after_the_last_invoice_goes_on_a_utilities_invoice(api: Api) -> None:
    # given a lease ended today, after its move-in water reading
    t = from_today(api, months_ahead=1)
    rates(t.landlord, t.room)
    read(t.landlord, t.room, "WATER", 50.0, 120)
    ended = t.landlord.data(
        END_LEASE, {"input": {"leaseId": t.lease["id"], "moveOutDate": today().isoformat()}}
    )["endLease"]
    assert ended["userErrors"] == []

    # when the landlord records the move-out reading
    reading = read(t.landlord, t.room, "WATER", 53.0, 5)["reading"]

    # then it is billed to the ended lease on a utilities invoice due in a week
    assert reading["billedFen"] == 1_500
    lease = billing(t)
    utilities = [e["node"] for e in lease["invoices"]["edges"] if e["node"]["kind"] == "UTILITIES"]
    assert [(i["amountFen"], i["status"]) for i in utilities] == [(1_500, "OPEN")]
    assert utilities[0]["dueDate"] == (today() + dt.timedelta(days=7)).isoformat()
    assert [x["kind"] for x in utilities[0]["lines"]] == ["WATER"]


def test_meter_refusals_and_who_sees_readings(api: Api) -> None:
    t = from_today(api)
    other = from_today(api)
    read(t.landlord, t.room, "WATER", 1.0, 10)
    # rates out of range, another landlord's room
    bad = rates(t.landlord, t.room, water=-1, electricity=1_001)
    assert [(e["field"], e["code"]) for e in bad["userErrors"]] == [
        (["input", "waterFenPerCubicMetre"], "OUT_OF_RANGE"),
        (["input", "electricityFenPerKwh"], "OUT_OF_RANGE"),
    ]
    assert codes(rates(other.landlord, t.room)) == ["NOT_FOUND"]
    assert codes(read(other.landlord, t.room, "WATER", 2.0, 5)) == ["NOT_FOUND"]
    # readings far in the past or ahead, or not a number range
    assert codes(read(t.landlord, t.room, "WATER", 2.0, 0, read_at="2020-01-01T00:00:00Z")) == [
        "OUT_OF_RANGE"
    ]
    assert codes(read(t.landlord, t.room, "WATER", 2.0, -60)) == ["OUT_OF_RANGE"]
    assert codes(read(t.landlord, t.room, "WATER", -2.0, 5)) == ["OUT_OF_RANGE"]
    # the readings are the room's landlord's and its tenant's only
    for stranger in (other.landlord, other.tenant):
        assert stranger.errors(READINGS, {"roomId": t.room}) == ["NOT_FOUND"]
    # and the rates are its landlord's and its tenant's (none set for the other room)
    assert other.tenant.data(ROOM_RATES, {"id": other.lease["id"]})["node"]["room"] == {
        "meterRates": None
    }
    given = {"roomId": t.room, "waterFenPerCubicMetre": 1, "electricityFenPerKwh": 1}
    assert t.tenant.errors(SET_RATES, {"input": given}) == ["FORBIDDEN"]
    reading = {"roomId": t.room, "kind": "WATER", "value": 2.0, "readAt": at(1)}
    assert t.tenant.errors(RECORD_READING, {"input": reading}) == ["FORBIDDEN"]


@pytest.mark.parametrize("role", ["POLICE", "RESPONDER", "ADMIN"])
def test_staff_do_not_read_meters(api: Api, role: str) -> None:
    t = from_today(api)
    assert api.caller(role).errors(READINGS, {"roomId": t.room}) == ["FORBIDDEN"]
