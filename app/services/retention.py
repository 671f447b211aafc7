"""What Anju keeps, why, and for how long: the retention table, and the sweep that enforces
it.

Data that expires by a rule of its own (phone codes, rate-limit counters, log-in attempts,
queued text messages, claims, snapshots) carries `expires_at` under a TTL index (on FerretDB v1,
which has none, the store's expiry worker removes it). What the law or the service needs for a
while and then no longer is listed in RETENTION below, each row with its setting (days, lawful
defaults) and the time it is counted from; a background sweep (app/workers/retention.py)
removes what is older, with one indexed range delete per row, on every engine (the periods are
settings, which a TTL index could not follow without rebuilding it).

Not here, on purpose: the audit log (append-only and hash-chained: Anju never deletes an entry;
an operator archives old ones, app/audit_chain.py), the real-name register (occupants), leases,
invoices and payments (the register's and the accounts' records, kept as their own rules
require), accounts and properties (live objects).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from app.clock import now
from app.settings import Settings
from app.store import Store

log = logging.getLogger("anju.retention")


@dataclass(frozen=True)
class Kept:
    what: str
    collection: str
    # the time the period is counted from (indexed: app/store/indexes.py)
    field: str
    # the Settings attribute holding the period, in days
    setting: str
    why: str


RETENTION: tuple[Kept, ...] = (
    Kept(
        "door access events (card swipes, remote openings, refusals)",
        "access_events",
        "created_at",
        "retain_access_events_days",
        "police look-ups of door history and landlords' own doors",
    ),
    Kept(
        "remote door commands",
        "door_commands",
        "requested_at",
        "retain_door_commands_days",
        "what was asked of the gateway, for disputes about an opening",
    ),
    Kept(
        "device gateway webhook events (unknown devices' too)",
        "gateway_events",
        "received_at",
        "retain_device_events_days",
        "each event applied once (a repeat inside this period is recognised)",
    ),
    Kept(
        "payment provider webhook events",
        "payment_events",
        "received_at",
        "retain_payment_events_days",
        "each event applied once; reconciliation with the provider",
    ),
    Kept(
        "notifications",
        "notifications",
        "created_at",
        "retain_notifications_days",
        "the account's inbox",
    ),
    Kept(
        "sessions, once expired",
        "sessions",
        "expires_at",
        "retain_sessions_days",
        "an account's recent sign-ins, for its own security review",
    ),
    Kept(
        "sessions, once ended (log-out, password change, disabled account)",
        "sessions",
        "revoked_at",
        "retain_sessions_days",
        "the same",
    ),
    Kept(
        "refresh tokens (hashes), once expired",
        "refresh_tokens",
        "expires_at",
        "retain_sessions_days",
        "a reused token revokes its session while it could still be presented",
    ),
    Kept(
        "card changes sent to the doors, once done",
        "card_jobs",
        "done_at",
        "retain_card_jobs_days",
        "which card each door was told, for support",
    ),
    Kept(
        "fire-safety inspections (their checklist photos are kept as long)",
        "inspections",
        "inspected_at",
        "retain_fire_safety_days",
        "the inspection record of a property, for the next inspection and enforcement",
    ),
    Kept(
        "fire-safety hazards, once rectified",
        "hazards",
        "rectified_at",
        "retain_fire_safety_days",
        "the rectification ledger (隐患整改台账) of a town",
    ),
)


def cutoff(kept: Kept, settings: Settings, at: dt.datetime) -> dt.datetime:
    return at - dt.timedelta(days=int(getattr(settings, kept.setting)))


async def sweep(store: Store, settings: Settings) -> dict[str, int]:
    """Removes everything older than its row's period; returns how many went, per
    collection. Each row is one range delete (`field < cutoff`; documents without the field
    set, a live session's `revoked_at`, are never matched)."""
    at = now()
    removed: dict[str, int] = {}
    for kept in RETENTION:
        result = await store[kept.collection].delete_many(
            {kept.field: {"$lt": cutoff(kept, settings, at), "$ne": None}}
        )
        removed[kept.collection] = removed.get(kept.collection, 0) + result.deleted_count
    if any(removed.values()):
        log.info(
            "retention sweep removed %s",
            ", ".join(f"{n} {name}" for name, n in removed.items() if n),
        )
    return removed
