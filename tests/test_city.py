"""The synthetic city (scripts/city.py): its documents have the shapes the services write,
the API serves it (search, a city landlord's dashboard, the police counters), and the same
seed makes the same city."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

from pymongo import AsyncMongoClient, MongoClient

from app.passwords import Passwords
from app.services import accounts
from app.settings import load_settings
from app.store import Doc, open_store
from scripts.city import CITY_PASSWORD, TOWNS, CitySummary, build_city
from tests.conftest import Stack, city_anju
from tests.support import Api
from tests.test_listings import add_room, create_property, publish, search

ANCHOR = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
DASHBOARD = """{ myProperties(first: 20) { totalCount edges { node { id kind
  rooms(first: 100) { totalCount edges { node { id status listing { id } } } } } } } }"""
STATS = """{ populationStats { properties rooms occupiedRooms
  byKind { kind properties rooms } } }"""


def build(stack: Stack, db_name: str, scale: float, seed: int) -> CitySummary:
    """Loads a city into `db_name` the way `make city` does (the first admin restored)."""

    async def run() -> CitySummary:
        client: AsyncMongoClient[Doc] = AsyncMongoClient(stack.mongodb_uri, tz_aware=True)
        try:
            db = client[db_name]
            summary = await build_city(db, scale, seed, anchor=ANCHOR)
            settings = load_settings(stack.env)
            await accounts.ensure_admin(
                await open_store(db), settings, Passwords(settings.password_hash_memory_kib)
            )
            return summary
        finally:
            await client.close()

    return asyncio.run(run())


def shape(value: Any) -> Any:
    """A document's field names and value types, recursively."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(v) for v in value]
    return type(value).__name__


def test_a_small_city_is_served_by_the_api(api: Api, stack: Stack, mongo: MongoClient[Doc]) -> None:
    # given a city at 1/500 scale (served by an Anju of its own: city_anju)
    with city_anju(stack, api, mongo, "city", lambda name: build(stack, name, 0.002, 42)) as (
        api,
        _,
        summary,
    ):
        # then it has the planned size and mix
        assert (summary.towns, summary.properties, summary.rooms) == (14, 174, 1046)
        assert summary.by_kind["APARTMENT_BUILDING"] >= 1
        assert summary.by_kind["SECOND_HAND"] > summary.properties * 0.8
        assert 0 < summary.listings <= summary.vacant < summary.rooms * 0.2
        assert summary.landlords < summary.properties
        # and anyone finds every listing, town by town too
        anonymous = api.anonymous()
        assert search(anonymous, first=1)["totalCount"] == summary.listings
        towns = [t.name for t in TOWNS]
        by_town = [search(anonymous, first=0, filter={"town": t})["totalCount"] for t in towns]
        assert sum(by_town) == summary.listings
        near = search(
            anonymous,
            first=5,
            sort="DISTANCE",
            filter={"near": {"lat": 28.37, "lng": 121.4, "radiusKm": 50}},
        )
        assert near["totalCount"] == summary.listings
        # and a city landlord logs in and sees their properties, rooms and listings
        landlord = api.log_in("17000000001", CITY_PASSWORD)
        dashboard = landlord.data(DASHBOARD)["myProperties"]
        assert dashboard["totalCount"] >= 1
        rooms = [r["node"] for p in dashboard["edges"] for r in p["node"]["rooms"]["edges"]]
        assert rooms
        assert all(r["listing"] is None or r["status"] == "VACANT" for r in rooms)
        # and the police counters match the city
        stats = api.caller("POLICE").data(STATS)["populationStats"]
        assert stats["properties"] == summary.properties
        assert stats["rooms"] == summary.rooms
        assert stats["occupiedRooms"] == summary.occupied
        assert {k["kind"]: k["properties"] for k in stats["byKind"]} == {
            kind: summary.by_kind.get(kind, 0)
            for kind in ("APARTMENT_BUILDING", "FIRST_HAND", "SECOND_HAND")
        }


def test_city_documents_have_the_shapes_the_services_write(
    api: Api, stack: Stack, mongo: MongoClient[Doc]
) -> None:
    # given a city (served by an Anju of its own: city_anju), and a landlord's property, room
    # and listing made through the API
    with city_anju(stack, api, mongo, "city_shapes", lambda name: build(stack, name, 0.001, 7)) as (
        api,
        db_name,
        _,
    ):
        landlord = api.caller("LANDLORD")
        room = add_room(landlord, create_property(landlord))
        publish(landlord, room)
        db = mongo[db_name]
        account = db.accounts.find_one({"phone": landlord.phone})
        assert account is not None
        mine = {"landlord_id": account["_id"]}
        made = {
            "accounts": account,
            "properties": db.properties.find_one(mine),
            "rooms": db.rooms.find_one(mine),
            "listings": db.listings.find_one(mine),
        }
        # then every city document of each collection has exactly the same fields and types
        for name, reference in made.items():
            assert reference is not None, name
            city = db[name].find({"_id": {"$ne": reference["_id"]}}, limit=200).to_list()
            if name == "accounts":
                city = [d for d in city if d["role"] == "LANDLORD"]
            assert city, name
            for doc in city:
                assert shape(doc) == shape(reference), (name, doc["_id"])


def test_the_same_seed_makes_the_same_city(api: Api, stack: Stack, mongo: MongoClient[Doc]) -> None:
    # given the same seed and anchor twice, and another seed once
    names = [f"{stack.db_name}_{s}" for s in ("a", "b", "c")]
    try:
        for name, seed in zip(names, (5, 5, 6), strict=True):
            build(stack, name, 0.001, seed)

        def dump(name: str) -> dict[str, list[Doc]]:
            db = mongo[name]
            out = {}
            for coll in ("accounts", "properties", "rooms", "listings", "stats_counters"):
                docs = db[coll].find({"role": {"$ne": "ADMIN"}}, sort=[("_id", 1)]).to_list()
                for doc in docs:
                    doc.pop("password_hash", None)  # argon2's random salt
                out[coll] = docs
            return out

        a, b, c = (dump(n) for n in names)
        # then the first two are identical, and the third differs
        assert a == b
        assert a["rooms"] and a != c
    finally:
        for name in names:
            mongo.drop_database(name)
