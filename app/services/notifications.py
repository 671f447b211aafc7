"""Notifications: what an account is told (a smoke alarm, rent falling due, a reminder, a
payment received), kept per account, newest first, read or unread.

Each notification has a `key`, unique across the collection: callers that must notify at most
once (one RENT_DUE per invoice and due date, one PAYMENT_RECEIVED per payment, one
RENT_REMINDER per invoice a day) pass a key saying so, and the unique index turns a second
insert into a no-op, on FerretDB and MongoDB alike. Without a key the notification's own id is
used (a unique index cannot skip missing values on FerretDB: no partial indexes).
Documents carry `created_at` for the live feed of the `notifications` subscription.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bson import ObjectId
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from app.db import Doc
from app.services.clock import now

KINDS = frozenset({"SMOKE_ALARM", "RENT_DUE", "RENT_REMINDER", "PAYMENT_RECEIVED", "LEASE_CHANGED"})
MAX_MARK = 100
ORDER = [("created_at", -1), ("_id", -1)]


async def notify(
    db: AsyncDatabase[Doc],
    account_id: ObjectId,
    kind: str,
    title: str,
    body: str,
    alarm_id: ObjectId | None = None,
    invoice_id: ObjectId | None = None,
    lease_id: ObjectId | None = None,
    *,
    key: str | None = None,
) -> Doc | None:
    """Creates a notification; returns it, or None when one with the same `key` exists."""
    if kind not in KINDS:
        raise ValueError(f"unknown notification kind {kind!r}")
    oid = ObjectId()
    doc: Doc = {
        "_id": oid,
        "account_id": account_id,
        "kind": kind,
        "title": title[:200],
        "body": body[:2000],
        "alarm_id": alarm_id,
        "invoice_id": invoice_id,
        "lease_id": lease_id,
        "key": key or f"id:{oid}",
        "created_at": now(),
        "read_at": None,
    }
    try:
        await db.notifications.insert_one(doc)
    except DuplicateKeyError:
        return None
    return doc


def own_filter(account_id: ObjectId, unread_only: bool) -> dict[str, Any]:
    query: dict[str, Any] = {"account_id": account_id}
    if unread_only:
        query["read_at"] = None
    return query


async def mark_read(
    db: AsyncDatabase[Doc], account_id: ObjectId, notification_ids: Sequence[ObjectId]
) -> int:
    """Marks the account's own notifications read; ids of others' (or of none) are ignored,
    exactly as unknown ones. Returns how many became read now."""
    if not notification_ids:
        return 0
    result = await db.notifications.update_many(
        {"_id": {"$in": list(set(notification_ids))}, "account_id": account_id, "read_at": None},
        {"$set": {"read_at": now()}},
    )
    return result.modified_count
