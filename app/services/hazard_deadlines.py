"""The deadline pass of the safety worker (app/workers/safety.py): the DUE notice three days
before a hazard's deadline ends, the OVERDUE notice when it has, with the escalation to the
town's responders (a history entry by Anju, `escalated_at`).

Work due at a time is a field of its document: each open hazard's `next_check_at` is its next
notice (null once both were sent for its deadline, or once rectified), so a pass reads only
the hazards whose notice is due (one indexed range), and an idle pass reads nothing. A notice
is sent before the hazard records it, with a key: a pass that fails in between sends nothing
twice when the next one repeats it; the record is a conditional update on the version read
(a landlord's report at the same moment makes the pass read it again).
"""

from __future__ import annotations

from bson import ObjectId

from app.clock import now
from app.services import hazard_notices
from app.services.hazards import OPEN_STATUSES, guard, next_check_at
from app.store import Doc, Store

PASS_LIMIT = 500
ESCALATED = "Overdue: escalated to the town's responders."


async def send_due(store: Store, *, limit: int = PASS_LIMIT) -> int:
    """Sends the notices due now; returns how many hazards it looked at."""
    at = now()
    due = await store.hazards.find(
        {"next_check_at": {"$lte": at}}, {"_id": 1}, limit=limit
    ).to_list(None)
    for found in due:
        await _check(store, found["_id"])
    return len(due)


async def _check(store: Store, hazard_id: ObjectId) -> None:
    doc = await store.hazards.find_one({"_id": hazard_id})
    if doc is None:
        return
    at = now()
    deadline = doc["deadline"]
    notices = dict(doc.get("notices") or {})
    changes: Doc = {}
    entry: Doc | None = None
    if doc["status"] not in OPEN_STATUSES:
        pass  # rectified meanwhile: nothing more to tell
    elif at >= doc["due_at"] and notices.get("overdue") != deadline:
        await hazard_notices.overdue(store, doc)
        notices |= {"due": deadline, "overdue": deadline}
        changes["escalated_at"] = at
        entry = {"at": at, "by": None, "status": doc["status"], "note": ESCALATED, "photo_ids": []}
    elif at >= doc["remind_at"] and notices.get("due") != deadline:
        await hazard_notices.due(store, doc)
        notices["due"] = deadline
    changes["notices"] = notices
    changes["next_check_at"] = next_check_at({**doc, **changes})
    update: Doc = {"$set": changes, "$inc": {"version": 1}}
    if entry is not None:
        update["$push"] = {"history": entry}
    async with store.exclusive(guard(hazard_id)):
        await store.hazards.update_one({"_id": hazard_id, "version": doc["version"]}, update)
