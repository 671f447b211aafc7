"""The photo janitor: removes expired uploads (their bytes too) and purges photos whose time
has come (removed ones whose bytes could not be deleted at once, closed repair requests'
after their retention). Neither is urgent: a pass every ANJU_PHOTO_SWEEP_INTERVAL_S (two
indexed queries that find nothing, when idle), spaced further when a pass is slow."""

from __future__ import annotations

import asyncio
import logging

from app.deps import Deps
from app.services import photos, uploads
from app.workers.pacing import Pace

log = logging.getLogger("anju.photos")


async def run(deps: Deps) -> None:
    loop = asyncio.get_running_loop()
    pace = Pace(deps.settings.photo_sweep_interval_s)
    while True:
        started = loop.time()
        try:
            await uploads.sweep(deps)
            await photos.purge_due(deps)
        except asyncio.CancelledError:
            raise
        except Exception:  # the database or the storage may be down: the next pass retries
            log.exception("photo janitor pass failed")
        await asyncio.sleep(pace.ran(started, loop.time()))
