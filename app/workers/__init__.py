"""Background loops, started by the lifespan once the database is ready and cancelled at
shutdown: the card outbox, the rent worker, the SMS outbox, the photo janitor, the retention
sweep, the fire-safety worker, and (on engines without TTL indexes) expiry."""

from __future__ import annotations

import asyncio
from typing import Any

from app.deps import Deps
from app.workers import cards, expiry, photos, rent, retention, safety, sms


def start(deps: Deps) -> list[asyncio.Task[Any]]:
    tasks = [
        asyncio.create_task(cards.run(deps.outbox), name="card-worker"),
        asyncio.create_task(rent.run(deps), name="rent-worker"),
        asyncio.create_task(sms.run(deps.sms), name="sms-worker"),
        asyncio.create_task(photos.run(deps), name="photo-janitor"),
        asyncio.create_task(retention.run(deps), name="retention-worker"),
        asyncio.create_task(safety.run(deps), name="safety-worker"),
    ]
    if not deps.store.engine.ttl_indexes:
        tasks.append(asyncio.create_task(expiry.run(deps.store), name="expiry-worker"))
    return tasks
