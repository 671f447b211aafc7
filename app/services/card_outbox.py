"""The card outbox: what each door at the gateway holds converges to the cards' desired state
(app/services/cards.py) through `card_jobs`.

- After every change of a card, one job per door the card concerns is *inserted*: `_id`
  "<deviceId>|<cardNumber>|<version>", holding that version's op (PUT with the validity, or
  DELETE). Jobs are never rewritten by a later change, so no interleaving of requests can put
  an older state over a newer one.
- A job is PENDING until it is applied, then DONE (or SUPERSEDED by a newer version of the same
  door and card). Whoever applies the jobs of one (door, card) (the request that made the
  change, at once, or the background worker) first claims that pair (app/store), then sends
  only the newest pending version and marks the older ones SUPERSEDED: one caller at a time
  talks to the gateway about one card on one door, and never sends a version older than one
  already applied, so a revocation is never overtaken by an older put.
- A failed call (gateway down, door offline, a 5xx, a timeout) leaves the jobs PENDING with
  `next_attempt_at` backed off exponentially (0.5 s doubling, capped at 30 s). The worker
  (app/workers/cards.py) polls due jobs through the index on (state, next_attempt_at) and is
  woken right after each enqueue; the jobs are in the database, so they survive a restart.
- Crash safety: a card change clears `card.queued` in its own write; it is set once the jobs
  for every door are inserted. The worker's sweep re-enqueues cards left unqueued (a crash
  between the two writes). Revocations are written before a lease is marked ENDED.
- A door registered later gets the live cards of its room (or, for an entrance, of the whole
  property): `queue_for_new_door`.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import random
from collections.abc import Iterable
from typing import Any

from bson import ObjectId
from pymongo.errors import DuplicateKeyError

from app.clients.gateway import GatewayClient, GatewayError
from app.clock import now
from app.services.cards import PUT, desired
from app.store import Doc, Store

log = logging.getLogger("anju.cards")

PENDING, DONE, SUPERSEDED = "PENDING", "DONE", "SUPERSEDED"
BACKOFF_FIRST_S = 0.5
BACKOFF_CAP_S = 30.0
IMMEDIATE_BUDGET_S = 3.0  # how long a request waits for the gateway before leaving it to the worker
SWEEP_AGE = dt.timedelta(seconds=30)


def lease_claim(lease_id: ObjectId) -> str:
    """The claim held while a lease or its occupants (and so their cards) change."""
    return f"lease:{lease_id}"


def job_key(device_id: str, card_number: str) -> str:
    return f"{device_id}|{card_number}"


def backoff_s(attempts: int) -> float:
    """Seconds before attempt `attempts` + 1: 0.5, 1, 2, ... capped at 30, with +-20% jitter."""
    base = min(BACKOFF_CAP_S, BACKOFF_FIRST_S * 2 ** max(0, attempts - 1))
    return base * random.uniform(0.8, 1.2)


class CardOutbox:
    """Made once per process by the lifespan; `wakeup` tells its worker that jobs are due."""

    def __init__(self, store: Store, gateway: GatewayClient) -> None:
        self.store = store
        self.gateway = gateway
        self.wakeup = asyncio.Event()
        # gateway calls that outlive the request that started them
        self._running: set[asyncio.Task[Any]] = set()

    def wake(self) -> None:
        self.wakeup.set()

    # --- enqueueing ---------------------------------------------------------------------------

    async def doors_for(self, property_id: ObjectId, room_id: ObjectId) -> list[Doc]:
        """The doors a card of this room opens: the room's own and the property's entrances."""
        return await self.store.devices.find(
            {"property_id": property_id, "kind": "DOOR", "room_id": {"$in": [room_id, None]}},
            {"_id": 1, "device_id": 1},
        ).to_list(None)

    async def _insert_job(self, door: Doc, occupant: Doc) -> str:
        """Inserts the job of the occupant's current card version at one door (once: the
        same version again is a duplicate and ignored). Returns the (door, card) key."""
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
            await self.store.card_jobs.insert_one(job)
        return key

    async def enqueue(self, occupant: Doc) -> list[str]:
        """Queues the occupant's current card state for every door it concerns, then marks
        the card queued. The caller holds the lease's claim. Returns the (door, card) keys."""
        doors = await self.doors_for(occupant["property_id"], occupant["room_id"])
        keys = [await self._insert_job(door, occupant) for door in doors]
        await self.store.occupants.update_one(
            {"_id": occupant["_id"], "card.version": occupant["card"]["version"]},
            {"$set": {"card.queued": True}},
        )
        self.wake()
        return keys

    async def queue_for_new_door(self, door: Doc) -> None:
        """A new door gets the live cards of its room, or of its property for an entrance.
        (A card changed meanwhile has a newer version, which wins over the one queued here.)"""
        query: Doc = {"property_id": door["property_id"], "current": True}
        if door.get("room_id") is not None:
            # A vacant room has nobody living in it: nothing to look for. (A lease starting
            # meanwhile marks the room OCCUPIED before it registers anyone, and queues its
            # cards for every door it then finds, this one included: the door is stored.)
            room = await self.store.rooms.find_one({"_id": door["room_id"]}, {"status": 1})
            if room is not None and room.get("status") == "VACANT":
                return
            query["room_id"] = door["room_id"]
        at = now()
        try:
            async for occupant in self.store.occupants.find(query):
                if occupant["card"]["valid_until"] > at:
                    await self._insert_job(door, occupant)
        except Exception:
            # the device is registered but its cards are not queued: say so loudly
            log.exception("putting live cards on new door %s", door.get("device_id"))
            raise
        self.wake()

    # --- applying ---------------------------------------------------------------------------

    async def _send(self, job: Doc) -> None:
        if job["op"] == PUT:
            await self.gateway.put_card(
                job["device_id"], job["card_number"], job["valid_from"], job["valid_until"]
            )
        else:
            await self.gateway.delete_card(job["device_id"], job["card_number"])

    async def _supersede(self, key: str, below: int) -> None:
        await self.store.card_jobs.update_many(
            {"key": key, "state": PENDING, "version": {"$lt": below}},
            {"$set": {"state": SUPERSEDED, "done_at": now()}},
        )

    async def run_key(self, key: str) -> bool | None:
        """Brings one (door, card) up to its newest pending version: True when nothing is
        left pending, False when the gateway failed (backed off), None when another caller
        holds it."""
        claim = await self.store.claim(f"card:{key}")
        if claim is None:
            return None
        try:
            return await self._run_claimed(key)
        finally:
            await self.store.release(claim)

    async def _run_claimed(self, key: str) -> bool:
        jobs = self.store.card_jobs
        pending = await jobs.find({"key": key, "state": PENDING}, sort=[("version", -1)]).to_list(
            None
        )
        if not pending:
            return True
        newest = pending[0]
        applied = await jobs.find_one(
            {"key": key, "state": DONE, "version": {"$gt": newest["version"]}}, {"version": 1}
        )
        if applied is not None:  # queued late (a new door's cards): a newer state is there
            await self._supersede(key, applied["version"])
            return True
        try:
            await self._send(newest)
        except Exception as exc:  # whatever failed, the jobs are retried later
            if not isinstance(exc, GatewayError):
                log.exception("card job %s failed unexpectedly", newest["_id"])
            attempts = int(newest.get("attempts", 0)) + 1
            await jobs.update_many(
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
        await jobs.update_one(
            {"_id": newest["_id"]}, {"$set": {"state": DONE, "done_at": now(), "last_error": None}}
        )
        if len(pending) > 1:
            await self._supersede(key, newest["version"])
        return True

    def keep(self, task: asyncio.Task[Any]) -> None:
        """Keeps a reference to a task that outlives its request (else it may be collected)."""
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def apply_now(self, keys: Iterable[str], budget_s: float = IMMEDIATE_BUDGET_S) -> None:
        """Sends these (door, card) jobs to the gateway at once, in parallel, and waits up to
        `budget_s`, also for those another caller (the worker) has in hand, so that the
        caller can say truthfully what is still pending. What fails is left to the worker,
        backed off; what is not done by the deadline carries on in the background."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + budget_s
        remaining = list(dict.fromkeys(keys))
        while remaining:
            tasks = {k: asyncio.create_task(self.run_key(k)) for k in remaining}
            for task in tasks.values():
                self.keep(task)
            _, late = await asyncio.wait(tasks.values(), timeout=max(0.0, deadline - loop.time()))
            if late or loop.time() >= deadline:
                break
            # held by another caller: wait for it (a failure is the worker's, done is done)
            remaining = [
                k for k, t in tasks.items() if t.exception() is None and t.result() is None
            ]
            if remaining:
                await asyncio.sleep(0.05)
        self.wake()

    async def sweep(self) -> int:
        """Re-enqueues cards whose change was never queued (a crash between the two writes)."""
        count = 0
        async for stale in self.store.occupants.find(
            {"card.queued": False, "card.changed_at": {"$lt": now() - SWEEP_AGE}},
            {"lease_id": 1},
            limit=500,
        ):
            claim = await self.store.claim(lease_claim(stale["lease_id"]))
            if claim is None:
                continue  # being changed right now: that change enqueues
            try:
                occupant = await self.store.occupants.find_one({"_id": stale["_id"]})
                if occupant is not None and not occupant["card"]["queued"]:
                    await self.enqueue(occupant)
                    count += 1
            finally:
                await self.store.release(claim)
        if count:
            log.warning("re-enqueued %d unqueued card changes", count)
        return count

    async def due_keys(self, limit: int = 500) -> list[str]:
        due = await self.store.card_jobs.find(
            {"state": PENDING, "next_attempt_at": {"$lte": now()}},
            {"key": 1},
            sort=[("next_attempt_at", 1)],
            limit=limit,
        ).to_list(None)
        return list(dict.fromkeys(d["key"] for d in due))

    async def backlog(self) -> tuple[int, dt.datetime | None]:
        """Pending jobs and when the oldest was queued (the operator's figures)."""
        pending = await self.store.card_jobs.count_documents({"state": PENDING})
        oldest = await self.store.card_jobs.find_one(
            {"state": PENDING}, {"created_at": 1}, sort=[("created_at", 1)]
        )
        return pending, oldest["created_at"] if oldest else None

    async def next_due_in(self, idle_s: float) -> float:
        job = await self.store.card_jobs.find_one(
            {"state": PENDING}, {"next_attempt_at": 1}, sort=[("next_attempt_at", 1)]
        )
        if job is None:
            return idle_s
        return max(0.05, min(idle_s, (job["next_attempt_at"] - now()).total_seconds()))
