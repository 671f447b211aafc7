"""GET /metrics: the Prometheus exposition of every worker's metrics (app/metrics.py).

Served only where ANJU_METRICS is on; where ANJU_METRICS_TOKEN is set (production requires
it) a scrape must send `Authorization: Bearer <token>`, compared in constant time. Before
answering, the worker measures the outboxes (two indexed queries each), bounded to two
seconds: a slow database leaves the last figures in place rather than failing the scrape.
"""

from __future__ import annotations

import asyncio
import hmac

from pymongo.errors import PyMongoError
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from app import metrics
from app.clock import now
from app.state import AppState

MEASURE_TIMEOUT_S = 2.0


def _authorized(request: Request, token: str | None) -> bool:
    if not token:
        return True
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode(), token.encode()
    )


async def _measure_outboxes(state: AppState) -> None:
    deps = state.ready_deps
    if deps is None:
        return
    at = now()
    for name, backlog in (("cards", deps.outbox.backlog), ("sms", deps.sms.backlog)):
        pending, oldest = await backlog()
        metrics.outbox(name, pending, (at - oldest).total_seconds() if oldest else 0.0)


async def serve_metrics(request: Request) -> Response:
    state: AppState = request.app.state.anju
    if not _authorized(request, state.settings.metrics_token):
        return PlainTextResponse(
            "a bearer token is required", status_code=401, headers={"www-authenticate": "Bearer"}
        )
    try:
        async with asyncio.timeout(MEASURE_TIMEOUT_S):
            await _measure_outboxes(state)
    except (TimeoutError, PyMongoError):
        pass  # the figures of the last scrape stay; the database's own alerts say why
    body, content_type = metrics.render()
    return Response(body, media_type=content_type, headers={"cache-control": "no-store"})
