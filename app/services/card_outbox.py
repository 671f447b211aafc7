"""The card outbox: what each door at the gateway holds converges to the cards' desired state
(the occupant documents: app/services/cards.py) through `card_jobs`, a queue that holds only
work still to do, so that everything reading it costs what has changed, not what exists.

- A job says "door D and card N may differ from what N's occupant document wants": `_id`
  "<deviceId>|<cardNumber>|<version>", with the occupant and the card version it is for.
  Whoever runs the jobs of one (door, card) (the request that made the change, at once, or the
  worker) claims that pair (app/store), reads the occupant *now*, sends what its card wants
  (PUT with the validity, or DELETE), and deletes the jobs that this covers. What is sent is
  always the current state, under the pair's claim, so no interleaving can put an older state
  over a newer one.
- Intent first: a change of a card inserts its jobs (for the version it is about to write)
  *before* it writes the occupant, due only INTENT_GRACE later. The request that made the
  change runs them at once once it is written; if it crashed or failed in between, the
  worker finds them when they fall due: a job ahead of the occupant's version, or of an
  occupant that was never written, is a change that did not happen and is dropped (after a
  DELETE where the card could have reached the door). No sweep over the occupants is needed.
- A failed call (gateway down, door offline, a 5xx, a timeout) leaves the jobs with
  `next_attempt_at` backed off exponentially (0.5 s doubling, capped at 30 s). The worker
  (app/workers/cards.py) reads due jobs through the index on `next_attempt_at` and is woken
  right after each change; the jobs are in the database, so they survive a restart.
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
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from app.clients.gateway import GatewayClient, GatewayError
from app.clock import now
from app.services.cards import DELETE, PUT, desired
from app.store import Doc, Store

log = logging.getLogger("anju.cards")

BACKOFF_FIRST_S = 0.5
BACKOFF_CAP_S = 30.0
IMMEDIATE_BUDGET_S = 3.0  # how long a request waits for the gateway before leaving it to the worker
# how long a change's own request has to write it and run its jobs before the worker takes them
INTENT_GRACE = dt.timedelta(seconds=30)


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

    async def _insert_job(self, door: Doc, occupant: Doc, version: int, due: dt.datetime) -> str:
        """Inserts the job of one card version at one door (once: the same version again is
        a duplicate and ignored). Returns the (door, card) key."""
        card_number = occupant["card"]["card_number"]
        key = job_key(door["device_id"], card_number)
        job = {
            "_id": f"{key}|{version}",
            "key": key,
            "version": version,
            "device_id": door["device_id"],
            "door_id": door["_id"],
            "card_number": card_number,
            "occupant_id": occupant["_id"],
            "lease_id": occupant["lease_id"],
            "landlord_id": occupant["landlord_id"],
            "attempts": 0,
            "next_attempt_at": due,
            "last_error": None,
            "created_at": now(),
        }
        with contextlib.suppress(DuplicateKeyError):
            await self.store.card_jobs.insert_one(job)
        return key

    async def intend(self, occupant: Doc, version: int) -> list[str]:
        """Before a card change is written (the caller holds the lease's claim): the jobs of
        the version it will write, one per door the card concerns. Returns their keys, for
        `apply_now` once the change is written."""
        doors = await self.doors_for(occupant["property_id"], occupant["room_id"])
        due = now() + INTENT_GRACE
        return [await self._insert_job(door, occupant, version, due) for door in doors]

    async def change(
        self, occupant: Doc, changes: Doc, *, extra: Doc | None = None, where: Doc | None = None
    ) -> tuple[Doc | None, list[str]]:
        """One change of the occupant's card (and of the occupant: `extra`), its jobs
        inserted first, then written in one update conditional on the card's version (and
        `where`). The caller holds the lease's claim. Returns the occupant after it (None if
        the condition no longer held) and the jobs' keys."""
        version = int(occupant["card"]["version"])
        keys = await self.intend(occupant, version + 1)
        after = await self.store.occupants.find_one_and_update(
            {"_id": occupant["_id"], "card.version": version, **(where or {})},
            {
                "$set": {
                    **{f"card.{k}": v for k, v in changes.items()},
                    "card.version": version + 1,
                    "card.changed_at": now(),
                    **(extra or {}),
                }
            },
            return_document=ReturnDocument.AFTER,
        )
        return after, keys if after is not None else []

    async def queue_for_new_door(self, door: Doc) -> None:
        """A new door gets the live cards of its room, or of its property for an entrance.
        (A card changed meanwhile queues its own jobs for every door it finds, this one too.)"""
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
                    await self._insert_job(door, occupant, occupant["card"]["version"], at)
        except Exception:
            # the device is registered but its cards are not queued: say so loudly
            log.exception("putting live cards on new door %s", door.get("device_id"))
            raise
        self.wake()

    # --- applying ---------------------------------------------------------------------------

    async def run_key(self, key: str) -> bool | None:
        """Brings one (door, card) to what its occupant's card wants now: True when nothing
        is left that could be done now, False when the gateway failed (backed off), None
        when another caller holds it."""
        claim = await self.store.claim(f"card:{key}")
        if claim is None:
            return None
        try:
            return await self._run_claimed(key)
        finally:
            await self.store.release(claim)

    async def _run_claimed(self, key: str) -> bool:
        jobs = await self.store.card_jobs.find({"key": key}).to_list(None)
        if not jobs:
            return True
        card_number = jobs[0]["card_number"]
        holders = await self.store.find_by_ids("occupants", list({j["occupant_id"] for j in jobs}))
        occupant = next(
            (o for o in holders.values() if o["card"]["card_number"] == card_number), None
        )
        version = int(occupant["card"]["version"]) if occupant is not None else 0
        covered = [j for j in jobs if j["version"] <= version]
        ahead = [j for j in jobs if j["version"] > version]
        # changes that never happened: their request failed or died before writing them (a
        # change's jobs fall due INTENT_GRACE after they are queued)
        at = now()
        abandoned = [j for j in ahead if j["next_attempt_at"] <= at]
        want: Doc | None = None
        if covered and occupant is not None:
            want, sent = desired(occupant["card"]), covered
        elif abandoned and occupant is None and not await self._held(card_number):
            # a registration undone: make sure the card it would have put is not there
            want, sent = {"op": DELETE}, abandoned
        if want is not None and not await self._send_or_back_off(sent, want):
            return False
        if abandoned:
            log.warning("card %s: dropping %d jobs of changes never written", key, len(abandoned))
        done = [j["_id"] for j in [*covered, *abandoned]]
        if done:
            await self.store.card_jobs.delete_many({"_id": {"$in": done}})
        return True

    async def _held(self, card_number: str) -> bool:
        """Whether any occupant holds this card number (a rare look-up: only for a job
        whose occupant was never written)."""
        found = await self.store.occupants.find_one({"card.card_number": card_number}, {"_id": 1})
        return found is not None

    async def _send_or_back_off(self, jobs: list[Doc], want: Doc) -> bool:
        newest = max(jobs, key=lambda j: j["version"])
        try:
            if want["op"] == PUT:
                await self.gateway.put_card(
                    newest["device_id"],
                    newest["card_number"],
                    want["valid_from"],
                    want["valid_until"],
                )
            else:
                await self.gateway.delete_card(newest["device_id"], newest["card_number"])
        except Exception as exc:  # whatever failed, the jobs are retried later
            if not isinstance(exc, GatewayError):
                log.exception("card job %s failed unexpectedly", newest["_id"])
            attempts = max(int(j.get("attempts", 0)) for j in jobs) + 1
            await self.store.card_jobs.update_many(
                {"_id": {"$in": [j["_id"] for j in jobs]}},
                {
                    "$set": {
                        "attempts": attempts,
                        "next_attempt_at": now() + dt.timedelta(seconds=backoff_s(attempts)),
                        "last_error": f"{type(exc).__name__}: {exc}"[:300],
                    }
                },
            )
            return False
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

    async def due_keys(self, limit: int = 500) -> list[str]:
        due = await self.store.card_jobs.find(
            {"next_attempt_at": {"$lte": now()}},
            {"key": 1},
            sort=[("next_attempt_at", 1)],
            limit=limit,
        ).to_list(None)
        return list(dict.fromkeys(d["key"] for d in due))

    async def backlog(self) -> tuple[int, dt.datetime | None]:
        """Pending jobs and when the oldest was queued (the operator's figures)."""
        pending = await self.store.card_jobs.count_documents({})
        oldest = await self.store.card_jobs.find_one(
            {}, {"created_at": 1}, sort=[("created_at", 1)]
        )
        return pending, oldest["created_at"] if oldest else None

    async def next_due_in(self, idle_s: float) -> float:
        job = await self.store.card_jobs.find_one(
            {}, {"next_attempt_at": 1}, sort=[("next_attempt_at", 1)]
        )
        if job is None:
            return idle_s
        return max(0.05, min(idle_s, (job["next_attempt_at"] - now()).total_seconds()))
