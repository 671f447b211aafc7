"""The retention sweep (app/services/retention.py): every ANJU_RETENTION_SWEEP_S (hourly by
default), by one worker at a time across the deployment (a claim; the others skip a pass that
someone made within the interval), less often if a pass is slow (app/workers/pacing.py)."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

from app.clock import now
from app.deps import Deps
from app.services import retention
from app.workers.pacing import Pace

log = logging.getLogger("anju.retention")

CLAIM = "retention-sweep"
MARK = "retention-sweep"  # in `claims` too: when the last sweep finished (expires as claims do)


async def run_once(deps: Deps) -> dict[str, int] | None:
    """One sweep unless another worker holds it or made one within the interval."""
    store, settings = deps.store, deps.settings
    claim = await store.claim(CLAIM)
    if claim is None:
        return None
    try:
        last = await store.claims.find_one({"_id": f"{MARK}:done"})
        if last is not None and last["expires_at"] > now():
            return None
        removed = await retention.sweep(store, settings)
        at = now()
        await store.claims.update_one(
            {"_id": f"{MARK}:done"},
            {
                "$set": {
                    "expires_at": at + dt.timedelta(seconds=settings.retention_sweep_s * 0.9),
                    "created_at": at,
                }
            },
            upsert=True,
        )
        return removed
    finally:
        await store.release(claim)


async def run(deps: Deps) -> None:
    loop = asyncio.get_running_loop()
    pace = Pace(float(deps.settings.retention_sweep_s))
    while True:
        started = loop.time()
        try:
            await run_once(deps)
        except asyncio.CancelledError:
            raise
        except Exception:  # the database may be down: the next pass tries again
            log.exception("retention sweep failed")
        await asyncio.sleep(pace.ran(started, loop.time()))
