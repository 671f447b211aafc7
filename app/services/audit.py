"""The audit log: append-only. This module only inserts; nothing in Anju updates or deletes
an entry (a test scans app/ for it)."""

from __future__ import annotations

from typing import Any

from bson import ObjectId
from pymongo.asynchronous.database import AsyncDatabase

from app.db import Doc
from app.services.clock import now


async def record(
    db: AsyncDatabase[Doc],
    account_id: ObjectId | None,
    action: str,
    *,
    target: str | None = None,
    reason: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    await db.audit_log.insert_one(
        {
            "_id": ObjectId(),
            "at": now(),
            "account_id": account_id,
            "action": action,
            "target": target,
            "reason": reason,
            "details": details or {},
        }
    )
