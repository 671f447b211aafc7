"""Access cards (一人一卡) and the card-job outbox that keeps the doors at the gateway in step.

Every occupant holds one card: `card{card_number, valid_from, valid_until, revoked_at, version,
queued, changed_at}` on the occupant document. That is the *desired* state; what each door at
the gateway holds converges to it through `card_jobs`:

- Every change of a card (issued, new validity, revoked) increments `card.version` in the same
  write as the change itself (made under the lease's lock, so versions follow the real order
  of the changes). Then one job per door the card concerns is *inserted*: `_id`
  "<deviceId>|<cardNumber>|<version>", holding that version's op (PUT with the validity, or
  DELETE). Jobs are never rewritten by a later change, so no interleaving of requests can put
  an older state over a newer one.
- A job is PENDING until it is applied, then DONE (or SUPERSEDED by a newer version of the same
  door and card). Whoever applies the jobs of one (door, card) (the request that made the
  change, at once, or the background worker) first takes that pair's lock (an insert: FerretDB
  makes nothing else exclusive, see app/services/locks.py), then sends only the newest pending
  version, and marks the older ones SUPERSEDED. One caller at a time talks to the gateway
  about one card on one door, and never sends a version older than one already applied: a
  revocation is never overtaken by an older put.
- A failed call (gateway down, door offline, a 5xx, a timeout) leaves the jobs PENDING with
  `next_attempt_at` backed off exponentially (0.5 s doubling, capped at 30 s). The worker
  (`run_worker`, started by the app's lifespan) polls due jobs through the index on
  (state, next_attempt_at) and is woken right after each enqueue; the jobs are in the
  database, so they survive a restart.
- Crash safety: a card change sets `card.queued` False in the same write; it turns True once
  the jobs for every door are inserted. The worker's sweep re-enqueues cards left unqueued (a
  crash between the two writes). Revocations are written before the lease is marked ENDED.
- A door registered later gets the live cards of its room (or, for an entrance, of the whole
  property) through `DEVICE_REGISTERED_HOOKS`.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import random
import secrets
from collections.abc import Callable, Iterable
from typing import Any

from bson import ObjectId
from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from app.db import Doc
from app.gateway import GatewayClient, GatewayError
from app.services import locks, properties
from app.services.clock import now
from app.services.pacing import Pace

log = logging.getLogger("anju.cards")

PUT, DELETE = "PUT", "DELETE"
PENDING, DONE, SUPERSEDED = "PENDING", "DONE", "SUPERSEDED"
CARD_DIGITS = 16
CLAIM = dt.timedelta(seconds=30)  # longer than any gateway call with its retries
BACKOFF_FIRST_S = 0.5
BACKOFF_CAP_S = 30.0
IMMEDIATE_BUDGET_S = 3.0  # how long a request waits for the gateway before leaving it to the worker
IDLE_POLL_S = 5.0
WORKER_CONCURRENCY = 16
SWEEP_EVERY_S = 60.0
SWEEP_AGE = dt.timedelta(seconds=30)

_wakeup: asyncio.Event | None = None
_running: set[asyncio.Task[Any]] = set()


# --- cards ----------------------------------------------------------------------------------


def new_card_number() -> str:
    """16 random decimal digits from the OS's CSPRNG: unique in practice (the unique index
    catches the rest) and not guessable from other cards."""
    return f"{secrets.randbelow(10**CARD_DIGITS):0{CARD_DIGITS}d}"


def day_start(day: str | dt.date) -> dt.datetime:
    """Midnight UTC at the start of a calendar day (dates are UTC days throughout Anju)."""
    d = dt.date.fromisoformat(day) if isinstance(day, str) else day
    return dt.datetime(d.year, d.month, d.day, tzinfo=dt.UTC)


def lease_window(start_date: str, end_date: str) -> tuple[dt.datetime, dt.datetime]:
    """A lease's card validity: from the start of its first day to the end of its last."""
    return day_start(start_date), day_start(end_date) + dt.timedelta(days=1)


def card_doc(
    number: str, valid_from: dt.datetime, valid_until: dt.datetime, at: dt.datetime
) -> Doc:
    return {
        "card_number": number,
        "valid_from": valid_from,
        "valid_until": valid_until,
        "revoked_at": None,
        "version": 1,
        "queued": False,
        "changed_at": at,
    }


def desired(card: Doc) -> Doc:
    """What every door should hold for this card."""
    if card.get("revoked_at") is not None:
        return {"op": DELETE, "valid_from": None, "valid_until": None}
    return {"op": PUT, "valid_from": card["valid_from"], "valid_until": card["valid_until"]}


# --- enqueueing -----------------------------------------------------------------------------


def lease_lock(lease_id: ObjectId) -> str:
    """The lock held while a lease or its occupants (and so their cards) change."""
    return f"lease:{lease_id}"


async def doors_for(db: AsyncDatabase[Doc], property_id: ObjectId, room_id: ObjectId) -> list[Doc]:
    """The doors a card of this room opens: the room's own and the property's entrances."""
    return await db.devices.find(
        {"property_id": property_id, "kind": "DOOR", "room_id": {"$in": [room_id, None]}},
        {"_id": 1, "device_id": 1},
    ).to_list(None)


def job_key(device_id: str, card_number: str) -> str:
    return f"{device_id}|{card_number}"


async def _insert_job(db: AsyncDatabase[Doc], door: Doc, occupant: Doc) -> str:
    """Inserts the job of the occupant's current card version at one door (once: the same
    version again is a duplicate and ignored). Returns the (door, card) key."""
    card = occupant["card"]
    key = job_key(door["device_id"], card["card_number"])
    at = now()
    job = {
        "_id": f"{key}|{card['version']}",
        "key": key,
        "version": card["version"],
        **desired(card),
        "device_id": door["device_id"],
        "door_id": door["_id"],
        "card_number": card["card_number"],
        "occupant_id": occupant["_id"],
        "lease_id": occupant["lease_id"],
        "landlord_id": occupant["landlord_id"],
        "state": PENDING,
        "attempts": 0,
        "next_attempt_at": at,
        "last_error": None,
        "created_at": at,
        "done_at": None,
    }
    with contextlib.suppress(DuplicateKeyError):
        await db.card_jobs.insert_one(job)
    return key


async def enqueue(db: AsyncDatabase[Doc], occupant: Doc) -> list[str]:
    """Queues the occupant's current card state for every door it concerns, then marks the
    card queued. The caller holds the lease's lock. Returns the (door, card) keys."""
    doors = await doors_for(db, occupant["property_id"], occupant["room_id"])
    keys = [await _insert_job(db, door, occupant) for door in doors]
    await db.occupants.update_one(
        {"_id": occupant["_id"], "card.version": occupant["card"]["version"]},
        {"$set": {"card.queued": True}},
    )
    wake()
    return keys


async def change_card(
    db: AsyncDatabase[Doc], query: Doc, changes: Doc, *, extra: Doc | None = None
) -> Doc | None:
    """One change of a card (and of its occupant: `extra`), versioned and marked unqueued,
    in one write; the caller holds the lease's lock. Returns the occupant after it, or None
    if `query` matched nothing."""
    return await db.occupants.find_one_and_update(
        query,
        {
            "$set": {
                **{f"card.{k}": v for k, v in changes.items()},
                "card.queued": False,
                "card.changed_at": now(),
                **(extra or {}),
            },
            "$inc": {"card.version": 1},
        },
        return_document=ReturnDocument.AFTER,
    )


async def _on_device_registered(db: AsyncDatabase[Doc], device: Doc) -> None:
    """A new door gets the live cards of its room, or of its property for an entrance. (A card
    changed meanwhile has a newer version, which wins over the one queued here.)"""
    if device.get("kind") != "DOOR":
        return
    query: Doc = {"property_id": device["property_id"], "left_at": None}
    if device.get("room_id") is not None:
        # A vacant room has nobody living in it: nothing to look for. (A lease starting
        # meanwhile marks the room OCCUPIED before it registers anyone, and queues its cards
        # for every door it then finds, this one included: the device is already stored.)
        room = await db.rooms.find_one({"_id": device["room_id"]}, {"status": 1})
        if room is not None and room.get("status") == "VACANT":
            return
        query["room_id"] = device["room_id"]
    at = now()
    try:
        async for occupant in db.occupants.find(query):
            if occupant["card"]["valid_until"] > at:
                await _insert_job(db, device, occupant)
    except Exception:
        # the device is registered but its cards are not queued: say so loudly
        log.exception("putting live cards on new door %s", device.get("device_id"))
        raise
    wake()


properties.DEVICE_REGISTERED_HOOKS.append(_on_device_registered)


# --- applying -------------------------------------------------------------------------------


def wake() -> None:
    """Tells this process's worker that jobs are due (it also polls)."""
    if _wakeup is not None:
        _wakeup.set()


def backoff_s(attempts: int) -> float:
    """Seconds before attempt `attempts` + 1: 0.5, 1, 2, ... capped at 30, with +-20% jitter."""
    base = min(BACKOFF_CAP_S, BACKOFF_FIRST_S * 2 ** max(0, attempts - 1))
    return base * random.uniform(0.8, 1.2)


async def _send(gateway: GatewayClient, job: Doc) -> None:
    if job["op"] == PUT:
        await gateway.put_card(
            job["device_id"], job["card_number"], job["valid_from"], job["valid_until"]
        )
    else:
        await gateway.delete_card(job["device_id"], job["card_number"])


async def _supersede(db: AsyncDatabase[Doc], key: str, below: int) -> None:
    await db.card_jobs.update_many(
        {"key": key, "state": PENDING, "version": {"$lt": below}},
        {"$set": {"state": SUPERSEDED, "done_at": now()}},
    )


async def run_key(db: AsyncDatabase[Doc], gateway: GatewayClient, key: str) -> bool | None:
    """Brings one (door, card) up to its newest pending version: True when nothing is left
    pending, False when the gateway failed (backed off), None when another caller holds it."""
    token = await locks.try_acquire(db, f"card:{key}", CLAIM)
    if token is None:
        return None
    try:
        pending = await db.card_jobs.find(
            {"key": key, "state": PENDING}, sort=[("version", -1)]
        ).to_list(None)
        if not pending:
            return True
        newest = pending[0]
        applied = await db.card_jobs.find_one(
            {"key": key, "state": DONE, "version": {"$gt": newest["version"]}}, {"version": 1}
        )
        if applied is not None:  # queued late (a new door's hook): a newer state is there
            await _supersede(db, key, applied["version"])
            return True
        try:
            await _send(gateway, newest)
        except Exception as exc:  # whatever failed, the jobs are retried later
            if not isinstance(exc, GatewayError):
                log.exception("card job %s failed unexpectedly", newest["_id"])
            attempts = int(newest.get("attempts", 0)) + 1
            await db.card_jobs.update_many(
                {"key": key, "state": PENDING, "version": {"$lte": newest["version"]}},
                {
                    "$set": {
                        "attempts": attempts,
                        "next_attempt_at": now() + dt.timedelta(seconds=backoff_s(attempts)),
                        "last_error": f"{type(exc).__name__}: {exc}"[:300],
                    }
                },
            )
            return False
        await db.card_jobs.update_one(
            {"_id": newest["_id"]}, {"$set": {"state": DONE, "done_at": now(), "last_error": None}}
        )
        if len(pending) > 1:
            await _supersede(db, key, newest["version"])
        return True
    finally:
        await locks.release(db, f"card:{key}", token)


def _keep(task: asyncio.Task[Any]) -> None:
    _running.add(task)
    task.add_done_callback(_running.discard)


async def apply_now(
    db: AsyncDatabase[Doc],
    gateway: GatewayClient,
    keys: Iterable[str],
    budget_s: float = IMMEDIATE_BUDGET_S,
) -> None:
    """Sends these (door, card) jobs to the gateway at once, in parallel, and waits up to
    `budget_s`, also for those another caller (the worker) has in hand, so that the caller
    can say truthfully what is still pending. What fails is left to the worker, backed off;
    what is not done by the deadline carries on in the background."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + budget_s
    remaining = list(dict.fromkeys(keys))
    while remaining:
        tasks = {k: asyncio.create_task(run_key(db, gateway, k)) for k in remaining}
        for task in tasks.values():
            _keep(task)
        _, late = await asyncio.wait(tasks.values(), timeout=max(0.0, deadline - loop.time()))
        if late or loop.time() >= deadline:
            break
        # held by another caller: wait for it (a failure is the worker's, done is done)
        remaining = [k for k, t in tasks.items() if t.exception() is None and t.result() is None]
        if remaining:
            await asyncio.sleep(0.05)
    wake()


async def pending_count(db: AsyncDatabase[Doc], **where: Any) -> int:
    return await db.card_jobs.count_documents({**where, "state": PENDING})


# --- the background worker ------------------------------------------------------------------


async def sweep(db: AsyncDatabase[Doc]) -> int:
    """Re-enqueues cards whose change was never queued (a crash between the two writes)."""
    count = 0
    async for stale in db.occupants.find(
        {"card.queued": False, "card.changed_at": {"$lt": now() - SWEEP_AGE}},
        {"lease_id": 1},
        limit=500,
    ):
        token = await locks.try_acquire(db, lease_lock(stale["lease_id"]))
        if token is None:
            continue  # being changed right now: that change enqueues
        try:
            occupant = await db.occupants.find_one({"_id": stale["_id"]})
            if occupant is not None and not occupant["card"]["queued"]:
                await enqueue(db, occupant)
                count += 1
        finally:
            await locks.release(db, lease_lock(stale["lease_id"]), token)
    if count:
        log.warning("re-enqueued %d unqueued card changes", count)
    return count


async def _next_due_in(db: AsyncDatabase[Doc]) -> float:
    job = await db.card_jobs.find_one(
        {"state": PENDING}, {"next_attempt_at": 1}, sort=[("next_attempt_at", 1)]
    )
    if job is None:
        return IDLE_POLL_S
    return max(0.05, min(IDLE_POLL_S, (job["next_attempt_at"] - now()).total_seconds()))


async def run_worker(
    db: AsyncDatabase[Doc], gateway: GatewayClient, ready: Callable[[], bool]
) -> None:
    """Applies due card jobs until cancelled (at shutdown), up to WORKER_CONCURRENCY (door,
    card) pairs at a time; sleeps until the next job is due, or until woken by an enqueue."""
    global _wakeup
    wakeup = _wakeup = asyncio.Event()
    loop = asyncio.get_running_loop()
    slots = asyncio.Semaphore(WORKER_CONCURRENCY)
    in_hand: set[str] = set()
    held_elsewhere: dict[str, float] = {}  # key -> when to look at it again
    sweeps = Pace(SWEEP_EVERY_S)

    async def work(key: str) -> None:
        try:
            if await run_key(db, gateway, key) is None:
                held_elsewhere[key] = loop.time() + 0.5
        finally:
            in_hand.discard(key)
            slots.release()

    while True:
        try:
            if not ready():
                await asyncio.sleep(0.5)
                continue
            if sweeps.due(loop.time()):
                started = loop.time()
                try:
                    await sweep(db)
                finally:
                    sweeps.ran(started, loop.time())
            wakeup.clear()
            t = loop.time()
            for key, until in list(held_elsewhere.items()):
                if until <= t:
                    del held_elsewhere[key]
            due = await db.card_jobs.find(
                {"state": PENDING, "next_attempt_at": {"$lte": now()}},
                {"key": 1},
                sort=[("next_attempt_at", 1)],
                limit=500,
            ).to_list(None)
            started = 0
            for key in dict.fromkeys(d["key"] for d in due):
                if key in in_hand or key in held_elsewhere:
                    continue
                await slots.acquire()
                in_hand.add(key)
                started += 1
                _keep(asyncio.create_task(work(key)))
            if started:
                await asyncio.sleep(0)  # let them start; then look again
                continue
            delay = 0.5 if (in_hand or held_elsewhere) else await _next_due_in(db)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wakeup.wait(), timeout=delay)
        except asyncio.CancelledError:
            raise
        except Exception:  # the database may be down: keep trying
            log.exception("card worker")
            await asyncio.sleep(2.0)


__all__ = [
    "DELETE",
    "DONE",
    "PENDING",
    "PUT",
    "SUPERSEDED",
    "apply_now",
    "card_doc",
    "change_card",
    "day_start",
    "enqueue",
    "lease_lock",
    "lease_window",
    "new_card_number",
    "pending_count",
    "run_key",
    "run_worker",
    "wake",
]
