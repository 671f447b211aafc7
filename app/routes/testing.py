"""Routes that exist only under ANJU_ENV=test: moving Anju's clock (app/clock.py) so that the
tests reach expiries without waiting, running the retention sweep now rather than within the
hour, and the query shapes this process has sent (app/store/client.py: QueryShapes). Never
mounted in development or production."""

from __future__ import annotations

from bson import json_util
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from app.clock import now, set_offset
from app.services import retention
from app.store.client import query_shapes


async def move_clock(request: Request) -> Response:
    body = await request.json()
    seconds = body.get("offsetSeconds") if isinstance(body, dict) else None
    if not isinstance(seconds, int | float) or isinstance(seconds, bool):
        return JSONResponse({"error": "offsetSeconds must be a number"}, status_code=400)
    set_offset(float(seconds))
    return JSONResponse({"now": now().isoformat()})


async def sent_query_shapes(request: Request) -> Response:
    """GET: one example of each query shape sent so far (Extended JSON); DELETE: forget."""
    if request.method == "DELETE":
        query_shapes.examples.clear()
        return JSONResponse({"cleared": True})
    body = json_util.dumps(list(query_shapes.examples.values()))
    return Response(body, media_type="application/json")


async def sweep_now(request: Request) -> Response:
    """The retention sweep, at once (app/services/retention.py): how many went, per collection."""
    deps = request.app.state.anju.deps
    return JSONResponse(await retention.sweep(deps.store, deps.settings))
