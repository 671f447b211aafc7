"""The rent worker: RENT_DUE notifications once a UTC day (by one worker process of all: the
first to mark the day in `worker_runs`), and every INTERVAL_S the payments a crash or a lost
answer left unfinished (less often if a pass is slow: app/workers/pacing.py)."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

from app import metrics
from app.clock import now, today
from app.deps import Deps
from app.services import payment_events, rent_reminders
from app.workers.pacing import Pace

log = logging.getLogger("anju.rent")

INTERVAL_S = 60.0
DAY_MARK_KEPT = dt.timedelta(days=3)


async def rent_due_once_today(deps: Deps) -> bool:
    """Sends today's RENT_DUE notices unless another worker process has taken today's pass;
    whether this one did. (A pass that dies half-way is made up by the next day's, whose
    window still holds the invoices due later, and by each tenant's own look at their
    notifications.)"""
    day = today().isoformat()
    mark = {"_id": f"rent_due:{day}", "at": now(), "expires_at": now() + DAY_MARK_KEPT}
    if not await deps.store.insert_once("worker_runs", mark):
        return False
    await rent_reminders.send_rent_due(deps.store)
    return True


async def run(deps: Deps, interval: float = INTERVAL_S) -> None:
    loop = asyncio.get_running_loop()
    pace = Pace(interval)
    passed_on: dt.date | None = None
    while True:
        started = loop.time()
        try:
            with metrics.background_pass("rent"):
                if passed_on != today():
                    await rent_due_once_today(deps)
                    passed_on = today()
                await payment_events.reconcile(deps)
        except asyncio.CancelledError:
            raise
        except Exception:  # a database hiccup must not end the worker
            log.exception("rent worker pass failed")
        await asyncio.sleep(pace.ran(started, loop.time()))
