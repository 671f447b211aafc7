"""Starting and stopping the local processes (FerretDB, the simulator, Anju).

Each runs in its own process group (so that stopping it stops whatever it started, uvicorn's
workers included) and, on Linux, is sent SIGTERM by the kernel if the process that started
it dies (PR_SET_PDEATHSIG): a test run or `make run` killed outright leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(
    port: int,
    timeout: float = 30.0,
    proc: subprocess.Popen[bytes] | None = None,
    name: str = "process",
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{name} exited with {proc.returncode} before listening on {port}")
        with socket.socket() as s:
            s.settimeout(0.2)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"{name} did not listen on 127.0.0.1:{port} within {timeout}s")


_PR_SET_PDEATHSIG = 1
# loaded here, not between fork and exec (where an import could wait on a lock forever)
_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None


def die_with_parent() -> None:
    """Asks the kernel to send this process SIGTERM when its parent dies (Linux only).
    Run in a child between fork and exec, and by `make run` for itself."""
    if _LIBC is not None:
        _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def started_at(pid: int) -> int | None:
    """When a process started (clock ticks since boot), to tell it from a later one that got
    the same pid; None if it is gone (or a zombie, as good as gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return None if fields[0] in {"Z", "X"} else int(fields[19])


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def start(
    name: str,
    args: Sequence[str],
    *,
    port: int,
    env: Mapping[str, str] | None = None,
    log_path: Path | None = None,
    timeout: float = 30.0,
    die_with_parent_: bool = True,
) -> subprocess.Popen[bytes]:
    """Starts a process in its own process group and waits until it listens on `port`;
    it ends with its parent unless told otherwise."""
    out = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115
    try:
        proc = subprocess.Popen(
            list(args),
            cwd=ROOT,
            env={**os.environ, **(env or {})},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with_parent if die_with_parent_ else None,
        )
    finally:
        if not isinstance(out, int):
            out.close()  # the child has its own descriptor
    try:
        wait_for_port(port, timeout, proc, name)
    except Exception:
        stop(proc)
        if log_path and log_path.exists():
            sys.stderr.write(log_path.read_text(errors="replace")[-4000:])
        raise
    return proc


def stop(proc: subprocess.Popen[bytes] | None, timeout: float = 10.0) -> None:
    if proc is None or proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout)
