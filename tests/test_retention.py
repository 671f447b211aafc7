"""Retention: what has outlived its period (app/services/retention.py) is removed by the sweep,
and nothing else is: not the register, the leases, the rent ledger or the audit log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from pymongo import MongoClient

from app.services.retention import RETENTION
from app.settings import Settings
from tests.conftest import Stack
from tests.door_support import building, open_door, raw_id, start_lease
from tests.support import Api, Caller, eventually

DAY = 24 * 3600
EVENTS = """query($filter: AccessEventFilter!) { accessEvents(filter: $filter, first: 100) {
  edges { node { at method } } } }"""
NOTIFICATIONS = "{ notifications(first: 100) { edges { node { kind createdAt } } } }"
KEPT_WHOLE = ("accounts", "properties", "rooms", "leases", "occupants", "invoices", "audit_log")


def test_the_retention_table_names_a_setting_for_each_row() -> None:
    settings = Settings()
    for kept in RETENTION:
        assert int(getattr(settings, kept.setting)) > 0, kept


def test_the_sweep_removes_what_has_expired_and_nothing_else(
    api: Api, http: httpx.Client, stack: Stack, mongo: MongoClient[dict[str, Any]]
) -> None:
    db = mongo[stack.db_name]
    # given, on day 0, a building with a lease (cards sent to the doors), a remote opening
    # (an access event, a door command, the gateway's event) and the landlord's sessions
    home = building(api.caller("LANDLORD"))
    landlord = home.landlord
    start_lease(landlord, home.room_id, api.caller("TENANT"))
    assert open_door(landlord, home.door_id)["command"]["status"] == "OPENED"
    assert eventually(lambda: db.gateway_events.count_documents({}) >= 1, within=20)
    assert eventually(lambda: db.card_jobs.count_documents({"done_at": {"$ne": None}}), within=20)
    # and on day 100 another opening, with a new log-in
    api.move_clock(100 * DAY)
    landlord = _log_in_again(api, landlord)
    assert open_door(landlord, home.door_id)["command"]["status"] == "OPENED"
    kept_counts = {name: db[name].count_documents({}) for name in KEPT_WHOLE}
    # when the sweep runs on day 200
    api.move_clock(200 * DAY)
    removed = http.post(f"{api.base_url}/test/retention-sweep").json()
    # then access events and door commands older than 180 days are gone, day 100's stay
    landlord = _log_in_again(api, landlord)
    real_now = datetime.now(UTC)
    window = {
        "doorId": home.door_id,
        "from": (real_now - timedelta(days=1)).isoformat(),
        "to": (real_now + timedelta(days=201)).isoformat(),
    }
    events = landlord.data(EVENTS, {"filter": window})["accessEvents"]["edges"]
    assert [e["node"]["method"] for e in events] == ["REMOTE"]
    assert events[0]["node"]["at"] > (real_now + timedelta(days=99)).isoformat()
    assert db.door_commands.count_documents({}) == 1
    assert removed["access_events"] >= 1 and removed["door_commands"] == 1
    # and the gateway's events (30 days), the finished card jobs (30 days), the notifications
    # (90 days) and the sessions that ended more than 30 days ago are gone
    assert db.gateway_events.count_documents({}) == 0
    assert db.card_jobs.count_documents({"done_at": {"$ne": None}}) == 0
    notes = landlord.data(NOTIFICATIONS)["notifications"]["edges"]
    assert notes and all(
        n["node"]["createdAt"] > (real_now + timedelta(days=199)).isoformat() for n in notes
    )
    account = raw_id(landlord.account["id"])
    sessions = list(db.sessions.find({}, {"account_id": 1, "created_at": 1}))
    mine = [s for s in sessions if str(s["account_id"]) == account]
    assert len(mine) == 1  # the log-in of day 200 only
    assert db.refresh_tokens.count_documents({"expires_at": {"$lt": _day(170)}}) == 0
    # and nothing else went: accounts, the property, its rooms, the lease, its occupants and
    # invoices, the audit log (which only grew)
    for name, before in kept_counts.items():
        assert db[name].count_documents({}) >= before, name


def _log_in_again(api: Api, caller: Caller) -> Caller:
    """After the clock moved past the session's lifetime, a fresh log-in."""
    assert caller.phone and caller.password
    return api.log_in(caller.phone, caller.password)


def _day(n: int) -> datetime:
    return datetime.now(UTC) + timedelta(days=n)
