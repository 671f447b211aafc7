"""The one database client of a process, the collections, and the declared index list.

The client is made in the application's lifespan (never at import, never before a fork) and
closed in `finally`. Indexes are declared here, in one list, and ensured at start-up; creating
an index that exists is a no-op, so this is idempotent.
"""

from __future__ import annotations

import contextvars
import logging
from dataclasses import dataclass, field
from typing import Any

from pymongo import ASCENDING, DESCENDING, AsyncMongoClient, IndexModel, monitoring
from pymongo.asynchronous.database import AsyncDatabase

from app.settings import Settings

log = logging.getLogger("anju.db")

Doc = dict[str, Any]

# Each collection's indexes. Unique indexes carry the rules the services rely on (one live
# listing per room, one device bound once, one payment per idempotency key...): enforce
# uniqueness through inserts, which FerretDB reports as a normal duplicate-key error.
INDEXES: dict[str, list[IndexModel]] = {
    "accounts": [
        IndexModel([("phone", ASCENDING)], unique=True, name="phone_unique"),
        IndexModel([("role", ASCENDING), ("_id", ASCENDING)], name="role"),
    ],
    "refresh_tokens": [
        IndexModel([("session_id", ASCENDING)], name="session"),
    ],
    "sessions": [
        IndexModel([("account_id", ASCENDING)], name="account"),
    ],
    "login_attempts": [],
    "audit_log": [
        IndexModel([("at", DESCENDING), ("_id", DESCENDING)], name="at"),
    ],
    "properties": [
        IndexModel([("landlord_id", ASCENDING), ("_id", ASCENDING)], name="landlord"),
        IndexModel(
            [("place.town", ASCENDING), ("place.community", ASCENDING), ("place.grid", ASCENDING)],
            name="place",
        ),
    ],
    "rooms": [
        IndexModel(
            [("property_id", ASCENDING), ("number", ASCENDING)],
            unique=True,
            name="number_unique_in_property",
        ),
        IndexModel(
            [
                ("property_id", ASCENDING),
                ("floor", ASCENDING),
                ("number", ASCENDING),
                ("_id", ASCENDING),
            ],
            name="property_order",
        ),
        IndexModel([("landlord_id", ASCENDING)], name="landlord"),
    ],
    "stats_counters": [
        IndexModel(
            [("town", ASCENDING), ("community", ASCENDING), ("grid", ASCENDING)], name="place"
        ),
    ],
    "alarms": [
        IndexModel(
            [("landlord_id", ASCENDING), ("raised_at", DESCENDING), ("_id", DESCENDING)],
            name="landlord",
        ),
        IndexModel(
            [
                ("place.town", ASCENDING),
                ("place.community", ASCENDING),
                ("raised_at", DESCENDING),
                ("_id", DESCENDING),
            ],
            name="place",
        ),
        IndexModel([("created_at", ASCENDING), ("_id", ASCENDING)], name="live"),
    ],
    "devices": [
        IndexModel([("device_id", ASCENDING)], unique=True, name="device_bound_once"),
        IndexModel([("property_id", ASCENDING), ("kind", ASCENDING)], name="property"),
        IndexModel([("room_id", ASCENDING)], name="room"),
    ],
}


@dataclass
class RoundTrips:
    """Database commands sent on behalf of one request."""

    count: int = 0
    commands: list[str] = field(default_factory=list)


current_round_trips: contextvars.ContextVar[RoundTrips | None] = contextvars.ContextVar(
    "current_round_trips", default=None
)


class _RoundTripCounter(monitoring.CommandListener):
    """Counts commands per request (the figure the benchmark and the DataLoader tests read)."""

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        counter = current_round_trips.get()
        if counter is not None:
            counter.count += 1
            counter.commands.append(event.command_name)

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


def make_client(settings: Settings) -> AsyncMongoClient[Doc]:
    return AsyncMongoClient(
        settings.effective_mongodb_uri,
        tz_aware=True,
        serverSelectionTimeoutMS=3000,
        connectTimeoutMS=2000,
        socketTimeoutMS=20000,
        event_listeners=[_RoundTripCounter()],
        appname="anju",
    )


async def ensure_indexes(db: AsyncDatabase[Doc]) -> None:
    """Creates the declared indexes that are missing, one at a time: FerretDB v1 drops the
    connection when one createIndexes command names several indexes that already exist."""
    for collection, models in INDEXES.items():
        if not models:
            continue
        existing = {ix["name"] async for ix in await db[collection].list_indexes()}
        for model in models:
            if model.document["name"] not in existing:
                await db[collection].create_indexes([model])


async def ping(db: AsyncDatabase[Doc]) -> None:
    await db.command("ping")


__all__ = [
    "ASCENDING",
    "DESCENDING",
    "INDEXES",
    "Doc",
    "RoundTrips",
    "current_round_trips",
    "ensure_indexes",
    "make_client",
    "ping",
]
