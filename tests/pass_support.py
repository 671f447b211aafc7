"""Set-up shared by the device-claim, entry-log and visitor-pass tests: the operations, a
property's doors by device id, visitor passes through the public API, and what the
simulator's doors hold and do (codes, the keypad, claims)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx

from tests.lease_support import id_number
from tests.support import Caller, next_phone, sim_post

REMOVE_DEVICE = """mutation($input: RemoveDeviceInput!) { removeDevice(input: $input) {
  ok userErrors { field message code } } }"""
REPLACE_DEVICE = """mutation($input: ReplaceDeviceInput!) { replaceDevice(input: $input) {
  door { id name deviceId removedAt room { id } } camera { id name deviceId }
  smokeDetector { id deviceId room { id } } userErrors { field message code } } }"""
DOORS = """query($id: ID!) { node(id: $id) { ... on Property {
  doors { id deviceId removedAt room { id } } cameras { id name deviceId }
  rooms(first: 50) { edges { node { id doors { id deviceId }
    smokeDetectors { id deviceId } } } } } } }"""
PASS = """id visitorName visitorPhone visitorIdNumberMasked purpose validFrom validUntil
  revokedAt code syncedAtGateway room { id } issuedBy { id }"""
ISSUE_PASS = f"""mutation($input: IssueVisitorPassInput!) {{ issueVisitorPass(input: $input) {{
  pass {{ {PASS} }} userErrors {{ field message code }} }} }}"""
REVOKE_PASS = f"""mutation($input: RevokeVisitorPassInput!) {{ revokeVisitorPass(input: $input) {{
  pass {{ {PASS} }} userErrors {{ field message code }} }} }}"""
PASSES = f"""query($roomId: ID, $idNumber: String, $reason: String, $active: Boolean) {{
  visitorPasses(roomId: $roomId, visitorIdNumber: $idNumber, reason: $reason,
                activeOnly: $active, first: 50) {{ edges {{ node {{ {PASS} }} }} }} }}"""


def doors_of(landlord: Caller, property_id: str) -> dict[str, str]:
    """The property's doors in place, and its rooms' doors, cameras and detectors: global
    ids by gateway device id."""
    prop = landlord.data(DOORS, {"id": property_id})["node"]
    found = {d["deviceId"]: d["id"] for d in prop["doors"] + prop["cameras"]}
    for edge in prop["rooms"]["edges"]:
        room = edge["node"]
        found |= {d["deviceId"]: d["id"] for d in room["doors"] + room["smokeDetectors"]}
    return found


def pass_input(room: str, hours: float = 2, **over: Any) -> dict[str, Any]:
    """A visitor pass from now for `hours`, to a fresh visitor."""
    now = dt.datetime.now(dt.UTC)
    return {
        "roomId": room,
        "visitorName": "李师傅",
        "visitorPhone": next_phone(),
        "visitorIdNumber": id_number(region="330782"),
        "purpose": "修热水器",
        "validFrom": now.isoformat(),
        "validUntil": (now + dt.timedelta(hours=hours)).isoformat(),
        **over,
    }


def issue_pass(caller: Caller, room: str, **over: Any) -> dict[str, Any]:
    given = pass_input(room, **over)
    issued: dict[str, Any] = caller.mutate("issueVisitorPass", ISSUE_PASS, {"input": given})["pass"]
    return issued | {"given": given}


def revoke_pass(caller: Caller, pass_id: str) -> dict[str, Any]:
    revoked: dict[str, Any] = caller.mutate(
        "revokeVisitorPass", REVOKE_PASS, {"input": {"passId": pass_id}}
    )["pass"]
    return revoked


def door_codes(http: httpx.Client, sim_url: str, device: str) -> dict[str, dict[str, Any]]:
    """The codes a door holds at the simulator and that are valid now, by codeId."""
    response = http.get(f"{sim_url}/sim/doors/{device}/codes")
    response.raise_for_status()
    return {c["codeId"]: c for c in response.json()}


def keypad(http: httpx.Client, sim_url: str, device: str, code: str) -> bool:
    """Someone types `code` on the door's keypad; whether it opened (Anju has the event)."""
    answer = sim_post(http, sim_url, f"/sim/doors/{device}/keypad", {"code": code})
    granted: bool = answer["granted"]
    return granted


def claims(http: httpx.Client, sim_url: str) -> dict[str, str]:
    """Which owner holds each claimed device at the simulator's platform."""
    response = http.get(f"{sim_url}/sim/claims")
    response.raise_for_status()
    return {c["deviceId"]: c["owner"] for c in response.json()}
