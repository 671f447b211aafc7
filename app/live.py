"""Live delivery to subscriptions, across workers and machines, through the database.

Mechanism: an indexed poll. Each worker process runs one poller per watched collection
(notifications, alarms) while it has subscribers; every `interval` it asks for documents
created since its last look (`created_at >= since - overlap`, served by an index), drops the
ones it has already seen, and hands each new one to the subscribers it matches.

Why not the alternatives: FerretDB (our development and test server) has no change streams
and no tailable-cursor guarantees, and a standalone MongoDB has no change streams either;
memory of one process would miss what another worker or machine wrote. The poll works on all
of them, costs one indexed query per worker per interval whatever the number of subscribers,
and bounds delivery latency by the interval (0.25 s). The overlap absorbs clock skew between
writers and inserts that commit out of order; the seen-set (bounded) removes the duplicates
that the overlap brings back. On a replica set, a change stream could replace the poll behind
a capability check without changing the subscribers.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from app import metrics
from app.clock import now
from app.store import Doc

log = logging.getLogger("anju.live")

OVERLAP = dt.timedelta(seconds=5)
SEEN_LIMIT = 10_000
QUEUE_LIMIT = 256


@dataclass(eq=False)
class _Subscriber:
    match: Callable[[Doc], bool]
    queue: asyncio.Queue[Doc] = field(default_factory=lambda: asyncio.Queue(QUEUE_LIMIT))


class _Poller:
    def __init__(self, db: AsyncDatabase[Doc], collection: str, interval: float) -> None:
        self.db = db
        self.collection = collection
        self.interval = interval
        self.subscribers: set[_Subscriber] = set()
        self.seen: OrderedDict[Any, None] = OrderedDict()
        self.since = now()
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self.task is None or self.task.done():
            self.since = now()
            self.task = asyncio.create_task(self._run(), name=f"live-{self.collection}")

    async def _run(self) -> None:
        # what was written before anyone subscribed is history, not news: mark it seen
        try:
            await self.poll_once(deliver=False)
        except Exception as exc:  # noqa: BLE001 - the next polls will still run
            log.warning("live poll of %s failed: %s", self.collection, exc)
        while self.subscribers:
            try:
                await self.poll_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - a database hiccup must not end delivery
                log.warning("live poll of %s failed: %s", self.collection, exc)
            await asyncio.sleep(self.interval)

    async def poll_once(self, *, deliver: bool = True) -> None:
        cursor = self.db[self.collection].find(
            {"created_at": {"$gte": self.since - OVERLAP}}, sort=[("created_at", 1), ("_id", 1)]
        )
        newest = self.since
        async for doc in cursor:
            newest = max(newest, doc["created_at"])
            if doc["_id"] in self.seen:
                continue
            self.seen[doc["_id"]] = None
            if len(self.seen) > SEEN_LIMIT:
                self.seen.popitem(last=False)
            for sub in list(self.subscribers) if deliver else ():
                if sub.match(doc) and not sub.queue.full():
                    sub.queue.put_nowait(doc)
        self.since = newest

    async def stop(self) -> None:
        if self.task:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task


class LiveFeed:
    """Created once per process by the lifespan; subscriptions iterate `watch(...)`."""

    def __init__(self, db: AsyncDatabase[Doc], interval: float = 0.25) -> None:
        self._db = db
        self._interval = interval
        self._pollers: dict[str, _Poller] = {}

    async def watch(self, collection: str, match: Callable[[Doc], bool]) -> AsyncIterator[Doc]:
        """New documents of `collection` (from now on) that `match`, as they are written."""
        poller = self._pollers.get(collection)
        if poller is None:
            poller = self._pollers[collection] = _Poller(self._db, collection, self._interval)
        sub = _Subscriber(match)
        poller.subscribers.add(sub)
        poller.start()
        try:
            with metrics.subscription(collection):
                while True:
                    doc = await sub.queue.get()
                    metrics.delivered(collection, (now() - doc["created_at"]).total_seconds())
                    yield doc
        finally:
            poller.subscribers.discard(sub)

    async def close(self) -> None:
        for poller in self._pollers.values():
            await poller.stop()
