"""A small closed-loop load generator: fixed concurrency, fixed duration, one process.

Each virtual client sends its next request as soon as the previous one is answered, so the
figures are throughput at that concurrency and the latency each request saw. Runs in the
benchmark's own process (scripts/bench.py), never inside Anju.

The measured window starts when the warm-up ends and closes when the last request started
before the deadline is answered; only requests started inside it are counted, and
`on_window("start" | "end")` is called at both edges so that the caller can read every
process's CPU exactly there (scripts/bench_cpu.py). With `min_requests`, the window stays
open past `duration_s` until that many requests were counted (at most `max_duration_s`), so
that a slow operation driven by one client still yields a usable CPU per request.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx

Request = Callable[[httpx.AsyncClient, int], Awaitable[tuple[bool, int]]]
"""Sends one request for client i; returns (ok, database round trips or -1)."""


@dataclass
class Result:
    name: str
    concurrency: int
    duration_s: float
    requests: int = 0
    errors: int = 0
    rps: float = 0.0
    p50_ms: float = 0.0
    p95_ms: float = 0.0
    p99_ms: float = 0.0
    max_ms: float = 0.0
    round_trips: float | None = None
    error_kinds: dict[str, int] = field(default_factory=dict)
    # the measured window (time.monotonic()), its length, and the warm-up before it
    window_start: float = 0.0
    window_end: float = 0.0
    measured_s: float = 0.0
    warmup_s: float = 0.0
    latencies_ms: list[float] = field(default_factory=list, repr=False)
    # when each counted request was answered (time.monotonic()), for CPU per time slice
    completed_at: list[float] = field(default_factory=list, repr=False)

    def summary(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("latencies_ms", "completed_at", "window_start", "window_end"):
            data.pop(key)
        return data


def _percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[index]


async def run(
    name: str,
    send: Request,
    *,
    base_url: str,
    concurrency: int,
    duration_s: float,
    warmup_s: float = 1.0,
    max_requests: int = 1_000_000,
    min_requests: int = 0,
    max_duration_s: float | None = None,
    on_window: Callable[[str], None] | None = None,
) -> Result:
    """Drives `send` from `concurrency` clients for `duration_s` (after a warm-up), longer
    if fewer than `min_requests` were counted by then (up to `max_duration_s`)."""
    result = Result(name, concurrency, duration_s, warmup_s=warmup_s)
    trips: list[int] = []
    failures: Counter[str] = Counter()
    kinds: Counter[str] = getattr(send, "error_kinds", Counter())
    kinds.clear()
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    loop = asyncio.get_running_loop()

    def open_window() -> None:
        kinds.clear()  # the warm-up's failures are not counted, nor are their kinds
        if on_window:
            on_window("start")
        result.window_start = time.monotonic()

    async with httpx.AsyncClient(base_url=base_url, timeout=30, limits=limits) as client:
        warm_end = time.monotonic() + warmup_s
        opening = loop.call_at(loop.time() + warmup_s, open_window)
        end = warm_end + duration_s
        hard_end = warm_end + max(duration_s, max_duration_s or duration_s)

        stopped: list[float] = []

        def more() -> bool:
            now = time.monotonic()
            going = result.requests < max_requests and (
                now < end or (result.requests < min_requests and now < hard_end)
            )
            if not going and not stopped:
                stopped.append(now)  # no request starts after this
            return going

        async def worker(i: int) -> None:
            while more():
                start, raised = time.monotonic(), None
                try:
                    ok, rt = await send(client, i)
                except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
                    ok, rt, raised = False, -1, type(exc).__name__
                elapsed = time.monotonic() - start
                if start < warm_end:
                    continue
                if raised:
                    failures[raised] += 1
                result.requests += 1
                result.latencies_ms.append(elapsed * 1000)
                result.completed_at.append(start + elapsed)
                if not ok:
                    result.errors += 1
                if rt >= 0:
                    trips.append(rt)

        await asyncio.gather(*(worker(i) for i in range(concurrency)))
        if not result.window_start:  # nothing ran past the warm-up
            opening.cancel()
            open_window()
        if on_window:
            on_window("end")
        result.window_end = time.monotonic()
    lat = sorted(result.latencies_ms)
    # throughput: the requests started from the end of the warm-up until starting stopped
    # (the answers still awaited then are counted, as in a steady closed loop)
    started_for = (stopped[0] if stopped else result.window_end) - warm_end
    result.measured_s = round(max(started_for, 1e-9), 3)
    result.rps = result.requests / result.measured_s
    result.p50_ms = _percentile(lat, 0.50)
    result.p95_ms = _percentile(lat, 0.95)
    result.p99_ms = _percentile(lat, 0.99)
    result.max_ms = lat[-1] if lat else 0.0
    result.round_trips = statistics.fmean(trips) if trips else None
    result.error_kinds = {**kinds, **failures}
    return result


def graphql_request(
    query: str,
    variables: Callable[[int], dict[str, Any]],
    token: Callable[[int], str | None],
    check: Callable[[dict[str, Any]], bool] = lambda body: "errors" not in body,
) -> Request:
    """A Request that posts one GraphQL operation and reads extensions.dbRoundTrips."""

    async def send(client: httpx.AsyncClient, i: int) -> tuple[bool, int]:
        t = token(i)
        headers = {"authorization": f"Bearer {t}"} if t else {}
        response = await client.post(
            "/graphql", json={"query": query, "variables": variables(i)}, headers=headers
        )
        if response.status_code != 200:
            error_kinds[f"HTTP {response.status_code}"] += 1
            return False, -1
        body = response.json()
        trips = body.get("extensions", {}).get("dbRoundTrips", -1)
        try:
            ok = check(body)
        except (KeyError, TypeError, IndexError):
            ok = False
        if not ok:
            codes = [
                str((e.get("extensions") or {}).get("code", e.get("message", "?")))
                for e in body.get("errors") or []
            ]
            error_kinds[", ".join(codes) or "unexpected answer"] += 1
        return ok, int(trips)

    # what the failures were, by code, for the report
    error_kinds: Counter[str] = Counter()
    send.error_kinds = error_kinds  # type: ignore[attr-defined]
    return send


def table(results: list[Result]) -> str:
    head = (
        f"{'operation':<34}{'rps':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}"
        f"{'errors':>8}{'db trips':>10}"
    )
    rows = [head, "-" * len(head)]
    for r in results:
        trips = f"{r.round_trips:.1f}" if r.round_trips is not None else "-"
        rows.append(
            f"{r.name:<34}{r.rps:>8.1f}{r.p50_ms:>9.1f}{r.p95_ms:>9.1f}"
            f"{r.p99_ms:>9.1f}{r.errors:>8}{trips:>10}"
        )
    for r in results:
        if r.error_kinds:
            kinds = ", ".join(f"{k} x{n}" for k, n in sorted(r.error_kinds.items()))
            rows.append(f"  errors of {r.name}: {kinds}")
    return "\n".join(rows)


def dump(results: list[Result]) -> str:
    return json.dumps([r.summary() for r in results], indent=2)
