"""Text messages to phones (verification codes, lease invitations), sent through an outbox.

A message is inserted into `sms_messages` (PENDING) and the SMS worker (app/workers/sms.py)
sends it with its own `_id` as the provider's idempotency key, so a message is sent once
however often it is retried. The request that queued it never waits for the provider: a
code is answered the same way, and as fast, whether or not a message went out. A throttled
send waits as long as the provider asks; an unreachable number fails for good; anything else
is retried with backoff up to MAX_ATTEMPTS. Messages never carry an ID number or a password,
and are removed as soon as they are sent or given up on (and by a TTL index a day after
they were queued, whatever happened), so the outbox holds only what is still to send.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import random

from bson import ObjectId

from app.clients.sms import SmsClient, SmsThrottled, SmsUndeliverable
from app.clock import now
from app.store import Doc, Store

log = logging.getLogger("anju.sms")

PENDING = "PENDING"
MAX_ATTEMPTS = 8
KEEP = dt.timedelta(days=1)


class SmsOutbox:
    """Made once per process by the lifespan; `wakeup` tells its worker a message waits."""

    def __init__(self, store: Store, client: SmsClient) -> None:
        self.store = store
        self.client = client
        self.wakeup = asyncio.Event()

    async def queue(self, to: str, template: str, params: dict[str, str]) -> ObjectId:
        at = now()
        doc: Doc = {
            "_id": ObjectId(),
            "to": to,
            "template": template,
            "params": params,
            "state": PENDING,
            "attempts": 0,
            "next_attempt_at": at,
            "created_at": at,
            "expires_at": at + KEEP,
        }
        await self.store.sms_messages.insert_one(doc)
        self.wakeup.set()
        return doc["_id"]

    async def send_due(self, limit: int = 50) -> int:
        """Sends the messages that are due; how many were looked at."""
        due = await self.store.sms_messages.find(
            {"state": PENDING, "next_attempt_at": {"$lte": now()}},
            sort=[("next_attempt_at", 1)],
            limit=limit,
        ).to_list(None)
        for message in due:
            claim = await self.store.claim(f"sms:{message['_id']}")
            if claim is None:
                continue
            try:
                await self._send(message)
            finally:
                await self.store.release(claim)
        return len(due)

    async def _send(self, message: Doc) -> None:
        current = await self.store.sms_messages.find_one({"_id": message["_id"], "state": PENDING})
        if current is None:
            return
        attempts = int(current["attempts"]) + 1
        try:
            sent = await self.client.send(
                to=current["to"],
                template=current["template"],
                params=current["params"],
                idempotency_key=f"anju-sms-{current['_id']}",
            )
        except SmsThrottled as exc:
            await self._later(current, attempts, exc.retry_after, "throttled")
        except SmsUndeliverable:
            log.warning("message %s: undeliverable", current["_id"])
            await self._forget(current)
        except Exception as exc:  # noqa: BLE001 - the provider down or broken: retried, backed off
            if attempts >= MAX_ATTEMPTS:
                log.warning("message %s: giving up after %d attempts", current["_id"], attempts)
                await self._forget(current)
            else:
                await self._later(current, attempts, min(60.0, 0.5 * 2**attempts), str(exc))
        else:
            log.info("message %s sent as %s", current["_id"], sent.message_id)
            await self._forget(current)

    async def _later(self, message: Doc, attempts: int, seconds: float, why: str) -> None:
        delay = dt.timedelta(seconds=seconds * random.uniform(1.0, 1.2))
        await self._set(
            message, {"attempts": attempts, "next_attempt_at": now() + delay, "error": why[:200]}
        )

    async def _forget(self, message: Doc) -> None:
        """A message sent, or given up on, is removed: the outbox holds only what is still
        to send (its reads cost what is queued), and no code outlives its sending."""
        await self.store.sms_messages.delete_one({"_id": message["_id"], "state": PENDING})

    async def _set(self, message: Doc, changes: Doc) -> None:
        # only the holder of the message's claim writes it
        await self.store.sms_messages.update_one(
            {"_id": message["_id"], "state": PENDING}, {"$set": changes}
        )

    async def backlog(self) -> tuple[int, dt.datetime | None]:
        """Messages waiting to be sent and when the oldest was queued (operator figures)."""
        pending = await self.store.sms_messages.count_documents({"state": PENDING})
        oldest = await self.store.sms_messages.find_one(
            {"state": PENDING}, {"created_at": 1}, sort=[("created_at", 1)]
        )
        return pending, oldest["created_at"] if oldest else None

    async def next_due_in(self, idle_s: float) -> float:
        message = await self.store.sms_messages.find_one(
            {"state": PENDING}, {"next_attempt_at": 1}, sort=[("next_attempt_at", 1)]
        )
        if message is None:
            return idle_s
        return max(0.05, min(idle_s, (message["next_attempt_at"] - now()).total_seconds()))
