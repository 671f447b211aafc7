"""Every collection's indexes, declared in one list and ensured at start-up (idempotently).

Unique indexes carry rules the services rely on (one device bound once, one payment per
idempotency key, one card number per card). `UniqueWhile` carries a rule that holds only for
documents in a state (one *live* listing per room, one *active* lease per room, one *current*
registration per person, one *open* alarm per detector): a partial unique index on MongoDB,
restored on engines without partial indexes by the store (app/store/shadow.py). Indexes with
`expireAfterSeconds` are TTL indexes; on engines without them the store's expiry pass removes
what has expired (app/store/store.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import OperationFailure

from app.store.engine import Engine
from app.store.types import Doc

A, D = ASCENDING, DESCENDING


@dataclass(frozen=True)
class UniqueWhile:
    """At most one document per value of `key` while the document's `field` equals `value`."""

    name: str
    key: str
    field: str
    value: Any

    @property
    def shadow(self) -> str:
        """The field that carries the rule on an engine without partial indexes: the key's
        value while the state holds, the document's own `_id` after."""
        return f"unique_{self.name}"

    def model(self, engine: Engine) -> IndexModel:
        if engine.partial_indexes:
            return IndexModel(
                [(self.key, A)],
                unique=True,
                partialFilterExpression={self.field: self.value},
                name=self.name,
            )
        return IndexModel([(self.shadow, A)], unique=True, name=self.name)


def ix(*keys: tuple[str, int], name: str, **options: Any) -> IndexModel:
    return IndexModel(list(keys), name=name, **options)


Declared = IndexModel | UniqueWhile

INDEXES: dict[str, list[Declared]] = {
    "accounts": [
        ix(("phone", A), name="phone_unique", unique=True),
        ix(("role", A), ("_id", A), name="role"),
        ix(("status", A), ("_id", A), name="status"),
        # the responders of a town (who hears of a hazard: app/services/hazard_notices.py)
        ix(("role", A), ("scope.town", A), name="role_town"),
    ],
    # the retention sweep's range deletes (app/services/retention.py) have an index each
    "refresh_tokens": [
        ix(("session_id", A), name="session"),
        ix(("expires_at", A), name="retention"),
    ],
    "sessions": [
        ix(("account_id", A), ("revoked_at", A), name="account_live"),
        ix(("expires_at", A), name="retention_expired"),
        ix(("revoked_at", A), name="retention_revoked"),
    ],
    # counted attempts and lockouts per phone, forgotten when they expire
    "login_attempts": [ix(("expires_at", A), name="expiry", expireAfterSeconds=0)],
    # phone codes (one per phone and purpose), rate-limit counters, queued text messages
    "phone_codes": [ix(("expires_at", A), name="expiry", expireAfterSeconds=0)],
    "rate_limits": [ix(("expires_at", A), name="expiry", expireAfterSeconds=0)],
    "sms_messages": [
        ix(("state", A), ("next_attempt_at", A), name="due"),
        ix(("state", A), ("created_at", A), name="backlog"),
        ix(("expires_at", A), name="expiry", expireAfterSeconds=0),
    ],
    "audit_log": [ix(("at", D), ("_id", D), name="at")],
    "properties": [
        ix(("landlord_id", A), ("_id", A), name="landlord"),
        ix(("landlord_id", A), ("archived_at", A), ("_id", A), name="landlord_live"),
        ix(("place.town", A), ("place.community", A), ("place.grid", A), name="place"),
    ],
    "rooms": [
        ix(("property_id", A), ("number", A), name="number_unique_in_property", unique=True),
        ix(("property_id", A), ("floor", A), ("number", A), ("_id", A), name="property_order"),
        ix(("landlord_id", A), name="landlord"),
    ],
    "stats_counters": [ix(("town", A), ("community", A), ("grid", A), name="place")],
    # alarms are few and written rarely: one index per screen (the caller's scope: none, a
    # landlord, a town, a community; any status or one), each in the list's order
    "alarms": [
        UniqueWhile("one_open_per_detector", key="detector_id", field="open", value=True),
        ix(("raised_at", D), ("_id", D), name="raised"),
        ix(("status", A), ("raised_at", D), ("_id", D), name="status"),
        ix(("landlord_id", A), ("raised_at", D), ("_id", D), name="landlord"),
        ix(("landlord_id", A), ("status", A), ("raised_at", D), ("_id", D), name="landlord_status"),
        ix(("place.town", A), ("raised_at", D), ("_id", D), name="town"),
        ix(("place.town", A), ("status", A), ("raised_at", D), ("_id", D), name="town_status"),
        ix(("place.town", A), ("place.community", A), ("raised_at", D), ("_id", D), name="place"),
        ix(
            ("place.town", A),
            ("place.community", A),
            ("status", A),
            ("raised_at", D),
            ("_id", D),
            name="place_status",
        ),
        ix(("created_at", A), ("_id", A), name="live"),
        # alarms of a year in a city, town or grid (safetyStats; a community's: "place")
        ix(("raised_at", A), name="raised"),
        ix(("place.town", A), ("raised_at", A), name="town_raised"),
        ix(
            ("place.town", A),
            ("place.community", A),
            ("place.grid", A),
            ("raised_at", A),
            name="grid_raised",
        ),
    ],
    # a device is bound once at a time (an ended binding gives its id up: devices.py)
    "devices": [
        ix(("device_id", A), name="device_bound_once", unique=True),
        ix(
            ("property_id", A),
            ("kind", A),
            ("removed_at", A),
            ("room_id", A),
            name="property_kind_bound_room",
        ),
        ix(("room_id", A), name="room"),
        # detectors offline in a scope (safetyStats): a count over an equality prefix
        ix(
            ("kind", A),
            ("removed_at", A),
            ("online", A),
            ("place.town", A),
            ("place.community", A),
            ("place.grid", A),
            name="online_place",
        ),
    ],
    # one index per search shape: equality (live, town or community), then the sort, then
    # the ranges (rent, area, location box, available date)
    "listings": [
        UniqueWhile("one_live_per_room", key="room_id", field="live", value=True),
        ix(("property_id", A), name="property"),
        ix(("live", A), ("published_at", D), ("_id", D), name="newest"),
        ix(
            ("live", A),
            ("place.community", A),
            ("published_at", D),
            ("_id", D),
            name="community_newest",
        ),
        ix(("live", A), ("place.town", A), ("published_at", D), ("_id", D), name="town_newest"),
        ix(("live", A), ("monthly_rent_fen", A), ("_id", A), name="rent"),
        ix(("live", A), ("area_sqm", A), ("_id", A), name="area"),
        ix(("live", A), ("location.lat", A), ("location.lng", A), name="location_box"),
        ix(("live", A), ("available_from", A), name="available"),
        # "listings that have all of these amenities" (multikey), newest first
        ix(("live", A), ("amenities", A), ("published_at", D), ("_id", D), name="amenities"),
    ],
    # uploads waiting for their bytes, removed with them by the photo janitor once expired
    # (not a TTL index: the bytes must go first)
    "uploads": [ix(("expires_at", A), name="expiry")],
    # photos to purge (removed, or a closed repair request's after its retention)
    "photos": [ix(("purge_at", A), name="purge")],
    # repair requests: a landlord's queue, a tenant's own, the fire-risk ones of a place,
    # newest first, each also by status
    "maintenance_requests": [
        ix(("landlord_id", A), ("created_at", D), ("_id", D), name="landlord"),
        ix(
            ("landlord_id", A), ("status", A), ("created_at", D), ("_id", D), name="landlord_status"
        ),
        ix(("tenant_id", A), ("created_at", D), ("_id", D), name="tenant"),
        ix(("tenant_id", A), ("status", A), ("created_at", D), ("_id", D), name="tenant_status"),
        ix(
            ("fire_risk", A),
            ("place.town", A),
            ("place.community", A),
            ("created_at", D),
            ("_id", D),
            name="fire_risk_place",
        ),
    ],
    # the access log is read newest first, by door, property, landlord, person or card; a
    # tenant's view by room (remote openings), opener and pass; the police's by visitor pass
    "access_events": [
        ix(("door_id", A), ("at", D), ("_id", D), name="door"),
        ix(("property_id", A), ("at", D), ("_id", D), name="property"),
        ix(("landlord_id", A), ("at", D), ("_id", D), name="landlord"),
        ix(("occupant_id", A), ("at", D), ("_id", D), name="occupant"),
        ix(("card_number", A), ("at", D), ("_id", D), name="card"),
        ix(("room_id", A), ("method", A), ("at", D), ("_id", D), name="room_method"),
        ix(("opened_by", A), ("at", D), ("_id", D), name="opener"),
        ix(("pass_room_id", A), ("at", D), ("_id", D), name="pass_room"),
        ix(("visitor_pass_id", A), ("at", D), ("_id", D), name="visitor_pass"),
        ix(("created_at", A), name="retention"),
    ],
    # visitor passes: a property's live codes, a room's, an issuer's and a visitor's passes
    # newest first, the police's live ones by place, a lease's, and
    # retention after their end
    "visitor_passes": [
        ix(("property_id", A), ("revoked_at", A), ("valid_until", A), name="live_codes"),
        ix(("room_id", A), ("created_at", D), ("_id", D), name="room"),
        ix(("room_id", A), ("revoked_at", A), ("valid_until", A), name="room_live_codes"),
        ix(("issued_by", A), ("created_at", D), ("_id", D), name="issuer"),
        ix(("id_number_hash", A), ("created_at", D), ("_id", D), name="visitor"),
        ix(("place.town", A), ("place.community", A), ("created_at", D), ("_id", D), name="place"),
        ix(("lease_id", A), ("revoked_at", A), name="lease"),
        ix(("expires_at", A), name="expiry", expireAfterSeconds=0),
    ],
    "door_commands": [
        ix(("door_id", A), ("requested_at", D), name="door"),
        ix(("requested_at", A), name="retention"),
    ],
    "door_rate": [
        ix(("account_id", A), ("at", A), name="account"),
        ix(("expires_at", A), name="expiry", expireAfterSeconds=0),
    ],
    "gateway_events": [
        ix(("device_id", A), ("at", D), name="device"),
        ix(("received_at", A), name="retention"),
    ],
    "snapshots": [ix(("expires_at", A), name="expiry", expireAfterSeconds=0)],
    "leases": [
        UniqueWhile("one_active_per_room", key="room_id", field="status", value="ACTIVE"),
        ix(("tenant_id", A), ("created_at", D), ("_id", D), name="tenant"),
        ix(("landlord_id", A), ("_id", A), name="landlord"),
        ix(("room_id", A), ("status", A), name="room"),
        ix(
            ("invited_phone", A),
            ("tenant_id", A),
            ("status", A),
            ("invitation_expires_at", A),
            name="open_invitation",
        ),
    ],
    # one card number per card (a swipe finds its occupant by it); the ID number's keyed
    # hash for exact look-up; the police register by name, phone and place; a lease's,
    # room's and property's current occupants
    "occupants": [
        UniqueWhile("one_room_per_person", key="id_number_hash", field="current", value=True),
        ix(("card.card_number", A), name="card_number_unique", unique=True),
        ix(("id_number_hash", A), name="id_number"),
        ix(("name", A), ("arrived_at", D), name="register_name"),
        ix(("phone", A), ("arrived_at", D), name="register_phone"),
        ix(("place.town", A), ("place.community", A), ("arrived_at", D), name="register_place"),
        ix(("lease_id", A), ("arrived_at", A), ("_id", A), name="lease"),
        ix(("room_id", A), ("current", A), name="room_current"),
        ix(("property_id", A), ("current", A), name="property_current"),
    ],
    # named units of work held by one caller at a time (app/store/store.py)
    "claims": [ix(("expires_at", A), name="expiry", expireAfterSeconds=0)],
    # the background passes that run once a day, by one worker process (app/workers)
    "worker_runs": [ix(("expires_at", A), name="expiry", expireAfterSeconds=0)],
    # the card outbox, one job per (device, card or code, epoch, version): due jobs, a key's
    # jobs in order, what is pending per lease, person and pass, and a door's keys
    "card_jobs": [
        ix(("state", A), ("next_attempt_at", A), name="due"),
        ix(("key", A), ("state", A), ("epoch", D), ("version", D), name="key_order"),
        ix(("lease_id", A), ("state", A), name="lease"),
        ix(("occupant_id", A), ("state", A), name="occupant"),
        ix(("pass_id", A), ("state", A), name="pass"),
        ix(("door_id", A), name="door"),
        ix(("state", A), ("created_at", A), name="backlog"),
        ix(("done_at", A), name="retention"),
    ],
    # a lease's invoices in order; a landlord's by month (rent roll); by due date (RENT_DUE);
    # the next day of late fees to count (app/services/late_fees.py)
    "invoices": [
        ix(("lease_id", A), ("period_start", A), ("_id", A), name="lease"),
        ix(("landlord_id", A), ("period_start", A), name="rent_roll"),
        ix(("rent_due_sent", A), ("due_date", A), name="rent_due_window"),
        ix(("tenant_id", A), ("due_date", A), name="tenant_due"),
        ix(("late_fee_next_day", A), name="late_fee_due"),
    ],
    # one payment per caller and idempotency key (autopay's and the deposit's: no caller,
    # one key per invoice and attempt); the webhook finds it by charge id; an invoice's
    # autopay attempts; what the deposit paid on a lease
    "payments": [
        ix(("account_id", A), ("idempotency_key", A), name="idempotency_key_unique", unique=True),
        ix(("charge_id", A), name="charge"),
        ix(("invoice_id", A), ("created_at", A), name="invoice"),
        ix(("invoice_id", A), ("autopay", A), ("autopay_attempt", A), name="autopay_attempts"),
        ix(("lease_id", A), ("method", A), ("status", A), name="lease_method"),
    ],
    # one per lease (_id): the worker's due ones; the webhook's by agreement id; the
    # agreements whose cancellation the provider has not taken yet
    "autopays": [
        ix(("status", A), ("next_run_at", A), name="due"),
        ix(("agreement_ids", A), name="agreement"),
        ix(("cancel_agreement_ids", A), name="cancel_pending"),
    ],
    "deposit_settlements": [],  # _id is the lease's: settled once
    "meter_rates": [],  # _id is the room's
    # a room's readings newest first, by kind; a tenant's by their leases
    "meter_readings": [
        ix(("room_id", A), ("read_at", D), ("_id", D), name="room"),
        ix(("room_id", A), ("kind", A), ("read_at", D), ("_id", D), name="room_kind"),
        ix(("lease_id", A), ("read_at", D), ("_id", D), name="lease"),
    ],
    # one per payment not yet applied, for the worker to finish it when due
    "payment_followups": [ix(("due_at", A), name="due_at")],
    # _id is the provider's eventId: processed once
    "payment_events": [ix(("received_at", A), name="retention")],
    # fire-safety inspections, newest first: a scope's (by its multikey `scope_keys`, one
    # equality whatever the scope's level: app/viewer.py place_keys), a property's, a
    # landlord's; inspections in a period (safetyStats: the scope's index); retention
    "inspections": [
        ix(("scope_keys", A), ("inspected_at", D), ("_id", D), name="scope"),
        ix(("property_id", A), ("inspected_at", D), ("_id", D), name="property"),
        ix(("landlord_id", A), ("inspected_at", D), ("_id", D), name="landlord"),
        ix(("inspected_at", A), name="retention"),
    ],
    # hazards: one open per cause (a detector offline, a room without one: Anju's own; an
    # inspector's are their own cause); lists by scope, landlord or property, most urgent
    # first, with the status as an equality or an $in (merged in order); an inspection's;
    # notices due (next_check_at); the figures of safetyStats; retention once rectified
    "hazards": [
        UniqueWhile("one_open_per_cause", key="cause", field="open", value=True),
        ix(("scope_keys", A), ("status", A), ("due_at", A), ("_id", A), name="scope_status"),
        ix(("landlord_id", A), ("status", A), ("due_at", A), ("_id", A), name="landlord_status"),
        ix(("property_id", A), ("status", A), ("due_at", A), ("_id", A), name="property_status"),
        ix(("inspection_id", A), name="inspection"),
        ix(("next_check_at", A), name="notices_due"),
        ix(("scope_keys", A), ("source", A), ("status", A), name="scope_source"),
        ix(("scope_keys", A), ("found_at", A), name="scope_found"),
        ix(("scope_keys", A), ("rectified_at", A), name="scope_rectified"),
        ix(("scope_keys", A), ("days_to_rectify", A), ("rectified_at", A), name="scope_days"),
        ix(("rectified_at", A), name="retention"),
    ],
    # _id is the property's: when Anju must look at its equipment, detectors and rooms again
    "safety_checks": [ix(("check_at", A), name="due")],
    # equipment a property's records gained, summed per scope and period (safetyStats)
    "equipment_added": [ix(("scope_keys", A), ("at", A), name="scope")],
    # hazard exports (CSV files in the storage), removed with their file once expired
    "exports": [ix(("expires_at", A), name="expiry")],
    "notifications": [
        ix(("key", A), name="key_unique", unique=True),
        ix(("account_id", A), ("created_at", D), ("_id", D), name="account"),
        ix(("created_at", A), ("_id", A), name="live"),
    ],
}


def unique_while(collection: str) -> list[UniqueWhile]:
    return [d for d in INDEXES.get(collection, []) if isinstance(d, UniqueWhile)]


def ttl_fields(engine: Engine) -> list[tuple[str, str, int]]:
    """(collection, field, seconds) of the TTL indexes the engine does not keep itself."""
    if engine.ttl_indexes:
        return []
    found = []
    for collection, declared in INDEXES.items():
        for model in declared:
            if isinstance(model, IndexModel) and "expireAfterSeconds" in model.document:
                (field, _), *_ = model.document["key"].items()
                found.append((collection, field, int(model.document["expireAfterSeconds"])))
    return found


def model_for(declared: Declared, engine: Engine) -> IndexModel:
    """The index to create on this engine."""
    if isinstance(declared, UniqueWhile):
        return declared.model(engine)
    if "expireAfterSeconds" in declared.document and not engine.ttl_indexes:
        options = {k: v for k, v in declared.document.items() if k not in ("key", "name")}
        options.pop("expireAfterSeconds")
        return IndexModel(
            list(declared.document["key"].items()), name=declared.document["name"], **options
        )
    return declared


async def ensure_indexes(db: AsyncDatabase[Doc], engine: Engine) -> None:
    """Creates the declared indexes that are missing, one at a time: FerretDB v1 drops the
    connection when one createIndexes command names several indexes that already exist."""
    for collection, declared in INDEXES.items():
        if not declared:
            continue
        existing = await _index_names(db, collection)
        for model in (model_for(d, engine) for d in declared):
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
