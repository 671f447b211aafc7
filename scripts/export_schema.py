"""`make schema`: writes schema.graphql from the code (a test fails when it is stale)."""

from __future__ import annotations

from pathlib import Path

from app.schema import build_schema

SCHEMA_FILE = Path(__file__).resolve().parent.parent / "schema.graphql"


def exported() -> str:
    return build_schema(with_manifest=False).as_str().rstrip() + "\n"


if __name__ == "__main__":
    SCHEMA_FILE.write_text(exported())
    print(f"wrote {SCHEMA_FILE}")
