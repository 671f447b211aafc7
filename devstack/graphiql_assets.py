"""`make graphiql`: puts GraphiQL's files in app/graphiql/vendor/ (not committed), once.

Which files, at which versions, with which SHA-384: exactly those the installed Strawberry's
own GraphiQL page names (app/graphiql). Each comes from its package through `npm pack` (the
ordinary npm client and its configured registry) and is kept only if its hash is the pinned
one; a file with any other hash is an error. Files already there and matching are not fetched
again. Without npm, or without a registry to reach, this says so and exits 0.
Anju then answers a browser at /graphql with that advice, and the API works as ever.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections import defaultdict
from pathlib import Path

from app.graphiql import Asset, pinned_assets


def _missing() -> list[Asset]:
    return [a for a in pinned_assets() if not (a.file.is_file() and a.matches(a.file.read_bytes()))]


def _pack(npm: str, spec: str, into: Path) -> Path:
    done = subprocess.run(
        [npm, "pack", "--silent", spec, "--pack-destination", str(into)],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    if done.returncode != 0:
        raise RuntimeError(f"npm pack {spec} failed: {done.stderr.strip()[-500:]}")
    return into / done.stdout.strip().splitlines()[-1]


def fetch() -> int:
    missing = _missing()
    if not missing:
        print("GraphiQL: its files are in place and match their pinned hashes")
        return 0
    npm = shutil.which("npm")
    if npm is None:
        print(
            "GraphiQL: npm is needed once to fetch its files (apt-get install npm); "
            "until then /graphql in a browser says so, and the API works as ever"
        )
        return 0
    by_package: dict[str, list[Asset]] = defaultdict(list)
    for asset in missing:
        by_package[f"{asset.package}@{asset.version}"].append(asset)
    with tempfile.TemporaryDirectory(prefix="anju-graphiql-") as tmp:
        for spec, assets in sorted(by_package.items()):
            try:
                tarball = _pack(npm, spec, Path(tmp))
            except (RuntimeError, subprocess.TimeoutExpired) as exc:  # no registry reachable
                print(f"GraphiQL: {exc}; its files stay missing (the API is unaffected)")
                return 0
            with tarfile.open(tarball) as tar:
                for asset in assets:
                    member = tar.extractfile(f"package/{asset.path}")
                    data = member.read() if member else b""
                    if not asset.matches(data):
                        raise RuntimeError(f"{asset.name}: not the file Strawberry pins; kept out")
                    asset.file.parent.mkdir(parents=True, exist_ok=True)
                    asset.file.write_bytes(data)
                    print(f"GraphiQL: {asset.name} ({len(data):,} bytes, {asset.integrity[:14]}…)")
    return 0


if __name__ == "__main__":
    sys.exit(fetch())
