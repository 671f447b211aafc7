"""The simulator as one Starlette app: gateway and payment protocols plus `/sim` controls."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette

from app.settings import Settings, load_settings
from sim import controls, gateway, payments
from sim.common import Refusal, Sim, refusal_handler
from sim.webhooks import Webhooks


def default_anju_url(settings: Settings) -> str:
    """Where Anju listens: SIM_ANJU_URL, else loopback on ANJU_PORT (8000)."""
    return os.environ.get("SIM_ANJU_URL") or f"http://127.0.0.1:{settings.port}"


def create_app(settings: Settings | None = None, anju_url: str | None = None) -> Starlette:
    settings = settings or load_settings()
    webhooks = Webhooks(
        anju_url or default_anju_url(settings),
        {
            "gateway": settings.gateway_webhook_secret,
            "payments": settings.payments_webhook_secret,
        },
    )
    sim = Sim(settings, webhooks)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await webhooks.start()  # the one outgoing client, bound to the serving loop
        try:
            yield
        finally:
            await webhooks.aclose()

    app = Starlette(
        routes=[*gateway.routes, *payments.routes, *controls.routes],
        exception_handlers={Refusal: refusal_handler},
        lifespan=lifespan,
    )
    app.state.sim = sim
    return app
