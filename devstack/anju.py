"""Anju and the simulator as local processes, for `make run`, the tests and the benchmark."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from devstack.procs import start


def start_simulator(
    port: int, anju_url: str, env: Mapping[str, str] | None = None, log_path: Path | None = None
) -> subprocess.Popen[bytes]:
    return start(
        "simulator",
        [sys.executable, "-m", "sim"],
        port=port,
        env={**(env or {}), "SIM_PORT": str(port), "SIM_ANJU_URL": anju_url},
        log_path=log_path,
    )


def start_anju(
    port: int,
    env: Mapping[str, str],
    *,
    workers: int = 1,
    log_path: Path | None = None,
    extra_args: tuple[str, ...] = (),
) -> subprocess.Popen[bytes]:
    args = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        "app.main:app_factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-access-log",
        "--timeout-graceful-shutdown",
        "5",
    ]
    if workers > 1:
        args += ["--workers", str(workers)]
    return start(
        "Anju",
        [*args, *extra_args],
        port=port,
        env={**env, "ANJU_PORT": str(port)},
        log_path=log_path,
        timeout=60,
    )
