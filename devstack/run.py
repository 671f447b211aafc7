"""`make run`: FerretDB, the simulator and Anju in the foreground, with demo data.

Ctrl-C stops all three. With MONGODB_URI set, no FerretDB is started.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from app.settings import load_settings
from devstack.anju import start_anju, start_simulator
from devstack.demo import load_demo
from devstack.ferretdb import start_ferretdb
from devstack.procs import ROOT, port_open, stop


def main() -> int:
    # a development stack: an unset ANJU_ENV would mean production rules
    os.environ.setdefault("ANJU_ENV", "development")
    settings = load_settings()
    logs = ROOT / ".data" / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    procs: list[subprocess.Popen[bytes]] = []
    env = {"ANJU_ENV": os.environ.get("ANJU_ENV", "development")}
    try:
        if not settings.mongodb_uri:
            if port_open(settings.ferretdb_port):
                raise SystemExit(f"port {settings.ferretdb_port} is taken: set FERRETDB_PORT")
            procs.append(
                start_ferretdb(
                    settings.ferretdb_port, ROOT / ".data" / "ferretdb", logs / "ferretdb.log"
                )
            )
        for port, what in ((settings.sim_port, "SIM_PORT"), (settings.port, "ANJU_PORT")):
            if port_open(port):
                raise SystemExit(f"port {port} is taken: set {what}")
        anju_url = f"http://127.0.0.1:{settings.port}"
        procs.append(start_simulator(settings.sim_port, anju_url, env, logs / "sim.log"))
        procs.append(start_anju(settings.port, env, log_path=logs / "anju.log"))
        summary = load_demo(anju_url, settings)
        print(
            f"""
Anju is running (logs in {logs.relative_to(ROOT)}/):
  GraphQL + GraphiQL  {anju_url}/graphql
  health / ready      {anju_url}/healthz  {anju_url}/readyz
  kiosk               {anju_url}/kiosk?community=松门村&town=松门镇
  device simulator    http://127.0.0.1:{settings.sim_port}
  database            {settings.effective_mongodb_uri} (db {settings.mongodb_db})
{summary}
Ctrl-C stops everything.""",
            flush=True,
        )
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        while all(p.poll() is None for p in procs):
            time.sleep(0.5)
        print("a process exited; stopping the rest (see the logs)", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        for proc in reversed(procs):
            stop(proc)


if __name__ == "__main__":
    sys.exit(main())
