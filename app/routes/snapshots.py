"""GET /snapshots/{id}?exp=&sig=: serves a camera still to whoever holds its signed URL,
until it expires. Anything else gets a bare 403 or 404, never a hint of what exists."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from app.services import snapshots as svc
from app.state import AppState

NO_STORE = {"cache-control": "no-store", "pragma": "no-cache"}


async def serve_snapshot(request: Request) -> Response:
    state: AppState = request.app.state.anju
    snapshot_id: str = request.path_params["snapshot_id"]
    exp = request.query_params.get("exp", "")
    sig = request.query_params.get("sig", "")
    if not svc.check_signature(state.settings, snapshot_id, exp, sig):
        return Response(status_code=403, headers=NO_STORE)
    doc = await svc.stored_snapshot(state.deps.store, snapshot_id)
    if doc is None:
        return Response(status_code=404, headers=NO_STORE)
    return Response(
        bytes(doc["data"]),
        media_type=doc["content_type"],
        headers={**NO_STORE, "content-disposition": "inline"},
    )
