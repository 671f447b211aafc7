"""The one database client of a process, and the per-request count of its commands.

The client is made in the application's lifespan (never at import, never before a fork) and
closed in `finally`.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from pymongo import AsyncMongoClient, monitoring
from pymongo.asynchronous.database import AsyncDatabase

from app import metrics
from app.settings import Settings
from app.store.types import Doc


@dataclass
class RoundTrips:
    """Database commands sent on behalf of one request."""

    count: int = 0
    commands: list[str] = field(default_factory=list)
    # the commands themselves, kept only when the benchmark asks (ANJU_BENCH_ROUTES), so that
    # it can explain each query an operation sends
    captured: list[dict[str, Any]] | None = None


current_round_trips: contextvars.ContextVar[RoundTrips | None] = contextvars.ContextVar(
    "current_round_trips", default=None
)


@contextlib.contextmanager
def uncounted() -> Iterator[None]:
    """Round trips that are not the operation's own (the per-request access check, cached
    per session) are left out of its figure, which the N+1 tests compare."""
    token = current_round_trips.set(None)
    try:
        yield
    finally:
        current_round_trips.reset(token)


EXPLAINABLE = frozenset({"find", "count", "aggregate", "findAndModify", "update", "delete"})
_SESSION_FIELDS = frozenset({"lsid", "$db", "$clusterTime", "$readPreference", "txnNumber"})


class _RoundTripCounter(monitoring.CommandListener):
    """Counts commands per request (the figure the benchmark and the DataLoader tests read)."""

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        counter = current_round_trips.get()
        if counter is not None:
            counter.count += 1
            counter.commands.append(event.command_name)
            if counter.captured is not None and event.command_name in EXPLAINABLE:
                kept = {k: v for k, v in event.command.items() if k not in _SESSION_FIELDS}
                counter.captured.append({**kept, "$db": event.database_name})

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


class _CommandMetrics(monitoring.CommandListener):
    """Counts and times every round trip for the operator's metrics (app/metrics.py)."""

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        pass

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        metrics.db_command(event.command_name, True, event.duration_micros / 1e6)

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        metrics.db_command(event.command_name, False, event.duration_micros / 1e6)


class QueryShapes(monitoring.CommandListener):
    """Under ANJU_ENV=test only: one example of every query shape this process sends
    (requests and background work alike), for the test that checks each against the
    declared indexes (app/store/esr.py). A shape is the command, the collection, and the
    filter's and sort's structure with the values left out."""

    LIMIT = 5000

    def __init__(self) -> None:
        self.examples: dict[str, dict[str, Any]] = {}

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        name = event.command_name
        if (name not in EXPLAINABLE and name != "distinct") or len(self.examples) >= self.LIMIT:
            return
        command = event.command
        flt: Any = command.get("filter", command.get("query"))
        if name in ("update", "delete"):
            statements = command.get("updates") or command.get("deletes") or [{}]
            flt = statements[0].get("q")
        if name == "aggregate":
            pipeline = command.get("pipeline") or []
            flt = next((st["$match"] for st in pipeline if "$match" in st), None)
        sort = command.get("sort")
        example = {"command": name, "collection": command.get(name), "filter": flt, "sort": sort}
        key = repr((name, command.get(name), _structure(flt), _structure(sort)))
        self.examples.setdefault(key, example)

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


def _structure(value: Any) -> Any:
    if isinstance(value, dict):
        return tuple(
            (k, _structure(v) if k.startswith("$") or isinstance(v, dict) else None)
            for k, v in value.items()
        )
    if isinstance(value, list):
        return tuple(_structure(v) for v in value[:3])
    return type(value).__name__


query_shapes = QueryShapes()


def make_client(settings: Settings) -> AsyncMongoClient[Doc]:
    listeners: list[monitoring.CommandListener] = []
    if settings.expose_metrics:
        listeners.append(_RoundTripCounter())
    if settings.metrics_enabled:
        listeners.append(_CommandMetrics())
    if settings.env == "test":
        listeners.append(query_shapes)
    return AsyncMongoClient(
        settings.effective_mongodb_uri,
        tz_aware=True,
        serverSelectionTimeoutMS=3000,
        connectTimeoutMS=2000,
        socketTimeoutMS=settings.mongodb_socket_timeout_ms,
        # each listener costs an event object per command: the per-request count only where
        # its figures are shown (development, tests, benchmarks), the metrics where enabled
        event_listeners=listeners,
        appname="anju",
    )


async def ping(db: AsyncDatabase[Doc]) -> None:
    await db.command("ping")
