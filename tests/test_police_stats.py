"""populationStats (POLICE, RESPONDER, scoped) and auditLog (ADMIN, append-only)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.support import Api, Caller
from tests.test_properties import UPDATE, add_room, create_property

STATS = """query($scope: StatsScope) { populationStats(scope: $scope) {
  properties rooms occupiedRooms residents
  byKind { kind properties rooms } safety { extinguishers smokeDetectors escapeWindows } } }"""
AUDIT = """query($first: Int, $after: String) { auditLog(first: $first, after: $after) {
  pageInfo { hasNextPage endCursor }
  edges { cursor node { at action reason target account { id role } } } } }"""

SONGMEN = {"town": "松门镇", "community": "松门村", "grid": "网格1"}
LINCHUAN = {"town": "松门镇", "community": "淋川村", "grid": "网格2"}
ZEGUO = {"town": "泽国镇", "community": "泽国村", "grid": "网格1"}


def _city(api: Api) -> None:
    landlord = api.caller("LANDLORD")
    for place, kind, rooms in (
        (SONGMEN, "SECOND_HAND", 3),
        (SONGMEN, "APARTMENT_BUILDING", 5),
        (LINCHUAN, "SECOND_HAND", 2),
        (ZEGUO, "FIRST_HAND", 4),
    ):
        prop = create_property(landlord, place=place, kind=kind)
        for r in range(rooms):
            add_room(landlord, prop["id"], f"{r + 1}")
    # a later change of safety equipment moves the counters by the difference
    changed = create_property(landlord, place=ZEGUO, kind="FIRST_HAND")
    landlord.mutate(
        "updateProperty",
        UPDATE,
        {
            "input": {
                "propertyId": changed["id"],
                "safety": {"extinguishers": 10, "smokeDetectors": 6, "escapeWindows": 2},
            }
        },
    )


def _kinds(stats: dict[str, Any]) -> dict[str, tuple[int, int]]:
    return {k["kind"]: (k["properties"], k["rooms"]) for k in stats["byKind"]}


def test_city_town_community_and_grid_counts(api: Api) -> None:
    # given properties in three communities of two towns
    _city(api)
    officer = api.caller("POLICE")
    # when police ask for the city, a town, a community and a grid
    city = officer.data(STATS)["populationStats"]
    town = officer.data(STATS, {"scope": {"town": "松门镇"}})["populationStats"]
    community = officer.data(STATS, {"scope": {"town": "松门镇", "community": "淋川村"}})
    grid = officer.data(STATS, {"scope": SONGMEN})["populationStats"]
    # then each counts what is in it
    assert (city["properties"], city["rooms"]) == (5, 14)
    assert city["safety"] == {
        "extinguishers": 4 * 4 + 10,
        "smokeDetectors": 30,
        "escapeWindows": 10,
    }
    assert _kinds(city) == {
        "APARTMENT_BUILDING": (1, 5),
        "FIRST_HAND": (2, 4),
        "SECOND_HAND": (2, 5),
    }
    assert (town["properties"], town["rooms"]) == (3, 10)
    assert community["populationStats"]["rooms"] == 2
    assert (grid["properties"], grid["rooms"]) == (2, 8)
    assert city["occupiedRooms"] == 0
    assert city["residents"] == 0


def test_a_scoped_account_sees_only_its_scope(api: Api) -> None:
    _city(api)
    responder = api.provisioned("RESPONDER", scope={"town": "松门镇"})
    # the whole city, asked by a town responder, is that town
    assert responder.data(STATS)["populationStats"]["rooms"] == 10
    assert (
        responder.data(STATS, {"scope": {"town": "松门镇", "community": "松门村"}})[
            "populationStats"
        ]["rooms"]
        == 8
    )
    # another town is refused
    assert responder.errors(STATS, {"scope": {"town": "泽国镇"}}) == ["FORBIDDEN"]


@pytest.mark.parametrize("role", ["LANDLORD", "TENANT", "ADMIN"])
def test_stats_are_for_police_and_responders_only(api: Api, role: str) -> None:
    assert api.caller(role).errors(STATS) == ["FORBIDDEN"]


def test_stats_need_sign_in(api: Api) -> None:
    assert api.anonymous().errors(STATS) == ["UNAUTHENTICATED"]


def test_audit_log_records_accounts_created_and_police_queries(api: Api) -> None:
    # given an admin who provisions a police officer, who then asks for statistics
    admin = api.admin()
    officer: Caller = api.provisioned("POLICE", scope={"town": "松门镇"})
    officer.data(STATS)
    # when the admin reads the audit log, a page at a time
    first = admin.data(AUDIT, {"first": 1})["auditLog"]
    rest = admin.data(AUDIT, {"first": 10, "after": first["pageInfo"]["endCursor"]})["auditLog"]
    entries = [e["node"] for e in first["edges"] + rest["edges"]]
    # then it has both, newest first, with who did them
    assert [e["action"] for e in entries] == ["police.populationStats", "account.create"]
    assert entries[0]["account"]["id"] == officer.account["id"]
    assert entries[0]["target"] == "scope:松门镇"
    assert entries[1]["account"]["role"] == "ADMIN"
    assert first["pageInfo"]["hasNextPage"] is True
    assert rest["pageInfo"]["hasNextPage"] is False


@pytest.mark.parametrize("role", ["LANDLORD", "TENANT", "POLICE", "RESPONDER"])
def test_only_admins_read_the_audit_log(api: Api, role: str) -> None:
    assert api.caller(role).errors(AUDIT) == ["FORBIDDEN"]


def test_audit_log_needs_sign_in(api: Api) -> None:
    assert api.anonymous().errors(AUDIT) == ["UNAUTHENTICATED"]


def test_nothing_in_app_updates_or_deletes_audit_entries() -> None:
    # the audit log is append-only: no code path in app/ may change or remove an entry
    app_dir = Path(__file__).resolve().parent.parent / "app"
    writes = re.compile(
        r"audit_log\s*\.\s*(update|replace|delete|find_one_and|bulk_write|drop|rename)"
        r"|\[\s*[\"']audit_log[\"']\s*\]\s*\.\s*(update|replace|delete|find_one_and|bulk_write"
        r"|drop|rename)"
    )
    offenders = [
        f"{path.relative_to(app_dir)}:{n}"
        for path in app_dir.rglob("*.py")
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if writes.search(line)
    ]
    assert offenders == []
    # and the one module that writes it (the hash chain, app/audit_chain.py) only inserts
    chain_src = (app_dir / "audit_chain.py").read_text()
    used = set(re.findall(r"audit_log\.(\w+)", chain_src))
    assert "insert_one" in used
    assert used <= {"insert_one", "find_one", "find", "count_documents"}
