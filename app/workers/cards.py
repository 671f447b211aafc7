"""The card worker: applies due card jobs (app/services/card_outbox.py) until cancelled at
shutdown, up to CONCURRENCY (door, card) pairs at a time; sleeps until the next job is due or
a change wakes it. It reads only the jobs that are due (through their index), so it costs
nothing while nothing changes."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from app import metrics
from app.services.card_outbox import CardOutbox

log = logging.getLogger("anju.cards")

CONCURRENCY = 16
# the longest sleep with nothing due: a job another worker process queued without waking
# this one is found within it (a wakeup only reaches the process that made the change)
IDLE_POLL_S = 30.0


async def run(outbox: CardOutbox) -> None:
    loop = asyncio.get_running_loop()
    slots = asyncio.Semaphore(CONCURRENCY)
    in_hand: set[str] = set()
    held_elsewhere: dict[str, float] = {}  # key -> when to look at it again

    async def work(key: str) -> None:
        try:
            if await outbox.run_key(key) is None:
                held_elsewhere[key] = loop.time() + 0.5
        finally:
            in_hand.discard(key)
            slots.release()

    while True:
        try:
            outbox.wakeup.clear()
            t = loop.time()
            for key, until in list(held_elsewhere.items()):
                if until <= t:
                    del held_elsewhere[key]
            begun = 0
            with metrics.background_pass("cards"):
                due = await outbox.due_keys()
            for key in due:
                if key in in_hand or key in held_elsewhere:
                    continue
                await slots.acquire()
                in_hand.add(key)
                begun += 1
                outbox.keep(asyncio.create_task(work(key)))
            if begun:
                await asyncio.sleep(0)  # let them start; then look again
                continue
            delay = 0.5 if (in_hand or held_elsewhere) else await outbox.next_due_in(IDLE_POLL_S)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(outbox.wakeup.wait(), timeout=delay)
        except asyncio.CancelledError:
            raise
        except Exception:  # the database may be down: keep trying
            log.exception("card worker")
            await asyncio.sleep(2.0)
