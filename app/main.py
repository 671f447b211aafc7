"""create_app(): routes, the lifespan (database client, keys, indexes, workers) and
middleware. The lifespan owns every shared resource and wires them explicitly: the store
and the services' `Deps` once the database answers, then the background workers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from bson import ObjectId
from cross_web import AsyncHTTPRequestAdapter
from graphql import ExecutionResult, GraphQLError
from pymongo.errors import PyMongoError
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLRequestData
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types.unset import UNSET, UnsetType

from app import graphiql, log_safety, logs, metrics, tracing, workers
from app.clients.gateway import GatewayClient
from app.clients.payments import PaymentsClient
from app.clients.sms import SmsClient
from app.clients.storage import Storage, storage_from_settings
from app.context import Context
from app.deps import Deps
from app.errors import Code
from app.http import BodyLimit, RequestContext, RequestTimeout
from app.live import LiveFeed
from app.observe import Observe, named_operation, note_graphql
from app.passwords import Passwords
from app.routes import http_routes
from app.schema import build_schema
from app.schema.persisted import DocumentRefused, PersistedTransportWS, resolve_request
from app.services import accounts
from app.services.card_outbox import CardOutbox
from app.services.photos import Darkroom
from app.services.sessions import AccessChecks
from app.services.sms import SmsOutbox
from app.settings import Settings, load_settings
from app.state import AppState
from app.store import make_client, open_store, uncounted
from app.tokens import InvalidToken, KeySet
from app.viewer import ANONYMOUS, Role, Scope, Viewer

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
            session_id=ObjectId(claims["sid"]),
            expires_at=float(claims["exp"]),
        )
    except (ValueError, TypeError, KeyError) as exc:
        raise InvalidToken("bad claims") from exc


def _bearer(request: Request | WebSocket) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def checked_viewer(state: AppState, token: str | None) -> Viewer:
    """The viewer a token proves, once its session is found live and its account active;
    ANONYMOUS without a token; `token_invalid` for any token that fails (and every
    operation then answers UNAUTHENTICATED)."""
    try:
        viewer = viewer_from_token(state.keys, token)
    except InvalidToken:
        return Viewer(token_invalid=True)
    deps = state.ready_deps
    if viewer.signed_in and deps is not None:
        with uncounted():
            if not await deps.access.allowed(viewer):
                return Viewer(token_invalid=True)
    return viewer


class AnjuGraphQL(GraphQL[Context, None]):
    graphql_transport_ws_handler_class = PersistedTransportWS

    def should_render_graphql_ide(self, request: Any) -> bool:
        """GraphiQL for a browser's plain GET, not for a GET naming a persisted document."""
        params = request.query_params
        return (
            super().should_render_graphql_ide(request)
            and params.get("documentId") is None
            and params.get("extensions") is None
        )

    async def render_graphql_ide(self, request: Request) -> Response:
        """GraphiQL from Anju's own files (app/graphiql), never a public CDN."""
        return graphiql.ide_response()

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        state: AppState = request.app.state.anju
        unavailable = False
        try:
            viewer = await checked_viewer(state, _bearer(request))
        except PyMongoError:  # the session cannot be checked: not the caller's fault
            viewer, unavailable = ANONYMOUS, True
        return Context(
            request=request,
            state=state,
            viewer=viewer,
            request_id=request.scope.get("state", {}).get("request_id", "-"),
            unavailable=unavailable,
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
            viewer = await checked_viewer(context.state, token)
        except PyMongoError as exc:
            raise ConnectionRejectionError({"message": "Try again in a moment."}) from exc
        if viewer.token_invalid:
            raise ConnectionRejectionError({"message": "Invalid access token."})
        context.viewer = viewer
        return UNSET

    async def execute_operation(
        self,
        request: Any,
        request_adapter: AsyncHTTPRequestAdapter,
        request_data: GraphQLRequestData | list[GraphQLRequestData],
        context: Context,
        root_value: Any,
        sub_response: Any,
    ) -> Any:
        """Only persisted documents, unless arbitrary ones are served here, and over GET only
        persisted ones (app/schema/persisted.py). A request whose token failed verification
        is refused whole: an app must learn that its session ended (and refresh or log in),
        not be served as anonymous."""
        if isinstance(request_data, GraphQLRequestData):
            try:
                await resolve_request(
                    self.schema.persisted,  # type: ignore[attr-defined]
                    request_adapter.method,
                    request_data,
                    await self._raw_request(request_adapter),
                    context.settings.arbitrary_documents,
                )
            except DocumentRefused as refused:
                return _refused(context, None, refused.message, refused.code)
        operation = named_operation(
            getattr(request_data, "operation_name", None), getattr(request_data, "query", None)
        )
        if context.unavailable:
            return _refused(
                context,
                operation,
                "The database is unavailable; try again shortly.",
                Code.SERVICE_UNAVAILABLE,
            )
        if context.viewer.token_invalid:
            return _refused(
                context,
                operation,
                "The access token is invalid or expired, or its session has ended.",
                Code.UNAUTHENTICATED,
            )
        return await super().execute_operation(
            request, request_adapter, request_data, context, root_value, sub_response
        )

    async def _raw_request(self, request_adapter: AsyncHTTPRequestAdapter) -> dict[str, Any]:
        """The request's parameters as sent, for the `documentId` Strawberry does not keep:
        the query string of a GET, the JSON body of a POST that mentions it."""
        if request_adapter.method == "GET":
            return {k: v for k, v in request_adapter.query_params.items() if isinstance(v, str)}
        body = await request_adapter.get_body()
        if b'"documentId"' not in (body if isinstance(body, bytes) else body.encode()):
            return {}
        data = self.parse_json(body)
        return data if isinstance(data, dict) else {}


def _refused(context: Context, operation: str | None, message: str, code: str) -> ExecutionResult:
    role = "invalid-token" if context.viewer.token_invalid else "-"
    note_graphql(context.request.scope, operation, role, [code])
    return ExecutionResult(data=None, errors=[GraphQLError(message, extensions={"code": code})])


async def _prepare_database(state: AppState) -> None:
    """Opens the store (the engine found, the indexes ensured), the first admin, the
    services' Deps and the workers; retries until the database answers, so Anju starts (and
    /healthz answers) while the database is still down."""
    passwords = Passwords(
        state.settings.password_hash_memory_kib, state.settings.password_checks_per_worker
    )
    delay = 0.5
    while True:
        try:
            store = await open_store(state.db, count_cap=state.settings.count_cap)
            await accounts.ensure_admin(store, state.settings, passwords)
            break
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - keep retrying whatever the failure
            log.warning("database not ready (%s); retrying in %.1fs", exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)
    deps = Deps(
        settings=state.settings,
        store=store,
        keys=state.keys,
        passwords=passwords,
        gateway=state.gateway,
        payments=state.payments,
        live=LiveFeed(state.db),
        outbox=CardOutbox(store, state.gateway),
        sms=SmsOutbox(store, state.sms),
        access=AccessChecks(store, state.settings.access_check_cache_s),
        storage=state.storage,
        darkroom=Darkroom(state.settings.photo_decodes_per_worker),
    )
    if state.settings.background_workers:
        state.tasks += workers.start(deps)
    state.ready_deps = deps
    log.info("database ready (%s): indexes ensured", store.engine.name)


def make_storage(settings: Settings) -> Storage:
    """The photo storage ANJU_STORAGE names (local disk by default, or S3)."""
    return storage_from_settings(
        settings.storage,
        storage_dir=settings.storage_dir,
        public_url=settings.public_url,
        url_signing_key=settings.url_signing_key,
        s3_endpoint=settings.s3_endpoint,
        s3_bucket=settings.s3_bucket,
        s3_access_key=settings.s3_access_key,
        s3_secret_key=settings.s3_secret_key,
        s3_region=settings.s3_region,
        s3_virtual_host_style=settings.s3_virtual_host_style,
    )


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or load_settings()
    tracing.setup(settings)
    keys = KeySet.load(settings)
    schema = build_schema(settings)
    graphql_app = AnjuGraphQL(
        schema,
        graphql_ide="graphiql" if settings.graphiql and settings.arbitrary_documents else None,
        allow_queries_via_get=True,
        subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
        max_subscriptions_per_connection=5,
        allowed_origins=settings.cors_origins,
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        state = AppState(
            settings=settings,
            client=make_client(settings),
            keys=keys,
            gateway=GatewayClient(settings),
            payments=PaymentsClient(settings),
            sms=SmsClient(settings),
            storage=make_storage(settings),
        )
        app.state.anju = state
        preparing = asyncio.create_task(_prepare_database(state))
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
            if state.ready_deps is not None:
                await state.ready_deps.live.close()
            await state.gateway.aclose()
            await state.payments.aclose()
            await state.sms.aclose()
            await state.storage.aclose()
            await state.client.close()
            metrics.process_exited()
            tracing.shutdown()

    routes = [
        Route("/graphql", graphql_app, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", graphql_app),
        *http_routes(settings),
        *(graphiql.graphiql_routes() if settings.graphiql else []),
    ]
    middleware = [
        *tracing.middleware(),
        Middleware(
            RequestContext,
            capture_commands=settings.bench_routes,
            trusted_proxies=settings.trusted_proxies,
        ),
        Middleware(Observe),
        # photo bytes are PUT to /uploads/ with a limit of their own (app/routes/files.py)
        Middleware(BodyLimit, limit=settings.max_body_bytes, exempt=("/uploads/",)),
        Middleware(RequestTimeout, seconds=settings.request_timeout_s),
    ]
    if settings.cors_origins:
        middleware.insert(
            len(tracing.middleware()) + 2,
            Middleware(
                CORSMiddleware,
                allow_origins=list(settings.cors_origins),
                allow_methods=["GET", "POST", "PUT"],
                allow_headers=["authorization", "content-type"],
                max_age=600,
            ),
        )
    return Starlette(routes=routes, middleware=middleware, lifespan=lifespan)


def app_factory() -> Starlette:
    """For `uvicorn --factory app.main:app_factory` (and `anju serve`)."""
    settings = load_settings()
    logs.configure(settings.log_format, settings.log_level)
    log_safety.install()
    return create_app(settings)
