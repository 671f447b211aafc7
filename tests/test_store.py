"""The store keeps MongoDB's guarantees on both of its paths: the native one (an engine with
atomic updates, partial and TTL indexes: MongoDB, FerretDB v2) and the emulated one (FerretDB
v1). Each case runs concurrently against the real database, on the emulated path always (it
works on any engine) and on the native path where the engine has the guarantees; on FerretDB
v1 the native path is skipped, since its updates are not atomic (../shared/FERRETDB.md)."""

from __future__ import annotations

import asyncio
import datetime as dt
import secrets
from collections.abc import AsyncIterator

import pytest
from bson import ObjectId
from pymongo import AsyncMongoClient, ReturnDocument

from app.clock import now
from app.errors import Code, UserInputError
from app.store import Engine, Store, detect, ensure_indexes
from app.store.engine import FERRETDB_V1
from tests.conftest import Stack

EMULATED = Engine(
    "emulated",
    **dict.fromkeys(("atomic_updates", "partial_indexes", "ttl_indexes", "indexed_queries"), False),
)


@pytest.fixture(params=["emulated", "native"])
async def store(request: pytest.FixtureRequest, stack: Stack) -> AsyncIterator[Store]:
    client: AsyncMongoClient[dict] = AsyncMongoClient(stack.mongodb_uri, tz_aware=True)
    db = client[f"anju_store_{secrets.token_hex(4)}"]
    try:
        found = await detect(db)
        if request.param == "native":
            if found.emulated:
                pytest.skip(f"{found.name} lacks the guarantees the native path relies on")
            engine = found
        else:
            engine = EMULATED
        await ensure_indexes(db, engine)
        yield Store(db, engine)
    finally:
        await client.drop_database(db.name)
        await client.close()


async def test_read_decide_write_sections_lose_nothing(store: Store) -> None:
    # given a counter that 30 callers each read and set to one more, at once
    await store.counters.insert_one({"_id": "c", "n": 0})

    async def increment() -> None:
        async with store.exclusive("c"):
            doc = await store.counters.find_one({"_id": "c"})
            assert doc is not None
            await store.counters.update_one(
                {"_id": "c", "n": doc["n"]}, {"$set": {"n": doc["n"] + 1}}
            )

    await asyncio.gather(*(increment() for _ in range(30)))
    # then every one of them counted
    assert (await store.counters.find_one({"_id": "c"}) or {})["n"] == 30


async def test_increments_lose_nothing(store: Store) -> None:
    await store.counters.insert_one({"_id": "c", "n": 0})

    async def increment() -> None:
        async with store.exclusive("c"):
            await store.counters.update_one({"_id": "c"}, {"$inc": {"n": 1}})

    await asyncio.gather(*(increment() for _ in range(40)))
    assert (await store.counters.find_one({"_id": "c"}) or {})["n"] == 40


async def test_a_conditional_transition_happens_once(store: Store) -> None:
    # given an alarm that 20 people acknowledge at once
    await store.alarms.insert_one({"_id": "a", "status": "ACTIVE", "by": None})

    async def acknowledge(who: int) -> bool:
        async with store.exclusive("a"):
            moved = await store.alarms.find_one_and_update(
                {"_id": "a", "status": "ACTIVE"},
                {"$set": {"status": "ACKNOWLEDGED", "by": who}},
                return_document=ReturnDocument.AFTER,
            )
        return moved is not None

    won = [
        w for w, ok in enumerate(await asyncio.gather(*(acknowledge(i) for i in range(20)))) if ok
    ]
    # then exactly one did, and the alarm names them
    assert len(won) == 1
    assert (await store.alarms.find_one({"_id": "a"}) or {})["by"] == won[0]


async def test_a_claim_is_held_by_one_caller_until_released(store: Store) -> None:
    claims = await asyncio.gather(*(store.claim("job") for _ in range(20)))
    held = [c for c in claims if c is not None]
    assert len(held) == 1
    assert await store.claim("job") is None
    await store.release(held[0])
    again = await store.claim("job")
    assert again is not None
    await store.release(again)


async def test_a_crashed_holders_claim_expires_and_is_taken_over(store: Store) -> None:
    # given a claim whose holder died (its renewal stopped, never released)
    ttl = dt.timedelta(milliseconds=300)
    dead = await store.claim("job", ttl)
    assert dead is not None and dead.renewal is not None
    dead.renewal.cancel()
    assert await store.claim("job", ttl) is None
    # then after its time another caller takes it
    await asyncio.sleep(0.4)
    taken = await store.claim("job", ttl)
    assert taken is not None
    await store.release(taken)


async def test_a_held_claim_is_renewed_past_its_ttl(store: Store) -> None:
    ttl = dt.timedelta(milliseconds=300)
    held = await store.claim("job", ttl)
    assert held is not None
    await asyncio.sleep(0.7)  # over twice the ttl, renewed every third of it
    assert await store.claim("job", ttl) is None
    await store.release(held)


async def test_waiting_for_a_claim_gives_up_with_busy(store: Store) -> None:
    held = await store.claim("job")
    assert held is not None
    with pytest.raises(UserInputError) as refused:
        async with store.claimed("job", wait_s=0.2):
            pass
    assert refused.value.code == Code.BUSY
    await store.release(held)


async def test_one_document_per_key_while_in_the_state(store: Store) -> None:
    # given ten listings of one room published at once
    room = ObjectId()
    taken = UserInputError("live already", code=Code.ALREADY_PUBLISHED)

    async def publish() -> ObjectId | None:
        doc = {"_id": ObjectId(), "room_id": room, "live": True}
        try:
            await store.insert_unique("listings", doc, taken)
        except UserInputError:
            return None
        return doc["_id"]

    published = [p for p in await asyncio.gather(*(publish() for _ in range(10))) if p]
    # then one is live
    assert len(published) == 1
    # and once it leaves the state, the room may have a new one, and the old stays
    await store.listings.update_one({"_id": published[0], "live": True}, {"$set": {"live": False}})
    assert await publish() is not None
    with pytest.raises(UserInputError):
        await store.insert_unique(
            "listings", {"_id": ObjectId(), "room_id": room, "live": True}, taken
        )
    assert await store.listings.count_documents({"room_id": room}) == 2


async def test_the_refusing_index_is_named(store: Store) -> None:
    person = UserInputError("registered", code=Code.ALREADY_REGISTERED)
    card = UserInputError("card taken", code=Code.DUPLICATE)
    by_index = {"one_room_per_person": person, "card_number_unique": card}

    def occupant(card_number: str, person_hash: str) -> dict[str, object]:
        return {
            "_id": ObjectId(),
            "id_number_hash": person_hash,
            "current": True,
            "card": {"card_number": card_number},
        }

    await store.insert_unique("occupants", occupant("1", "p1"), by_index)
    with pytest.raises(UserInputError) as same_person:
        await store.insert_unique("occupants", occupant("2", "p1"), by_index)
    with pytest.raises(UserInputError) as same_card:
        await store.insert_unique("occupants", occupant("1", "p2"), by_index)
    assert (same_person.value.code, same_card.value.code) == (
        Code.ALREADY_REGISTERED,
        Code.DUPLICATE,
    )


async def test_expired_documents_go(store: Store) -> None:
    past, future = now() - dt.timedelta(seconds=5), now() + dt.timedelta(minutes=5)
    await store.snapshots.insert_many(
        [{"_id": "old", "expires_at": past}, {"_id": "new", "expires_at": future}]
    )
    if store.engine.ttl_indexes:
        pytest.skip("the engine's TTL monitor removes them (every minute, on its own clock)")
    assert await store.expire() == 1
    assert [d["_id"] async for d in store.snapshots.find()] == ["new"]


async def test_documents_are_found_by_ids_whatever_the_engine_serves(store: Store) -> None:
    ids = [ObjectId() for _ in range(5)]
    await store.rooms.insert_many([{"_id": i, "n": n} for n, i in enumerate(ids)])
    found = await store.find_by_ids("rooms", [ids[3], ObjectId(), ids[0], ids[3]])
    assert {k: v["n"] for k, v in found.items()} == {ids[3]: 3, ids[0]: 0}
    assert await store.find_by_id("rooms", ids[1], n=1) is not None
    assert await store.find_by_id("rooms", ids[1], n=2) is None


def test_ferretdb_v1_is_told_apart_from_engines_with_the_guarantees() -> None:
    from app.store.engine import from_build_info

    assert from_build_info({"version": "7.0.0", "ferretdbVersion": "v1.24.2"}).emulated
    assert from_build_info({"ferretdbVersion": "v1.24.2"}) == Engine(
        "FerretDB v1.24.2",
        **{
            f: getattr(FERRETDB_V1, f)
            for f in ("atomic_updates", "partial_indexes", "ttl_indexes", "indexed_queries")
        },
    )
    assert not from_build_info({"version": "7.0.0", "ferretdbVersion": "v2.5.0"}).emulated
    assert not from_build_info({"version": "8.0.4"}).emulated
