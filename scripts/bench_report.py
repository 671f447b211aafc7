"""What the benchmark prints and records besides the load generator's table: the idle line,
CPU per request, the projection, and what identifies a run (engine, commit, versions) so
that `--compare` can tell two runs apart."""

from __future__ import annotations

import json
import platform
import subprocess
from importlib import metadata
from typing import Any

from pymongo import MongoClient

from devstack.loadgen import Result
from devstack.procs import ROOT

IDLE_TARGET_MS_PER_S = 10  # issue 25: Anju idle at SCALE=0.1, two workers
# the whole Anju (background workers on) beside the API-only one that serves the operations;
# its idle is the idle line and its CPU during an operation is the background column
WHOLE = "anju workers"


def _ferretdb_backend(client: MongoClient[Any]) -> str:
    """The storage FerretDB runs on, as its startup warnings say ("Powered by FerretDB
    v1.24.2 and PostgreSQL 15.18.")."""
    try:
        client.admin.command("listDatabases")  # FerretDB learns the version on first use
        lines = client.admin.command("getLog", "startupWarnings")["log"]
    except Exception:  # noqa: BLE001 - the backend is a detail
        return ""
    for line in lines:
        _, sep, backend = json.loads(line).get("msg", "").partition(" and ")
        if sep:
            return str(backend.rstrip("."))
    return ""


def engine_info(uri: str, started: str | None = None) -> dict[str, Any]:
    """The engine at `uri` as it describes itself (`buildInfo`; FerretDB's startup
    warnings name its backend). `started`: the label of an engine the benchmark started."""
    info: dict[str, Any] = {}
    try:
        client: MongoClient[dict[str, Any]]
        with MongoClient(uri, serverSelectionTimeoutMS=5000) as client:
            build = client.admin.command("buildInfo")
            info["mongodb_version"] = build.get("version")
            ferret = build.get("ferretdbVersion") or (build.get("ferretdb") or {}).get("version")
            if ferret:
                info["name"] = "FerretDB"
                info["version"] = ferret
                info["backend"] = _ferretdb_backend(client)
            else:
                info["name"] = "MongoDB"
                info["version"] = build.get("version")
                info["git_version"] = build.get("gitVersion")
    except Exception as exc:  # noqa: BLE001 - reported, not fatal
        info["error"] = str(exc)[:200]
    if started:
        info["label"] = started
    else:
        backend = f" ({info['backend']})" if info.get("backend") else ""
        info["label"] = f"{info.get('name', '?')} {info.get('version', '?')}{backend}"
    return info


def git_info() -> dict[str, Any]:
    def git(*args: str) -> str:
        try:
            out = subprocess.run(
                ["git", *args], cwd=ROOT, capture_output=True, text=True, check=True
            )
        except (OSError, subprocess.CalledProcessError):
            return ""
        return out.stdout.strip()

    return {
        "commit": git("rev-parse", "HEAD"),
        "branch": git("rev-parse", "--abbrev-ref", "HEAD"),
        "dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
    }


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for pkg in ("strawberry-graphql", "graphql-core", "starlette", "uvicorn", "pymongo"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            continue
    return out


def idle_block(idle: dict[str, dict[str, float]], scale: float, workers: int) -> str:
    if not idle:
        return "Idle: not measured (--idle-seconds 0): nothing subtracted from CPU per request"
    seconds = next(iter(idle.values()))["seconds"]
    rows = [
        f"\nIdle: {seconds:.0f} s with no request, sampled every half second; ms of CPU per "
        "second (mean = the idle line; floor = 20th percentile half second, subtracted from "
        "CPU per request)",
        f"  {'':<16}{'mean':>9}{'floor':>9}{'median':>9}{'p90':>9}{'max':>9}",
    ]
    for name, s in idle.items():
        rows.append(
            f"  {name:<16}{s['mean_ms_per_s']:>9.1f}{s['floor_ms_per_s']:>9.1f}"
            f"{s['median_ms_per_s']:>9.1f}{s['p90_ms_per_s']:>9.1f}{s['max_ms_per_s']:>9.1f}"
        )
    rows.append(idle_line(idle, scale, workers))
    if seconds < 60:
        rows.append("  (a window under a minute may miss Anju's periodic passes)")
    return "\n".join(rows)


def anju_idle(idle: dict[str, dict[str, float]]) -> dict[str, float] | None:
    """The idle figures the idle line is judged by: the whole Anju's when an API-only one
    served the operations beside it, else the one Anju's."""
    return idle.get(WHOLE) or idle.get("anju")


def idle_line(idle: dict[str, dict[str, float]], scale: float, workers: int) -> str:
    """The one line the idle target is judged by."""
    anju = anju_idle(idle)
    if anju is None:
        return "ANJU IDLE LINE: not measured"
    verdict = "under" if anju["mean_ms_per_s"] < IDLE_TARGET_MS_PER_S else "OVER"
    return (
        f"ANJU IDLE LINE: {anju['mean_ms_per_s']:.1f} ms/s (scale {scale}, {workers} workers, "
        f"{anju['seconds']:.0f} s; {verdict} the {IDLE_TARGET_MS_PER_S} ms/s target of issue 25, "
        "set at scale 0.1)"
    )


def cpu_table(
    results: list[Result], cpu: dict[str, dict[str, dict[str, float]]], min_requests: int = 0
) -> str:
    groups = [
        g
        for g in ("anju", "database", "db backend", "simulator", "load generator")
        if any(g in c for c in cpu.values())
    ]
    head = f"{'operation':<34}{'requests':>9}" + "".join(f"{g:>17}" for g in groups)
    head += f"{'| background: anju':>20}{'db':>8}"
    rows = [
        "\nCPU per request, ms: net (median over ~1 s slices, idle floor removed) / raw (all the "
        "window's CPU / requests); background: ms/s beyond net x requests (of the whole Anju "
        "beside, when an API-only one served the operations)",
        head,
        "-" * len(head),
    ]
    for r in results:
        c = cpu.get(r.name, {})
        cells = "".join(
            f"{c[g]['net_ms']:>9.2f} /{c[g]['raw_ms']:>6.2f}" if g in c else f"{'-':>17}"
            for g in groups
        )
        bg = [
            c.get(g, {}).get("background_ms_per_s")
            for g in (WHOLE if WHOLE in c else "anju", "database")
        ]
        text = [f"{v:.1f}" if v is not None else "-" for v in bg]
        rows.append(f"{r.name[:33]:<34}{r.requests:>9}{cells}{text[0]:>20}{text[1]:>8}")
    few = [r.name for r in results if r.requests < min_requests]
    if few:
        rows.append(
            f"  fewer than {min_requests} requests by the time limit ({', '.join(few)}): their "
            "CPU per request is less certain (a longer DURATION helps)"
        )
    zeroed = sorted(
        {
            g
            for c in cpu.values()
            for g, f in c.items()
            if g != WHOLE and f["net_ms"] == 0 < f["raw_ms"]
        }
    )
    if zeroed:
        rows.append(
            f"  net 0 ({', '.join(zeroed)}): the idle floor is more than the window spent; the "
            "idle window was busy (start-up passes?): try a longer --idle-seconds"
        )
    return "\n".join(rows)


def projection_table(
    results: list[Result], projected: dict[str, dict[str, float]], mongo_ms: float
) -> str:
    head = (
        f"{'operation':<34}{'CPU ms':>8}{'rps':>8}{'mean ms':>9}"
        f"{'| load elsewhere: rps':>22}{'mean ms':>9}"
    )
    rows = [
        "\nProjection onto a MongoDB that answers each round trip from an index at "
        f"{mongo_ms} ms of CPU (net CPU; scripts/bench_analysis.py says how):",
        head,
        "-" * len(head),
    ]
    for r in results:
        p = projected.get(r.name, {})
        rows.append(
            f"{r.name[:33]:<34}{p.get('cpu_ms_per_request', 0):>8.1f}{p.get('rps', 0):>8.0f}"
            f"{p.get('mean_latency_ms', 0):>9.0f}{p.get('remote_load_rps', 0):>22.0f}"
            f"{p.get('remote_load_mean_latency_ms', 0):>9.0f}"
        )
    return "\n".join(rows)
