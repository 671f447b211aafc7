"""The card outbox: what each door at the gateway holds (cards, and visitors' codes) converges
to their desired state (app/services/cards.py, app/services/door_codes.py) through `card_jobs`.

- After every change of a card or a code, one job per door it concerns is *inserted*: key
  "<deviceId>|<cardNumber>" (or "<deviceId>|code:<codeId>"), holding that version's op (PUT
  with the validity, or DELETE). Jobs are never rewritten by a later change, so no
  interleaving of requests can put an older state over a newer one.
- Jobs are ordered by (epoch, version) (app/services/door_jobs.py builds them): the epoch is
  when the door holding the device was bound (a device removed and bound again, or moved to
  another door, starts a new epoch), the version the card's or pass's. Releasing a door
  (removeDevice, replaceDevice) inserts a RETIRED job per key it ever had: a DELETE newer
  than anything of that binding, older than anything of the next one.
- A job is PENDING until it is applied, then DONE (or SUPERSEDED by a newer one of the same
  key). Whoever applies the jobs of one key (the request that made the change, at once, or
  the background worker) first claims the key (app/store), then sends only the newest pending
  job and marks the older ones SUPERSEDED: one caller at a time talks to the gateway about one
  card or code on one device, and never sends a state older than one already applied, so a
  revocation is never overtaken by an older put.
- A failed call (gateway down, door offline, a 5xx, a timeout) leaves the jobs PENDING with
  `next_attempt_at` backed off exponentially (0.5 s doubling, capped at 30 s; an hour for a
  released device, which may never answer again). The worker (app/workers/cards.py) polls due
  jobs through the index on (state, next_attempt_at) and is woken right after each enqueue;
  the jobs are in the database, so they survive a restart.
- Crash safety, intent first: a change of a card or a pass inserts its jobs (for the version
  it is about to write) *before* it writes the change, due only INTENT_GRACE later; the
  request runs them at once when the change is written. If it failed or died in between, the
  worker finds them when they fall due: a job ahead of its card's or pass's version is a
  change that never happened and is dropped (ABANDONED). No sweep over the occupants or the
  passes is needed. Revocations are written before a lease is marked ENDED.
- A door bound later gets the live cards and codes of its room (or, for an entrance, of the
  whole property): `queue_for_new_door`.
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

from app.clients.gateway import GatewayClient, GatewayError
from app.clock import now
from app.services import door_jobs
from app.services.cards import PUT
from app.store import Doc, Store

log = logging.getLogger("anju.cards")

PENDING, DONE, SUPERSEDED, ABANDONED = "PENDING", "DONE", "SUPERSEDED", "ABANDONED"
BACKOFF_FIRST_S = 0.5
BACKOFF_CAP_S = 30.0
RETIRED_BACKOFF_CAP_S = 3600.0
IMMEDIATE_BUDGET_S = 3.0  # how long a request waits for the gateway before leaving it to the worker
# how long a change's own request has to write it and run its jobs before the worker may
INTENT_GRACE = dt.timedelta(seconds=30)


def lease_claim(lease_id: ObjectId) -> str:
    """The claim held while a lease or its occupants (and so their cards) change."""
    return f"lease:{lease_id}"


def backoff_s(attempts: int, cap: float = BACKOFF_CAP_S) -> float:
    """Seconds before attempt `attempts` + 1: 0.5, 1, 2, ... capped, with +-20% jitter."""
    base = min(cap, BACKOFF_FIRST_S * 2 ** max(0, attempts - 1))
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
        return await door_jobs.doors_for(self.store, property_id, room_id)

    async def intend(self, occupant: Doc) -> list[str]:
        """Before a card change is written (`occupant` as it will be, its card's version the
        one it will have; the caller holds the lease's claim): its jobs for every door,
        due INTENT_GRACE from now. Returns their keys, for `apply_now` once it is written."""
        due = now() + INTENT_GRACE
        doors = await self.doors_for(occupant["property_id"], occupant["room_id"])
        return [await door_jobs.insert_card(self.store, door, occupant, due) for door in doors]

    async def intend_pass(self, pass_doc: Doc) -> list[str]:
        """The same for a visitor pass's code; the caller holds the pass's claim."""
        due = now() + INTENT_GRACE
        doors = await self.doors_for(pass_doc["property_id"], pass_doc["room_id"])
        return [await door_jobs.insert_code(self.store, door, pass_doc, due) for door in doors]

    async def change_card(
        self, occupant: Doc, changes: Doc, *, extra: Doc | None = None, where: Doc | None = None
    ) -> tuple[Doc | None, list[str]]:
        """One change of the occupant's card (and of the occupant: `extra`): its jobs queued
        first, then one update conditional on the card's version (and on `where`). The
        caller holds the lease's claim. Returns the occupant after it (None if the condition
        no longer held: its jobs then drop themselves) and the jobs' keys."""
        version = int(occupant["card"]["version"])
        at = now()
        card = {**occupant["card"], **changes, "version": version + 1, "changed_at": at}
        keys = await self.intend({**occupant, **(extra or {}), "card": card})
        after = await self.store.occupants.find_one_and_update(
            {"_id": occupant["_id"], "card.version": version, **(where or {})},
            {
                "$set": {
                    **{f"card.{k}": v for k, v in changes.items()},
                    "card.version": version + 1,
                    "card.changed_at": at,
                    **(extra or {}),
                }
            },
            return_document=ReturnDocument.AFTER,
        )
        return after, keys if after is not None else []

    async def queue_for_new_door(self, door: Doc) -> list[str]:
        """A newly bound door gets the live cards and codes of its room (or property)."""
        try:
            keys = await door_jobs.for_new_door(self.store, door)
        except Exception:
            # the device is bound but its cards are not queued: say so loudly
            log.exception("putting live cards on new door %s", door.get("device_id"))
            raise
        self.wake()
        return keys

    async def retire_door(self, door: Doc) -> list[str]:
        """A released door loses every card and code it was ever given."""
        keys = await door_jobs.retire(self.store, door)
        self.wake()
        return keys

    # --- applying ---------------------------------------------------------------------------

    async def _send(self, job: Doc) -> None:
        device = job["device_id"]
        if job.get("kind") == door_jobs.CODE:
            if job["op"] == PUT:
                await self.gateway.put_code(
                    device, job["code_id"], job["code"], job["valid_from"], job["valid_until"]
                )
            else:
                await self.gateway.delete_code(device, job["code_id"])
        elif job["op"] == PUT:
            await self.gateway.put_card(
                device, job["card_number"], job["valid_from"], job["valid_until"]
            )
        else:
            await self.gateway.delete_card(device, job["card_number"])

    async def _finish(self, ids: list[str], state: str) -> None:
        if ids:  # a code's digits are not kept once its job is done
            await self.store.card_jobs.update_many(
                {"_id": {"$in": ids}, "state": PENDING},
                {"$set": {"state": state, "done_at": now(), "code": None}},
            )

    async def run_key(self, key: str) -> bool | None:
        """Brings one key (a card or code on one device) up to its newest pending job: True
        when nothing is left pending, False when the gateway failed (backed off), None when
        another caller holds it."""
        claim = await self.store.claim(f"card:{key}")
        if claim is None:
            return None
        try:
            return await self._run_claimed(key)
        finally:
            await self.store.release(claim)

    async def _run_claimed(self, key: str) -> bool:
        jobs = self.store.card_jobs
        pending = await jobs.find(
            {"key": key, "state": PENDING}, sort=[("epoch", -1), ("version", -1)]
        ).to_list(None)
        pending = await self._written(pending)
        if not pending:
            return True
        newest = pending[0]
        ids = [job["_id"] for job in pending]
        at_epoch, version = newest.get("epoch", 0), newest["version"]
        applied = await jobs.find_one(
            {"key": key, "state": DONE},
            {"epoch": 1, "version": 1},
            sort=[("epoch", -1), ("version", -1)],
        )
        if applied is not None and (applied.get("epoch", 0), applied["version"]) > (
            at_epoch,
            version,
        ):  # queued late (a new door's cards): a newer state is there
            await self._finish(ids, SUPERSEDED)
            return True
        try:
            await self._send(newest)
        except Exception as exc:  # whatever failed, the jobs are retried later
            if not isinstance(exc, GatewayError):
                log.exception("card job %s failed unexpectedly", newest["_id"])
            attempts = int(newest.get("attempts", 0)) + 1
            cap = RETIRED_BACKOFF_CAP_S if newest.get("retired") else BACKOFF_CAP_S
            await jobs.update_many(
                {"_id": {"$in": ids}, "state": PENDING},
                {
                    "$set": {
                        "attempts": attempts,
                        "next_attempt_at": now() + dt.timedelta(seconds=backoff_s(attempts, cap)),
                        "last_error": f"{type(exc).__name__}: {exc}"[:300],
                    }
                },
            )
            return False
        await self._finish(ids[:1], DONE)
        await self._finish(ids[1:], SUPERSEDED)
        return True

    async def _written(self, pending: list[Doc]) -> list[Doc]:
        """The jobs whose change is written (newest first, as given). A job ahead of its
        card's or pass's version is a change still being made (left until it falls due) or
        one that never happened (ABANDONED once due; if the card's registration itself was
        undone, a DELETE makes sure the door does not keep it)."""
        sources: dict[Any, int | None] = {}
        written, abandoned = [], []
        at = now()
        for job in pending:
            if job.get("retired"):
                written.append(job)
                continue
            source = job.get("pass_id") or job.get("occupant_id")
            if source not in sources:
                sources[source] = await self._version_of(job)
            current = sources[source]
            if current is not None and job["version"] <= current:
                written.append(job)
            elif job["next_attempt_at"] <= at:
                abandoned.append(job)
        if abandoned:
            log.warning("dropping %d card jobs of changes never written", len(abandoned))
            for job in abandoned:
                if job.get("kind") != door_jobs.CODE and job["op"] == PUT:
                    await self._unless_held(job)
            await self._finish([j["_id"] for j in abandoned], ABANDONED)
        return written

    async def _version_of(self, job: Doc) -> int | None:
        """The version of the card or pass a job is about, as written; None if it is not
        (an occupant never inserted, or holding another card number)."""
        if job.get("kind") == door_jobs.CODE:
            pass_doc = await self.store.visitor_passes.find_one(
                {"_id": job["pass_id"]}, {"version": 1}
            )
            return int(pass_doc["version"]) if pass_doc else None
        occupant = await self.store.occupants.find_one(
            {"_id": job["occupant_id"]}, {"card.version": 1, "card.card_number": 1}
        )
        if occupant is None or occupant["card"]["card_number"] != job["card_number"]:
            return None
        return int(occupant["card"]["version"])

    async def _unless_held(self, job: Doc) -> None:
        """A card put by a registration that was undone: deleted from the door unless the
        number is someone's (a rare look-up, only for such a job)."""
        held = await self.store.occupants.find_one(
            {"card.card_number": job["card_number"]}, {"_id": 1}
        )
        if held is None:
            with contextlib.suppress(Exception):  # the door never had it, most likely
                await self.gateway.delete_card(job["device_id"], job["card_number"])

    def keep(self, task: asyncio.Task[Any]) -> None:
        """Keeps a reference to a task that outlives its request (else it may be collected)."""
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def apply_now(self, keys: Iterable[str], budget_s: float = IMMEDIATE_BUDGET_S) -> None:
        """Sends these keys' jobs to the gateway at once, in parallel, and waits up to
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


def pass_claim(pass_id: ObjectId) -> str:
    """The claim held while a visitor pass (and so its code) changes."""
    return f"visitor-pass:{pass_id}"
