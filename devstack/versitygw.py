"""versitygw v1.8.0, an S3-compatible server over a local directory, for the storage tests.

Its own command (github.com/versity/versitygw/cmd/versitygw) builds as it is from the Go
module proxy: unlike FerretDB it needs no version file, so tools/versitygw is only a go.mod
naming it as a tool (go.sum pins what it is made of). Built once into .build/ and rebuilt
when those two files change; `python -m devstack.versitygw` builds it now, so that a test run
shows the build (about 2 minutes the first time) instead of a silent wait in a fixture.

Started with every address stated: the S3 API on 127.0.0.1 only (its default is ":7070",
every interface), no admin port, web UI, metrics, event or audit-log sink (each is off unless
named), and a scrubbed environment, since each flag also reads a VGW_* variable that a
developer's shell could set. Without --admin-port the admin API shares the S3 port and
answers the root keys only.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from devstack.procs import ROOT, stop, wait_for_port

SOURCE = ROOT / "tools" / "versitygw"
BINARY = ROOT / ".build" / "versitygw"
STAMP = ROOT / ".build" / "versitygw.stamp"
PACKAGE = "github.com/versity/versitygw/cmd/versitygw"
VERSION = "v1.8.0"  # the one go.mod requires; shown by `versitygw --version`


def _source_digest() -> str:
    h = hashlib.sha256(VERSION.encode())
    for name in ("go.mod", "go.sum"):
        h.update((SOURCE / name).read_bytes())
    return h.hexdigest()


def build() -> Path:
    """Builds the binary if it is missing or its go.mod/go.sum changed; returns its path."""
    digest = _source_digest()
    if BINARY.exists() and STAMP.exists() and STAMP.read_text() == digest:
        return BINARY
    if shutil.which("go") is None:
        raise RuntimeError("Go is needed to build versitygw (tools/versitygw); install Go 1.25+")
    BINARY.parent.mkdir(parents=True, exist_ok=True)
    print("building versitygw (the first build takes a few minutes)...", flush=True)
    subprocess.run(
        [
            "go",
            "build",
            "-trimpath",
            "-ldflags",
            f"-X main.Version={VERSION}",
            "-o",
            str(BINARY),
            PACKAGE,
        ],
        cwd=SOURCE,
        check=True,
    )
    STAMP.write_text(digest)
    return BINARY


def _clean_env() -> dict[str, str]:
    """Only what a Go program needs: no VGW_*, ROOT_*, LOGFILE or WEBHOOK from the caller."""
    keep = ("PATH", "TMPDIR", "TZ", "LANG")
    return {name: os.environ[name] for name in keep if name in os.environ}


def start_versitygw(
    port: int,
    data_dir: Path,
    log_path: Path | None,
    access_key: str,
    secret_key: str,
    *,
    region: str = "us-east-1",
    buckets: Sequence[str] = (),
) -> subprocess.Popen[bytes]:
    """Starts versitygw on 127.0.0.1:port over data_dir and waits until it listens.

    Each name in `buckets` becomes a directory of data_dir first: the posix backend treats
    every top-level directory as a bucket, so no S3 call is needed to make one.
    """
    binary = build()
    data_dir.mkdir(parents=True, exist_ok=True)
    for bucket in buckets:
        (data_dir / bucket).mkdir(exist_ok=True)
    args = [
        str(binary),
        "--port",
        f"127.0.0.1:{port}",
        "--region",
        region,
        "--quiet",
        "posix",
        str(data_dir),
    ]
    # the keys go through the environment, not argv, which any local user can read
    env = {**_clean_env(), "ROOT_ACCESS_KEY_ID": access_key, "ROOT_SECRET_ACCESS_KEY": secret_key}
    out = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115
    try:
        proc = subprocess.Popen(
            args,
            cwd=data_dir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    finally:
        if not isinstance(out, int):
            out.close()  # the child has its own descriptor
    try:
        wait_for_port(port, 30.0, proc, "versitygw")
    except Exception:
        stop(proc)
        if log_path and log_path.exists():
            sys.stderr.write(log_path.read_text(errors="replace")[-4000:])
        raise
    return proc


if __name__ == "__main__":
    print(f"versitygw: {build()}")
