"""Uploads: the bytes of a photo on their way in, before Anju has checked them.

`createUpload` answers a URL signed for one key, one declared content type and a short time
(ANJU_UPLOAD_URL_TTL_S); the client PUTs the bytes there, straight to the storage (S3) or to
Anju's own `/uploads/...` route (the disk backend), never through GraphQL. An upload is then
taken once, by the service that attaches it (a room's photo, a repair request's): app/
services/photos.py reads the bytes back and checks them. Each upload is its uploader's
alone (another account's answers NOT_FOUND), for one purpose, used at most once.

    PENDING  --take-->  TAKING  --photo stored-->  USED
                           └--bytes refused-->  FAILED      (the client starts a new upload)
                           └--bytes not there yet-->  PENDING

The bytes wait under `incoming/<upload id>` and are deleted when the photo is stored (its
cleaned copy lives elsewhere) or refused; the photo janitor (app/workers/photos.py) removes
expired uploads, their bytes included, whatever their state. Uploads per account are
rate-limited (ANJU_UPLOADS_PER_HOUR).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from bson import ObjectId
from pymongo import ReturnDocument

from app.clients.storage import StorageError
from app.clock import now
from app.deps import Deps
from app.errors import Code, Collector, NotFoundError, UnavailableError, UserInputError
from app.services import rate_limits
from app.store import Doc, Store
from app.viewer import Role, Viewer

# who may upload for what: a room's photos are its landlord's, a repair request's its
# tenant's; inspections (a responder's, or a landlord's rectification) and meter readings
# are attached by the issues that build them
PURPOSES: dict[str, tuple[Role, ...]] = {
    "ROOM_PHOTO": (Role.LANDLORD,),
    "MAINTENANCE_PHOTO": (Role.TENANT,),
    "INSPECTION_PHOTO": (Role.RESPONDER, Role.LANDLORD),
    "METER_PHOTO": (Role.LANDLORD,),
}
UPLOADERS = (Role.LANDLORD, Role.TENANT, Role.RESPONDER)
CONTENT_TYPES = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}
PENDING, TAKING, USED, FAILED = "PENDING", "TAKING", "USED", "FAILED"
INCOMING = "incoming"
# the janitor leaves an expired upload this long (a PUT under way as its URL expired)
SWEEP_GRACE = dt.timedelta(minutes=2)


def storage_down(exc: StorageError) -> UnavailableError:
    return UnavailableError("Photo storage is unavailable; try again shortly.")


def wall_clock_in(seconds: float) -> dt.datetime:
    """An expiry for a signed URL: storage URLs are checked against the real clock (S3's,
    or this process's), not Anju's (which tests move)."""
    return dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds)


async def create_upload(
    deps: Deps, viewer: Viewer, *, purpose: str, content_type: str, byte_size: int
) -> tuple[Doc, str, dict[str, str]]:
    """A new upload: its document, the URL to PUT the bytes to and the headers to send."""
    account_id = viewer.require(*UPLOADERS)
    settings = deps.settings
    errors = Collector()
    if purpose not in PURPOSES:
        errors.add(["purpose"], Code.INVALID_ARGUMENT, "Unknown purpose.")
    elif viewer.role not in PURPOSES[purpose]:
        errors.add(["purpose"], Code.PURPOSE_NOT_ALLOWED, "Your role may not upload these.")
    declared = content_type.strip().lower()
    if declared not in CONTENT_TYPES:
        errors.add(["contentType"], Code.UNSUPPORTED_TYPE, "Photos must be JPEG, PNG or WebP.")
    if byte_size < 1:
        errors.add(["byteSize"], Code.OUT_OF_RANGE, "Must be at least 1.")
    elif byte_size > settings.photo_max_bytes:
        errors.add(
            ["byteSize"],
            Code.TOO_LARGE,
            f"A photo may have at most {settings.photo_max_bytes} bytes.",
        )
    errors.raise_if_any()
    await rate_limits.hit(
        deps.store,
        settings,
        "uploads",
        str(account_id),
        limit=settings.uploads_per_hour,
        window_s=3600,
    )
    oid = ObjectId()
    key = f"{INCOMING}/{oid}"
    lifetime = settings.upload_url_ttl_s
    try:
        url, headers = await deps.storage.upload_url(
            key, declared, byte_size, wall_clock_in(lifetime)
        )
    except StorageError as exc:
        raise storage_down(exc) from exc
    at = now()
    doc: Doc = {
        "_id": oid,
        "account_id": account_id,
        "purpose": purpose,
        "content_type": declared,
        "byte_size": byte_size,
        "key": key,
        "state": PENDING,
        "created_at": at,
        "expires_at": at + dt.timedelta(seconds=lifetime),
    }
    await deps.store.uploads.insert_one(doc)
    return doc, url, headers


def upload_id_of(key: str) -> ObjectId | None:
    """The upload an `incoming/<id>` key belongs to, or None."""
    prefix, _, raw = key.partition("/")
    if prefix != INCOMING or not ObjectId.is_valid(raw) or len(raw) != 24:
        return None
    return ObjectId(raw)


async def receiving(store: Store, key: str) -> Doc | None:
    """The upload whose bytes may be PUT at `key` now (the disk backend's route asks): one
    still waiting for them and not expired; None otherwise."""
    oid = upload_id_of(key)
    if oid is None:
        return None
    doc = await store.find_by_id("uploads", oid, state=PENDING)
    if doc is None or doc["expires_at"] <= now():
        return None
    return doc


async def take(
    store: Store, viewer: Viewer, upload_id: ObjectId, purpose: str, field: Sequence[str]
) -> Doc:
    """Takes the caller's upload for `purpose`, once: of two requests taking the same
    upload, one gets it and the other UPLOAD_USED."""
    account_id = viewer.require()
    doc = await store.find_by_id("uploads", upload_id, account_id=account_id)
    if doc is None:
        raise NotFoundError("Upload", field=field)
    if doc["purpose"] != purpose:
        raise UserInputError(
            "This upload was made for something else.", code=Code.WRONG_PURPOSE, field=field
        )
    if doc["state"] != PENDING:
        raise UserInputError("This upload has been used.", code=Code.UPLOAD_USED, field=field)
    if doc["expires_at"] <= now():
        raise UserInputError(
            "This upload has expired; start a new one.", code=Code.UPLOAD_EXPIRED, field=field
        )
    async with store.exclusive(f"upload:{upload_id}"):
        taken = await store.uploads.find_one_and_update(
            {"_id": upload_id, "account_id": account_id, "state": PENDING},
            {"$set": {"state": TAKING, "taken_at": now()}},
            return_document=ReturnDocument.AFTER,
        )
    if taken is None:
        raise UserInputError("This upload has been used.", code=Code.UPLOAD_USED, field=field)
    return taken


async def settle(store: Store, upload: Doc, state: str) -> None:
    """The end of a take: USED, FAILED, or back to PENDING (the bytes were not there yet)."""
    await store.uploads.update_one(
        {"_id": upload["_id"], "state": TAKING}, {"$set": {"state": state}}
    )


async def sweep(deps: Deps, limit: int = 200) -> int:
    """Removes expired uploads and their bytes (the janitor's pass); how many went."""
    store = deps.store
    expired = await store.uploads.find(
        {"expires_at": {"$lt": now() - SWEEP_GRACE}}, {"key": 1}, limit=limit
    ).to_list(None)
    for doc in expired:
        await deps.storage.delete(doc["key"])  # StorageError: the next pass tries again
        await store.uploads.delete_one({"_id": doc["_id"]})
    return len(expired)
