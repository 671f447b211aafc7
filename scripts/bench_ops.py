"""The benchmark's operations: each GraphQL request it drives (and the bare route that serves
the same search without GraphQL), and the realistic mix of them."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import httpx

from devstack.loadgen import Request, graphql_request
from scripts.bench_analysis import explain_commands
from scripts.bench_fixture import Fixture

SEARCH = """query($f: ListingFilter, $s: ListingSort, $after: String) {
  listings(filter: $f, sort: $s, first: 20, after: $after) { totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { id title monthlyRentFen areaSqm address availableFrom distanceKm } } } }"""
DASHBOARD = """{ myProperties(first: 20) { totalCount edges { node { id name
  rooms(first: 100) { totalCount edges { node { id number status monthlyRentFen
    activeLease { id endDate invoices(status: OPEN, first: 3) { edges { node { id amountFen
      paidFen dueDate status } } } } } } } } } } }"""
OPEN_DOOR = """mutation($i: OpenDoorInput!) { openDoor(input: $i) {
  command { status } userErrors { code } } }"""
RESIDENTS = """query($f: ResidentFilter!) { residents(filter: $f, reason: "bench case 2026-001",
  first: 20) { totalCount edges { node { name idNumber room { number } } } } }"""
STATS = """query($s: StatsScope) { populationStats(scope: $s) { properties rooms occupiedRooms
  residents byKind { kind properties rooms } } }"""
MY_LEASES = """{ myLeases { id status endDate
  invoices(first: 12) { edges { node { id amountFen paidFen status dueDate } } } } }"""


def operations(fx: Fixture) -> dict[str, Request]:
    rng = fx.rng

    def community_rent(i: int) -> dict[str, Any]:
        town, community = fx.communities[i % len(fx.communities)]
        low = rng.choice([50000, 80000, 100000])
        return {
            "f": {
                "town": town,
                "community": community,
                "minRentFen": low,
                "maxRentFen": low + 150000,
            },
            "s": "RENT_ASC",
        }

    def near(i: int) -> dict[str, Any]:
        return {
            "f": {
                "near": {
                    "lat": fx.center["lat"] + rng.uniform(-0.05, 0.05),
                    "lng": fx.center["lng"] + rng.uniform(-0.05, 0.05),
                    "radiusKm": 3,
                }
            },
            "s": "DISTANCE",
        }

    def text(i: int) -> dict[str, Any]:
        return {
            "f": {"text": rng.choice(["单间", "地铁", "拎包入住", "近工业区", "一室"])},
            "s": "NEWEST",
        }

    ops: dict[str, Request] = {}

    def gql_op(
        name: str,
        query: str,
        variables: Callable[[int], dict[str, Any]],
        token: Callable[[int], str | None],
        check: Callable[[dict[str, Any]], bool] | None = None,
    ) -> None:
        kwargs = {"check": check} if check else {}
        ops[name] = graphql_request(query, variables, token, **kwargs)
        fx.samples[name] = (query, variables, token)

    gql_op("search: community + rent", SEARCH, community_rent, lambda i: None)
    gql_op("search: near, by distance", SEARCH, near, lambda i: None)
    gql_op("search: text", SEARCH, text, lambda i: None)
    ops["search: walk to page 5"] = walk_pages(community_rent)
    ops["search: bare route (baseline)"] = bare_route(community_rent)
    gql_op(
        f"landlord dashboard ({fx.dashboard_rooms} rooms)",
        DASHBOARD,
        lambda i: {},
        lambda i: fx.landlord,
    )
    gql_op(
        "openDoor",
        OPEN_DOOR,
        lambda i: {"i": {"doorId": fx.door_id}},
        lambda i: fx.landlord,
        check=lambda b: (
            "errors" not in b and b["data"]["openDoor"]["command"]["status"] == "OPENED"
        ),
    )
    gql_op(
        "populationStats: a town",
        STATS,
        lambda i: {"s": {"town": fx.towns[i % len(fx.towns)]}},
        lambda i: fx.police,
    )
    if fx.id_numbers:
        gql_op(
            "residents: by ID number",
            RESIDENTS,
            lambda i: {"f": {"idNumber": fx.id_numbers[i % len(fx.id_numbers)]}},
            lambda i: fx.police,
        )
    if fx.tenants:
        gql_op(
            "tenant myLeases", MY_LEASES, lambda i: {}, lambda i: fx.tenants[i % len(fx.tenants)]
        )
    return ops


def walk_pages(variables: Callable[[int], dict[str, Any]]) -> Request:
    async def send(client: httpx.AsyncClient, i: int) -> tuple[bool, int]:
        v, trips, after = variables(i), 0, None
        for _ in range(5):
            response = await client.post(
                "/graphql", json={"query": SEARCH, "variables": {**v, "after": after}}
            )
            body = response.json()
            if response.status_code != 200 or "errors" in body:
                return False, -1
            trips += body.get("extensions", {}).get("dbRoundTrips", 0)
            info = body["data"]["listings"]["pageInfo"]
            if not info["hasNextPage"]:
                break
            after = info["endCursor"]
        return True, trips

    return send


def bare_route(variables: Callable[[int], dict[str, Any]]) -> Request:
    async def send(client: httpx.AsyncClient, i: int) -> tuple[bool, int]:
        f = variables(i)["f"]
        params = {
            "town": f["town"],
            "community": f["community"],
            "minRentFen": f["minRentFen"],
            "maxRentFen": f["maxRentFen"],
            "sort": "RENT_ASC",
        }
        response = await client.get("/bench/listings", params=params)
        return response.status_code == 200, -1

    return send


def mix(ops: dict[str, Request]) -> Request:
    weights = {
        name: w
        for name, w in (
            ("search: community + rent", 30),
            ("search: near, by distance", 15),
            ("search: text", 10),
            ("openDoor", 5),
            ("populationStats: a town", 2),
            ("residents: by ID number", 3),
            ("tenant myLeases", 15),
        )
        if name in ops
    }
    dash = next(n for n in ops if n.startswith("landlord dashboard"))
    weights[dash] = 20
    names = list(weights)
    rng = random.Random(3)

    async def send(client: httpx.AsyncClient, i: int) -> tuple[bool, int]:
        name = rng.choices(names, [weights[n] for n in names])[0]
        return await ops[name](client, i)

    return send


def explain_operations(
    fx: Fixture, base: str, uri: str, names: list[str], verbosity: str
) -> dict[str, list[dict[str, Any]]]:
    """One request of each named GraphQL operation, and the plan of every query it sent."""
    out: dict[str, list[dict[str, Any]]] = {}
    with httpx.Client(base_url=base, timeout=120) as client:
        for name, (query, variables, token) in fx.samples.items():
            if name not in names:
                continue
            t = token(0)
            headers = {"authorization": f"Bearer {t}"} if t else {}
            headers["x-anju-capture-commands"] = "1"
            body = client.post(
                "/graphql", json={"query": query, "variables": variables(0)}, headers=headers
            ).json()
            raw = body.get("extensions", {}).get("dbCommands")
            if raw:
                out[name] = explain_commands(uri, raw, verbosity)
    return out
