"""No 5xx from input: a property-based fuzzer (hypothesis, a fixed and derandomised example
budget, so CI runs the same examples every time) sends every operation of the API (a document
generated from the schema for each root field, and each of the apps' persisted documents) with
generated variables, cursors and IDs, for every role; generated documents; and generated
webhook bodies, unsigned and correctly signed. Nothing may answer 5xx, an unexpected error or a
traceback, and the server's log must not gain one."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.settings import DEV_GATEWAY_WEBHOOK_SECRET, DEV_PAYMENTS_WEBHOOK_SECRET
from tests.conftest import Stack
from tests.door_support import building, start_lease
from tests.support import Api, Caller
from tests.test_hostile_input import EDGE_STRINGS, Generator, _gql_type

# the example budget of each property: fixed, and the same examples on every run (CI);
# FUZZ_EXAMPLES=n FUZZ_RANDOM=1 explores further locally
SCALE = int(os.environ.get("FUZZ_EXAMPLES", "8"))
BUDGET = settings(
    max_examples=SCALE,
    derandomize=not os.environ.get("FUZZ_RANDOM"),
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
ROLES = ("LANDLORD", "TENANT", "POLICE", "RESPONDER", "ADMIN")
SESSION_ENDING = frozenset(
    {
        "logOut",
        "logOutEverywhere",
        "changePassword",
        "resetPassword",
        "refreshSession",
        "setAccountStatus",
        "updateAccountScope",
    }
)
NODE_TYPES = ("Account", "Property", "Room", "Lease", "Occupant", "Invoice", "Payment", "Door")
INTROSPECT = """{ __schema {
  queryType { name } mutationType { name } subscriptionType { name }
  types { name kind
    fields { name args { name type { ...T } } type { ...T } }
    inputFields { name type { ...T } } enumValues { name } possibleTypes { name } } } }
fragment T on __Type { kind name ofType { kind name ofType { kind name ofType { kind name } } } }"""

HEX = st.text(alphabet="0123456789abcdef", min_size=24, max_size=24)
GLOBAL_IDS = st.one_of(
    st.builds(
        lambda t, h: base64.urlsafe_b64encode(f"{t}:{h}".encode()).decode().rstrip("="),
        st.sampled_from(NODE_TYPES),
        st.one_of(HEX, st.text(max_size=30)),
    ),
    st.text(max_size=80),
    st.just(""),
)
CURSOR_VALUES = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**70), 2**70),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=20),
        st.fixed_dictionaries({"o": st.one_of(HEX, st.text(max_size=30))}),
        st.fixed_dictionaries({"t": st.one_of(st.just("2026-01-01T00:00:00+00:00"), st.text())}),
    ),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(), inner)),
    max_leaves=6,
)
CURSORS = st.one_of(
    CURSOR_VALUES.map(
        lambda v: base64.urlsafe_b64encode(json.dumps(v).encode()).decode().rstrip("=")
    ),
    st.sampled_from(["eyJvIjoienoifQ", "W3sibyI6Inp6In1d", "W10", "bnVsbA", "!!!", "=" * 8]),
    st.text(max_size=600),
)
# GraphQL-ish token soup: braces, names, variables, strings, numbers, directives
TOKENS = st.sampled_from(
    [
        "{",
        "}",
        "(",
        ")",
        "[",
        "]",
        ":",
        "$",
        "!",
        "@",
        "...",
        "=",
        ",",
        "\n",
        " ",
        "query",
        "mutation",
        "subscription",
        "fragment",
        "on",
        "me",
        "node",
        "id",
        "listings",
        "residents",
        "myProperties",
        "edges",
        "__typename",
        "__schema",
        '"x"',
        '"""block"""',
        "1",
        "-1.5e308",
        "true",
        "null",
        "Int",
        "ID!",
        "$v",
        "first: 100",
        "after:",
        "@include(if: true)",
        "@skip(if: $v)",
        "#comment",
    ]
)
DOCUMENTS = st.one_of(
    st.lists(TOKENS, max_size=60).map("".join),
    st.lists(TOKENS, max_size=60).map(" ".join),
    st.text(max_size=200),
)


class FuzzGenerator(Generator):
    """Variables for any argument; `after` gets generated cursors, IDs generated global IDs
    (some of them real objects of the test's world)."""

    def argument(self, name: str, t: dict[str, Any]) -> st.SearchStrategy[Any]:
        if name == "after":
            return st.one_of(st.none(), CURSORS)
        return self.for_type(t)

    def _base(self, t: dict[str, Any], depth: int) -> st.SearchStrategy[Any]:
        if t["kind"] == "SCALAR" and t.get("name") == "ID":
            return st.one_of(st.sampled_from(self.ids), GLOBAL_IDS)
        return super()._base(t, depth)


def _named(t: dict[str, Any]) -> dict[str, Any]:
    while t.get("ofType"):
        t = t["ofType"]
    return t


def selection(types: dict[str, Any], type_name: str, depth: int = 0) -> str:
    """A selection of a type's fields that need no arguments: scalars, and objects to a depth."""
    kind = types[type_name]
    if kind["kind"] in {"INTERFACE", "UNION"}:
        return (
            "{ __typename "
            + " ".join(
                f"... on {p['name']} {{ id }}"
                for p in kind.get("possibleTypes") or []
                if any(f["name"] == "id" for f in types[p["name"]].get("fields") or [])
            )
            + " }"
        )
    parts = ["__typename"]
    for field in kind.get("fields") or []:
        if any(a["type"]["kind"] == "NON_NULL" for a in field["args"]):
            continue
        inner = _named(field["type"])
        if inner["kind"] in {"SCALAR", "ENUM"}:
            parts.append(field["name"])
        elif depth < 2:
            parts.append(f"{field['name']} {selection(types, inner['name'], depth + 1)}")
    return "{ " + " ".join(parts) + " }"


@pytest.fixture
def world(api: Api) -> tuple[dict[str, Any], dict[str, Caller], list[str]]:
    """Every role signed in; a landlord's building with a lease, so some IDs are real."""
    callers = {role: api.caller(role) for role in ROLES}
    callers["anonymous"] = api.anonymous()
    home = building(callers["LANDLORD"])
    lease = start_lease(callers["LANDLORD"], home.room_id, callers["TENANT"])
    ids = [home.property_id, home.room_id, home.door_id, lease["id"]]
    ids += [o["id"] for o in lease["occupants"]]
    schema = callers["ADMIN"].data(INTROSPECT)["__schema"]
    return schema, callers, ids


def _log_size(stack: Stack) -> int:
    return (stack.workdir / "anju.log").stat().st_size


def _new_log(stack: Stack, since: int) -> str:
    with open(stack.workdir / "anju.log", "rb") as log:
        log.seek(since)
        return log.read().decode(errors="replace")


def _check(response: httpx.Response, what: Any) -> None:
    assert response.status_code < 500, (what, response.status_code, response.text[:500])
    assert "Traceback" not in response.text, what
    if response.headers.get("content-type", "").startswith("application/json"):
        body = response.json()
        errors = body.get("errors") if isinstance(body, dict) else None
        codes = [e.get("extensions", {}).get("code") for e in errors or []]
        assert "INTERNAL_SERVER_ERROR" not in codes, (what, body)


def _fuzz(
    api: Api, callers: dict[str, Caller], document: str, variables: st.SearchStrategy[Any]
) -> Callable[[], None]:
    @BUDGET
    @given(variables=variables, who=st.sampled_from(sorted(callers)))
    def attack(variables: dict[str, Any], who: str) -> None:
        token = callers[who].token
        response = api.client.post(
            f"{api.base_url}/graphql",
            json={"query": document, "variables": variables},
            headers={"authorization": f"Bearer {token}"} if token else {},
        )
        _check(response, (document[:80], variables))

    return attack


def test_every_operation_survives_generated_variables_cursors_and_ids(
    api: Api, stack: Stack, world: tuple[dict[str, Any], dict[str, Caller], list[str]]
) -> None:
    schema, callers, ids = world
    types = {t["name"]: t for t in schema["types"]}
    gen = FuzzGenerator(schema, ids)
    since = _log_size(stack)
    roots = [(schema["queryType"]["name"], "query"), (schema["mutationType"]["name"], "mutation")]
    operations = 0
    for root, keyword in roots:
        # the operations that can end the callers' sessions or lock their accounts run last
        fields = sorted(types[root]["fields"], key=lambda f: f["name"] in SESSION_ENDING)
        for field in fields:
            args = field["args"]
            decl = ", ".join(f"${a['name']}: {_gql_type(a['type'])}" for a in args)
            call = ", ".join(f"{a['name']}: ${a['name']}" for a in args)
            head = f"{keyword}({decl})" if args else keyword
            target = f"{field['name']}({call})" if args else field["name"]
            document = f"{head} {{ {target} {selection(types, _named(field['type'])['name'])} }}"
            variables = st.fixed_dictionaries(
                {a["name"]: gen.argument(a["name"], a["type"]) for a in args}
            )
            _fuzz(api, callers, document, variables)()
            operations += 1
    assert operations >= 40
    assert "Traceback" not in _new_log(stack, since)


def test_the_persisted_documents_survive_generated_variables(
    api: Api, stack: Stack, world: tuple[dict[str, Any], dict[str, Caller], list[str]]
) -> None:
    from graphql import OperationDefinitionNode, parse, print_ast

    from app.schema.persisted import build_manifest

    schema, callers, ids = world
    gen = FuzzGenerator(schema, ids)
    kinds = {t["name"]: t["kind"] for t in schema["types"]}
    since = _log_size(stack)
    for text in build_manifest().values():
        (operation,) = parse(text).definitions
        assert isinstance(operation, OperationDefinitionNode)
        if operation.operation.value == "subscription":
            continue  # over HTTP a subscription is refused before it runs (400)
        variables = st.fixed_dictionaries(
            {
                d.variable.name.value: gen.argument(
                    d.variable.name.value, _introspected(print_ast(d.type), kinds)
                )
                for d in operation.variable_definitions or ()
            }
        )
        _fuzz(api, callers, text, variables)()
    assert "Traceback" not in _new_log(stack, since)


def _introspected(printed: str, kinds: dict[str, str]) -> dict[str, Any]:
    """A variable's type as introspection describes it, from its printed form."""
    if printed.endswith("!"):
        return {"kind": "NON_NULL", "name": None, "ofType": _introspected(printed[:-1], kinds)}
    if printed.startswith("["):
        return {"kind": "LIST", "name": None, "ofType": _introspected(printed[1:-1], kinds)}
    return {"kind": kinds[printed], "name": printed, "ofType": None}


def test_generated_documents_never_fail_the_server(
    api: Api, stack: Stack, world: tuple[dict[str, Any], dict[str, Caller], list[str]]
) -> None:
    _, callers, _ = world
    since = _log_size(stack)

    @settings(BUDGET, max_examples=SCALE * 8)
    @given(
        document=DOCUMENTS,
        variables=st.dictionaries(st.sampled_from(["v", "id", "first"]), EDGE_STRINGS, max_size=2),
        who=st.sampled_from(sorted(callers)),
        how=st.sampled_from(["POST", "GET", "documentId"]),
    )
    def attack(document: str, variables: dict[str, Any], who: str, how: str) -> None:
        token = callers[who].token
        headers = {"authorization": f"Bearer {token}"} if token else {}
        url = f"{api.base_url}/graphql"
        if how == "GET":
            response = api.client.get(url, params={"query": document}, headers=headers)
        elif how == "documentId":
            body = {"documentId": document, "variables": variables}
            response = api.client.post(url, json=body, headers=headers)
        else:
            body = {"query": document, "variables": variables}
            response = api.client.post(url, json=body, headers=headers)
        _check(response, (how, document))

    attack()
    assert "Traceback" not in _new_log(stack, since)


def _signed(secret: str, raw: bytes) -> dict[str, str]:
    ts = str(int(time.time()))
    mac = hmac.new(secret.encode(), ts.encode() + b"." + raw, hashlib.sha256).hexdigest()
    return {
        "content-type": "application/json",
        "x-anju-timestamp": ts,
        "x-anju-signature": f"sha256={mac}",
    }


JSON = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), EDGE_STRINGS),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(), inner)),
    max_leaves=8,
)
GATEWAY_EVENTS = st.fixed_dictionaries(
    {
        "eventId": st.one_of(st.uuids().map(lambda u: u.hex), EDGE_STRINGS),
        "type": st.sampled_from(
            ["door.card", "door.opened", "smoke.alarm", "smoke.cleared", "device.online", "x"]
        ),
        "deviceId": st.one_of(st.sampled_from(["door-fuzz-1", "smoke-fuzz-1"]), EDGE_STRINGS),
        "at": st.one_of(
            st.just("2026-01-01T00:00:00Z"), st.datetimes().map(lambda d: d.isoformat()), JSON
        ),
        "data": st.one_of(
            st.fixed_dictionaries({"cardNumber": EDGE_STRINGS, "granted": JSON}),
            st.fixed_dictionaries({"commandId": JSON}),
            st.fixed_dictionaries({"level": JSON}),
            st.just({}),
            JSON,
        ),
    }
)
PAYMENT_EVENTS = st.fixed_dictionaries(
    {
        "eventId": st.one_of(st.uuids().map(lambda u: u.hex), EDGE_STRINGS),
        "chargeId": st.one_of(st.uuids().map(lambda u: u.hex), EDGE_STRINGS, JSON),
        "status": st.one_of(st.sampled_from(["succeeded", "failed"]), JSON),
        "at": st.one_of(st.none(), EDGE_STRINGS, JSON),
    }
)


def _hook(
    http: httpx.Client, url: str, secret: str, bodies: st.SearchStrategy[Any]
) -> Callable[[], None]:
    @settings(BUDGET, max_examples=SCALE * 5)
    @given(
        body=st.one_of(bodies, JSON),
        raw=st.one_of(st.none(), st.binary(max_size=300)),
        signed=st.booleans(),
    )
    def attack(body: Any, raw: bytes | None, signed: bool) -> None:
        payload = raw if raw is not None else json.dumps(body).encode()
        headers = _signed(secret, payload) if signed else {"x-anju-signature": "sha256=0"}
        _check(http.post(url, content=payload, headers=headers), (url, payload[:200]))

    return attack


def test_webhooks_survive_generated_bodies(api: Api, stack: Stack, http: httpx.Client) -> None:
    since = _log_size(stack)
    gateway = f"{api.base_url}/webhooks/gateway"
    _hook(http, gateway, DEV_GATEWAY_WEBHOOK_SECRET, GATEWAY_EVENTS)()
    payments = f"{api.base_url}/webhooks/payments"
    _hook(http, payments, DEV_PAYMENTS_WEBHOOK_SECRET, PAYMENT_EVENTS)()
    assert "Traceback" not in _new_log(stack, since)


CURSORED = {
    "listings": "{ listings(after: $after) { totalCount } }",
    "myProperties": "{ myProperties(after: $after) { totalCount } }",
    "notifications": "{ notifications(after: $after) { pageInfo { hasNextPage } } }",
    "accounts": "{ accounts(after: $after) { totalCount } }",
    "auditLog": "{ auditLog(after: $after) { pageInfo { hasNextPage } } }",
    "residents": '{ residents(filter: {town: "松门镇"}, reason: "x", after: $after) {'
    " totalCount } }",
}


@pytest.mark.parametrize(
    "cursor", [{"o": "zz"}, [{"o": "zz"}], [{"o": "zz"}, {"o": "zz"}], [{"t": "zz"}, {"o": "zz"}]]
)
def test_a_malformed_cursor_is_refused_cleanly(api: Api, cursor: Any) -> None:
    # given a cursor whose object id or time is not one (the issue's {"o":"zz"} among them)
    after = base64.urlsafe_b64encode(json.dumps(cursor).encode()).decode().rstrip("=")
    callers = {
        "listings": api.anonymous(),
        "myProperties": api.caller("LANDLORD"),
        "notifications": api.caller("TENANT"),
        "accounts": api.admin(),
        "auditLog": api.admin(),
        "residents": api.caller("POLICE"),
    }
    # when each connection is asked for the page after it
    for name, selection in CURSORED.items():
        codes = callers[name].errors(f"query($after: String) {selection}", {"after": after})
        # then it is refused as an invalid cursor, never an unexpected error
        assert codes == ["INVALID_CURSOR"], name
