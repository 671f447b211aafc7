"""The audit log as a hash chain, and the command that verifies it.

Each entry carries `seq` (1, 2, 3, ...; also its `_id`, so that two writers can never take the
same place: the insert of the second fails and it moves on), `prev_hash` (the previous entry's
hash; 64 zeros for the first) and `hash` = SHA-256 of `prev_hash` and the entry's canonical
form (Extended JSON, keys sorted, every field but `hash`). A small head document
(`audit_chain`, `_id: "head"`) remembers the last link so that appending reads one document
by `_id`; it is a hint, the entries are the truth.

So an entry edited after the fact no longer matches its hash; one removed leaves a gap in `seq`;
one inserted or reordered breaks the next entry's `prev_hash`; the tail removed shows against
the head (and against any head hash an operator noted down: `verify` prints it). Give Anju a
database user that may only insert into and read `audit_log` (`role` below prints one), and
even Anju's own credentials cannot rewrite history without it showing.

    python -m app.audit_chain verify    # exit 0 if intact; otherwise names the first broken entry
    python -m app.audit_chain role      # the MongoDB role for Anju's user: insert-only audit_log
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import hashlib
import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bson import json_util
from bson.json_util import CANONICAL_JSON_OPTIONS
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from app.store import Doc, Store

GENESIS = "0" * 64
HEAD = "head"
MAX_STEPS = 10_000


def entry_hash(entry: Mapping[str, Any]) -> str:
    """The hash of an entry: SHA-256 of its `prev_hash` and its canonical form."""
    content = {k: v for k, v in entry.items() if k != "hash"}
    canonical = json_util.dumps(content, json_options=CANONICAL_JSON_OPTIONS, sort_keys=True)
    return hashlib.sha256(f"{entry['prev_hash']}\n{canonical}".encode()).hexdigest()


async def append(store: Store, entry: Doc) -> Doc:
    """Appends `entry` (everything but its place in the chain) as the next link; returns it
    as stored."""
    head = await store.audit_chain.find_one({"_id": HEAD})
    if head is None:
        await store.insert_once("audit_chain", {"_id": HEAD, "seq": 0, "hash": GENESIS})
        head = {"seq": 0, "hash": GENESIS}
    seq, prev = int(head["seq"]), str(head["hash"])
    for _ in range(MAX_STEPS):
        doc = {**entry, "_id": seq + 1, "seq": seq + 1, "prev_hash": prev}
        doc["hash"] = entry_hash(doc)
        try:
            await store.audit_log.insert_one(doc)
        except DuplicateKeyError:
            # another writer took this place: step over its entry (the head may lag behind)
            taken = await store.audit_log.find_one({"_id": seq + 1}, {"hash": 1})
            if taken is not None:
                seq, prev = seq + 1, str(taken["hash"])
            continue
        await store.audit_chain.update_one(
            {"_id": HEAD, "seq": {"$lt": doc["seq"]}},
            {"$set": {"seq": doc["seq"], "hash": doc["hash"]}},
        )
        return doc
    raise RuntimeError("the audit chain did not accept an entry")  # pragma: no cover


@dataclass
class Report:
    entries: int
    unchained: int
    head_seq: int
    head_hash: str
    broken: str | None = None

    @property
    def intact(self) -> bool:
        return self.broken is None

    def summary(self) -> str:
        """What was checked and the head's hash (to note down and compare next time)."""
        older = f"; {self.unchained} older entries predate the chain" if self.unchained else ""
        return (
            f"{self.entries} entries checked; head at entry {self.head_seq}, "
            f"hash {self.head_hash}{older}"
        )


def _describe(doc: Mapping[str, Any]) -> str:
    at = doc.get("at")
    when = at.isoformat() if isinstance(at, dt.datetime) else "?"
    return f"entry {doc.get('seq')} ({doc.get('action')}, {when})"


async def verify(db: AsyncDatabase[Doc]) -> Report:
    """Walks the chain in order and stops at the first entry that does not hold."""
    unchained = await db.audit_log.count_documents({"seq": {"$exists": False}})
    head = await db.audit_chain.find_one({"_id": HEAD}) or {"seq": 0, "hash": GENESIS}
    report = Report(0, unchained, int(head["seq"]), str(head["hash"]))
    expected_seq, prev = 1, GENESIS
    async for doc in db.audit_log.find({"seq": {"$exists": True}}, sort=[("seq", 1)]):
        if doc["seq"] != expected_seq or doc.get("_id") != doc["seq"]:
            report.broken = (
                f"entry {expected_seq} is missing (removed); the chain resumes at {_describe(doc)}"
                if doc["seq"] > expected_seq
                else f"{_describe(doc)} is out of place"
            )
            return report
        if doc.get("prev_hash") != prev:
            report.broken = (
                f"{_describe(doc)} does not follow entry {expected_seq - 1}: one was inserted, "
                "replaced or reordered"
            )
            return report
        if entry_hash(doc) != doc.get("hash"):
            report.broken = f"{_describe(doc)} was changed after it was written"
            return report
        report.entries += 1
        expected_seq, prev = expected_seq + 1, doc["hash"]
    if report.head_seq > report.entries:
        report.broken = (
            f"the chain ends at entry {report.entries} but its head names entry "
            f"{report.head_seq}: the last entries were removed"
        )
    elif report.head_seq == report.entries and report.head_hash != prev:
        report.broken = f"entry {report.entries}, the last, is not the one the head names"
    return report


def role(db_name: str) -> str:
    """mongosh commands for a role that may do everything Anju does, except change or remove
    an audit entry (audit_log: find and insert only)."""
    from app.store.indexes import INDEXES

    names = sorted({*INDEXES, "audit_chain"} - {"audit_log"})
    full = ["find", "insert", "update", "remove", "createIndex", "listIndexes", "createCollection"]
    privileges = [
        {"resource": {"db": db_name, "collection": name}, "actions": full} for name in names
    ]
    privileges.append(
        {
            "resource": {"db": db_name, "collection": "audit_log"},
            "actions": ["find", "insert", "createIndex", "listIndexes", "createCollection"],
        }
    )
    privileges.append(
        {"resource": {"db": db_name, "collection": ""}, "actions": ["listCollections"]}
    )
    command = {"role": "anjuService", "privileges": privileges, "roles": []}
    return (
        f"use {db_name}\n"
        f"db.createRole({json.dumps(command, indent=2)})\n"
        f'db.createUser({{user: "anju", pwd: passwordPrompt(), roles: ["anjuService"]}})\n'
    )


async def _verify_configured() -> Report:
    from app.settings import load_settings
    from app.store import make_client

    settings = load_settings()
    client = make_client(settings)
    try:
        return await verify(client[settings.mongodb_db])
    finally:
        await client.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.audit_chain", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("verify", help="check every link; name the first broken entry")
    make_role = commands.add_parser("role", help="print the MongoDB role for Anju's user")
    make_role.add_argument("--db", default="anju")
    args = parser.parse_args(argv)
    if args.command == "role":
        print(role(args.db), end="")
        return 0
    report = asyncio.run(_verify_configured())
    print(report.summary())
    if report.broken is not None:
        print(f"BROKEN: {report.broken}", file=sys.stderr)
        return 1
    print("the audit chain is intact")
    return 0


if __name__ == "__main__":
    sys.exit(main())
