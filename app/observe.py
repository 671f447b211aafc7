"""What each request did, for the metrics and the access log.

- `Observe` (ASGI middleware, just inside `RequestContext`) times every HTTP request and
  WebSocket connection, records it in the metrics and writes one access line (logger
  `anju.access`): method, route, operation, role, outcome, status, duration. The probes
  (/healthz, /readyz, /metrics) are logged at DEBUG, every other request at INFO.
- `ObservedOperation` (schema extension) tells it what GraphQL made of the request: the
  operation's name (or its first root field when unnamed), the caller's role and the outcome
  from the error codes, and counts the errors by code.

Outcomes: `ok`; `refused` (the caller's doing: a 4xx, or GraphQL errors with client codes
such as UNAUTHENTICATED, FORBIDDEN, NOT_FOUND, BAD_USER_INPUT); `failed` (ours: a 5xx,
INTERNAL_SERVER_ERROR, SERVICE_UNAVAILABLE, TIMEOUT). A refused mutation's `userErrors` is an
answer, so `ok`.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterable, Iterator
from typing import Any

from graphql import OperationDefinitionNode
from graphql.error import GraphQLError
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.extensions import SchemaExtension

from app import metrics, tracing
from app.errors import Code

log = logging.getLogger("anju.access")

SERVER_CODES = frozenset(
    {Code.INTERNAL_SERVER_ERROR, Code.SERVICE_UNAVAILABLE, "TIMEOUT", "INTERNAL_SERVER_ERROR"}
)
QUIET_ROUTES = frozenset({"/healthz", "/readyz", "/metrics"})


def outcome_of_codes(codes: Iterable[str]) -> str:
    found = list(codes)
    if not found:
        return "ok"
    return "failed" if any(code in SERVER_CODES for code in found) else "refused"


def note_graphql(
    scope: Scope, operation: str | None, role: str | None, codes: list[str] | None
) -> None:
    """Records what GraphQL made of a request in its scope, for `Observe`."""
    state = scope.setdefault("state", {})
    if operation:
        state["operation"] = operation
    if role:
        state["role"] = role
    if codes is not None:
        for code in codes:
            metrics.graphql_error(code)
        state["outcome"] = outcome_of_codes(codes)


def error_codes(errors: list[GraphQLError] | None) -> list[str]:
    return [str((e.extensions or {}).get("code") or "UNKNOWN") for e in errors or []]


class ObservedOperation(SchemaExtension):
    """Listed first among the schema's extensions, so that it sees the errors after the
    others (error masking among them) have given each its code."""

    def on_operation(self) -> Iterator[None]:
        yield
        context = self.execution_context.context
        request = getattr(context, "request", None)
        if request is None:
            return
        result = self.execution_context.result
        errors = getattr(result, "errors", None) if result is not None else None
        viewer = getattr(context, "viewer", None)
        role = getattr(getattr(viewer, "role", None), "value", None)
        note_graphql(
            request.scope,
            self._operation(),
            role or ("invalid-token" if getattr(viewer, "token_invalid", False) else "anonymous"),
            error_codes(errors),
        )

    def _operation(self) -> str | None:
        context = self.execution_context
        named = metrics.operation_label(context.operation_name)
        if named:
            return named
        document = context.graphql_document
        if document is None:
            return None
        for definition in document.definitions:
            if isinstance(definition, OperationDefinitionNode):
                for selection in definition.selection_set.selections:
                    name = getattr(getattr(selection, "name", None), "value", None)
                    return metrics.operation_label(name)
        return None


_FIRST_OPERATION = re.compile(r"^\s*(?:query|mutation|subscription)\s+([A-Za-z_][A-Za-z0-9_]*)")


def named_operation(name: str | None, query: str | None) -> str | None:
    """The label of a request refused before GraphQL parsed it: its operationName, or the
    name its document's first operation gives itself."""
    if not name and query:
        found = _FIRST_OPERATION.match(query[:200])
        name = found.group(1) if found else None
    return metrics.operation_label(name)


def route_label(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return str(path) if path else "unmatched"


def _outcome_of_status(status: int) -> str:
    if status >= 500 or status == 0:
        return "failed"
    return "refused" if status >= 400 else "ok"


def _annotate_span(scope: Scope, status: int) -> None:
    state: dict[str, Any] = scope.get("state", {})
    tracing.annotate(
        {
            "request_id": str(state.get("request_id", "-")),
            "operation": str(state.get("operation") or route_label(scope)),
            "role": str(state.get("role", "-")),
            "outcome": str(state.get("outcome") or _outcome_of_status(status)),
        }
    )


class Observe:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in {"http", "websocket"}:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 0

        async def tracking_send(message: Message) -> None:
            nonlocal status
            kind = message["type"]
            if kind == "http.response.start":
                status = int(message["status"])
                _annotate_span(scope, status)  # the server span ends with the response
            elif kind == "websocket.accept":
                status = 101
            elif kind == "websocket.close" and status == 0:
                status = 403  # closed before it was accepted: refused
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except BaseException:
            status = 500
            raise
        finally:
            self._record(scope, status, time.perf_counter() - started)

    @staticmethod
    def _record(scope: Scope, status: int, seconds: float) -> None:
        state: dict[str, Any] = scope.get("state", {})
        route = route_label(scope)
        operation = state.get("operation") or route
        outcome = "failed" if status >= 500 else state.get("outcome") or _outcome_of_status(status)
        metrics.request_done(operation, outcome, seconds)
        role = state.get("role", "-")
        method = scope.get("method", "WS")
        level = logging.DEBUG if route in QUIET_ROUTES else logging.INFO
        if not log.isEnabledFor(level):
            return
        duration_ms = round(seconds * 1000, 1)
        log.log(
            level,
            "%s %s %s %s %s %s %.1fms",
            method,
            scope.get("path", "-"),
            operation,
            role,
            outcome,
            status,
            duration_ms,
            extra={
                "method": method,
                "route": route,
                "operation": operation,
                "role": role,
                "outcome": outcome,
                "status": status,
                "duration_ms": duration_ms,
            },
        )
