"""Schema extensions: error masking with stable codes, police read-only, round-trip figures."""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from bson import json_util
from graphql import parse
from graphql.error import GraphQLError
from pymongo.errors import ConnectionFailure, PyMongoError
from strawberry.extensions import FieldExtension, MaskErrors, SchemaExtension

from app.errors import AnjuError, Code, ForbiddenError
from app.store import current_round_trips
from app.viewer import Role

log = logging.getLogger("anju.graphql")


def _is_ours(error: GraphQLError) -> bool:
    return isinstance(error.original_error, AnjuError)


class CodedErrors(MaskErrors):
    """Lets our coded errors through, gives validation errors a code, and masks the rest:
    clients read "Unexpected error." (or a clear word that the database is down), the log
    has the traceback and the request id."""

    def __init__(self) -> None:
        super().__init__(
            should_mask_error=lambda e: e.original_error is not None and not _is_ours(e)
        )

    def _request_id(self) -> str:
        context = getattr(self.execution_context, "context", None)
        return getattr(context, "request_id", "-")

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        original = error.original_error
        if error.path is None:
            # Not from a resolver: the variables could not be coerced to their types (an
            # object where an enum was expected, say). The client's fault; keep graphql-core's
            # sentence, not the Python detail after it.
            return GraphQLError(
                message=error.message.split(";")[0].rstrip(".") + ".",
                nodes=error.nodes,
                source=error.source,
                positions=error.positions,
                original_error=None,
                extensions={"code": "BAD_USER_INPUT"},
            )
        if isinstance(original, ConnectionFailure | PyMongoError) and _is_connection(original):
            log.warning("database unavailable [request %s]: %s", self._request_id(), original)
            message, code = (
                "The database is unavailable; try again shortly.",
                Code.SERVICE_UNAVAILABLE,
            )
        else:
            log.error(
                "unexpected error [request %s]", self._request_id(), exc_info=original or error
            )
            message, code = self.error_message, Code.INTERNAL_SERVER_ERROR
        return GraphQLError(
            message=message,
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            original_error=None,
            extensions={"code": code, "requestId": self._request_id()},
        )

    def _process_errors(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        processed = super()._process_errors(errors)
        for error in processed:
            if error.original_error is None and not (error.extensions or {}).get("code"):
                error.extensions = {**(error.extensions or {}), "code": "GRAPHQL_VALIDATION_FAILED"}
        return processed


def _is_connection(error: BaseException) -> bool:
    from pymongo.errors import AutoReconnect, NetworkTimeout, ServerSelectionTimeoutError

    return isinstance(
        error, ConnectionFailure | AutoReconnect | NetworkTimeout | ServerSelectionTimeoutError
    )


class PoliceReadOnly(FieldExtension):
    """Attached to every mutation but the session ones: POLICE reads, never writes."""

    def resolve(self, next_: Callable[..., Any], source: Any, info: Any, **kwargs: Any) -> Any:
        self._check(info)
        return next_(source, info, **kwargs)

    async def resolve_async(
        self, next_: Callable[..., Awaitable[Any]], source: Any, info: Any, **kwargs: Any
    ) -> Any:
        self._check(info)
        return await next_(source, info, **kwargs)

    @staticmethod
    def _check(info: Any) -> None:
        if info.context.viewer.role is Role.POLICE:
            raise ForbiddenError("Police accounts are read-only.")


class RoundTripFigures(SchemaExtension):
    """Adds `extensions.dbRoundTrips` to each answer where settings.expose_metrics is on
    (development and benchmarks); the count comes from the database client's listener. With
    ANJU_BENCH_ROUTES (never in production) `extensions.dbCommands` also lists the commands."""

    def get_results(self) -> dict[str, Any]:
        counter = current_round_trips.get()
        context = self.execution_context.context
        if (
            counter is None
            or not getattr(context, "settings", None)
            or not context.settings.expose_metrics
        ):
            return {}
        figures: dict[str, Any] = {"dbRoundTrips": counter.count}
        if counter.captured is not None:  # the benchmark explains these (Extended JSON)
            figures["dbCommands"] = json_util.dumps(counter.captured)
        return figures

    def on_operation(self) -> Iterator[None]:
        yield


# Parsed documents by text and parse options, shared by every request of the process; bounded,
# so unique texts from a hostile client only churn it.
_parse_cached = functools.lru_cache(maxsize=256)(parse)


class DocumentCache(SchemaExtension):
    """Parses each distinct document text once. The apps send the same few documents over
    and over; a text that does not parse is left to Strawberry's own parser, which reports
    the syntax error as usual (Strawberry's ParserCache raises it outside that handling)."""

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        if context.query and context.graphql_document is None:
            with contextlib.suppress(GraphQLError):
                context.graphql_document = _parse_cached(context.query, **context.parse_options)
        yield
