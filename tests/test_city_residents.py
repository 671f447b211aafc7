"""The city's leases and residents (scripts/city_residents.py): every occupied room has an
active lease and registered occupants, shaped as the services write them, served by the API,
counted by the police statistics, and the same seed makes the same residents."""

from __future__ import annotations

import asyncio
from typing import Any

from pymongo import AsyncMongoClient, MongoClient

from app.ids import encode_id, parse_id
from app.passwords import Passwords
from app.services import accounts, idnumbers
from app.settings import load_settings
from app.store import Doc, open_store
from scripts.city import CITY_PASSWORD, CitySummary, build_city
from scripts.city_residents import CityResidents
from tests.conftest import Stack, city_anju
from tests.lease_support import make_home, start_lease
from tests.rent_support import record
from tests.support import Api
from tests.test_city import ANCHOR, shape

MY_LEASES = """{ myLeases { id status startDate endDate room { id status }
  occupants { name idNumberMasked phone card { cardNumber validFrom validUntil } } } }"""
STATS = "{ populationStats { occupiedRooms residents } }"
MY_INVOICES = "{ myLeases { invoices(first: 50) { totalCount } } }"


def lease_oid(lease: dict[str, Any]) -> Any:
    parsed = parse_id(lease["id"])
    assert parsed is not None
    return parsed[1]


def build(stack: Stack, db_name: str, scale: float, seed: int) -> tuple[CitySummary, CityResidents]:
    async def run() -> tuple[CitySummary, CityResidents]:
        client: AsyncMongoClient[Doc] = AsyncMongoClient(stack.mongodb_uri, tz_aware=True)
        try:
            db = client[db_name]
            residents = CityResidents(settings=load_settings(stack.env), anchor=ANCHOR.date())
            summary = await build_city(db, scale, seed, anchor=ANCHOR, extensions=[residents])
            settings = load_settings(stack.env)
            await accounts.ensure_admin(
                await open_store(db), settings, Passwords(settings.password_hash_memory_kib)
            )
            return summary, residents
        finally:
            await client.close()

    return asyncio.run(run())


def test_every_occupied_room_has_a_lease_and_residents(
    api: Api, stack: Stack, mongo: MongoClient[Doc]
) -> None:
    # given a city at 1/500 scale with its residents (served by an Anju of its own: city_anju)
    with city_anju(stack, api, mongo, "residents", lambda name: build(stack, name, 0.002, 42)) as (
        api,
        name,
        (summary, residents),
    ):
        db = mongo[name]
        # then each occupied room has one active lease running at the anchor, and nothing else does
        assert (
            residents.leases == summary.occupied == db.leases.count_documents({"status": "ACTIVE"})
        )
        occupied = {r["_id"] for r in db.rooms.find({"status": "OCCUPIED"}, {"_id": 1})}
        leased = [lease["room_id"] for lease in db.leases.find({"status": "ACTIVE"})]
        assert sorted(leased) == sorted(occupied)
        day = ANCHOR.date().isoformat()
        assert db.leases.count_documents(
            {"start_date": {"$lte": day}, "end_date": {"$gte": day}}
        ) == (residents.leases)
        # and about 2.8 people live in each, each registered once, with a unique card
        assert 2.4 < residents.residents / residents.leases < 3.2
        assert db.occupants.count_documents({"left_at": None}) == residents.residents
        assert db.occupants.count_documents({"current": True}) == residents.residents
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
        # and every lease has its invoices, those due before the anchor mostly paid, each paid
        # one by a payment whose amount is what the invoice has been credited
        assert residents.invoices == db.invoices.count_documents({}) > residents.leases * 3
        assert residents.payments == db.payments.count_documents({"status": "SUCCEEDED"})
        due = db.invoices.count_documents({"due_date": {"$lt": day}})
        assert 0.85 * due < residents.payments <= due
        credited = {p["invoice_id"]: p["amount_fen"] for p in db.payments.find()}
        for invoice in db.invoices.find({"paid_fen": {"$gt": 0}}):
            assert credited.pop(invoice["_id"]) == invoice["paid_fen"], invoice["_id"]
            assert invoice["open_fen"] == invoice["amount_fen"] - invoice["paid_fen"]
        assert credited == {}
        assert not db.invoices.count_documents({"due_date": {"$gte": day}, "paid_fen": {"$gt": 0}})
        # which the tenant sees
        seen = tenant.data(MY_INVOICES)["myLeases"][0]["invoices"]
        assert seen["totalCount"] == db.invoices.count_documents({"lease_id": lease_oid(lease)})


def test_city_leases_and_occupants_have_the_shapes_the_services_write(
    api: Api, stack: Stack, mongo: MongoClient[Doc]
) -> None:
    # given a city (served by an Anju of its own: city_anju), and a lease made through the API
    with city_anju(stack, api, mongo, "shapes", lambda name: build(stack, name, 0.001, 7)) as (
        api,
        name,
        _,
    ):
        landlord, tenant = api.caller("LANDLORD"), api.caller("TENANT")
        home = make_home(landlord, doors=False)
        start_lease(landlord, home.room, tenant)
        db = mongo[name]
        account = db.accounts.find_one({"phone": tenant.phone})
        assert account is not None
        made: dict[str, Any] = {
            "accounts": account,
            "leases": db.leases.find_one({"tenant_id": account["_id"]}),
            "occupants": db.occupants.find_one({"tenant_id": account["_id"]}),
        }
        # and one of its invoices paid in full by a payment the landlord recorded
        lease_id = made["leases"]["_id"]
        first = db.invoices.find_one({"lease_id": lease_id}, sort=[("due_date", 1)])
        assert first is not None
        paid = record(landlord, encode_id("Invoice", first["_id"]), first["amount_fen"])
        assert paid["invoice"]["status"] == "PAID", paid
        made["payments"] = db.payments.find_one({"invoice_id": first["_id"]})
        # then the city's documents of each collection have exactly the same fields and types
        for name, reference in made.items():
            assert reference is not None, name
            city = db[name].find({"_id": {"$ne": reference["_id"]}}, limit=200).to_list()
            if name == "accounts":
                city = [d for d in city if d["role"] == "TENANT"]
            assert city, name
            for doc in city:
                assert shape(doc) == shape(reference), (name, doc["_id"])
        # and so do its invoices, paid (in full or in part) or not
        for credited in (True, False):
            reference = db.invoices.find_one(
                {"lease_id": lease_id, "paid_fen": {"$gt": 0} if credited else 0}
            )
            assert reference is not None
            city = db.invoices.find(
                {"lease_id": {"$ne": lease_id}, "paid_fen": {"$gt": 0} if credited else 0},
                limit=200,
            ).to_list()
            assert city, credited
            for doc in city:
                assert shape(doc) == shape(reference), doc["_id"]


def test_the_same_seed_makes_the_same_residents(
    api: Api, stack: Stack, mongo: MongoClient[Doc]
) -> None:
    names = [f"{stack.db_name}_r{s}" for s in ("a", "b")]
    try:
        for name in names:
            build(stack, name, 0.001, 5)

        def dump(name: str) -> dict[str, list[Doc]]:
            out = {}
            for coll in (
                "leases",
                "occupants",
                "stats_counters",
                "invoices",
                "payments",
            ):
                out[coll] = mongo[name][coll].find({}, sort=[("_id", 1)]).to_list()
            tenants = mongo[name].accounts.find({"role": "TENANT"}, sort=[("_id", 1)]).to_list()
            out["tenants"] = [{k: v for k, v in t.items() if k != "password_hash"} for t in tenants]
            return out

        a, b = (dump(n) for n in names)
        assert a["occupants"] and a == b
    finally:
        for name in names:
            mongo.drop_database(name)
