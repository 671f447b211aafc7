"""Protections against abusive requests (OWASP GraphQL cheat sheet): each limit refuses an
abusive request with a clear error, and a normal app query still passes."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from app.schema import MAX_ALIASES, MAX_DEPTH, MAX_TOKENS, build_schema
from app.settings import Settings
from tests.support import Api, persisted_text

# The landlord dashboard as the app asks for it (the deepest real query).
DASHBOARD = """{ myProperties(first: 20) { totalCount edges { node { id name
  doors { id name online } cameras { id name online }
  rooms(first: 100) { totalCount edges { node { id number status monthlyRentFen
    doors { id online } smokeDetectors { id online lastAlarmAt } } } } } } } }"""


def _messages(body: dict[str, Any]) -> str:
    return " ".join(e["message"] for e in body.get("errors", []))


def test_depth_limit(api: Api) -> None:
    # given a query nested deeper than the limit (rooms > property > rooms ... has no end)
    landlord = api.caller("LANDLORD")
    inner = "id"
    while inner.count("{") < MAX_DEPTH:
        inner = f"rooms {{ edges {{ node {{ property {{ {inner} }} }} }} }}"
    body = landlord.post(f"{{ myProperties {{ edges {{ node {{ {inner} }} }} }} }}")
    # then it is refused before execution
    assert body.get("data") is None
    assert "exceeds maximum operation depth" in _messages(body)
    # and the deepest real query, the landlord dashboard, passes
    assert landlord.post(DASHBOARD).get("errors") is None


def test_alias_limit(api: Api) -> None:
    aliases = " ".join(f"a{i}: me {{ id }}" for i in range(MAX_ALIASES + 1))
    body = api.post(f"{{ {aliases} }}")
    assert "aliases found" in _messages(body)
    ok = " ".join(f"a{i}: me {{ id }}" for i in range(3))
    assert api.post(f"{{ {ok} }}").get("errors") is None


def test_token_limit(api: Api) -> None:
    fields = " ".join(["id"] * MAX_TOKENS)
    body = api.post(f"{{ me {{ {fields} }} }}")
    assert f"more than {MAX_TOKENS} tokens" in _messages(body)
    assert api.post("{ me { id role name phone } }").get("errors") is None


def test_batched_requests_are_refused(api: Api, http: httpx.Client) -> None:
    batch = [{"query": "{ me { id } }"}] * 3
    response = http.post(f"{api.base_url}/graphql", json=batch)
    assert response.status_code == 400


def test_production_turns_off_introspection_and_suggestions() -> None:
    # given the schema as production builds it
    schema = build_schema(Settings(env="production", introspection=False))
    # when a client introspects, or misspells a field
    introspection = asyncio.run(schema.execute("{ __schema { types { name } } }"))
    typo = asyncio.run(schema.execute("{ mee { id } }"))
    # then introspection is refused and no field is suggested
    assert introspection.errors and "introspection" in introspection.errors[0].message.lower()
    assert typo.errors and "Did you mean" not in typo.errors[0].message


def test_development_suggests_fields(api: Api) -> None:
    body = api.post("{ mee { id } }")
    assert "Did you mean" in _messages(body)


# 15 aliases of properties > rooms > property > rooms, 100 each: about 3 * 10^7 objects, within
# the depth, alias and token limits
NESTED = " ".join(
    f"a{i}: myProperties(first: 100) {{ edges {{ node {{ rooms(first: 100) {{ edges {{ node {{"
    " property { rooms(first: 100) { edges { node { id } } } } } } } } } }"
    for i in range(MAX_ALIASES)
)


def test_cost_limit_refuses_multiplied_lists_before_any_database_command(api: Api) -> None:
    # given a landlord, and a request whose lists multiply through nesting
    landlord = api.caller("LANDLORD")
    # when it is sent
    body = landlord.post(f"{{ {NESTED} }}")
    # then it is refused with COST_LIMIT before it runs: no data, no database command
    assert [e["extensions"]["code"] for e in body["errors"]] == ["COST_LIMIT"]
    assert body["data"] is None
    assert body["extensions"]["dbRoundTrips"] == 0
    # and so is the same shape asked anonymously (the cost is counted before the role)
    anonymous = api.anonymous().post(f"{{ {NESTED} }}")
    assert [e["extensions"]["code"] for e in anonymous["errors"]] == ["COST_LIMIT"]
    # and when the sizes come from variables, they count the same way
    nested = (
        "query($n: Int) { myProperties(first: $n) { edges { node { rooms(first: $n) {"
        " edges { node { property { rooms(first: $n) { edges { node { id } } } } } } } } } } }"
    )
    assert landlord.errors(nested, {"n": 100}) == ["COST_LIMIT"]
    assert landlord.data(nested, {"n": 5}) == {"myProperties": {"edges": []}}
    # and the app's dashboard at its largest page (20 properties of 100 rooms each) passes
    dashboard = landlord.post(persisted_text("Dashboard"), {"first": 20, "rooms": 100})
    assert dashboard.get("errors") is None
