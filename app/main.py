"""create_app(): routes, the lifespan (database client, keys, indexes) and middleware."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from bson import ObjectId
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types.unset import UNSET, UnsetType

from app import db as dbmod
from app.context import Context
from app.gateway import GatewayClient
from app.http import BodyLimit, RequestContext, RequestTimeout
from app.kiosk import kiosk_routes
from app.loaders import Loaders
from app.payments import PaymentsClient
from app.payments_webhook import payments_webhook
from app.schema import build_schema
from app.services import accounts, cards, listings, rent_payments
from app.services.live import LiveFeed
from app.settings import Settings, load_settings
from app.snapshots import serve_snapshot
from app.state import AppState
from app.tokens import InvalidToken, KeySet
from app.viewer import ANONYMOUS, Role, Scope, Viewer
from app.webhooks import gateway_webhook

log = logging.getLogger("anju")


def viewer_from_token(keys: KeySet, token: str | None) -> Viewer:
    """The viewer an access token proves, ANONYMOUS without one; raises InvalidToken."""
    if not token:
        return ANONYMOUS
    claims = keys.verify(token)
    try:
        scope = claims["scope"]
        return Viewer(
            account_id=ObjectId(claims["sub"]),
            role=Role(claims["role"]),
            scope=Scope(
                town=scope.get("town"), community=scope.get("community"), grid=scope.get("grid")
            ),
        )
    except (ValueError, TypeError, KeyError) as exc:
        raise InvalidToken("bad claims") from exc


def _bearer(request: Request | WebSocket) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


class AnjuGraphQL(GraphQL[Context, None]):
    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        state: AppState = request.app.state.anju
        try:
            viewer = viewer_from_token(state.keys, _bearer(request))
        except InvalidToken:
            viewer = Viewer(token_invalid=True)
        return Context(
            request=request,
            state=state,
            viewer=viewer,
            request_id=request.scope.get("state", {}).get("request_id", "-"),
            loaders=Loaders(state.db, point_lookups=state.point_lookups),
        )

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        """Subscriptions authenticate in connection_init: {"authorization": "Bearer <token>"}
        (or {"accessToken": "<token>"}). Without a valid access token the socket is closed."""
        params = context.connection_params or {}
        raw = params.get("authorization") or params.get("Authorization") or ""
        token = params.get("accessToken")
        if not token and isinstance(raw, str):
            scheme, _, rest = raw.partition(" ")
            token = rest.strip() if scheme.lower() == "bearer" else None
        if not isinstance(token, str) or not token:
            raise ConnectionRejectionError({"message": "An access token is required."})
        try:
            context.viewer = viewer_from_token(context.state.keys, token)
        except InvalidToken as exc:
            raise ConnectionRejectionError({"message": "Invalid access token."}) from exc
        return UNSET


async def _prepare_database(state: AppState) -> None:
    """Ensures indexes and the first admin; retries until the database answers, so Anju
    starts (and /healthz answers) while the database is still down."""
    delay = 0.5
    while True:
        try:
            await dbmod.ensure_indexes(state.db)
            await accounts.ensure_admin(state.db, state.settings)
            state.geo_native, state.point_lookups = await listings.detect_capabilities(state.db)
            state.ready = True
            log.info("database ready: indexes ensured")
            return
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - keep retrying whatever the failure
            log.warning("database not ready (%s); retrying in %.1fs", exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or load_settings()
    keys = KeySet.load(settings)
    schema = build_schema(settings)
    graphql_app = AnjuGraphQL(
        schema,
        graphql_ide=None if settings.production else "graphiql",
        allow_queries_via_get=True,
        subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
        max_subscriptions_per_connection=5,
        allowed_origins=settings.cors_origins,
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        client = dbmod.make_client(settings)
        gateway = GatewayClient(settings)
        live = LiveFeed(client[settings.mongodb_db])
        payments = PaymentsClient(settings)
        state = AppState(
            settings=settings,
            client=client,
            keys=keys,
            gateway=gateway,
            live=live,
            payments=payments,
        )
        app.state.anju = state
        preparing = asyncio.create_task(_prepare_database(state))
        # rent: RENT_DUE notifications and unfinished payments
        state.tasks.append(
            asyncio.create_task(
                rent_payments.run_worker(
                    client[settings.mongodb_db], payments, settings, lambda: state.ready
                ),
                name="rent-worker",
            )
        )
        # leases: the card-job outbox, applied to the gateway until it answers
        state.tasks.append(
            asyncio.create_task(
                cards.run_worker(client[settings.mongodb_db], gateway, lambda: state.ready),
                name="card-worker",
            )
        )
        try:
            yield
        finally:
            preparing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await preparing
            for task in state.tasks:
                task.cancel()
            for task in state.tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await live.close()
            await gateway.aclose()
            await payments.aclose()
            await client.close()

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "alive"})

    async def readyz(request: Request) -> Response:
        state: AppState = request.app.state.anju
        try:
            await asyncio.wait_for(dbmod.ping(state.db), timeout=2.0)
        except Exception:  # noqa: BLE001 - any failure means not ready
            return JSONResponse({"status": "unavailable", "database": "down"}, status_code=503)
        if not state.ready:  # up, but indexes and the first admin are still being set up
            return JSONResponse({"status": "starting", "database": "up"}, status_code=503)
        return JSONResponse({"status": "ready", "database": "up"})

    async def jwks(request: Request) -> Response:
        return JSONResponse(keys.jwks(), headers={"cache-control": "public, max-age=300"})

    routes = [
        Route("/graphql", graphql_app, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", graphql_app),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/.well-known/jwks.json", jwks),
        Route("/webhooks/gateway", gateway_webhook, methods=["POST"]),
        Route("/webhooks/payments", payments_webhook, methods=["POST"]),
        Route("/snapshots/{snapshot_id}", serve_snapshot, methods=["GET"]),
        *kiosk_routes(),
    ]
    if settings.bench_routes:
        from app.bench_route import bare_listings

        routes.append(Route("/bench/listings", bare_listings))
    middleware = [
        Middleware(RequestContext, capture_commands=settings.bench_routes),
        Middleware(BodyLimit, limit=settings.max_body_bytes),
        Middleware(RequestTimeout, seconds=settings.request_timeout_s),
    ]
    if settings.cors_origins:
        middleware.insert(
            1,
            Middleware(
                CORSMiddleware,
                allow_origins=list(settings.cors_origins),
                allow_methods=["GET", "POST"],
                allow_headers=["authorization", "content-type"],
                max_age=600,
            ),
        )
    return Starlette(routes=routes, middleware=middleware, lifespan=lifespan)


def app_factory() -> Starlette:
    """For `uvicorn --factory app.main:app_factory`."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    return create_app()
