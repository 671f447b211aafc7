"""Shard keys: how each collection would be split on a sharded MongoDB cluster.

Anju runs unchanged on one server, a replica set or a sharded cluster; sharding is the
operator's step once a collection outgrows one replica set (docs/scaling.md has the volumes).
This module is where that step is decided, next to the indexes it must agree with:

- `SHARD_KEYS`: the collections that would be sharded, each with its key and why.
- `UNSHARDED`: every other collection, with why it stays whole (small, or a unique rule that no
  shard key could carry).
- A unique index on a sharded collection is enforced by MongoDB only if the shard key is a
  prefix of it; a collection whose `_id` is itself a rule (a claim's name, a provider's event
  id, a retried write's fixed id) is unique across shards only when `_id` is the shard key,
  or when every write that relies on it repeats the same document (so the same shard key
  value, the same shard). `problems()` checks both; tests/test_sharding.py runs it, and so
  fails when an index or a collection is added that the plan does not cover.

`shard_commands()` gives the mongosh commands that apply the plan.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from pymongo import IndexModel

from app.store.indexes import INDEXES, UniqueWhile

HASHED = "hashed"


@dataclass(frozen=True)
class ShardKey:
    fields: tuple[tuple[str, int | str], ...]
    why: str
    # writes that rely on `_id` being unique always repeat the same document
    retried_writes_repeat_the_document: bool = False

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.fields)


SHARD_KEYS: dict[str, ShardKey] = {
    "access_events": ShardKey(
        (("property_id", HASHED), ("at", 1)),
        "8 million a day: the largest collection. A property's events stay together (the door, "
        "property and landlord histories are read a property at a time); the hash spreads "
        "properties, hence writes, evenly over the shards; `at` lets a busy property's "
        "chunks split by time.",
        retried_writes_repeat_the_document=True,  # a retried event rewrites the same one
    ),
    "gateway_events": ShardKey(
        (("_id", HASHED),),
        "As many as the access events (every swipe arrives as one); `_id` is the provider's "
        "eventId, the rule that processes each event once, so it is the key.",
    ),
    "door_commands": ShardKey(
        (("_id", HASHED),),
        "Remote openings, read back by the command's id (the gateway's answer and its "
        "door.opened event); a door's recent commands are a rare, scattered read.",
    ),
    "audit_log": ShardKey(
        (("_id", HASHED),),
        "Append-only and growing with every police look-up and door opening; read by admins "
        "newest first (a scatter-gather of each shard's newest, merged).",
    ),
}

UNSHARDED: dict[str, str] = {
    "accounts": "1.5 million: one replica set; the phone is unique city-wide",
    "sessions": "one per signed-in device, expiring",
    "refresh_tokens": "one per session",
    "login_attempts": "expiring counters",
    "phone_codes": "expiring",
    "rate_limits": "expiring counters",
    "sms_messages": "kept a few days (TTL)",
    "claims": "seconds-long units of work; `_id` is the claim's name",
    "worker_runs": "one per daily background pass (a few a day, kept three days)",
    "payment_followups": "one per payment not yet finished: a handful at any time",
    "properties": "hundreds of thousands",
    "rooms": "about a million; the room number is unique per property",
    "devices": "a few million; a device is bound once, city-wide",
    "listings": "one live listing per room: a rule on room_id, not on any shard key",
    "leases": "one active lease per room; about a million a year",
    "occupants": "two city-wide rules (one current room per person, one card number per "
    "card) that no single shard key can carry; a few million documents",
    "card_jobs": "a few jobs per card change; `_id` is the (door, card, version) rule",
    "invoices": "about 6 million a year, small documents: one replica set for years",
    "payments": "about 6 million a year; one payment per caller and idempotency key",
    "payment_events": "`_id` is the provider's eventId (processed once); small",
    "notifications": "the key is unique city-wide (one reminder per invoice and day); "
    "kept for the retention period; to shard, key it by account first (docs/scaling.md)",
    "alarms": "one open alarm per detector; thousands a year",
    "stats_counters": "one per place and kind",
    "door_rate": "per account, a minute's window",
    "snapshots": "minutes-long (TTL)",
    "inspections": "tens of thousands a year; kept ANJU_RETAIN_FIRE_SAFETY_DAYS",
    "hazards": "one open hazard per cause (a detector, a room), a rule on `cause`, not on any "
    "shard key; a few hundred thousand",
    "safety_checks": "one per property",
    "equipment_added": "one per change of a property's recorded equipment; small",
    "exports": "minutes-long, removed with their file",
    "uploads": "minutes-long: an upload URL expires unless a photo is made of it",
    "photos": "up to 20 a room and a few a repair request: small documents, the bytes are in "
    "storage",
    "maintenance_requests": "a few a room a year",
    "visitor_passes": "short-lived passes, a few a room a month; read by room, issuer, "
    "visitor and place",
    "autopays": "at most one per lease",
    "deposit_settlements": "`_id` is the lease's: a deposit is settled once",
    "meter_rates": "`_id` is the room's: one rate card a room",
    "meter_readings": "a few a room a month: about 12 million a year at most, small "
    "documents; read a room or a lease at a time",
}

# collections whose `_id` carries a rule (a retry or a second sender must collide on it)
ID_IS_A_RULE = frozenset(
    {
        "claims",
        "gateway_events",
        "payment_events",
        "card_jobs",
        "access_events",
        "stats_counters",
        "safety_checks",
    }
)


def unique_keys(collection: str) -> list[tuple[str, tuple[str, ...]]]:
    """(index name, fields) of each unique rule of a collection, as MongoDB would hold it."""
    found: list[tuple[str, tuple[str, ...]]] = []
    for declared in INDEXES.get(collection, []):
        if isinstance(declared, UniqueWhile):
            found.append((declared.name, (declared.key,)))  # a partial unique index on it
        elif isinstance(declared, IndexModel) and declared.document.get("unique"):
            found.append((declared.document["name"], tuple(declared.document["key"])))
    return found


def problems() -> list[str]:
    """Every way the plan and the declared indexes disagree."""
    found = []
    for collection in sorted(set(INDEXES) - set(SHARD_KEYS) - set(UNSHARDED)):
        found.append(f"{collection}: neither in SHARD_KEYS nor in UNSHARDED")
    for collection in sorted(set(SHARD_KEYS) & set(UNSHARDED)):
        found.append(f"{collection}: both sharded and unsharded")
    for collection, key in SHARD_KEYS.items():
        if collection not in INDEXES:
            found.append(f"{collection}: sharded but not a declared collection")
        if sum(1 for _, kind in key.fields if kind == HASHED) > 1:
            found.append(f"{collection}: at most one hashed field in a shard key")
        for name, fields in unique_keys(collection):
            if fields[: len(key.names)] != key.names:
                found.append(
                    f"{collection}: unique index {name} {fields} does not start with the "
                    f"shard key {key.names}: MongoDB could not enforce it across shards"
                )
        if (
            collection in ID_IS_A_RULE
            and key.names != ("_id",)
            and not key.retried_writes_repeat_the_document
        ):
            found.append(f"{collection}: _id carries a rule but is not the shard key")
    return found


def shard_commands(database: str) -> list[str]:
    """The mongosh commands that shard the collections of `database` as planned."""
    lines = [f'sh.enableSharding("{database}")']
    for collection, key in SHARD_KEYS.items():
        spec = json.dumps(dict(key.fields))
        lines.append(f'sh.shardCollection("{database}.{collection}", {spec})')
    return lines
