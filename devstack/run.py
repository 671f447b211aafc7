"""`make run`: FerretDB, the simulator and Anju in the foreground, with demo data.

Stops all three on Ctrl-C (SIGINT), SIGTERM and SIGHUP (a closed terminal), whenever the
signal comes (while starting, loading the demo or running), and if `make` itself is killed
(the kernel sends this process SIGTERM when its parent dies). The children end with this
process too, even killed outright (devstack/procs.py). A crashed run that somehow left
processes behind is found at the next start from `<run dir>/run.pids` and ended, each only
if it is the very process that run started; a port taken by anything else is refused with
its name. With MONGODB_URI set, no FerretDB is started. ANJU_RUN_DIR (default `.data/`)
holds the database, the logs and the list of processes.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType

from app.settings import load_settings
from devstack.anju import start_anju, start_simulator
from devstack.demo import load_demo
from devstack.ferretdb import start_ferretdb
from devstack.procs import ROOT, die_with_parent, port_open, started_at, stop

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Stopped(Exception):
    """A stop signal arrived."""


def _on_signal(signum: int, frame: FrameType | None) -> None:
    raise Stopped(signal.Signals(signum).name)


class Processes:
    """What this run started, written down as it goes so that a later run can end it."""

    def __init__(self, record: Path) -> None:
        self.record = record
        self.procs: list[tuple[str, subprocess.Popen[bytes]]] = []

    def add(self, name: str, proc: subprocess.Popen[bytes]) -> None:
        self.procs.append((name, proc))
        entries = [{"name": n, "pid": p.pid, "started": started_at(p.pid)} for n, p in self.procs]
        self.record.write_text(json.dumps(entries))

    def stop_all(self) -> None:
        for _, proc in reversed(self.procs):
            stop(proc)
        self.record.unlink(missing_ok=True)

    def exited(self) -> str | None:
        return next((name for name, proc in self.procs if proc.poll() is not None), None)


def end_leftovers(record: Path) -> list[str]:
    """Ends the processes a previous run recorded and left running; their names."""
    if not record.exists():
        return []
    try:
        entries = json.loads(record.read_text())
    except ValueError:
        entries = []
    ended = []
    for entry in reversed(entries):
        pid = int(entry.get("pid", 0))
        if pid <= 0 or started_at(pid) is None or started_at(pid) != entry.get("started"):
            continue  # gone, or the pid now belongs to another process
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while started_at(pid) is not None and time.monotonic() < deadline:
            time.sleep(0.1)
        if started_at(pid) is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
        ended.append(f"{entry.get('name')} (pid {pid})")
    record.unlink(missing_ok=True)
    return ended


def _refuse_taken(port: int, setting: str) -> None:
    if port_open(port):
        raise SystemExit(
            f"port {port} is taken by a program this command did not start; stop it or set "
            f"{setting} to another port"
        )


def main() -> int:
    # a development stack: an unset ANJU_ENV would mean production rules
    os.environ.setdefault("ANJU_ENV", "development")
    for signum in STOP_SIGNALS:
        signal.signal(signum, _on_signal)
    parent = os.getppid()
    die_with_parent()
    if os.getppid() != parent:  # the parent died before we asked: nothing to run for
        return 0
    settings = load_settings()
    run_dir = Path(os.environ.get("ANJU_RUN_DIR") or ROOT / ".data")
    logs = run_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    record = run_dir / "run.pids"
    for name in end_leftovers(record):
        print(f"ended {name}, left running by an earlier run", file=sys.stderr)
    procs = Processes(record)
    env = {"ANJU_ENV": os.environ.get("ANJU_ENV", "development")}
    try:
        if not settings.mongodb_uri:
            _refuse_taken(settings.ferretdb_port, "FERRETDB_PORT")
            procs.add(
                "FerretDB",
                start_ferretdb(settings.ferretdb_port, run_dir / "ferretdb", logs / "ferretdb.log"),
            )
        _refuse_taken(settings.sim_port, "SIM_PORT")
        _refuse_taken(settings.port, "ANJU_PORT")
        anju_url = f"http://127.0.0.1:{settings.port}"
        procs.add("simulator", start_simulator(settings.sim_port, anju_url, env, logs / "sim.log"))
        procs.add("Anju", start_anju(settings.port, env, log_path=logs / "anju.log"))
        summary = load_demo(anju_url, settings)
        shown = logs.relative_to(ROOT) if logs.is_relative_to(ROOT) else logs
        print(
            f"""
Anju is running (logs in {shown}/):
  GraphQL + GraphiQL  {anju_url}/graphql
  health / ready      {anju_url}/healthz  {anju_url}/readyz
  metrics             {anju_url}/metrics
  kiosk               {anju_url}/kiosk?community=松门村&town=松门镇
  device simulator    http://127.0.0.1:{settings.sim_port}
  database            {settings.effective_mongodb_uri} (db {settings.mongodb_db})
{summary}
Ctrl-C stops everything.""",
            flush=True,
        )
        while (gone := procs.exited()) is None:
            time.sleep(0.5)
        print(f"{gone} exited; stopping the rest (see the logs)", file=sys.stderr)
        return 1
    except Stopped as stopped:
        print(f"{stopped}: stopping FerretDB, the simulator and Anju", file=sys.stderr)
        return 0
    finally:
        for signum in STOP_SIGNALS:  # a second Ctrl-C must not cut the clean-up short
            signal.signal(signum, signal.SIG_IGN)
        procs.stop_all()


if __name__ == "__main__":
    sys.exit(main())
