"""Protections against abusive requests (OWASP GraphQL cheat sheet): each limit refuses an
abusive request with a clear error, and a normal app query still passes."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from app.schema import MAX_ALIASES, MAX_DEPTH, MAX_TOKENS, build_schema
from app.settings import Settings
from tests.support import Api

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
