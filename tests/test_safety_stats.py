"""The town's tables: safetyStats and the CSV export of a scope's hazards."""

from __future__ import annotations

import csv
import io

import httpx

from tests.fire_support import (
    EXPORT,
    STATS,
    inspection_input,
    local_today,
    record,
    responder,
    site,
)
from tests.support import Api

VILLAGE = {"town": "松门镇", "community": "松门村", "grid": "网格3"}
NEIGHBOUR = {"town": "松门镇", "community": "淋川村", "grid": "网格1"}


def test_the_export_of_a_community_holds_exactly_its_hazards(api: Api, http: httpx.Client) -> None:
    # given hazards in two communities of one town
    here, there = site(api, VILLAGE), site(api, NEIGHBOUR)
    town = responder(api, town="松门镇")
    failed = {"EXITS_CLEAR": None, "WIRING_SAFE": here.rooms[0]}
    mine = record(town, inspection_input(here.property_id, failed))["hazards"]
    record(town, inspection_input(there.property_id, {"EXITS_CLEAR": None}))
    police = api.caller("POLICE", scope={"town": "松门镇"})

    # when the town's police export 松门村's hazards
    export = police.data(EXPORT, {"scope": {"town": "松门镇", "community": "松门村"}})[
        "hazardsExport"
    ]

    # then the file holds exactly that community's, with the README's columns
    assert export["rows"] == 2
    response = http.get(export["url"])
    assert response.status_code == 200
    assert response.headers["content-disposition"] == "attachment"
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert sorted(r["hazard_id"] for r in rows) == sorted(h["id"] for h in mine)
    assert {r["community"] for r in rows} == {"松门村"}
    assert {r["status"] for r in rows} == {"OPEN"}
    assert rows[0]["landlord_phone"] == here.landlord.phone
    # and a status narrows it
    none = police.data(EXPORT, {"scope": {"town": "松门镇"}, "status": "RECTIFIED"})
    assert none["hazardsExport"]["rows"] == 0


def test_the_tables_refuse_other_scopes_and_roles(api: Api) -> None:
    # given people of another town, a landlord and a tenant
    grid = responder(api, **VILLAGE)
    today = local_today().isoformat()
    period = {"from": today, "to": today}
    other_town = api.caller("POLICE", scope={"town": "箬横镇"})

    # then a scope beyond one's own is forbidden, for the figures and the export
    beyond = {"town": "松门镇", "community": "淋川村"}
    assert grid.errors(STATS, {**period, "scope": beyond}) == ["FORBIDDEN"]
    assert grid.errors(EXPORT, {"scope": beyond}) == ["FORBIDDEN"]
    assert other_town.errors(STATS, {**period, "scope": {"town": "松门镇"}}) == ["FORBIDDEN"]
    assert other_town.errors(EXPORT, {"scope": {"town": "松门镇"}}) == ["FORBIDDEN"]
    # and landlords and tenants have no tables
    for role in ("LANDLORD", "TENANT"):
        caller = api.caller(role)
        assert caller.errors(STATS, period) == ["FORBIDDEN"]
        assert caller.errors(EXPORT, {"scope": {"town": "松门镇"}}) == ["FORBIDDEN"]
    # and a period backwards is refused
    backwards = {"from": today, "to": "2020-01-01"}
    assert grid.errors(STATS, backwards) == ["INVALID_DATE_RANGE"]
