"""Anju and the simulator as local processes, for `make run`, the tests and the benchmark."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import httpx

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
    wait_ready: bool = True,
) -> subprocess.Popen[bytes]:
    """Starts Anju and, unless told not to, waits until /readyz says it is ready (its database
    answers and its indexes exist), as a load balancer would before sending it requests."""
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
    proc = start(
        "Anju",
        [*args, *extra_args],
        port=port,
        env={**env, "ANJU_PORT": str(port)},
        log_path=log_path,
        timeout=60,
    )
    if wait_ready:
        wait_until_ready(f"http://127.0.0.1:{port}", proc)
    return proc


def wait_until_ready(
    base_url: str, proc: subprocess.Popen[bytes] | None = None, timeout: float = 60.0
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"Anju exited with code {proc.returncode} before it was ready")
        try:
            if httpx.get(f"{base_url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"Anju at {base_url} was not ready within {timeout}s")
