"""The synthetic city's fire safety (scripts/city_fire.py): inspections and hazards stored as
the services store them, in every state, served to the town's responders."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from pymongo import AsyncMongoClient, MongoClient

from app.passwords import Passwords
from app.services import accounts
from app.settings import load_settings
from app.store import Doc, open_store
from scripts.city import CITY_PASSWORD, build_city
from scripts.city_fire import CityFireSafety
from tests.conftest import Stack, city_anju
from tests.fire_support import inspection_input, record, responder, site
from tests.support import Api
from tests.test_city import ANCHOR

TABLE = """query($scope: StatsScope) {
  hazards(scope: $scope, first: 5) { totalCount edges { node { id status property { id } } } }
  safetyStats(scope: $scope, from: "2025-11-02", to: "2026-11-01") {
    inspections hazardsFound hazardsOpen hazardsOverdue hazardsRectified medianDaysToRectify } }"""


def build(stack: Stack, db_name: str, scale: float, seed: int) -> CityFireSafety:
    async def run() -> CityFireSafety:
        client: AsyncMongoClient[Doc] = AsyncMongoClient(stack.mongodb_uri, tz_aware=True)
        try:
            db = client[db_name]
            fire = CityFireSafety(anchor=ANCHOR.date())
            await build_city(db, scale, seed, anchor=ANCHOR, extensions=[fire])
            settings = load_settings(stack.env)
            await accounts.ensure_admin(
                await open_store(db), settings, Passwords(settings.password_hash_memory_kib)
            )
            return fire
        finally:
            await client.close()

    return asyncio.run(run())


def test_the_city_has_inspections_and_hazards_as_the_services_write_them(
    api: Api, stack: Stack, mongo: MongoClient[Doc]
) -> None:
    # given a city at 1/500 scale in a database of its own (FerretDB v1 now and then keeps an
    # index of a collection the city's wipe dropped while the stack's Anju was at work, and
    # refuses to create it again), served by an Anju of its own, and an inspection with a
    # hazard made through the API beside it
    with city_anju(stack, api, mongo, "fire", lambda name: build(stack, name, 0.002, 42)) as (
        city,
        name,
        fire,
    ):
        check_city(fire, city, mongo[name])


def check_city(fire: CityFireSafety, api: Api, db: Any) -> None:
    home = site(api)
    record(responder(api), inspection_input(home.property_id, {"EXITS_CLEAR": home.rooms[0]}))
    made = db.hazards.find_one({"description": "EXITS_CLEAR 不合格"})
    assert made is not None
    inspection = db.inspections.find_one({"_id": made["inspection_id"]})
    assert inspection is not None
    city_hazards = {"_id": {"$ne": made["_id"]}}

    # then a third of the properties or so were inspected, and hazards are rectified, open
    # and overdue (reported rectifications are rare at this size: only hazards found in the
    # month before the anchor may still wait for a responder)
    properties = db.properties.count_documents({})
    inspected = len(db.inspections.distinct("property_id", {"_id": {"$ne": inspection["_id"]}}))
    assert 0.2 * properties < inspected < 0.5 * properties
    assert fire.inspections == db.inspections.count_documents({}) - 1
    statuses = Counter(h["status"] for h in db.hazards.find(city_hazards, {"status": 1}))
    assert {"OPEN", "RECTIFIED"} <= set(statuses) <= {"OPEN", "RECTIFICATION_REPORTED", "RECTIFIED"}
    assert statuses["RECTIFIED"] > statuses["OPEN"]
    assert db.hazards.count_documents({"escalated_at": {"$ne": None}}) > 0
    # and every city hazard and inspection has exactly the fields the services write
    for doc in db.hazards.find(city_hazards, limit=200):
        assert set(doc) == set(made), doc["_id"]
        assert {set(e) == set(made["history"][0]) for e in doc["history"]} == {True}
    for doc in db.inspections.find({"_id": {"$ne": inspection["_id"]}}, limit=200):
        assert set(doc) == set(inspection), doc["_id"]
    # and the first town's responder reads their town's table
    town_responder = api.log_in("16000000001", CITY_PASSWORD)
    town = db.accounts.find_one({"phone": "16000000001"})["scope"]["town"]
    table = town_responder.data(TABLE, {"scope": {"town": town}})
    assert table["hazards"]["totalCount"] > 0
    assert table["safetyStats"]["inspections"] > 0
    assert table["safetyStats"]["hazardsRectified"] > 0
    assert table["safetyStats"]["medianDaysToRectify"] > 0
