"""The one database client of a process, the collections, and the declared index list.

The client is made in the application's lifespan (never at import, never before a fork) and
closed in `finally`. Indexes are declared here, in one list, and ensured at start-up; creating
an index that exists is a no-op, so this is idempotent.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from dataclasses import dataclass, field
from typing import Any

from pymongo import ASCENDING, DESCENDING, AsyncMongoClient, IndexModel, monitoring
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import OperationFailure

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
    # listings domain: one live listing per room (live_key is the room id while live, the
    # listing's own id after), and one index per search shape: equality (live, town or
    # community), then the sort, then the ranges (rent, area, location box, available date)
    "listings": [
        IndexModel([("live_key", ASCENDING)], unique=True, name="one_live_per_room"),
        IndexModel([("property_id", ASCENDING)], name="property"),
        IndexModel(
            [("live", ASCENDING), ("published_at", DESCENDING), ("_id", DESCENDING)],
            name="newest",
        ),
        IndexModel(
            [
                ("live", ASCENDING),
                ("place.community", ASCENDING),
                ("published_at", DESCENDING),
                ("_id", DESCENDING),
            ],
            name="community_newest",
        ),
        IndexModel(
            [
                ("live", ASCENDING),
                ("place.town", ASCENDING),
                ("published_at", DESCENDING),
                ("_id", DESCENDING),
            ],
            name="town_newest",
        ),
        IndexModel(
            [("live", ASCENDING), ("monthly_rent_fen", ASCENDING), ("_id", ASCENDING)],
            name="rent",
        ),
        IndexModel([("live", ASCENDING), ("area_sqm", ASCENDING), ("_id", ASCENDING)], name="area"),
        IndexModel(
            [("live", ASCENDING), ("location.lat", ASCENDING), ("location.lng", ASCENDING)],
            name="location_box",
        ),
        IndexModel([("live", ASCENDING), ("available_from", ASCENDING)], name="available"),
    ],
    # doors domain: the access log is read newest first, by door, property, person or card
    "access_events": [
        IndexModel([("door_id", ASCENDING), ("at", DESCENDING), ("_id", DESCENDING)], name="door"),
        IndexModel(
            [("property_id", ASCENDING), ("at", DESCENDING), ("_id", DESCENDING)],
            name="property",
        ),
        IndexModel(
            [("landlord_id", ASCENDING), ("at", DESCENDING), ("_id", DESCENDING)],
            name="landlord",
        ),
        IndexModel(
            [("occupant_id", ASCENDING), ("at", DESCENDING), ("_id", DESCENDING)],
            name="occupant",
        ),
        IndexModel(
            [("card_number", ASCENDING), ("at", DESCENDING), ("_id", DESCENDING)], name="card"
        ),
    ],
    "door_commands": [
        IndexModel([("door_id", ASCENDING), ("requested_at", DESCENDING)], name="door"),
    ],
    "door_rate": [
        IndexModel([("account_id", ASCENDING), ("at", ASCENDING)], name="account"),
    ],
    "gateway_events": [
        IndexModel([("device_id", ASCENDING), ("at", DESCENDING)], name="device"),
    ],
    "snapshots": [
        IndexModel([("expires_at", ASCENDING)], name="expiry"),
    ],
    # leases domain: one ACTIVE lease per room (active_key is the room id while ACTIVE, the
    # lease's own id after); a tenant's leases newest first; the room's active lease
    "leases": [
        IndexModel([("active_key", ASCENDING)], unique=True, name="one_active_per_room"),
        IndexModel(
            [("tenant_id", ASCENDING), ("created_at", DESCENDING), ("_id", DESCENDING)],
            name="tenant",
        ),
        IndexModel([("landlord_id", ASCENDING), ("_id", ASCENDING)], name="landlord"),
        IndexModel([("room_id", ASCENDING), ("status", ASCENDING)], name="room"),
    ],
    # one card number per card (a swipe finds its occupant by it); the ID number's keyed hash
    # for exact look-up; a lease's, room's and property's current occupants; unqueued cards
    "occupants": [
        IndexModel([("card.card_number", ASCENDING)], unique=True, name="card_number_unique"),
        IndexModel([("id_number_hash", ASCENDING)], name="id_number"),
        # the police register: by name prefix, phone, and place, newest arrivals first
        IndexModel([("name", ASCENDING), ("arrived_at", DESCENDING)], name="register_name"),
        IndexModel([("phone", ASCENDING), ("arrived_at", DESCENDING)], name="register_phone"),
        IndexModel(
            [("place.town", ASCENDING), ("place.community", ASCENDING), ("arrived_at", DESCENDING)],
            name="register_place",
        ),
        IndexModel(
            [("lease_id", ASCENDING), ("arrived_at", ASCENDING), ("_id", ASCENDING)], name="lease"
        ),
        IndexModel([("room_id", ASCENDING), ("left_at", ASCENDING)], name="room_current"),
        IndexModel([("property_id", ASCENDING), ("left_at", ASCENDING)], name="property_current"),
        IndexModel([("card.queued", ASCENDING), ("card.changed_at", ASCENDING)], name="unqueued"),
    ],
    # _id is the keyed hash of a current occupant's ID number: one room at a time per person
    "current_registrations": [],
    # _id is a lock's name (app/services/locks.py): held by whoever inserted it
    "locks": [],
    # the card outbox, one job per (door, card, version): due jobs, a pair's versions, and
    # what is pending per lease and person
    "card_jobs": [
        IndexModel([("state", ASCENDING), ("next_attempt_at", ASCENDING)], name="due"),
        IndexModel(
            [("key", ASCENDING), ("state", ASCENDING), ("version", DESCENDING)], name="pair"
        ),
        IndexModel([("lease_id", ASCENDING), ("state", ASCENDING)], name="lease"),
        IndexModel([("occupant_id", ASCENDING), ("state", ASCENDING)], name="occupant"),
    ],
    # invoices: the leases domain creates them (add its indexes here too); rent reads them by
    # landlord and month (rent roll) and by due date (RENT_DUE)
    "invoices": [
        IndexModel(
            [("lease_id", ASCENDING), ("period_start", ASCENDING), ("_id", ASCENDING)],
            name="lease",
        ),
        IndexModel([("landlord_id", ASCENDING), ("period_start", ASCENDING)], name="rent_roll"),
        IndexModel([("due_date", ASCENDING)], name="due"),
        IndexModel([("tenant_id", ASCENDING), ("due_date", ASCENDING)], name="tenant_due"),
    ],
    # rent: one payment per caller and idempotency key; the webhook finds it by charge id
    "payments": [
        IndexModel(
            [("account_id", ASCENDING), ("idempotency_key", ASCENDING)],
            unique=True,
            name="idempotency_key_unique",
        ),
        IndexModel([("charge_id", ASCENDING)], name="charge"),
        IndexModel([("invoice_id", ASCENDING), ("created_at", ASCENDING)], name="invoice"),
        IndexModel([("applied", ASCENDING), ("updated_at", ASCENDING)], name="unfinished"),
    ],
    "payment_events": [],  # _id is the provider's eventId: processed once
    "notifications": [
        IndexModel([("key", ASCENDING)], unique=True, name="key_unique"),
        IndexModel(
            [("account_id", ASCENDING), ("created_at", DESCENDING), ("_id", DESCENDING)],
            name="account",
        ),
        IndexModel([("created_at", ASCENDING), ("_id", ASCENDING)], name="live"),
    ],
}


@dataclass
class RoundTrips:
    """Database commands sent on behalf of one request."""

    count: int = 0
    commands: list[str] = field(default_factory=list)
    # the commands themselves, kept only when the benchmark asks (ANJU_BENCH_ROUTES), so that
    # it can explain each query an operation sends
    captured: list[dict[str, Any]] | None = None


current_round_trips: contextvars.ContextVar[RoundTrips | None] = contextvars.ContextVar(
    "current_round_trips", default=None
)


EXPLAINABLE = frozenset({"find", "count", "aggregate", "findAndModify", "update", "delete"})
_SESSION_FIELDS = frozenset({"lsid", "$db", "$clusterTime", "$readPreference", "txnNumber"})


class _RoundTripCounter(monitoring.CommandListener):
    """Counts commands per request (the figure the benchmark and the DataLoader tests read)."""

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        counter = current_round_trips.get()
        if counter is not None:
            counter.count += 1
            counter.commands.append(event.command_name)
            if counter.captured is not None and event.command_name in EXPLAINABLE:
                kept = {k: v for k, v in event.command.items() if k not in _SESSION_FIELDS}
                counter.captured.append({**kept, "$db": event.database_name})

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
        socketTimeoutMS=settings.mongodb_socket_timeout_ms,
        # the per-request command count costs an event object per command: only where the
        # figures are shown (development, tests, benchmarks)
        event_listeners=[_RoundTripCounter()] if settings.expose_metrics else [],
        appname="anju",
    )


async def find_by_id(
    collection: AsyncCollection[Doc],
    oid: Any,
    projection: dict[str, int] | None = None,
    **must: Any,
) -> Doc | None:
    """The document with this `_id` if each field in `must` equals the value given (its
    owner, its kind), else None. Read by `_id` alone and compared here: on MongoDB the same
    index serves either form, and `{_id: x}` is the one filter FerretDB v1 answers without
    reading the whole collection."""
    if projection is not None:
        projection = {**projection, **dict.fromkeys(must, 1)}
    doc = await collection.find_one({"_id": oid}, projection)
    if doc is None or any(doc.get(name) != value for name, value in must.items()):
        return None
    return doc


async def find_by_ids(
    collection: AsyncCollection[Doc], ids: list[Any], point_lookups: bool
) -> dict[Any, Doc]:
    """The documents with these `_id`s, by `_id` (missing ones left out). With
    `point_lookups` (FerretDB v1, where an `$in` is a scan and `{_id: x}` is not: see
    services/listings.detect_capabilities), or for a single id, each is read by `_id`, all at
    once; otherwise with one `$in`."""
    distinct = list(dict.fromkeys(ids))
    if not distinct:
        return {}
    if point_lookups or len(distinct) == 1:
        found = await asyncio.gather(*(collection.find_one({"_id": i}) for i in distinct))
        return {doc["_id"]: doc for doc in found if doc is not None}
    return {doc["_id"]: doc async for doc in collection.find({"_id": {"$in": distinct}})}


async def ensure_indexes(db: AsyncDatabase[Doc]) -> None:
    """Creates the declared indexes that are missing, one at a time: FerretDB v1 drops the
    connection when one createIndexes command names several indexes that already exist."""
    for collection, models in INDEXES.items():
        if not models:
            continue
        existing = await _index_names(db, collection)
        for model in models:
            if model.document["name"] in existing:
                continue
            try:
                await db[collection].create_indexes([model])
            except OperationFailure:
                # Another process (a second worker starting, the city loader) created it
                # between our listing and our command: FerretDB answers "already exists"
                # where MongoDB accepts the same index twice. Anything else is raised.
                if model.document["name"] not in await _index_names(db, collection):
                    raise


async def _index_names(db: AsyncDatabase[Doc], collection: str) -> set[str]:
    return {ix["name"] async for ix in await db[collection].list_indexes()}


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
    "find_by_id",
    "find_by_ids",
    "make_client",
    "ping",
]
