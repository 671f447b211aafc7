"""Rectification (整改) of a hazard an inspection found: the landlord reports what was done,
with photos; a responder of the area verifies it (RECTIFIED) or rejects it (REOPENED, with a
note and, if they give one, a new deadline). A responder who finds a hazard fixed on site may
verify it without a report. Anju's own hazards close by themselves (safety_checks.py): both
steps refuse them with INVALID_TRANSITION.

Photos go with the report's history entry (the hazard keeps their references in `photos`);
once rectified they are kept ANJU_RETAIN_FIRE_SAFETY_DAYS, as the hazard is (retention.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from bson import ObjectId

from app.clock import now
from app.deps import Deps
from app.errors import Code, Collector, UserInputError
from app.services import audit, hazard_notices, hazards, photos
from app.services.hazards import OPEN, RECTIFIED, REOPENED, REPORTED
from app.store import Doc
from app.validation import clean_text
from app.viewer import Role, Viewer

MAX_NOTE = 1000
MAX_PHOTOS = 9
PURPOSE = "INSPECTION_PHOTO"


def _not_now(doc: Doc, field: str = "hazardId") -> UserInputError:
    if doc["source"] != hazards.INSPECTION:
        message = "Anju closes this hazard itself once its cause is gone."
    else:
        message = f"The hazard is {doc['status'].lower().replace('_', ' ')}."
    return UserInputError(message, code=Code.INVALID_TRANSITION, field=[field])


async def report_rectification(
    deps: Deps,
    viewer: Viewer,
    hazard_id: ObjectId,
    *,
    note: str,
    photo_upload_ids: Sequence[ObjectId],
) -> Doc:
    """LANDLORD: what was done about their property's OPEN or REOPENED hazard (a note of at
    most 1000 characters, at most 9 INSPECTION_PHOTO uploads). NOT_FOUND for another's;
    INVALID_TRANSITION in another status, or for a hazard Anju closes itself."""
    account_id = viewer.require(Role.LANDLORD)
    errors = Collector()
    text = clean_text(errors, ["note"], note, max_len=MAX_NOTE, multiline=True)
    upload_ids = list(dict.fromkeys(photo_upload_ids))
    if len(upload_ids) > MAX_PHOTOS:
        errors.add(["photoUploadIds"], Code.TOO_MANY_PHOTOS, f"At most {MAX_PHOTOS} photos.")
    errors.raise_if_any()
    store = deps.store
    doc = await hazards.visible_hazard(deps, viewer, hazard_id)
    if doc["source"] != hazards.INSPECTION or doc["status"] not in (OPEN, REOPENED):
        raise _not_now(doc)
    attached = await photos.attach_all(
        deps,
        viewer,
        upload_ids,
        purpose=PURPOSE,
        subject=photos.Subject("hazards", hazard_id, hazards.guard(hazard_id)),
        field=["photoUploadIds"],
    )
    at = now()
    ids = [p["_id"] for p in attached]
    entry = {"at": at, "by": account_id, "status": REPORTED, "note": text, "photo_ids": ids}
    moved = await hazards.move(
        store,
        hazard_id,
        allowed_from=(OPEN, REOPENED),
        changes={"status": REPORTED, "reported_at": at, "updated_at": at},
        entry=entry,
        push={"photos": {"$each": [photos.ref(p) for p in attached]}},
    )
    if moved is None:
        await photos.discard(deps, ids)
        raise _not_now(await hazards.visible_hazard(deps, viewer, hazard_id))
    await audit.record(
        store, account_id, "hazard.reportRectification", target=("Hazard", hazard_id)
    )
    await hazard_notices.reported(store, moved, text)
    return moved


async def verify_rectification(
    deps: Deps,
    viewer: Viewer,
    hazard_id: ObjectId,
    *,
    accepted: bool,
    note: str | None,
    deadline: dt.date | None,
) -> Doc:
    """RESPONDER of the area: accepted, the hazard is RECTIFIED (from a report, or on site
    from OPEN or REOPENED); rejected (a report only), REOPENED with a note saying why
    (REQUIRED) and optionally a new deadline (today to 180 days on). NOT_FOUND outside the
    scope; INVALID_TRANSITION in another status."""
    account_id = viewer.require(Role.RESPONDER)
    errors = Collector()
    text = clean_text(
        errors, ["note"], note, max_len=MAX_NOTE, required=not accepted, multiline=True
    )
    changes: Doc = {}
    if deadline is not None:
        if accepted:
            errors.add(["deadline"], Code.INVALID_ARGUMENT, "Only when rejecting.")
        elif (
            not hazards.local_today()
            <= deadline
            <= hazards.local_today() + dt.timedelta(days=hazards.MAX_DEADLINE_DAYS)
        ):
            errors.add(["deadline"], Code.OUT_OF_RANGE, "From today to 180 days on.")
        else:
            changes = hazards.deadline_fields(deadline)
    errors.raise_if_any()
    store = deps.store
    doc = await hazards.visible_hazard(deps, viewer, hazard_id)
    allowed = (OPEN, REOPENED, REPORTED) if accepted else (REPORTED,)
    if doc["source"] != hazards.INSPECTION or doc["status"] not in allowed:
        raise _not_now(doc)
    at = now()
    status = RECTIFIED if accepted else REOPENED
    if accepted:
        changes = hazards.rectified_fields(doc, at)
    else:
        if changes and changes["remind_at"] <= at:
            # a new deadline within three days: no DUE notice (the landlord is told now)
            changes["notices"] = {**(doc.get("notices") or {}), "due": changes["deadline"]}
        changes = {**changes, "status": REOPENED, "updated_at": at}
    entry = {"at": at, "by": account_id, "status": status, "note": text or None, "photo_ids": []}
    moved = await hazards.move(store, hazard_id, allowed_from=allowed, changes=changes, entry=entry)
    if moved is None:
        raise _not_now(await hazards.visible_hazard(deps, viewer, hazard_id))
    if accepted:
        kept = at + dt.timedelta(days=deps.settings.retain_fire_safety_days)
        await photos.keep_until(store, [p["id"] for p in moved.get("photos") or []], kept)
        await hazard_notices.rectified(store, moved, by_anju=False, note=text or None)
    else:
        await hazard_notices.reopened(store, moved, text)
    await audit.record(
        store,
        account_id,
        "hazard.verifyRectification",
        target=("Hazard", hazard_id),
        details={"accepted": accepted, "deadline": moved["deadline"]},
    )
    return moved
