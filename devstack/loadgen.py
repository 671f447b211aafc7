"""A small closed-loop load generator: fixed concurrency, fixed duration, one process.

Each virtual client sends its next request as soon as the previous one is answered, so the
figures are throughput at that concurrency and the latency each request saw. Runs as its own
process (`python -m devstack.loadgen ...` or from scripts/bench.py), never inside Anju.
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
    latencies_ms: list[float] = field(default_factory=list, repr=False)

    def summary(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("latencies_ms")
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
) -> Result:
    """Drives `send` from `concurrency` clients for `duration_s` (after a warm-up)."""
    result = Result(name, concurrency, duration_s)
    trips: list[int] = []
    failures: Counter[str] = Counter()
    kinds: Counter[str] = getattr(send, "error_kinds", Counter())
    kinds.clear()
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base_url, timeout=30, limits=limits) as client:
        warm_end = time.monotonic() + warmup_s
        # the warm-up's failures are not counted, nor are their kinds
        asyncio.get_running_loop().call_later(warmup_s, kinds.clear)
        end = warm_end + duration_s

        async def worker(i: int) -> None:
            while time.monotonic() < end and result.requests < max_requests:
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
                if not ok:
                    result.errors += 1
                if rt >= 0:
                    trips.append(rt)

        await asyncio.gather(*(worker(i) for i in range(concurrency)))
    lat = sorted(result.latencies_ms)
    result.rps = result.requests / duration_s if duration_s else 0.0
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
