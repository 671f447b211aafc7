"""The rent worker: every ANJU_RENT_WORKER_INTERVAL_S (less often if a pass is slow:
app/workers/pacing.py), RENT_DUE notifications, late fees (one day at a time), autopay's
charges, then payments a crash or a lost answer left unfinished. Each step reads only what is
due (an indexed date or time), so an idle pass costs a few empty queries; each is safe with
any number of workers (see the services)."""

from __future__ import annotations

import asyncio
import logging

from app import metrics
from app.deps import Deps
from app.services import autopay_charges, late_fees, payment_events, rent_reminders
from app.workers.pacing import Pace

log = logging.getLogger("anju.rent")


async def run(deps: Deps, interval: float | None = None) -> None:
    loop = asyncio.get_running_loop()
    pace = Pace(interval or deps.settings.rent_worker_interval_s)
    while True:
        started = loop.time()
        with metrics.background_pass("rent"):
            for step in (
                lambda: rent_reminders.send_rent_due(deps.store),
                lambda: late_fees.accrue_due(deps.store),
                lambda: autopay_charges.run_due(deps),
                lambda: payment_events.reconcile(deps),
            ):
                try:
                    await step()
                except asyncio.CancelledError:
                    raise
                except Exception:  # a database hiccup must not end the worker
                    log.exception("rent worker step failed")
        await asyncio.sleep(pace.ran(started, loop.time()))
