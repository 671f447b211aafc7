"""Removes expired documents (claims, snapshots) where the engine keeps no TTL index
(app/store); on MongoDB its TTL monitor does it and this worker is not started."""

from __future__ import annotations

import asyncio
import logging

from app import metrics
from app.store import Store
from app.workers.pacing import Pace

log = logging.getLogger("anju.store")

INTERVAL_S = 60.0


async def run(store: Store, interval: float = INTERVAL_S) -> None:
    loop = asyncio.get_running_loop()
    pace = Pace(interval)
    while True:
        started = loop.time()
        try:
            with metrics.background_pass("expiry"):
                await store.expire()
        except asyncio.CancelledError:
            raise
        except Exception:  # the database may be down: keep trying
            log.exception("expiry pass failed")
        await asyncio.sleep(pace.ran(started, loop.time()))
