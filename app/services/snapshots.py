"""Camera snapshots: fetched from the gateway for the camera's landlord, kept a few minutes
in `snapshots`, and served by a signed URL on Anju.

The URL is the capability (an <img src> carries no bearer token): `/snapshots/<id>?exp=
<unix seconds>&sig=<hex>`, where sig is HMAC-SHA256 under ANJU_URL_SIGNING_KEY of
`snapshot:<id>:<exp>`. A changed id or exp breaks the signature; after exp it is refused
even with a good one, and the stored image itself expires then (a TTL index: app/store).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac

from bson import Binary, ObjectId
from bson.errors import InvalidId

from app.clients.gateway import (
    DeviceOffline,
    DeviceUnknown,
    GatewayBadAnswer,
    GatewayError,
    GatewayTimeout,
)
from app.clock import now
from app.deps import Deps
from app.errors import AnjuError, Code, NotFoundError, UnavailableError
from app.settings import Settings
from app.store import Doc, Store
from app.viewer import Role, Viewer

SNAPSHOT_TTL = dt.timedelta(minutes=5)


def sign(settings: Settings, snapshot_id: str, exp: int) -> str:
    message = f"snapshot:{snapshot_id}:{exp}".encode()
    return hmac.new(settings.url_signing_key.encode(), message, hashlib.sha256).hexdigest()


def signed_url(settings: Settings, snapshot_id: ObjectId, expires_at: dt.datetime) -> str:
    exp = int(expires_at.timestamp())
    sig = sign(settings, str(snapshot_id), exp)
    return f"{settings.public_url}/snapshots/{snapshot_id}?exp={exp}&sig={sig}"


def check_signature(settings: Settings, snapshot_id: str, exp: str, sig: str) -> bool:
    """True if the URL's signature is ours and it has not expired."""
    if not exp.isascii() or not exp.isdigit() or len(exp) > 12 or len(sig) != 64:
        return False
    expected = sign(settings, snapshot_id, int(exp))
    if not hmac.compare_digest(sig.encode("utf-8", "replace"), expected.encode()):
        return False
    return int(exp) > now().timestamp()


async def take_snapshot(deps: Deps, viewer: Viewer, camera_id: ObjectId) -> tuple[Doc, Doc, str]:
    """A fresh still from the landlord's camera, stored until its URL expires: (the stored
    still, the camera, its signed URL)."""
    settings = deps.settings
    landlord_id = viewer.require(Role.LANDLORD)
    camera = await deps.store.find_by_id(
        "devices", camera_id, kind="CAMERA", landlord_id=landlord_id
    )
    if camera is None or camera.get("removed_at") is not None:
        raise NotFoundError("Camera", field=["cameraId"])
    try:
        # the client bounds each read; this bounds the whole download
        async with asyncio.timeout(settings.gateway_timeout_s * 2):
            data, content_type = await deps.gateway.snapshot(camera["device_id"])
    except DeviceOffline as exc:
        raise UnavailableError("The camera is offline.", code=Code.DEVICE_OFFLINE) from exc
    except DeviceUnknown as exc:
        raise AnjuError(
            "The gateway no longer knows this camera.", code=Code.DEVICE_NOT_FOUND
        ) from exc
    except GatewayBadAnswer as exc:
        raise UnavailableError(
            "The camera sent something that is not a usable picture.", code=Code.DEVICE_ERROR
        ) from exc
    except (TimeoutError, GatewayTimeout) as exc:
        raise UnavailableError("The camera did not answer in time; try again.") from exc
    except GatewayError as exc:
        raise UnavailableError("The device gateway is unavailable; try again shortly.") from exc
    taken = now()
    doc: Doc = {
        "_id": ObjectId(),
        "camera_id": camera["_id"],
        "device_id": camera["device_id"],
        "landlord_id": landlord_id,
        "content_type": content_type,
        "size": len(data),
        "data": Binary(data),
        "taken_at": taken,
        # whole seconds: the URL carries expiry in seconds and both must agree
        "expires_at": (taken + SNAPSHOT_TTL).replace(microsecond=0),
        "created_at": taken,
    }
    await deps.store.snapshots.insert_one(doc)
    return doc, camera, signed_url(settings, doc["_id"], doc["expires_at"])


async def stored_snapshot(store: Store, snapshot_id: str) -> Doc | None:
    """A still that has not expired, for a URL whose signature was checked."""
    try:
        oid = ObjectId(snapshot_id)
    except (InvalidId, TypeError):
        return None
    return await store.snapshots.find_one({"_id": oid, "expires_at": {"$gt": now()}})
