"""The disk storage's signed routes (app/clients/storage.py, LocalDiskStorage): what S3 does
itself when ANJU_STORAGE=s3, in which case both answer 404.

    PUT /uploads/<key>?exp=&sig=   the bytes of an upload: the exact Content-Type and
                                   Content-Length signed into the URL, the upload still
                                   waiting for them (app/services/uploads.py), before `exp`
    GET /files/<key>?exp=&sig=     a stored photo or thumbnail, or a hazard export (CSV,
                                   downloaded as an attachment), to whoever holds its URL

Refusals are bare: 403 for a bad or expired signature, 404 for nothing there, 409 for an
upload that no longer takes bytes, 411/413 for a missing or too large length, 503 while the
database cannot say whether the upload waits. The bytes are
served as inert images: their type from the key, `nosniff`, and a policy that runs nothing.
"""

from __future__ import annotations

import time

from pymongo.errors import PyMongoError
from starlette.requests import ClientDisconnect, Request
from starlette.responses import FileResponse, Response

from app.clients.storage import InvalidKey, LocalDiskStorage, StorageError, check_key
from app.errors import UnavailableError
from app.services import uploads
from app.state import AppState

NO_STORE = {"cache-control": "no-store"}
# what a photo key's ending says it holds (app/services/photos.py names them)
TYPES = {".jpg": "image/jpeg", ".png": "image/png", ".webp": "image/webp"}
# and an export's (app/services/hazard_exports.py): saved as a file, never shown inline
DOWNLOADS = {".csv": "text/csv; charset=utf-8"}
INERT = "default-src 'none'; sandbox"


def _disk(request: Request) -> tuple[AppState, LocalDiskStorage] | None:
    state: AppState = request.app.state.anju
    storage = state.storage
    return (state, storage) if isinstance(storage, LocalDiskStorage) else None


def _signed(request: Request) -> tuple[str, str, str]:
    """The key of a signed route, and the URL's expiry and signature."""
    query = request.query_params
    return request.path_params["key"], query.get("exp", ""), query.get("sig", "")


async def receive_upload(request: Request) -> Response:
    found = _disk(request)
    if found is None:
        return Response(status_code=404, headers=NO_STORE)
    state, storage = found
    key, exp, sig = _signed(request)
    content_type = request.headers.get("content-type", "")
    raw_length = request.headers.get("content-length")
    if raw_length is None or not raw_length.isdigit():
        return Response(status_code=411, headers=NO_STORE)
    length = int(raw_length)
    if length > state.settings.photo_max_bytes:
        return Response(status_code=413, headers=NO_STORE)
    if not storage.verify_upload(key, exp, sig, content_type, length):
        return Response(status_code=403, headers=NO_STORE)
    try:
        waiting = await uploads.receiving(state.deps.store, key)
    except (UnavailableError, PyMongoError):  # starting, or the database is down
        return Response(status_code=503, headers={**NO_STORE, "retry-after": "5"})
    if waiting is None:
        return Response(status_code=409, headers=NO_STORE)
    body = bytearray()
    try:
        async for chunk in request.stream():
            body += chunk
            if len(body) > length:
                return Response(status_code=413, headers=NO_STORE)
    except ClientDisconnect:
        return Response(status_code=400, headers=NO_STORE)
    if len(body) != length:
        return Response(status_code=400, headers=NO_STORE)
    try:
        await storage.put(key, bytes(body), content_type)
    except StorageError:
        return Response(status_code=503, headers=NO_STORE)
    return Response(status_code=200, headers=NO_STORE)


async def serve_file(request: Request) -> Response:
    found = _disk(request)
    if found is None:
        return Response(status_code=404, headers=NO_STORE)
    _, storage = found
    key, exp, sig = _signed(request)
    if not storage.verify_download(key, exp, sig):
        return Response(status_code=403, headers=NO_STORE)
    download = next((t for end, t in DOWNLOADS.items() if key.endswith(end)), None)
    media_type = download or next((t for end, t in TYPES.items() if key.endswith(end)), None)
    try:
        path = storage.root / check_key(key)
    except InvalidKey:
        return Response(status_code=404, headers=NO_STORE)
    if media_type is None or not path.is_file():
        return Response(status_code=404, headers=NO_STORE)
    # cacheable by whoever holds the URL, until it expires (the bytes at a key never change)
    left = max(0, int(exp) - int(time.time()))
    return FileResponse(
        path,
        media_type=media_type,
        headers={
            "cache-control": f"private, max-age={left}, immutable",
            "content-security-policy": INERT,
            "content-disposition": "attachment" if download else "inline",
        },
    )
