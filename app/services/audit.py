"""The audit log: append-only. This module only inserts; nothing in Anju updates or deletes
an entry (a test scans app/ for it).

An entry's target is what was acted on: an object (`("Lease", id)`, stored as a reference that
the API shows as the object's global ID) or a description of what was looked up (a masked ID
number, a scope)."""

from __future__ import annotations

from typing import Any

from bson import ObjectId

from app.clock import now
from app.deps import Deps
from app.store import Page, Store
from app.viewer import Role, Viewer

ORDER = [("at", -1), ("_id", -1)]


async def record(
    store: Store,
    account_id: ObjectId | None,
    action: str,
    *,
    target: str | tuple[str, ObjectId] | None = None,
    reason: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    await store.audit_log.insert_one(
        {
            "_id": ObjectId(),
            "at": now(),
            "account_id": account_id,
            "action": action,
            "target": {"type": target[0], "id": target[1]} if isinstance(target, tuple) else target,
            "reason": reason,
            "details": details or {},
        }
    )


async def entries(deps: Deps, viewer: Viewer, *, first: int | None, after: str | None) -> Page:
    """ADMIN: the log, newest first."""
    viewer.require(Role.ADMIN)
    return await deps.store.page("audit_log", {}, ORDER, first=first, after=after, default_first=50)
