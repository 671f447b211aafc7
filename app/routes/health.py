"""/healthz (the process is alive), /readyz (the database answers and Anju is ready: for the
load balancer) and /.well-known/jwks.json (the public keys that verify access tokens)."""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from app.state import AppState
from app.store import ping


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "alive"})


async def readyz(request: Request) -> Response:
    state: AppState = request.app.state.anju
    try:
        await asyncio.wait_for(ping(state.db), timeout=2.0)
    except Exception:  # noqa: BLE001 - any failure means not ready
        return JSONResponse({"status": "unavailable", "database": "down"}, status_code=503)
    if not state.ready:  # up, but indexes and the first admin are still being set up
        return JSONResponse({"status": "starting", "database": "up"}, status_code=503)
    return JSONResponse({"status": "ready", "database": "up"})


async def jwks(request: Request) -> Response:
    state: AppState = request.app.state.anju
    return JSONResponse(state.keys.jwks(), headers={"cache-control": "public, max-age=300"})
