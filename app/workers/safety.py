"""The fire-safety worker: each pass sends the hazard notices due (app/services/
hazard_deadlines.py: three days before a deadline, and overdue with the escalation to the
town), looks again at the properties marked for their own hazards (app/services/
safety_checks.py: detectors offline, let rooms without one, equipment below the standard) and
removes expired hazard exports with their files (app/services/hazard_exports.py).

Every part reads only what is due, by an indexed range on a time field (`next_check_at`,
`check_at`, `expires_at`): an idle pass is three queries that find nothing. A pass every
ANJU_SAFETY_WORKER_INTERVAL_S, spaced further when a pass is slow (app/workers/pacing.py).
"""

from __future__ import annotations

import asyncio
import logging

from app import metrics
from app.deps import Deps
from app.services import hazard_deadlines, hazard_exports, safety_checks
from app.workers.pacing import Pace

log = logging.getLogger("anju.safety")


async def run(deps: Deps) -> None:
    loop = asyncio.get_running_loop()
    pace = Pace(deps.settings.safety_worker_interval_s)
    while True:
        started = loop.time()
        with metrics.background_pass("safety"):
            for step in (
                lambda: hazard_deadlines.send_due(deps.store),
                lambda: safety_checks.run_due(deps),
                lambda: hazard_exports.sweep(deps),
            ):
                try:
                    await step()
                except asyncio.CancelledError:
                    raise
                except Exception:  # the database or the storage may be down: next pass
                    log.exception("safety worker step failed")
        await asyncio.sleep(pace.ran(started, loop.time()))
