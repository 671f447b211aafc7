"""`make run` (devstack/run.py) stops what it started, however it is stopped, and ends what
a crashed run left behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from devstack.procs import ROOT, free_port, port_open, start, started_at, stop
from tests.support import eventually


@dataclass
class Run:
    proc: subprocess.Popen[bytes]
    run_dir: Path
    ports: dict[str, int]
    env: dict[str, str]

    def children(self) -> list[dict[str, object]]:
        record = self.run_dir / "run.pids"
        try:
            entries: list[dict[str, object]] = json.loads(record.read_text())
        except (OSError, ValueError):
            return []
        return entries


def _env(run_dir: Path, ports: dict[str, int]) -> dict[str, str]:
    kept = {k: v for k, v in os.environ.items() if not k.startswith(("ANJU_", "MONGODB_"))}
    return {
        **kept,
        "ANJU_RUN_DIR": str(run_dir),
        "FERRETDB_PORT": str(ports["ferretdb"]),
        "SIM_PORT": str(ports["sim"]),
        "ANJU_PORT": str(ports["anju"]),
        "ANJU_JWT_KEYS_DIR": str(run_dir / "keys"),
        "ANJU_PASSWORD_HASH_MEMORY_KIB": "1024",
    }


def _launch(run_dir: Path, ports: dict[str, int]) -> Run:
    env = _env(run_dir, ports)
    log = (run_dir / "run.out").open("ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "devstack.run"], cwd=ROOT, env=env, stdout=log, stderr=log
    )
    log.close()
    return Run(proc, run_dir, ports, env)


@pytest.fixture
def run(tmp_path: Path) -> Iterator[Run]:
    ports = {"ferretdb": free_port(), "sim": free_port(), "anju": free_port()}
    started = _launch(tmp_path, ports)
    try:
        yield started
    finally:  # whatever the test did, nothing of this run survives it
        started.proc.kill()
        started.proc.wait(30)


def _up(run: Run) -> bool:
    """All three started and Anju ready (the demo may still be loading)."""
    if len(run.children()) < 3:
        return False
    try:
        url = f"http://127.0.0.1:{run.ports['anju']}/readyz"
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _all_gone(run: Run, children: list[dict[str, object]]) -> bool:
    alive = [c for c in children if started_at(int(str(c["pid"]))) == c["started"]]
    return not alive and not any(port_open(p) for p in run.ports.values())


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_a_stop_signal_stops_ferretdb_the_simulator_and_anju(
    run: Run, signum: signal.Signals
) -> None:
    # given `make run` with its three processes up
    assert eventually(lambda: _up(run), within=120), (run.run_dir / "run.out").read_text()
    children = run.children()
    assert [c["name"] for c in children] == ["FerretDB", "simulator", "Anju"]
    # when it gets the signal
    run.proc.send_signal(signum)
    # then it exits cleanly, and no child survives it or holds a port
    assert run.proc.wait(60) == 0
    assert eventually(lambda: _all_gone(run, children), within=30), children
    assert not (run.run_dir / "run.pids").exists()


def test_killed_outright_its_children_still_end(run: Run) -> None:
    # given `make run` with its three processes up
    assert eventually(lambda: _up(run), within=120), (run.run_dir / "run.out").read_text()
    children = run.children()
    # when it is killed with SIGKILL (no chance to clean up)
    run.proc.kill()
    run.proc.wait(30)
    # then the kernel tells its children, and they end too
    assert eventually(lambda: _all_gone(run, children), within=30), children


def test_a_second_start_ends_what_a_crashed_run_left(tmp_path: Path) -> None:
    # given a simulator a crashed run left running on its port (recorded in run.pids, and
    # not tied to any parent: as if started by an older run)
    ports = {"ferretdb": free_port(), "sim": free_port(), "anju": free_port()}
    env = _env(tmp_path, ports)
    leftover = start(
        "simulator",
        [sys.executable, "-m", "sim"],
        port=ports["sim"],
        env={**env, "SIM_ANJU_URL": f"http://127.0.0.1:{ports['anju']}"},
        die_with_parent_=False,
    )
    try:
        record = [{"name": "simulator", "pid": leftover.pid, "started": started_at(leftover.pid)}]
        (tmp_path / "run.pids").write_text(json.dumps(record))
        # when `make run` starts again
        again = _launch(tmp_path, ports)
        try:
            # then it ends the leftover and starts its own three
            assert eventually(lambda: leftover.poll() is not None, within=30)
            assert eventually(lambda: _up(again), within=120), (tmp_path / "run.out").read_text()
            assert "ended simulator" in (tmp_path / "run.out").read_text()
            again.proc.send_signal(signal.SIGTERM)
            assert again.proc.wait(60) == 0
        finally:
            again.proc.kill()
            again.proc.wait(30)
    finally:
        stop(leftover)


def test_a_port_taken_by_another_program_is_refused_by_name(tmp_path: Path) -> None:
    # given something else listening on Anju's port
    import socket

    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        ports = {"ferretdb": free_port(), "sim": free_port(), "anju": other.getsockname()[1]}
        # when `make run` starts
        started = _launch(tmp_path, ports)
        try:
            code = started.proc.wait(120)
        finally:
            started.proc.kill()
            started.proc.wait(30)
    # then it refuses, naming the port and the setting, and leaves nothing running
    out = (tmp_path / "run.out").read_text()
    assert code != 0 and f"port {ports['anju']} is taken" in out and "ANJU_PORT" in out
    assert not port_open(ports["ferretdb"]) and not port_open(ports["sim"])
