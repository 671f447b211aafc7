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

import datetime as dt
from collections.abc import AsyncIterator, Sequence
from typing import Any

from bson import ObjectId

from app.clock import now
from app.deps import Deps
from app.errors import Code, UserInputError
from app.store import Doc, Page, Store
from app.viewer import Role, Viewer

KINDS = frozenset(
    {
        "SMOKE_ALARM",
        "RENT_DUE",
        "RENT_REMINDER",
        "PAYMENT_RECEIVED",
        "LEASE_CHANGED",
        "ACCOUNT_SECURITY",
        "LEASE_INVITATION",
        "MAINTENANCE_UPDATED",
        "DOOR_OPENED_BY_LANDLORD",
        "VISITOR_PASS",
        "AUTOPAY",
        "DEPOSIT_SETTLED",
        "HAZARD_FOUND",
        "HAZARD_DUE",
        "HAZARD_OVERDUE",
        "HAZARD_RECTIFIED",
        "HAZARD_UPDATED",
    }
)
# what people read in a message: the city's own time (China has one time zone, UTC+8)
LOCAL_TZ = dt.timezone(dt.timedelta(hours=8), "CST")
MAX_MARK = 100
ORDER = [("created_at", -1), ("_id", -1)]


def yuan(fen: int) -> str:
    return f"¥{fen / 100:.2f}"


def local_time(at: dt.datetime) -> str:
    """A time as people there read it: 2026-12-01 14:05 (UTC+8)."""
    return at.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M") + " (UTC+8)"


async def notify(
    store: Store,
    account_id: ObjectId,
    kind: str,
    title: str,
    body: str,
    alarm_id: ObjectId | None = None,
    invoice_id: ObjectId | None = None,
    lease_id: ObjectId | None = None,
    *,
    maintenance_request_id: ObjectId | None = None,
    visitor_pass_id: ObjectId | None = None,
    hazard_id: ObjectId | None = None,
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
        "maintenance_request_id": maintenance_request_id,
        "visitor_pass_id": visitor_pass_id,
        "hazard_id": hazard_id,
        "key": key or f"id:{oid}",
        "created_at": now(),
        "read_at": None,
    }
    return doc if await store.insert_once("notifications", doc) else None


async def inbox(
    deps: Deps,
    viewer: Viewer,
    *,
    unread_only: bool,
    first: int | None,
    after: str | None,
    last: int | None = None,
    before: str | None = None,
) -> Page:
    """The signed-in account's notifications, newest first (backward: `last` before
    `before`)."""
    from app.services.rent_reminders import send_rent_due

    account_id = viewer.require()
    if viewer.role is Role.TENANT and after is None and before is None:
        # catch up on RENT_DUE now rather than wait for the worker's next pass
        await send_rent_due(deps.store, tenant_id=account_id)
    query: dict[str, Any] = {"account_id": account_id}
    if unread_only:
        query["read_at"] = None
    return await deps.store.page(
        "notifications", query, ORDER, first=first, after=after, last=last, before=before
    )


async def mark_read(deps: Deps, viewer: Viewer, notification_ids: Sequence[ObjectId]) -> int:
    """Marks the caller's own notifications read; ids of others' (or of none) are ignored,
    exactly as unknown ones. Returns how many became read now."""
    account_id = viewer.require()
    if len(notification_ids) > MAX_MARK:
        raise UserInputError(
            f"At most {MAX_MARK} notifications at a time.",
            code=Code.INVALID_ARGUMENT,
            field=["notificationIds"],
        )
    if not notification_ids:
        return 0
    result = await deps.store.notifications.update_many(
        {"_id": {"$in": list(set(notification_ids))}, "account_id": account_id, "read_at": None},
        {"$set": {"read_at": now()}},
    )
    return result.modified_count


async def watch(deps: Deps, viewer: Viewer) -> AsyncIterator[Doc]:
    """The account's notifications as they are created (the subscription), until the
    viewer's token expires or its session ends."""
    from app.services.sessions import while_valid

    account_id = viewer.require()
    mine = deps.live.watch("notifications", lambda d: d.get("account_id") == account_id)
    async for doc in while_valid(deps, viewer, mine):
        yield doc


def can_see(viewer: Viewer, notification: Doc) -> bool:
    """A notification is its account's alone."""
    return viewer.account_id is not None and notification["account_id"] == viewer.account_id
