"""Photos: checked images of something (a room, a repair request; inspections and meter
readings later), stored twice: cleaned (app/images.py: upright, sRGB, no EXIF, GPS, XMP or
comments) and as a small WebP thumbnail for lists and the kiosk.

`attach` turns an upload (app/services/uploads.py) into a photo: it reads the bytes back from
storage, no more than the size declared (S3 cannot pin a presigned PUT's length), checks them
(a real JPEG, PNG or WebP of the declared type, within ANJU_PHOTO_MAX_BYTES and the pixel
limit), stores the cleaned copy and the thumbnail under `photos/<id>...`, and records the
photo in `photos` with its subject. The subject (a room, a request) keeps the photos it shows
as small embedded references (`ref`), in order, so that a page of listings needs no further
read; `url` signs short-lived URLs for a reference.

Removing a photo marks it for purging (`discard`) and deletes its bytes at once; what fails
then, and photos kept only for a time (`purge_at`: a closed repair request's), are purged by
the janitor (app/workers/photos.py), which also takes the reference out of its subject.
Decoding is CPU work: at most ANJU_PHOTO_DECODES_PER_WORKER at once per worker (`Darkroom`),
others wait a little and are then told to try again.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

from bson import ObjectId

from app import images
from app.clients.storage import ObjectTooLarge, StorageError
from app.clock import now
from app.deps import Deps
from app.errors import Code, RateLimitedError, UserInputError
from app.services import uploads
from app.store import Doc, Store
from app.viewer import Viewer

# how long a request waits for a free darkroom slot before it is told to try again
DECODE_WAIT_S = 20.0


@dataclass(frozen=True)
class Subject:
    """What a photo shows: a document of a collection that embeds its reference in
    `photos`, and the name of the exclusive section its owner changes it in."""

    collection: str
    id: ObjectId
    guard: str


@dataclass(frozen=True)
class Developed:
    body: bytes
    thumbnail: bytes
    info: images.ImageInfo


class Darkroom:
    """Checks, cleans and thumbnails uploads in threads, a few at once per worker (each
    decoded photo can take 200 MB at the pixel limit)."""

    def __init__(self, concurrent: int) -> None:
        self._slots = asyncio.Semaphore(concurrent)

    async def develop(self, data: bytes, declared: str, max_bytes: int) -> Developed:
        try:
            await asyncio.wait_for(self._slots.acquire(), DECODE_WAIT_S)
        except TimeoutError as exc:
            raise RateLimitedError("Too many photos at once; try again in a moment.") from exc
        try:
            return await asyncio.to_thread(_develop, data, declared, max_bytes)
        finally:
            self._slots.release()


def _develop(data: bytes, declared: str, max_bytes: int) -> Developed:
    images.inspect(data, declared, max_bytes)
    body, info = images.clean(data)
    return Developed(body, images.thumbnail(body), info)


def ref(photo: Doc) -> Doc:
    """What a subject embeds of a photo: enough to show it without reading `photos`."""
    return {
        "id": photo["_id"],
        "key": photo["key"],
        "thumbnail_key": photo["thumbnail_key"],
        "content_type": photo["content_type"],
        "width": photo["width"],
        "height": photo["height"],
    }


# --- attaching -------------------------------------------------------------------------------


async def attach(
    deps: Deps,
    viewer: Viewer,
    upload_id: ObjectId,
    *,
    purpose: str,
    subject: Subject,
    field: Sequence[str],
) -> Doc:
    """The caller's upload, checked and stored as a photo of `subject`; the photo's
    document. Refusals carry `field` and a stable code: NOT_FOUND, WRONG_PURPOSE,
    UPLOAD_USED, UPLOAD_EXPIRED, UPLOAD_NOT_RECEIVED, TOO_LARGE, NOT_AN_IMAGE,
    TYPE_MISMATCH, TOO_MANY_PIXELS."""
    store, storage = deps.store, deps.storage
    upload = await uploads.take(store, viewer, upload_id, purpose, field)
    try:
        data = await storage.get(upload["key"], max_bytes=upload["byte_size"])
    except ObjectTooLarge as exc:
        await _refuse(deps, upload)
        raise UserInputError(
            "The file is larger than the size declared.", code=Code.TOO_LARGE, field=field
        ) from exc
    except StorageError as exc:
        await uploads.settle(store, upload, uploads.PENDING)
        raise uploads.storage_down(exc) from exc
    if data is None:
        await uploads.settle(store, upload, uploads.PENDING)
        raise UserInputError(
            "The photo has not arrived yet: PUT it to the upload URL first.",
            code=Code.UPLOAD_NOT_RECEIVED,
            field=field,
        )
    try:
        developed = await deps.darkroom.develop(
            data, upload["content_type"], deps.settings.photo_max_bytes
        )
    except images.ImageRejected as exc:
        await _refuse(deps, upload)
        raise UserInputError(exc.message, code=exc.reason.value, field=field) from exc
    except Exception:  # busy or broken: the upload may be tried again
        await uploads.settle(store, upload, uploads.PENDING)
        raise
    photo_id = ObjectId()
    info = developed.info
    photo: Doc = {
        "_id": photo_id,
        "account_id": upload["account_id"],
        "purpose": purpose,
        "subject": {"collection": subject.collection, "id": subject.id, "guard": subject.guard},
        "key": f"photos/{photo_id}.{uploads.CONTENT_TYPES[info.content_type]}",
        "thumbnail_key": f"photos/{photo_id}.thumb.webp",
        "content_type": info.content_type,
        "width": info.width,
        "height": info.height,
        "byte_size": info.byte_size,
        "created_at": now(),
        "purge_at": None,
    }
    try:
        await storage.put(photo["key"], developed.body, info.content_type)
        await storage.put(
            photo["thumbnail_key"], developed.thumbnail, images.THUMBNAIL_CONTENT_TYPE
        )
    except StorageError as exc:
        await uploads.settle(store, upload, uploads.PENDING)
        await _delete_bytes(deps, photo)
        raise uploads.storage_down(exc) from exc
    await store.photos.insert_one(photo)
    await uploads.settle(store, upload, uploads.USED)
    await _quietly_delete(deps, upload["key"])
    return photo


async def attach_all(
    deps: Deps,
    viewer: Viewer,
    upload_ids: Sequence[ObjectId],
    *,
    purpose: str,
    subject: Subject,
    field: Sequence[str],
) -> list[Doc]:
    """Several uploads, in order; if one is refused, those already stored are discarded
    and its error raised (with its place in `field`)."""
    done: list[Doc] = []
    try:
        for i, upload_id in enumerate(upload_ids):
            done.append(
                await attach(
                    deps,
                    viewer,
                    upload_id,
                    purpose=purpose,
                    subject=subject,
                    field=[*field, str(i)],
                )
            )
    except BaseException:
        await discard(deps, [p["_id"] for p in done])
        raise
    return done


async def _refuse(deps: Deps, upload: Doc) -> None:
    await uploads.settle(deps.store, upload, uploads.FAILED)
    await _quietly_delete(deps, upload["key"])


# --- showing ---------------------------------------------------------------------------------


def url_expiry(ttl_s: int, at: float | None = None) -> dt.datetime:
    """When a photo URL signed now expires: the end of the next whole period of `ttl_s`, so
    that URLs signed within one period are the same (browsers and the kiosk cache them) and
    each lives between one and two periods. Real time, as the storage checks it."""
    t = time.time() if at is None else at
    return dt.datetime.fromtimestamp((math.floor(t / ttl_s) + 2) * ttl_s, dt.UTC)


async def url(deps: Deps, key: str) -> str:
    """A short-lived signed URL of the bytes at `key` (a reference's `key` or
    `thumbnail_key`)."""
    try:
        return await deps.storage.download_url(key, url_expiry(deps.settings.photo_url_ttl_s))
    except StorageError as exc:
        raise uploads.storage_down(exc) from exc


# --- removing --------------------------------------------------------------------------------


async def discard(deps: Deps, photo_ids: Sequence[ObjectId]) -> None:
    """Photos no longer shown: marked for purging, and their bytes deleted now if the
    storage answers (else by the janitor)."""
    if not photo_ids:
        return
    await keep_until(deps.store, photo_ids, now())
    await purge_due(deps, ids=photo_ids)


async def keep_until(store: Store, photo_ids: Sequence[ObjectId], at: dt.datetime | None) -> None:
    """Photos to purge at `at` (None: kept for good), such as a closed repair request's."""
    if photo_ids:
        await store.photos.update_many(
            {"_id": {"$in": list(photo_ids)}}, {"$set": {"purge_at": at}}
        )


async def purge_due(deps: Deps, *, ids: Sequence[ObjectId] | None = None, limit: int = 200) -> int:
    """Purges photos whose time has come (of `ids`, or any): their bytes, their reference
    in their subject, then their record. How many went; a storage failure leaves the rest
    for the next pass."""
    store = deps.store
    due: dict[str, object] = {"purge_at": {"$lte": now()}}
    if ids is not None:
        due["_id"] = {"$in": list(ids)}
    found = await store.photos.find(due, limit=limit).to_list(None)
    for photo in found:
        try:
            await _delete_bytes(deps, photo)
        except StorageError:
            return found.index(photo)
        subject = photo["subject"]
        async with store.exclusive(subject["guard"]):
            # the reference exactly as embedded ($pull by a condition is not on FerretDB v1)
            await store[subject["collection"]].update_one(
                {"_id": subject["id"]}, {"$pullAll": {"photos": [ref(photo)]}}
            )
        await store.photos.delete_one({"_id": photo["_id"], "purge_at": {"$ne": None}})
    return len(found)


async def _delete_bytes(deps: Deps, photo: Doc) -> None:
    await deps.storage.delete(photo["key"])
    await deps.storage.delete(photo["thumbnail_key"])


async def _quietly_delete(deps: Deps, key: str) -> None:
    """Deletes bytes nobody needs any more; the janitor retries what fails."""
    with contextlib.suppress(StorageError):
        await deps.storage.delete(key)
