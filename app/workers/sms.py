"""The SMS worker: sends the queued text messages (app/services/sms.py) as they fall due,
woken by each new one."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from app import metrics
from app.services.sms import SmsOutbox

log = logging.getLogger("anju.sms")

# the longest sleep with nothing due (a message queued by another worker process, which
# wakes only its own, is sent within it)
IDLE_POLL_S = 30.0


async def run(outbox: SmsOutbox) -> None:
    while True:
        try:
            outbox.wakeup.clear()
            with metrics.background_pass("sms"):
                looked_at = await outbox.send_due()
            if looked_at:
                continue
            delay = await outbox.next_due_in(IDLE_POLL_S)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(outbox.wakeup.wait(), timeout=delay)
        except asyncio.CancelledError:
            raise
        except Exception:  # the database may be down: keep trying
            log.exception("sms worker")
            await asyncio.sleep(2.0)
