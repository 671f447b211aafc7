"""Schema extensions: error masking with stable codes (and what their log holds), the cost
limit, police read-only, round-trip figures, the parse cache."""

from __future__ import annotations

import contextlib
import functools
import logging
import re
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from bson import json_util
from graphql import ExecutionResult, parse
from graphql.error import GraphQLError
from pymongo.errors import ConnectionFailure, PyMongoError
from strawberry.extensions import FieldExtension, MaskErrors, SchemaExtension

from app.errors import AnjuError, Code, ForbiddenError
from app.log_safety import log_error
from app.schema.cost import OverLimit, operation_cost
from app.store import current_round_trips
from app.viewer import Role

log = logging.getLogger("anju.graphql")


def _is_ours(error: GraphQLError) -> bool:
    return isinstance(error.original_error, AnjuError)


def _bad_variables(error: GraphQLError) -> bool:
    """graphql-core could not coerce a variable (the client's mistake, not a resolver's)."""
    return error.path is None and error.message.startswith("Variable '$")


def log_errors(errors: list[GraphQLError], execution_context: Any) -> None:
    """The log of a request's errors (the schema's `process_errors`, which Strawberry calls
    before CodedErrors masks them): only the unexpected ones, with what app/log_safety.py
    allows (code, request id, operation, path, the exception's type and frames). A client's
    mistakes (syntax, validation, refused input) are answered, not logged; and Strawberry's
    own logging, which writes each error's message and so the values it quotes, is off."""
    for error in errors:
        original = error.original_error
        if original is None or isinstance(original, AnjuError) or _bad_variables(error):
            continue
        connection = _is_connection(original)
        context = getattr(execution_context, "context", None)
        try:
            operation = execution_context.operation_name if execution_context else None
        except RuntimeError:  # several operations and none named
            operation = None
        log_error(
            log,
            logging.WARNING if connection else logging.ERROR,
            code=Code.SERVICE_UNAVAILABLE if connection else Code.INTERNAL_SERVER_ERROR,
            request_id=getattr(context, "request_id", None),
            operation=operation,
            path=error.path,
            error=original,
        )


class CodedErrors(MaskErrors):
    """Lets our coded errors through, gives validation errors a code, and masks the rest:
    clients read "Unexpected error." (or a clear word that the database is down) with the
    request id; the log has what `log_errors` keeps."""

    def __init__(self) -> None:
        super().__init__(
            should_mask_error=lambda e: e.original_error is not None and not _is_ours(e)
        )

    def _request_id(self) -> str:
        context = getattr(self.execution_context, "context", None)
        return getattr(context, "request_id", "-")

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        original = error.original_error
        if _bad_variables(error):
            return _variables_refused(error)
        if original is not None and _is_connection(original):
            message = "The database is unavailable; try again shortly."
            code = Code.SERVICE_UNAVAILABLE
        else:
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
        processed = []
        for error in super()._process_errors(errors):
            if (error.extensions or {}).get("code"):
                pass
            elif _bad_variables(error):
                error = _variables_refused(error)
            elif error.original_error is None:
                error.extensions = {**(error.extensions or {}), "code": "GRAPHQL_VALIDATION_FAILED"}
            processed.append(error)
        return processed


def _variables_refused(error: GraphQLError) -> GraphQLError:
    """The variables could not be coerced to their types (an object where an enum was
    expected, say): the client's fault. Say which variable and why, never the value given (a
    password, an ID number)."""
    return GraphQLError(
        message=without_values(error.message),
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        original_error=None,
        extensions={"code": "BAD_USER_INPUT"},
    )


# graphql-core 3.2: "Variable '$x' got invalid value <value> at 'x.a'; <reason>"
# graphql-core 3.3: "Variable '$x' has invalid value.a: <reason, found: <value>>"
_VARIABLE_ERROR = re.compile(
    r"^Variable '\$(?P<name>\w+)' (?:got|has) invalid value(?P<path>(?:\.\w+|\[\d+\])*)",
    re.DOTALL,
)
_AT_PATH = re.compile(r" at '(?P<path>[\w.\[\]]+)'; ")
_TYPE = r"'[\w!\[\]]+'"
# graphql-core's reasons, as far as they name no value; any other reason is dropped
_SAFE_REASONS = [
    (
        re.compile(
            rf"Expected (?:a )?value of (?:non-null )?type {_TYPE} (?:not )?to (?:be an object"
            r"|be None|be provided|include (?:required|unknown) field '\w+')"
        ),
        "{0}",
    ),
    (re.compile(rf"Expected (?:a )?value of (?:non-null )?type {_TYPE}"), "{0}"),
    (re.compile(rf"Field '\w+' of required type {_TYPE} was not provided"), "{0}"),
    (re.compile(r"Field '\w+' is not defined by type '\w+'"), "{0}"),
    (re.compile(rf"Expected type {_TYPE}"), "{0}"),
    (re.compile(r"(\w+) cannot represent"), "{1} cannot represent this value"),
    (re.compile(r"does not exist in '(\w+)' enum"), "Not a value of the enum {1}"),
]


def without_values(message: str) -> str:
    """graphql-core's sentence for a variable it could not coerce, without the value it
    quotes (a log-in's password, an occupant's ID number): the variable, the place in it and
    the reason, never a value given."""
    match = _VARIABLE_ERROR.match(message)
    if match is None:
        return message.split(";")[0].rstrip(".") + "."
    at = _AT_PATH.search(message)
    path = at.group("path") if at else match.group("name") + match.group("path")
    where = f" at '{path}'" if path != match.group("name") else ""
    reason = message[match.end() :]
    for pattern, shown in _SAFE_REASONS:
        found = pattern.search(reason)
        if found:
            why = shown.format(found.group(0), *found.groups())
            return f"Variable '${match.group('name')}' got an invalid value{where}: {why}."
    return f"Variable '${match.group('name')}' got an invalid value{where}."


def _is_connection(error: BaseException) -> bool:
    from pymongo.errors import AutoReconnect, NetworkTimeout, ServerSelectionTimeoutError

    return isinstance(error, PyMongoError) and isinstance(
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


class CostLimit(SchemaExtension):
    """Refuses, before execution (so before any database command), a request whose answer
    could hold more objects than ANJU_COST_LIMIT (app/schema/cost.py says how it counts)."""

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        settings = getattr(context.context, "settings", None)
        if settings is not None and context.graphql_document is not None:
            limit = settings.cost_limit
            try:
                name = context.operation_name
            except RuntimeError:  # several operations, none named: graphql-core refuses it
                name = None
            try:
                operation_cost(
                    context.schema._schema, context.graphql_document, name, context.variables, limit
                )
            except OverLimit as over:
                context.result = ExecutionResult(
                    data=None,
                    errors=[
                        GraphQLError(
                            f"This request could return more than {limit} objects (counted "
                            f"so far: {over.cost}); ask for fewer: smaller `first`, fewer "
                            "nested lists or aliases.",
                            extensions={"code": Code.COST_LIMIT, "limit": limit},
                        )
                    ],
                )
        yield
