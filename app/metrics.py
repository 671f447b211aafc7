"""Prometheus metrics: what an operator alerts on (README, "Metrics and alerts").

The metrics are module-level objects, prometheus_client's own idiom; recording one is a
dictionary look-up and an addition (no I/O). With several uvicorn workers, each worker writes
its values to files in PROMETHEUS_MULTIPROC_DIR (the library's multi-process mode, set up by
`anju serve`), and whichever worker answers /metrics (app/routes/metrics.py) reads them all:
counters and histograms are summed over workers, `subscriptions_active` too (live workers
only), the last success of a background pass is the newest of any worker, and the outbox
gauges are the figure the answering worker has just measured.

Labels stay bounded: operation names are the client's, so a worker keeps the first
`MAX_OPERATIONS` distinct well-formed names it sees and counts the rest as "other"; every
other label comes from a fixed set of ours.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from collections.abc import Iterator

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client import multiprocess as _multiprocess

from app.logs import current_request_id, new_request_id

if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):  # each metric below opens its file there
    os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
DB_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0)
DELIVERY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0)
PASS_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0)

REQUESTS = Counter(
    "anju_requests",
    "HTTP requests and WebSocket connections served, by operation (the GraphQL operation "
    "name, else the route) and outcome (ok, refused, failed).",
    ["operation", "outcome"],
)
REQUEST_SECONDS = Histogram(
    "anju_request_duration_seconds",
    "Time to answer a request, by operation and outcome.",
    ["operation", "outcome"],
    buckets=LATENCY_BUCKETS,
)
GRAPHQL_ERRORS = Counter(
    "anju_graphql_errors",
    "GraphQL errors answered, by their extensions.code.",
    ["code"],
)
DB_COMMANDS = Counter(
    "anju_db_commands",
    "Database round trips, by command and outcome (ok, failed).",
    ["command", "outcome"],
)
DB_SECONDS = Histogram(
    "anju_db_command_duration_seconds",
    "Database round-trip time, by command.",
    ["command"],
    buckets=DB_BUCKETS,
)
DOOR_COMMANDS = Counter(
    "anju_door_commands",
    "Remote door-open commands, by outcome (OPENED, TIMED_OUT, DEVICE_OFFLINE, FAILED).",
    ["outcome"],
)
DOOR_SECONDS = Histogram(
    "anju_door_command_duration_seconds",
    "Time for the gateway to answer an open command.",
    buckets=LATENCY_BUCKETS,
)
OUTBOX_PENDING = Gauge(
    "anju_outbox_pending",
    "Jobs waiting in an outbox (cards: card changes for the doors; sms: text messages, "
    "phone codes among them), measured when /metrics is read.",
    ["outbox"],
    multiprocess_mode="mostrecent",
)
OUTBOX_OLDEST = Gauge(
    "anju_outbox_oldest_age_seconds",
    "Age of the oldest pending job of an outbox (0 when none), measured when /metrics is read.",
    ["outbox"],
    multiprocess_mode="mostrecent",
)
WEBHOOKS = Counter(
    "anju_webhooks",
    "Webhook calls received, by source (gateway, payments), event type and verdict.",
    ["source", "type", "verdict"],
)
DELIVERY_SECONDS = Histogram(
    "anju_subscription_delivery_seconds",
    "Time from an alarm or notification being written to its delivery to a subscriber.",
    ["feed"],
    buckets=DELIVERY_BUCKETS,
)
SUBSCRIPTIONS = Gauge(
    "anju_subscriptions_active",
    "Subscriptions open now, by feed (alarms, notifications).",
    ["feed"],
    multiprocess_mode="livesum",
)
PASS_SECONDS = Histogram(
    "anju_background_pass_duration_seconds",
    "Duration of one pass of a background worker.",
    ["worker"],
    buckets=PASS_BUCKETS,
)
PASS_FAILURES = Counter(
    "anju_background_pass_failures",
    "Background passes that failed (and will be retried), by worker.",
    ["worker"],
)
LAST_SUCCESS = Gauge(
    "anju_background_last_success_timestamp_seconds",
    "Unix time of a background worker's last successful pass (the newest of any process).",
    ["worker"],
    multiprocess_mode="max",
)

# every label value below is ours; the database's commands are a fixed list too
DB_COMMAND_NAMES = frozenset(
    {
        "find",
        "insert",
        "update",
        "delete",
        "findAndModify",
        "aggregate",
        "count",
        "distinct",
        "getMore",
        "killCursors",
        "createIndexes",
        "listIndexes",
        "listCollections",
        "drop",
        "ping",
        "hello",
        "buildInfo",
    }
)
MAX_OPERATIONS = 200
_OPERATION_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_operations: set[str] = set()


def operation_label(name: str | None) -> str | None:
    """The label for a client's operation name: the name, or "other" once this worker has
    seen MAX_OPERATIONS distinct names; None when there is no usable name."""
    if not name or not _OPERATION_NAME.match(name):
        return None
    if name in _operations:
        return name
    if len(_operations) >= MAX_OPERATIONS:
        return "other"
    _operations.add(name)
    return name


def request_done(operation: str, outcome: str, seconds: float) -> None:
    REQUESTS.labels(operation, outcome).inc()
    REQUEST_SECONDS.labels(operation, outcome).observe(seconds)


def graphql_error(code: str) -> None:
    GRAPHQL_ERRORS.labels(code).inc()


def db_command(command: str, ok: bool, seconds: float) -> None:
    name = command if command in DB_COMMAND_NAMES else "other"
    DB_COMMANDS.labels(name, "ok" if ok else "failed").inc()
    DB_SECONDS.labels(name).observe(seconds)


def door_command(outcome: str, seconds: float) -> None:
    DOOR_COMMANDS.labels(outcome).inc()
    DOOR_SECONDS.observe(seconds)


def webhook(source: str, kind: str, verdict: str) -> None:
    WEBHOOKS.labels(source, kind, verdict).inc()


def delivered(feed: str, seconds: float) -> None:
    DELIVERY_SECONDS.labels(feed).observe(max(0.0, seconds))


@contextlib.contextmanager
def subscription(feed: str) -> Iterator[None]:
    gauge = SUBSCRIPTIONS.labels(feed)
    gauge.inc()
    try:
        yield
    finally:
        gauge.dec()


def outbox(name: str, pending: int, oldest_age_s: float) -> None:
    OUTBOX_PENDING.labels(name).set(pending)
    OUTBOX_OLDEST.labels(name).set(max(0.0, oldest_age_s))


@contextlib.contextmanager
def background_pass(worker: str) -> Iterator[None]:
    """Times one pass of a background worker, under a request id of its own (the gateway's
    and providers' logs show it); a pass that raises counts as a failure."""
    token = current_request_id.set(f"{worker}-{new_request_id()}")
    started = time.perf_counter()
    try:
        yield
    except BaseException as exc:
        if not isinstance(exc, GeneratorExit | KeyboardInterrupt) and not _cancelled(exc):
            PASS_FAILURES.labels(worker).inc()
        raise
    else:
        LAST_SUCCESS.labels(worker).set(time.time())
    finally:
        PASS_SECONDS.labels(worker).observe(time.perf_counter() - started)
        current_request_id.reset(token)


def _cancelled(exc: BaseException) -> bool:
    import asyncio

    return isinstance(exc, asyncio.CancelledError)


def multiprocess() -> bool:
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


def render() -> tuple[bytes, str]:
    """The exposition of every worker's metrics (or this process's, with one worker)."""
    if multiprocess():
        registry = CollectorRegistry()
        _multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def process_exited() -> None:
    """Drops this worker's live gauges (its open subscriptions) from the figures."""
    if multiprocess():
        _multiprocess.mark_process_dead(os.getpid())
