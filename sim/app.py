"""The simulator as one Starlette app: gateway, payment and SMS protocols plus `/sim` controls."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.settings import Settings, load_settings
from sim import agreements, claims, codes, controls, gateway, payments, sms
from sim.common import Refusal, Sim, refusal_handler
from sim.garbage import Garbled, garbled_handler
from sim.state import iso, utcnow
from sim.webhooks import Webhooks


def default_anju_url(settings: Settings) -> str:
    """Where Anju listens: SIM_ANJU_URL, else loopback on ANJU_PORT (8000)."""
    return os.environ.get("SIM_ANJU_URL") or f"http://127.0.0.1:{settings.port}"


MAX_CALLS = 2000
PAYMENT_PATHS = ("/v1/charges", "/v1/agreements")


def api_of(path: str) -> str:
    """Which of the simulated services a protocol path belongs to."""
    if path.startswith(PAYMENT_PATHS):
        return "payments"
    return "sms" if path.startswith("/v1/messages") else "gateway"


class CallLog:
    """Records every protocol call (`/v1/...`) in `state.calls`: method, path, the caller's
    X-Request-Id, when it came and when its answer started (None while in flight), for
    `GET /sim/calls`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith("/v1/"):
            await self.app(scope, receive, send)
            return
        state = scope["app"].state.sim.state
        entry: dict[str, object] = {
            "api": api_of(path),
            "method": scope["method"],
            "path": path,
            "requestId": next(
                (v.decode("latin-1") for k, v in scope["headers"] if k == b"x-request-id"), None
            ),
            "receivedAt": iso(utcnow()),
            "status": None,
            "answeredAt": None,
        }
        state.calls.append(entry)
        if len(state.calls) > MAX_CALLS:
            del state.calls[: MAX_CALLS // 2]

        async def logged(message: Message) -> None:
            if message["type"] == "http.response.start":
                entry["status"] = message["status"]
                entry["answeredAt"] = iso(utcnow())
            await send(message)

        await self.app(scope, receive, logged)


def create_app(
    settings: Settings | None = None, anju_url: str | None = None, sms_token: str | None = None
) -> Starlette:
    """The simulator app; settings, Anju's URL and SMS_TOKEN default to the environment's."""
    settings = settings or load_settings()
    webhooks = Webhooks(
        anju_url or default_anju_url(settings),
        {
            "gateway": settings.gateway_webhook_secret,
            "payments": settings.payments_webhook_secret,
        },
    )
    # SMS_TOKEN as the settings read it (production rules refuse its development default)
    sim = Sim(settings, webhooks, sms_token or settings.sms_token)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await webhooks.start()  # the one outgoing client, bound to the serving loop
        try:
            yield
        finally:
            await webhooks.aclose()

    app = Starlette(
        routes=[
            *gateway.routes,
            *claims.routes,
            *codes.routes,
            *payments.routes,
            *agreements.routes,
            *sms.routes,
            *controls.routes,
        ],
        exception_handlers={Refusal: refusal_handler, Garbled: garbled_handler},
        middleware=[Middleware(CallLog)],
        lifespan=lifespan,
    )
    app.state.sim = sim
    return app
