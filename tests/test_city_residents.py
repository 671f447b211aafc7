"""The city's leases and residents (scripts/city_residents.py): every occupied room has an
active lease and registered occupants, shaped as the services write them, served by the API,
counted by the police statistics, and the same seed makes the same residents."""

from __future__ import annotations

import asyncio
from typing import Any

from pymongo import AsyncMongoClient, MongoClient

from app.db import Doc
from app.services import accounts, idnumbers
from app.settings import load_settings
from scripts.city import CITY_PASSWORD, CitySummary, build_city
from scripts.city_residents import CityResidents
from tests.conftest import Stack
from tests.lease_support import make_home, start_lease
from tests.support import Api
from tests.test_city import ANCHOR, shape

MY_LEASES = """{ myLeases { id status startDate endDate room { id status }
  occupants { name idNumberMasked phone card { cardNumber validFrom validUntil } } } }"""
STATS = "{ populationStats { occupiedRooms residents } }"


def build(stack: Stack, db_name: str, scale: float, seed: int) -> tuple[CitySummary, CityResidents]:
    async def run() -> tuple[CitySummary, CityResidents]:
        client: AsyncMongoClient[Doc] = AsyncMongoClient(stack.mongodb_uri, tz_aware=True)
        try:
            db = client[db_name]
            residents = CityResidents(settings=load_settings(stack.env), anchor=ANCHOR.date())
            summary = await build_city(db, scale, seed, anchor=ANCHOR, extensions=[residents])
            await accounts.ensure_admin(db, load_settings(stack.env))
            return summary, residents
        finally:
            await client.close()

    return asyncio.run(run())


def test_every_occupied_room_has_a_lease_and_residents(
    api: Api, stack: Stack, mongo: MongoClient[Doc]
) -> None:
    # given a city at 1/500 scale with its residents
    summary, residents = build(stack, stack.db_name, 0.002, 42)
    db = mongo[stack.db_name]
    # then each occupied room has one active lease running at the anchor, and nothing else does
    assert residents.leases == summary.occupied == db.leases.count_documents({"status": "ACTIVE"})
    occupied = {r["_id"] for r in db.rooms.find({"status": "OCCUPIED"}, {"_id": 1})}
    leased = [lease["active_key"] for lease in db.leases.find()]
    assert sorted(leased) == sorted(occupied)
    day = ANCHOR.date().isoformat()
    assert db.leases.count_documents({"start_date": {"$lte": day}, "end_date": {"$gte": day}}) == (
        residents.leases
    )
    # and about 2.8 people live in each, each registered once, with a unique card
    assert 2.4 < residents.residents / residents.leases < 3.2
    assert db.occupants.count_documents({"left_at": None}) == residents.residents
    assert db.current_registrations.count_documents({}) == residents.residents
    assert len(db.occupants.distinct("card.card_number")) == residents.residents
    # and their ID numbers are valid, unique, encrypted, and masked
    settings = load_settings(stack.env)
    numbers = [idnumbers.reveal_id_number(d, settings) for d in db.occupants.find()]
    assert len(set(numbers)) == len(numbers)
    assert all(idnumbers.problem(n, ANCHOR.date()) is None for n in numbers)
    assert sum(n.startswith("33") for n in numbers) > 0.4 * len(numbers)
    # and the police statistics count them
    stats = api.caller("POLICE").data(STATS)["populationStats"]
    assert stats == {"occupiedRooms": summary.occupied, "residents": residents.residents}
    # and a city tenant logs in and sees their lease and household, masked
    tenant = api.log_in("18000000001", CITY_PASSWORD)
    [lease] = tenant.data(MY_LEASES)["myLeases"]
    assert lease["status"] == "ACTIVE" and lease["room"]["status"] == "OCCUPIED"
    assert lease["occupants"][0]["phone"] == "18000000001"
    assert all("********" in o["idNumberMasked"] for o in lease["occupants"])


def test_city_leases_and_occupants_have_the_shapes_the_services_write(
    api: Api, stack: Stack, mongo: MongoClient[Doc]
) -> None:
    # given a city, and a lease made through the API
    build(stack, stack.db_name, 0.001, 7)
    landlord, tenant = api.caller("LANDLORD"), api.caller("TENANT")
    home = make_home(landlord, doors=False)
    start_lease(landlord, home.room, tenant)
    db = mongo[stack.db_name]
    account = db.accounts.find_one({"phone": tenant.phone})
    assert account is not None
    made: dict[str, Any] = {
        "accounts": account,
        "leases": db.leases.find_one({"tenant_id": account["_id"]}),
        "occupants": db.occupants.find_one({"tenant_id": account["_id"]}),
    }
    made["current_registrations"] = db.current_registrations.find_one(
        {"occupant_id": made["occupants"]["_id"]}
    )
    # then the city's documents of each collection have exactly the same fields and types
    for name, reference in made.items():
        assert reference is not None, name
        city = db[name].find({"_id": {"$ne": reference["_id"]}}, limit=200).to_list()
        if name == "accounts":
            city = [d for d in city if d["role"] == "TENANT"]
        assert city, name
        for doc in city:
            assert shape(doc) == shape(reference), (name, doc["_id"])


def test_the_same_seed_makes_the_same_residents(
    api: Api, stack: Stack, mongo: MongoClient[Doc]
) -> None:
    names = [f"{stack.db_name}_r{s}" for s in ("a", "b")]
    try:
        for name in names:
            build(stack, name, 0.001, 5)

        def dump(name: str) -> dict[str, list[Doc]]:
            out = {}
            for coll in ("leases", "occupants", "current_registrations", "stats_counters"):
                out[coll] = mongo[name][coll].find({}, sort=[("_id", 1)]).to_list()
            tenants = mongo[name].accounts.find({"role": "TENANT"}, sort=[("_id", 1)]).to_list()
            out["tenants"] = [{k: v for k, v in t.items() if k != "password_hash"} for t in tenants]
            return out

        a, b = (dump(n) for n in names)
        assert a["occupants"] and a == b
    finally:
        for name in names:
            mongo.drop_database(name)
