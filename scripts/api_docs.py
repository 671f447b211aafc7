"""`make docs`: the API reference, a static page built by SpectaQL (pinned in tools/apidocs)
from schema.graphql into .build/apidocs/ (not committed); development serves it at /docs
(app/routes/docs.py).

Everything in it comes from the code, so it cannot drift from the API:
- every type, field, argument and enum value: the descriptions beside the code (Strawberry's
  `description=`), as exported by `make schema`;
- the role table: each operation's permission classes, less POLICE on the mutations that
  PoliceReadOnly guards;
- the error codes: app/errors.py's MEANINGS, with the operations whose descriptions (or their
  inputs') name each code.

`python -m scripts.api_docs [--out DIR]`; it needs the npm packages `make docs` installs.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graphql import (
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLSchema,
    build_schema,
)

from app.errors import MEANINGS
from app.viewer import Role

ROOT = Path(__file__).resolve().parent.parent
TOOLS = ROOT / "tools" / "apidocs"
SPECTAQL = TOOLS / "node_modules" / ".bin" / "spectaql"
SCHEMA_FILE = ROOT / "schema.graphql"
OUT = ROOT / ".build" / "apidocs"
ANONYMOUS = "anonymous"
COLUMNS = (ANONYMOUS, *(r.value for r in Role))
WORD = re.compile(r"\b[A-Z][A-Z0-9_]{2,}\b")

INTRO = """\
Anju is the rental housing service of the city: landlords, tenants, the kiosk, the police and
the fire responders use it through this one GraphQL API. Every type, field, argument and enum
value below says what it is, its unit, who may see or call it, its limits and, for
mutations, the codes of their refusals.

## Endpoint

- `POST /graphql` with a JSON body `{"query", "variables", "operationName"}` (or
  `{"documentId": "sha256:<hex>", "variables"}` for a persisted document); `GET /graphql`
  serves persisted documents only. Production serves **only** the apps' persisted documents
  (`PERSISTED_QUERY_REQUIRED` for any other text, `PERSISTED_QUERY_NOT_FOUND`,
  `PERSISTED_QUERY_MISMATCH`).
- Subscriptions: WebSocket on `/graphql`, protocol `graphql-transport-ws`, the access token in
  `connection_init`: `{"authorization": "Bearer <token>"}`.

## Signing in

`signUp`, `logIn` or `logInWithCode` answer an access token (15 minutes) and a refresh token
(30 days, one use: `refreshSession` answers a new pair). Send `Authorization: Bearer <access
token>`; without it a request is anonymous. A token that fails any check answers
`UNAUTHENTICATED` whatever the request asks, so the app knows to refresh.

## Conventions

- **IDs** are global (Relay object identification): `node(id:)` answers any of them the
  caller may see, and null for the rest.
- **Money** is integer **fen** (1 yuan = 100 fen); **areas** are **square metres**; **times**
  are ISO 8601 in **UTC**; dates are calendar days.
- **Lists that grow** are Relay connections: `first` (at most 100) and `after`; the
  histories (notifications, access events, the audit log) also page backward with `last` and
  `before`. `totalCount` stops at 10,000 and then says `totalCountCapped: true`.
- **Errors**: a refused mutation answers its payload with `userErrors` (`field`, `message`,
  `code`, see *Error codes*); not signed in is the GraphQL error `UNAUTHENTICATED`, a wrong role
  `FORBIDDEN`, another owner's object `NOT_FOUND` exactly as a missing one. The GraphQL
  errors carry the code in `extensions.code`.
- **Limits**: depth 12, 15 aliases, 2000 tokens, request bodies 64 KiB, and a cost limit
  (`COST_LIMIT`): every object a request could return counts, lists by their `first`.
"""

ROLES_INTRO = """\
Who may call each operation: ✓ for a role that may. A role that may call an operation still
sees only its part: a LANDLORD their own properties and what is in them ("only the owner"), a
TENANT what their accepted leases reach, POLICE and RESPONDER the places of their scope, as
each operation's description says. POLICE is read-only: of the mutations it may call only the
session ones. A wrong role is the GraphQL error `FORBIDDEN`; anonymous callers get
`UNAUTHENTICATED`.
"""

CODES_INTRO = """\
The stable `code` of a `userErrors` entry or of a GraphQL error's `extensions.code`. Switch on
the code, never on the message (English, for people, and it may change). *Named by* lists the
operations whose descriptions (or their inputs') name the code; the common codes (`INVALID_ID`,
`NOT_FOUND`, `REQUIRED`, `TOO_LONG`, `RATE_LIMITED`...) may come from more.
"""


@dataclass(frozen=True)
class Operation:
    kind: str  # query, mutation, subscription
    name: str
    who: frozenset[str]
    text: str  # its description, its arguments' and their input types'

    @property
    def anchor(self) -> str:
        return f"#{self.kind}-{self.name}"


def _who(field: Any) -> frozenset[str]:
    """The columns whose callers the field's permission classes and extensions admit."""
    from app.schema.extensions import PoliceReadOnly

    admitted = set(COLUMNS)
    for permission in field.permission_classes:
        roles = getattr(permission, "roles", None)
        if roles is None:
            raise TypeError(f"{field.python_name}: unknown permission class {permission}")
        admitted &= {r.value for r in roles} if roles else {r.value for r in Role}
    if any(isinstance(e, PoliceReadOnly) for e in field.extensions):
        admitted.discard(Role.POLICE.value)
    return frozenset(admitted)


def _input_texts(schema: GraphQLSchema, type_: Any, seen: set[str]) -> Iterable[str]:
    while isinstance(type_, GraphQLNonNull | GraphQLList):
        type_ = type_.of_type
    if not isinstance(type_, GraphQLInputObjectType) or type_.name in seen:
        return
    seen.add(type_.name)
    yield type_.description or ""
    for value in type_.fields.values():
        yield value.description or ""
        yield from _input_texts(schema, value.type, seen)


def operations(schema_text: str) -> list[Operation]:
    """Every root field, with who may call it (from the Strawberry definitions) and the text
    of its description, arguments and inputs (from the exported schema)."""
    from strawberry.utils.str_converters import to_camel_case

    from app.schema import Mutation, Query, Subscription

    exported = build_schema(schema_text)
    found: list[Operation] = []
    for kind, root, graphql_root in (
        ("query", Query, exported.query_type),
        ("mutation", Mutation, exported.mutation_type),
        ("subscription", Subscription, exported.subscription_type),
    ):
        assert graphql_root is not None
        for field in root.__strawberry_definition__.fields:  # type: ignore[attr-defined]
            name = field.graphql_name or to_camel_case(field.python_name)
            graphql_field = graphql_root.fields[name]
            texts = [graphql_field.description or ""]
            seen: set[str] = set()
            for argument in graphql_field.args.values():
                texts.append(argument.description or "")
                texts.extend(_input_texts(exported, argument.type, seen))
            found.append(Operation(kind, name, _who(field), "\n".join(texts)))
    return found


def role_table(ops: list[Operation]) -> str:
    head = "| Operation | " + " | ".join(COLUMNS) + " |\n|---|" + "---|" * len(COLUMNS) + "\n"
    rows = (
        f"| {op.kind} [`{op.name}`]({op.anchor}) | "
        + " | ".join("✓" if c in op.who else "" for c in COLUMNS)
        + " |"
        for op in ops
    )
    return ROLES_INTRO + "\n" + head + "\n".join(rows) + "\n"


def code_table(ops: list[Operation]) -> str:
    named: dict[str, list[Operation]] = {code: [] for code in MEANINGS}
    for op in ops:
        for code in sorted(set(WORD.findall(op.text)) & named.keys()):
            named[code].append(op)
    rows = []
    for code, meaning in MEANINGS.items():
        by = ", ".join(f"[`{op.name}`]({op.anchor})" for op in named[code])
        rows.append(f"| `{code}` | {meaning.replace('|', '/')} | {by} |")
    head = "| Code | Meaning | Named by |\n|---|---|---|\n"
    return CODES_INTRO + "\n" + head + "\n".join(rows) + "\n"


def config(schema_file: Path, out: Path, ops: list[Operation]) -> dict[str, Any]:
    return {
        "spectaql": {"targetDir": str(out), "oneFile": True, "displayAllServers": True},
        "introspection": {"schemaFile": str(schema_file), "fieldExpansionDepth": 2},
        "info": {
            "title": "Anju API reference",
            "description": INTRO,
            "version": "2",
            "x-introItems": [
                {"title": "Roles", "description": role_table(ops)},
                {"title": "Error codes", "description": code_table(ops)},
            ],
        },
        "servers": [
            {
                "url": "http://127.0.0.1:8000/graphql",
                "description": "Development (make run)",
                "production": True,
            }
        ],
    }


def build(out: Path = OUT, schema_file: Path = SCHEMA_FILE) -> Path:
    """Builds the reference into `out` (index.html); answers its path."""
    if not SPECTAQL.exists():
        raise SystemExit(f"{SPECTAQL} is missing: run `make docs` (it installs the npm tools).")
    ops = operations(schema_file.read_text())
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        # JSON is YAML: SpectaQL reads it as its config
        config_file = Path(tmp) / "spectaql.yml"
        config_file.write_text(json.dumps(config(schema_file, out, ops), ensure_ascii=False))
        run = subprocess.run(
            [str(SPECTAQL), str(config_file)], cwd=tmp, capture_output=True, text=True, check=False
        )
    if run.returncode != 0:
        sys.stderr.write(run.stdout[-4000:] + run.stderr[-4000:])
        raise SystemExit(f"SpectaQL failed ({run.returncode})")
    return out / "index.html"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help="the directory to write")
    args = parser.parse_args()
    page = build(args.out)
    print(f"wrote {page} ({page.stat().st_size // 1024} KiB); `make run` serves it at /docs")


if __name__ == "__main__":
    main()
