"""A landlord's visitor pass for the worker of a scheduled repair (MaintenanceRequest.
visitorPass)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from tests.lease_support import make_home, start_lease
from tests.pass_support import ISSUE_PASS, pass_input
from tests.support import Api

REPORT = """mutation($input: ReportMaintenanceInput!) { reportMaintenance(input: $input) {
  request { id } userErrors { field message code } } }"""
SCHEDULE = """mutation($input: UpdateMaintenanceInput!) { updateMaintenance(input: $input) {
  request { id status } userErrors { field message code } } }"""
REQUEST = """query($id: ID!) { node(id: $id) { ... on MaintenanceRequest {
  status visitorPass { id visitorName } } } }"""


def test_a_pass_for_a_scheduled_repair_shows_on_the_request(api: Api) -> None:
    # given a tenant's repair request
    landlord = api.caller("LANDLORD")
    home = make_home(landlord)
    tenant = api.caller("TENANT")
    start_lease(landlord, home.room, tenant)
    request = tenant.mutate(
        "reportMaintenance",
        REPORT,
        {"input": {"roomId": home.room, "category": "PLUMBING", "description": "漏水"}},
    )["request"]["id"]
    for_repair = pass_input(home.room, maintenanceRequestId=request)

    def issue(**over: Any) -> dict[str, Any]:
        given = {**for_repair, **over}
        answer: dict[str, Any] = landlord.data(ISSUE_PASS, {"input": given})["issueVisitorPass"]
        return answer

    # then no pass is issued for it before it is scheduled
    refused = issue()["userErrors"]
    assert [(e["field"], e["code"]) for e in refused] == [
        (["input", "maintenanceRequestId"], "INVALID_TRANSITION")
    ]

    # when the landlord schedules the repair and issues a pass for its worker
    when = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=3)).isoformat()
    landlord.mutate(
        "updateMaintenance",
        SCHEDULE,
        {"input": {"requestId": request, "status": "SCHEDULED", "scheduledFor": when}},
    )
    issued = issue()["pass"]

    # then the request shows the pass, to the landlord and to the tenant
    for reader in (landlord, tenant):
        shown = reader.data(REQUEST, {"id": request})["node"]["visitorPass"]
        assert shown["id"] == issued["id"]
    # and a pass for another room, or by the tenant, may not name the request
    other_room = issue(roomId=home.other_room)["userErrors"]
    assert [e["code"] for e in other_room] == ["NOT_FOUND"]
    by_tenant = tenant.data(ISSUE_PASS, {"input": for_repair})["issueVisitorPass"]["userErrors"]
    assert [e["code"] for e in by_tenant] == ["NOT_FOUND"]
    # and another landlord sees nothing of the request
    other = api.caller("LANDLORD")
    assert other.data(REQUEST, {"id": request})["node"] is None
