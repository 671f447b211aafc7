"""The audit log is tamper-evident: each entry carries the hash of the one before, and
`anju verify-audit` (app/audit_chain.py) names the first entry that was changed, removed or
inserted (here by someone holding the database's credentials)."""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from pymongo import MongoClient

from tests.conftest import Stack
from tests.support import Api

ROOT = Path(__file__).resolve().parent.parent
RESIDENTS = """query($reason: String!) { residents(filter: {town: "松门镇"}, reason: $reason) {
  totalCount } }"""


def verify(stack: Stack) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", "verify-audit"],
        cwd=ROOT,
        env={**os.environ, **stack.env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_an_edited_removed_or_inserted_entry_is_found(
    api: Api, stack: Stack, mongo: MongoClient[dict[str, Any]]
) -> None:
    # given an audit log of a few entries (an account made, police look-ups)
    officer = api.provisioned("POLICE")
    for n in range(4):
        officer.data(RESIDENTS, {"reason": f"走访 {n}"})
    log = mongo[stack.db_name].audit_log
    saved = sorted(log.find(), key=lambda d: d["_id"])
    assert len(saved) >= 5

    def restore() -> None:
        log.delete_many({})
        log.insert_many(saved)

    # when the verify command runs on it / then it is intact
    intact = verify(stack)
    assert intact.returncode == 0, intact.stderr
    assert f"{len(saved)} entries checked" in intact.stdout and "intact" in intact.stdout
    # when an entry's reason is edited in the database
    log.update_one({"_id": 3}, {"$set": {"reason": "nothing to see"}})
    edited = verify(stack)
    # then the command fails and names that entry
    assert edited.returncode == 1
    assert "entry 3 " in edited.stderr and "changed after it was written" in edited.stderr
    # when instead an entry is removed
    restore()
    log.delete_one({"_id": 2})
    removed = verify(stack)
    assert removed.returncode == 1 and "entry 2 is missing" in removed.stderr
    # when instead a forged entry replaces it, its own hash computed the way Anju does
    from app.audit_chain import entry_hash

    forged = {**saved[1], "reason": "forged"}
    forged["hash"] = entry_hash(forged)
    log.insert_one(forged)
    inserted = verify(stack)
    assert inserted.returncode == 1
    assert "entry 3 " in inserted.stderr and "does not follow entry 2" in inserted.stderr
    # and when the newest entry is cut off
    restore()
    log.delete_one({"_id": len(saved)})
    cut = verify(stack)
    assert cut.returncode == 1 and "the last entries were removed" in cut.stderr
    # and once restored, it is intact again
    restore()
    assert verify(stack).returncode == 0


def test_concurrent_writers_keep_one_unbroken_chain(
    api: Api, stack: Stack, mongo: MongoClient[dict[str, Any]]
) -> None:
    # given officers looking up the register at the same moment
    officers = [api.provisioned("POLICE") for _ in range(3)]
    with ThreadPoolExecutor(max_workers=12) as pool:
        list(
            pool.map(lambda n: officers[n % 3].data(RESIDENTS, {"reason": f"同时 {n}"}), range(24))
        )
    # then every look-up is in the log, each once, and the chain is intact
    log = mongo[stack.db_name].audit_log
    reasons = [d["reason"] for d in log.find({"action": "police.residents"})]
    assert sorted(reasons) == sorted(f"同时 {n}" for n in range(24))
    result = verify(stack)
    assert result.returncode == 0, result.stderr
