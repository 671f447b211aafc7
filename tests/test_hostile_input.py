"""Hostile input: every mutation, generated from the schema, gets random and adversarial
variables (huge and empty strings, unicode edge cases, numbers at and beyond every bound,
malformed IDs and dates, operator-injection shapes). Nothing answers 5xx or an unexpected
error, and nothing lands in the database with an operator or dotted key."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import Stack
from tests.support import Api

INTROSPECT = """{ __schema { mutationType { fields { name args { name type { ...T } } } }
  types { name kind inputFields { name type { ...T } } enumValues { name } } } }
fragment T on __Type { kind name ofType { kind name ofType { kind name ofType { kind name } } } }"""

INJECTIONS = [
    '{"$gt": ""}',
    "$where",
    "this.password",
    "a.b.c",
    "$ne",
    "'; db.dropDatabase(); '",
    ".*",
    "(a+)+$",
    "\\",
    "%00",
]
EDGE_STRINGS = st.one_of(
    st.just(""),
    st.just(" " * 3),
    st.just("x" * 100_000),
    st.just("\u0000"),
    st.just("\u202e\u200b\ufeff"),
    st.just("😀" * 300),
    st.just("𠀀𪚥"),
    st.sampled_from(INJECTIONS),
    st.text(max_size=40),
)
INTS = st.one_of(
    st.sampled_from([0, -1, 1, 28, 29, 100, 2**31 - 1, -(2**31)]),
    st.integers(-(2**31), 2**31 - 1),
)
FLOATS = st.one_of(
    st.sampled_from([0.0, -0.0, -90.0, 90.0001, 180.5, 1e308, -1e308, 1e-300]),
    st.floats(allow_nan=False, allow_infinity=False),
)
DATES = st.one_of(
    st.sampled_from(["2026-02-30", "0000-01-01", "9999-12-31", "2026-13-01", "", "yesterday"]),
    st.dates().map(lambda d: d.isoformat()),
)
DATETIMES = st.one_of(
    st.sampled_from(["2026-01-01T00:00:00Z", "2026-01-01T00:00:00", "not a time", ""]),
    st.datetimes().map(lambda d: d.isoformat() + "Z"),
)
OPERATOR_SHAPES = st.sampled_from(
    [{"$gt": ""}, {"$where": "1"}, {"a.b": 1}, ["$ne"], None, True, 1.5]
)


def _named(t: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """Unwraps NON_NULL; returns (type, nullable)."""
    if t["kind"] == "NON_NULL":
        return t["ofType"], False
    return t, True


class Generator:
    def __init__(self, schema: dict[str, Any], ids: list[str]) -> None:
        self.types = {t["name"]: t for t in schema["types"]}
        self.ids = ids

    def for_type(self, t: dict[str, Any], depth: int = 0) -> st.SearchStrategy[Any]:
        inner, nullable = _named(t)
        base = self._base(inner, depth)
        if nullable:
            base = st.one_of(st.none(), base)
        # sometimes the wrong shape altogether: operator injection through JSON variables
        return st.one_of(base, base, base, OPERATOR_SHAPES) if depth else base

    def _base(self, t: dict[str, Any], depth: int) -> st.SearchStrategy[Any]:
        kind, name = t["kind"], t.get("name")
        if kind == "LIST":
            return st.lists(self.for_type(t["ofType"], depth + 1), max_size=3)
        if kind == "ENUM":
            return st.sampled_from([v["name"] for v in self.types[name]["enumValues"]])
        if kind == "INPUT_OBJECT":
            fields = self.types[name]["inputFields"]
            return st.fixed_dictionaries(
                {f["name"]: self.for_type(f["type"], depth + 1) for f in fields}
            )
        return {
            "String": EDGE_STRINGS,
            "Int": INTS,
            "Float": FLOATS,
            "Boolean": st.booleans(),
            "ID": st.one_of(st.sampled_from(self.ids), EDGE_STRINGS),
            "Date": DATES,
            "DateTime": DATETIMES,
        }.get(name, EDGE_STRINGS)


def _gql_type(t: dict[str, Any]) -> str:
    if t["kind"] == "NON_NULL":
        return _gql_type(t["ofType"]) + "!"
    if t["kind"] == "LIST":
        return f"[{_gql_type(t['ofType'])}]"
    return str(t["name"])


def _bad_keys(value: Any) -> list[str]:
    if isinstance(value, dict):
        bad = [k for k in value if isinstance(k, str) and (k.startswith("$") or "." in k)]
        return bad + [b for v in value.values() for b in _bad_keys(v)]
    if isinstance(value, list):
        return [b for v in value for b in _bad_keys(v)]
    return []


def _attack(
    api: Api,
    callers: dict[str, Any],
    name: str,
    document: str,
    variables: st.SearchStrategy[dict[str, Any]],
) -> Any:
    @settings(
        max_examples=12, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    @given(variables=variables, who=st.sampled_from(sorted(callers)))
    def attack(variables: dict[str, Any], who: str) -> None:
        caller = callers[who]
        response = api.client.post(
            f"{api.base_url}/graphql",
            json={"query": document, "variables": variables},
            headers={"authorization": f"Bearer {caller.token}"} if caller.token else {},
        )
        assert response.status_code < 500, response.text[:500]
        if response.status_code == 413:
            return
        body = response.json()
        codes = [e.get("extensions", {}).get("code") for e in body.get("errors") or []]
        assert "INTERNAL_SERVER_ERROR" not in codes, (name, variables, body)

    return attack


@pytest.fixture
def world(api: Api) -> tuple[Api, dict[str, Any], list[str]]:
    """A landlord with a property and a room, so some generated IDs are real ones."""
    from tests.test_properties import add_room, create_property

    landlord = api.caller("LANDLORD")
    prop = create_property(landlord)
    room = add_room(landlord, prop["id"])
    schema = landlord.data(INTROSPECT)["__schema"]
    return api, schema, [prop["id"], room["id"], landlord.account["id"]]


def test_every_mutation_survives_hostile_input(
    world: tuple[Api, dict[str, Any], list[str]], stack: Stack, mongo: Any
) -> None:
    api, schema, ids = world
    gen = Generator(schema, ids)
    callers = {role: api.caller(role) for role in ("LANDLORD", "TENANT", "ADMIN")}
    callers["anonymous"] = api.anonymous()
    mutations = schema["mutationType"]["fields"]
    assert len(mutations) >= 8
    for field in mutations:
        args = field["args"]
        decl = ", ".join(f"${a['name']}: {_gql_type(a['type'])}" for a in args)
        call = ", ".join(f"{a['name']}: ${a['name']}" for a in args)
        document = f"mutation({decl}) {{ {field['name']}({call}) {{ __typename }} }}"
        variables = st.fixed_dictionaries({a["name"]: gen.for_type(a["type"]) for a in args})

        _attack(api, callers, field["name"], document, variables)()
    # nothing stored carries an operator or a dotted key
    db = mongo[stack.db_name]
    for name in db.list_collection_names():
        for doc in db[name].find():
            assert _bad_keys(doc) == [], (name, doc)
