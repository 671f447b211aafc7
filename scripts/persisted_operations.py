"""`make operations`: writes app/operations/manifest.json (SHA-256 of each `.graphql` file under
app/operations/ -> its text) and checks every document against the schema, as Anju's start-up
does. `--check` only compares (a test does the same). Add an app's operation by adding its
file, then run this."""

from __future__ import annotations

import argparse
import sys

from app.schema import build_schema
from app.schema.persisted import MANIFEST, ManifestError, build_manifest, manifest_json


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.persisted_operations")
    parser.add_argument("--check", action="store_true", help="fail if the manifest is stale")
    args = parser.parse_args(argv)
    wanted = manifest_json(build_manifest())
    current = MANIFEST.read_text() if MANIFEST.exists() else ""
    if args.check:
        if current != wanted:
            print(f"{MANIFEST} is stale: run `make operations`", file=sys.stderr)
            return 1
    elif current != wanted:
        MANIFEST.write_text(wanted)
        print(f"wrote {MANIFEST}")
    try:
        schema = build_schema()
    except ManifestError as error:
        print(f"a persisted operation is invalid: {error}", file=sys.stderr)
        return 1
    print(f"{len(schema.persisted)} persisted operations, each valid against the schema")
    return 0


if __name__ == "__main__":
    sys.exit(main())
