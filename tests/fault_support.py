"""Set-up shared by the fault tests: the simulator's garbage, latency and call-log controls,
and killing Anju (SIGKILL, no graceful shutdown) and starting it again on the same port."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx

from devstack.anju import start_anju
from tests.conftest import Stack

# the kinds of garbage the simulator answers (sim/garbage.py)
KINDS = ("invalid-json", "wrong-shape", "wrong-types", "html", "empty", "truncated")


def calls(http: httpx.Client, stack: Stack, *, in_flight: bool = False) -> list[dict[str, Any]]:
    """The protocol calls the simulator has received (only those still unanswered)."""
    response = http.get(f"{stack.sim_url}/sim/calls", params={"inFlight": "1"} if in_flight else {})
    response.raise_for_status()
    result: list[dict[str, Any]] = response.json()
    return result


def wait_in_flight(
    http: httpx.Client, stack: Stack, method: str, path_prefix: str, within: float = 30.0
) -> dict[str, Any]:
    """Waits until a call of `method` to a path starting with `path_prefix` has reached the
    simulator and is not answered yet; fails if none does in time."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        for call in calls(http, stack, in_flight=True):
            if call["method"] == method and call["path"].startswith(path_prefix):
                return call
        time.sleep(0.02)
    raise AssertionError(f"no {method} {path_prefix}... in flight within {within}s")


@dataclass
class InFlight:
    """One call to Anju made in a thread, so that the test can act while it is in flight."""

    work: Callable[[], Any]
    result: Any = None
    error: Exception | None = None
    thread: threading.Thread = field(init=False)

    def __post_init__(self) -> None:
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            self.result = self.work()
        except Exception as exc:  # noqa: BLE001 (the connection dies with Anju, as expected)
            self.error = exc

    def join(self, timeout: float = 30.0) -> None:
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "the call to Anju never ended"


def kill_anju(stack: Stack) -> None:
    """SIGKILL: no shutdown, no cleanup, whatever was in hand is dropped."""
    proc = stack.procs["anju"]
    proc.kill()
    proc.wait(10)


def start_anju_again(stack: Stack, name: str) -> None:
    port = int(stack.anju_url.rsplit(":", 1)[1])
    stack.procs["anju"] = start_anju(port, stack.env, log_path=stack.workdir / f"anju-{name}.log")


@contextlib.contextmanager
def anju_running_after(stack: Stack, name: str) -> Iterator[None]:
    """Whatever happens in the block, Anju is running again after it (for the next tests)."""
    try:
        yield
    finally:
        if stack.procs["anju"].poll() is not None:
            start_anju_again(stack, f"{name}-cleanup")
