"""FerretDB v1.24.2 (SQLite backend) for development and tests, embedded in tools/ferretdb.

Built once with `go build` into .build/ (ignored) and rebuilt only when its sources change.
The benchmark can run it on PostgreSQL instead (`postgresql_url`), which filters equality on
top-level fields in PostgreSQL (as `_jsonb->'f' @> value`: a sequential scan unless a GIN
index on that expression exists, not the btree FerretDB creates); tests and CI use SQLite.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

from devstack.procs import ROOT, start

SOURCE = ROOT / "tools" / "ferretdb"
BINARY = ROOT / ".build" / "ferretdb"
STAMP = ROOT / ".build" / "ferretdb.stamp"


def _source_digest() -> str:
    h = hashlib.sha256()
    for name in ("go.mod", "go.sum", "main.go"):
        h.update((SOURCE / name).read_bytes())
    return h.hexdigest()


def build() -> Path:
    """Builds the binary if it is missing or its sources changed; returns its path."""
    digest = _source_digest()
    if BINARY.exists() and STAMP.exists() and STAMP.read_text() == digest:
        return BINARY
    if shutil.which("go") is None:
        raise RuntimeError("Go is needed to build FerretDB (tools/ferretdb); install Go 1.24+")
    BINARY.parent.mkdir(parents=True, exist_ok=True)
    print("building FerretDB (the first build takes a few minutes)...", flush=True)
    subprocess.run(["go", "build", "-trimpath", "-o", str(BINARY), "."], cwd=SOURCE, check=True)
    STAMP.write_text(digest)
    return BINARY


def start_ferretdb(
    port: int,
    data_dir: Path | None,
    log_path: Path | None = None,
    postgresql_url: str | None = None,
) -> subprocess.Popen[bytes]:
    """Starts FerretDB on 127.0.0.1:port; data_dir None keeps the data in memory.

    With postgresql_url, FerretDB stores the data in that PostgreSQL database instead and
    data_dir must be None.
    """
    binary = build()
    args = [str(binary), "--listen", f"127.0.0.1:{port}"]
    if postgresql_url:
        if data_dir is not None:
            raise ValueError("data_dir and postgresql_url are exclusive")
        args += ["--postgresql-url", postgresql_url]
    elif data_dir is not None:
        data_dir.mkdir(parents=True, exist_ok=True)
        args += ["--data", str(data_dir)]
    return start("FerretDB", args, port=port, log_path=log_path, timeout=60)


def backend_version(uri: str) -> str:
    """The storage FerretDB at uri runs on, as it reports it: "PostgreSQL 15.18", say."""
    from pymongo import MongoClient

    with MongoClient(uri) as client:
        client["admin"].command("listDatabases")  # FerretDB learns the version on first use
        lines = client["admin"].command("getLog", "startupWarnings")["log"]
    for line in lines:
        # "Powered by FerretDB v1.24.2 and PostgreSQL 15.18."
        _, sep, backend = json.loads(line)["msg"].partition(" and ")
        if sep:
            return backend.rstrip(".")
    return "unknown backend"
