"""The audit log: append-only and tamper-evident. This module only inserts, each entry as the
next link of a hash chain (app/audit_chain.py: `python -m app.audit_chain verify` names the
first entry changed, removed or inserted); nothing in Anju updates or deletes an entry (a test
scans app/ for it), and in production Anju's database user may only insert there.

An entry's target is what was acted on: an object (`("Lease", id)`, stored as a reference that
the API shows as the object's global ID) or a description of what was looked up (a masked ID
number, a scope)."""

from __future__ import annotations

from typing import Any

from bson import ObjectId

from app import audit_chain
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
    await audit_chain.append(
        store,
        {
            "at": now(),
            "account_id": account_id,
            "action": action,
            "target": {"type": target[0], "id": target[1]} if isinstance(target, tuple) else target,
            "reason": reason,
            "details": details or {},
        },
    )


async def entries(
    deps: Deps,
    viewer: Viewer,
    *,
    first: int | None,
    after: str | None,
    last: int | None = None,
    before: str | None = None,
) -> Page:
    """ADMIN: the log, newest first (backward: `last` before `before`)."""
    viewer.require(Role.ADMIN)
    return await deps.store.page(
        "audit_log",
        {},
        ORDER,
        first=first,
        after=after,
        last=last,
        before=before,
        default_first=50,
    )
