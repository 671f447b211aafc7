"""The rent worker: every INTERVAL_S (less often if a pass is slow: app/workers/pacing.py),
RENT_DUE notifications, then payments a crash or a lost answer left unfinished."""

from __future__ import annotations

import asyncio
import logging

from app import metrics
from app.deps import Deps
from app.services import payment_events, rent_reminders
from app.workers.pacing import Pace

log = logging.getLogger("anju.rent")

INTERVAL_S = 60.0


async def run(deps: Deps, interval: float = INTERVAL_S) -> None:
    loop = asyncio.get_running_loop()
    pace = Pace(interval)
    while True:
        started = loop.time()
        try:
            with metrics.background_pass("rent"):
                await rent_reminders.send_rent_due(deps.store)
                await payment_events.reconcile(deps)
        except asyncio.CancelledError:
            raise
        except Exception:  # a database hiccup must not end the worker
            log.exception("rent worker pass failed")
        await asyncio.sleep(pace.ran(started, loop.time()))
