"""The authorization matrix, generated from the schema: every query, mutation and
subscription, for every role and anonymous, on another owner's objects. The expected outcome
comes from POLICY below; an operation missing from POLICY fails the test, so a new operation
cannot ship unguarded."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import httpx
import pytest

from scripts.workload import _id_number
from tests.conftest import Stack
from tests.fire_support import inspection_input, record
from tests.photo_support import add_photo, uploaded
from tests.photo_support import photo as make_photo
from tests.support import Api, Caller, Subscription, accept_lease
from tests.test_properties import add_room, create_property, register

ROLES = ("LANDLORD", "TENANT", "POLICE", "RESPONDER", "ADMIN")
ANON = "anonymous"
EVERYONE = frozenset((ANON, *ROLES))
SIGNED_IN = frozenset(ROLES)


def only(*roles: str) -> frozenset[str]:
    return frozenset(roles)


# Who may call each operation. Everyone else: UNAUTHENTICATED when anonymous, FORBIDDEN when
# signed in. `owned` operations act on a caller's own objects: given another owner's, they
# answer NOT_FOUND (or null), exactly as for a missing object.
POLICY: dict[str, dict[str, Any]] = {
    # queries
    "Query.node": {"allow": EVERYONE},
    "Query.me": {"allow": EVERYONE},
    "Query.listings": {"allow": EVERYONE},
    "Query.myProperties": {"allow": only("LANDLORD")},
    "Query.myLeases": {"allow": only("TENANT")},
    "Query.rentRoll": {"allow": only("LANDLORD")},
    "Query.cameraSnapshot": {"allow": only("LANDLORD"), "owned": True},
    "Query.residents": {"allow": only("POLICE")},
    "Query.accessEvents": {"allow": only("POLICE", "LANDLORD", "TENANT"), "owned": True},
    "Query.doorEntryCounts": {"allow": only("LANDLORD"), "owned": True},
    "Query.visitorPasses": {"allow": only("TENANT", "LANDLORD", "POLICE"), "owned": True},
    "Query.populationStats": {"allow": only("POLICE", "RESPONDER")},
    "Query.alarms": {"allow": only("LANDLORD", "RESPONDER", "POLICE")},
    "Query.alarmResponseFigures": {"allow": only("RESPONDER", "POLICE")},
    "Query.notifications": {"allow": SIGNED_IN},
    "Query.auditLog": {"allow": only("ADMIN")},
    "Query.meterReadings": {"allow": only("LANDLORD", "TENANT"), "owned": True},
    "Query.accounts": {"allow": only("ADMIN")},
    "Query.maintenanceRequests": {"allow": only("LANDLORD", "TENANT", "RESPONDER")},
    "Query.inspections": {"allow": only("RESPONDER", "POLICE", "LANDLORD"), "owned": True},
    "Query.hazards": {"allow": only("RESPONDER", "POLICE", "LANDLORD"), "owned": True},
    "Query.safetyStats": {"allow": only("RESPONDER", "POLICE")},
    "Query.hazardsExport": {"allow": only("RESPONDER", "POLICE")},
    # mutations: sessions
    "Mutation.signUp": {"allow": EVERYONE},
    "Mutation.logIn": {"allow": EVERYONE},
    "Mutation.refreshSession": {"allow": EVERYONE},
    "Mutation.logOut": {"allow": EVERYONE},
    "Mutation.requestPhoneCode": {"allow": EVERYONE},
    "Mutation.logInWithCode": {"allow": EVERYONE},
    "Mutation.resetPassword": {"allow": EVERYONE},
    "Mutation.changePassword": {"allow": SIGNED_IN},
    "Mutation.logOutEverywhere": {"allow": SIGNED_IN},
    "Mutation.createAccount": {"allow": only("ADMIN")},
    "Mutation.setAccountStatus": {"allow": only("ADMIN")},
    "Mutation.updateAccountScope": {"allow": only("ADMIN")},
    # mutations: landlords' own objects
    "Mutation.createProperty": {"allow": only("LANDLORD")},
    "Mutation.updateProperty": {"allow": only("LANDLORD"), "owned": True},
    "Mutation.addRoom": {"allow": only("LANDLORD"), "owned": True},
    "Mutation.archiveProperty": {"allow": only("LANDLORD"), "owned": True},
    "Mutation.updateRoom": {"allow": only("LANDLORD"), "owned": True},
    "Mutation.archiveRoom": {"allow": only("LANDLORD"), "owned": True},
    "Mutation.addRoomPhoto": {"allow": only("LANDLORD"), "owned": True},
    "Mutation.moveRoomPhoto": {"allow": only("LANDLORD"), "owned": True},
    "Mutation.removeRoomPhoto": {"allow": only("LANDLORD"), "owned": True},
    "Mutation.updateListing": {"allow": only("LANDLORD"), "owned": True},
    "Mutation.registerDevice": {"allow": only("LANDLORD"), "owned": True},
    "Mutation.removeDevice": {"allow": only("LANDLORD"), "owned": True},
    "Mutation.replaceDevice": {"allow": only("LANDLORD"), "owned": True},
    "Mutation.publishListing": {"allow": only("LANDLORD"), "owned": True},
    "Mutation.unpublishListing": {"allow": only("LANDLORD"), "owned": True},
    "Mutation.startLease": {"allow": only("LANDLORD"), "owned": True},
    "Mutation.extendLease": {"allow": only("LANDLORD"), "owned": True},
    "Mutation.endLease": {"allow": only("LANDLORD"), "owned": True},
    "Mutation.resendLeaseInvitation": {"allow": only("LANDLORD"), "owned": True},
    "Mutation.registerOccupant": {"allow": only("LANDLORD"), "owned": True},
    "Mutation.deregisterOccupant": {"allow": only("LANDLORD"), "owned": True},
    "Mutation.recordPayment": {"allow": only("LANDLORD"), "owned": True},
    "Mutation.remindTenant": {"allow": only("LANDLORD"), "owned": True},
    "Mutation.waiveLateFee": {"allow": only("LANDLORD"), "owned": True},
    "Mutation.setMeterRates": {"allow": only("LANDLORD"), "owned": True},
    "Mutation.recordMeterReading": {"allow": only("LANDLORD"), "owned": True},
    "Mutation.settleDeposit": {"allow": only("LANDLORD"), "owned": True},
    # mutations: others
    "Mutation.openDoor": {"allow": only("LANDLORD", "TENANT"), "owned": True},
    "Mutation.issueVisitorPass": {"allow": only("TENANT", "LANDLORD"), "owned": True},
    "Mutation.revokeVisitorPass": {"allow": only("TENANT", "LANDLORD"), "owned": True},
    "Mutation.payInvoice": {"allow": only("TENANT"), "owned": True},
    "Mutation.acceptLease": {"allow": only("TENANT"), "owned": True},
    "Mutation.setAutopay": {"allow": only("TENANT"), "owned": True},
    "Mutation.disputeDeposit": {"allow": only("TENANT"), "owned": True},
    "Mutation.acknowledgeAlarm": {"allow": only("LANDLORD", "RESPONDER"), "owned": True},
    "Mutation.resolveAlarm": {"allow": only("LANDLORD", "RESPONDER"), "owned": True},
    "Mutation.markNotificationsRead": {"allow": SIGNED_IN - {"POLICE"}},
    "Mutation.createUpload": {"allow": only("LANDLORD", "TENANT", "RESPONDER")},
    "Mutation.reportMaintenance": {"allow": only("TENANT"), "owned": True},
    "Mutation.updateMaintenance": {"allow": only("LANDLORD", "TENANT"), "owned": True},
    "Mutation.rateMaintenance": {"allow": only("TENANT"), "owned": True},
    "Mutation.recordInspection": {"allow": only("RESPONDER")},
    "Mutation.reportRectification": {"allow": only("LANDLORD"), "owned": True},
    "Mutation.verifyRectification": {"allow": only("RESPONDER")},
    # subscriptions
    "Subscription.notifications": {"allow": SIGNED_IN},
    "Subscription.alarmRaised": {"allow": only("LANDLORD", "RESPONDER", "POLICE")},
}

INTROSPECT = """{ __schema {
  queryType { fields { name args { name type { ...T } } } }
  mutationType { fields { name args { name type { ...T } } } }
  subscriptionType { fields { name args { name type { ...T } } } }
  types { name kind inputFields { name type { ...T } } enumValues { name } } } }
fragment T on __Type { kind name ofType { kind name ofType { kind name ofType { kind name } } } }"""


class Values:
    """Placeholder arguments of the right types, naming another owner's objects."""

    def __init__(self, schema: dict[str, Any], foreign: dict[str, str]) -> None:
        self.types = {t["name"]: t for t in schema["types"]}
        self.foreign = foreign

    def value(self, name: str, t: dict[str, Any]) -> Any:
        if t["kind"] == "ENUM" and name in self.foreign:
            return self.foreign[name]
        if t["kind"] == "NON_NULL":
            return self.value(name, t["ofType"])
        if t["kind"] == "LIST":
            return [self.value(name.removesuffix("s"), t["ofType"])]
        if t["kind"] == "ENUM":
            return self.types[t["name"]]["enumValues"][0]["name"]
        if t["kind"] == "INPUT_OBJECT":
            return {
                f["name"]: self.value(f["name"], f["type"])
                for f in self.types[t["name"]]["inputFields"]
                if f["type"]["kind"] == "NON_NULL" or f["name"] in self.foreign
            }
        scalar = t["name"]
        if scalar == "ID":
            return self.foreign.get(name, self.foreign["id"])
        if name in self.foreign:  # well-formed values, so that only ownership can refuse
            return self.foreign[name]
        return {
            "String": "x" * 12,
            "Int": 1,
            "Float": 1.0,
            "Boolean": False,
            "Date": "2026-12-01",
            "DateTime": "2026-12-01T00:00:00Z",
        }.get(scalar, "x")


def _world(api: Api, http: httpx.Client, stack: Stack) -> dict[str, str]:
    """Another landlord's and another tenant's objects, for the `owned` checks."""
    owner = api.caller("LANDLORD")
    prop = create_property(owner)
    room = add_room(owner, prop["id"], "101")
    vacant = add_room(owner, prop["id"], "102")
    door = register(owner, "DOOR", "door-authz", prop["id"], room["id"])["door"]["id"]
    now = dt.datetime.now(dt.UTC)
    visitor = {
        "visitorName": "访客",
        "visitorPhone": "13700000009",
        "visitorIdNumber": _id_number(502),
        "validFrom": now.isoformat(),
        "validUntil": (now + dt.timedelta(hours=2)).isoformat(),
    }
    camera = register(owner, "CAMERA", "cam-authz", prop["id"])["camera"]["id"]
    register(owner, "SMOKE_DETECTOR", "smoke-authz", prop["id"], room["id"])
    listing = owner.mutate(
        "publishListing",
        """mutation($i: PublishListingInput!) { publishListing(input: $i) {
          listing { id } userErrors { code } } }""",
        {
            "i": {
                "roomId": vacant["id"],
                "title": "x",
                "description": "y",
                "availableFrom": "2026-12-01",
            }
        },
    )["listing"]["id"]
    tenant = api.sign_up("TENANT")
    lease = owner.mutate(
        "startLease",
        """mutation($i: StartLeaseInput!) { startLease(input: $i) {
          lease { id occupants { id } invoices(first: 1) { edges { node { id } } } }
          userErrors { code } } }""",
        {
            "i": {
                "roomId": room["id"],
                "tenantPhone": tenant.phone,
                "startDate": "2026-11-01",
                "endDate": "2027-04-30",
                "monthlyRentFen": 100000,
                "depositFen": 100000,
                "rentDueDay": 5,
                "occupants": [
                    {"name": "甲", "phone": tenant.phone, "idNumber": "11010519491231002X"}
                ],
            }
        },
    )["lease"]
    accept_lease(tenant, lease["id"])
    [photo] = add_photo(owner, vacant["id"])
    upload = uploaded(owner, make_photo())
    request = tenant.mutate(
        "reportMaintenance",
        """mutation($i: ReportMaintenanceInput!) { reportMaintenance(input: $i) {
          request { id } userErrors { code } } }""",
        {"i": {"roomId": room["id"], "category": "PLUMBING", "description": "漏水"}},
    )["request"]["id"]
    visitor_pass = owner.mutate(
        "issueVisitorPass",
        """mutation($i: IssueVisitorPassInput!) { issueVisitorPass(input: $i) {
          pass { id } userErrors { code } } }""",
        {"i": {"roomId": room["id"], **visitor}},
    )["pass"]["id"]
    http.post(f"{stack.sim_url}/sim/smoke/smoke-authz/alarm").raise_for_status()
    alarm = owner.data("{ alarms(first: 1) { edges { node { id } } } }")["alarms"]["edges"][0][
        "node"
    ]["id"]
    hazard = record(api.caller("RESPONDER"), inspection_input(prop["id"], {"EXITS_CLEAR": None}))[
        "hazards"
    ][0]["id"]
    notes = tenant.data("{ notifications(first: 1) { edges { node { id } } } }")
    note = (
        notes["notifications"]["edges"][0]["node"]["id"]
        if notes["notifications"]["edges"]
        else alarm
    )
    return {
        "id": prop["id"],
        "propertyId": prop["id"],
        "roomId": vacant["id"],
        "doorId": door,
        "deviceId": door,
        "cameraId": camera,
        "passId": visitor_pass,
        "listingId": listing,
        "leaseId": lease["id"],
        "occupantId": lease["occupants"][0]["id"],
        "invoiceId": lease["invoices"]["edges"][0]["node"]["id"],
        "alarmId": alarm,
        "notificationId": note,
        "notificationIds": note,
        "uploadId": upload,
        "photoId": photo["id"],
        "requestId": request,
        "hazardId": hazard,
        # well-formed inputs, so that only ownership can refuse
        **visitor,
        "phone": tenant.phone,
        "tenantPhone": tenant.phone,
        "idNumber": _id_number(501),
        "startDate": "2026-12-01",
        "endDate": "2027-05-31",
        "newEndDate": "2027-12-31",
        "moveOutDate": "2026-12-15",
        "method": "WECHAT_PAY",
        "amountFen": 100,
        "monthlyRentFen": 100000,
        "depositFen": 100000,
        "rentDueDay": 5,
    }


def _document(kind: str, field: dict[str, Any], values: Values) -> tuple[str, dict[str, Any]]:
    def gql_type(t: dict[str, Any]) -> str:
        if t["kind"] == "NON_NULL":
            return gql_type(t["ofType"]) + "!"
        if t["kind"] == "LIST":
            return f"[{gql_type(t['ofType'])}]"
        return str(t["name"])

    values.foreign["method"] = "CASH" if field["name"] == "recordPayment" else "WECHAT_PAY"
    args = field["args"]
    decl = ", ".join(f"${a['name']}: {gql_type(a['type'])}" for a in args)
    call = ", ".join(f"{a['name']}: ${a['name']}" for a in args)
    op = kind.lower()
    head = f"{op}({decl})" if decl else op
    body = f"{field['name']}({call})" if call else field["name"]
    variables = {a["name"]: values.value(a["name"], a["type"]) for a in args}
    # every mutation returns a payload with userErrors (the contract's convention)
    selection = "__typename userErrors { code }" if kind == "Mutation" else "__typename"
    return f"{head} {{ {body} {{ {selection} }} }}", variables


def _codes(body: dict[str, Any], name: str) -> list[str]:
    codes = [e.get("extensions", {}).get("code") for e in body.get("errors") or []]
    payload = (body.get("data") or {}).get(name)
    if isinstance(payload, dict):
        codes += [e["code"] for e in payload.get("userErrors") or []]
    return codes


def test_every_operation_has_a_declared_policy_and_keeps_it(
    api: Api, http: httpx.Client, stack: Stack
) -> None:
    # given the schema, a caller of every role, and another owner's objects
    schema = api.anonymous().data(INTROSPECT)["__schema"]
    operations = {
        f"{kind}.{f['name']}": (kind, f)
        for kind, key in (
            ("Query", "queryType"),
            ("Mutation", "mutationType"),
            ("Subscription", "subscriptionType"),
        )
        for f in (schema[key] or {}).get("fields", [])
    }
    # then every operation is declared (and nothing declared is gone)
    assert sorted(set(operations) - set(POLICY)) == [], "declare a policy for these"
    assert sorted(set(POLICY) - set(operations)) == []
    values = Values(schema, _world(api, http, stack))
    callers: dict[str, Caller] = {role: api.caller(role) for role in ROLES}
    callers[ANON] = api.anonymous()
    failures = []
    for name, (kind, field) in sorted(operations.items()):
        policy = POLICY[name]
        document, variables = _document(kind, field, values)
        for who, caller in callers.items():
            if kind == "Subscription":
                outcome = _subscribe(api, document, caller)
            else:
                if field["name"] == "logOutEverywhere":  # keep the caller's own session
                    variables = {"input": {"exceptRefreshToken": caller.refresh_token}}
                body = caller.post(document, variables)
                outcome = _codes(body, field["name"])
            allowed = who in policy["allow"]
            refusal = "UNAUTHENTICATED" if who == ANON else "FORBIDDEN"
            if not allowed and refusal not in outcome:
                failures.append(f"{name} as {who}: expected {refusal}, got {outcome}")
            if allowed and {"UNAUTHENTICATED", "FORBIDDEN", "INTERNAL_SERVER_ERROR"} & set(outcome):
                failures.append(f"{name} as {who}: allowed, got {outcome}")
            # ownership is a landlord's or a tenant's; staff see by scope (tested elsewhere)
            if allowed and policy.get("owned") and who in {"LANDLORD", "TENANT"}:
                body = caller.post(document, variables)
                data = (body.get("data") or {}).get(field["name"])
                owned_ok = "NOT_FOUND" in _codes(body, field["name"]) or data is None
                if not owned_ok:
                    failures.append(f"{name} as {who} on another's object: {body}")
    assert failures == [], "\n".join(failures)


def _subscribe(api: Api, document: str, caller: Caller) -> list[str]:
    with Subscription(api.base_url, document, caller.token) as sub:
        if sub.closed:
            return ["UNAUTHENTICATED"]
        message = sub.next(1.0)
    if message and message.get("type") == "error":
        return [e.get("extensions", {}).get("code") for e in message["payload"]]
    if sub.closed.get("code") == 4403:
        return ["UNAUTHENTICATED"]
    return []


def test_the_policy_table_covers_the_public_contract() -> None:
    # the contract's operations are all here (a typo in POLICY would hide one)
    from pathlib import Path

    from graphql import build_schema

    contract = Path(__file__).resolve().parents[2] / "shared" / "contract.graphql"
    if not contract.exists():
        pytest.skip("../shared/contract.graphql is not beside this clone")
    schema = build_schema(contract.read_text())
    names = {
        f"{t.name}.{f}"
        for t in (schema.query_type, schema.mutation_type, schema.subscription_type)
        if t is not None
        for f in t.fields
    }
    # operations of the contract not built yet (tests/contract_pending.txt) join POLICY as
    # they are built
    from tests.test_schema import pending

    unbuilt = {
        m.group(1)
        for line in pending()
        if (m := re.match(r"FIELD_REMOVED Field ((?:Query|Mutation|Subscription)\.\w+) was", line))
    }
    assert sorted(names - set(POLICY) - unbuilt) == []
