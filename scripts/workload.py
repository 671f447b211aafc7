"""A small world made through the public API, and the mixed operations the apps send: used
by the soak (and by the benchmark for its operation mix)."""

from __future__ import annotations

import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from devstack.sim_labels import claim_code
from devstack.sim_sms import messages, newest_code

PASSWORD = "workload-password"
SEARCH = """query($f: ListingFilter, $s: ListingSort, $after: String) {
  listings(filter: $f, sort: $s, first: 20, after: $after) { totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { id title monthlyRentFen areaSqm address distanceKm } } } }"""
DASHBOARD = """{ myProperties(first: 20) { totalCount edges { node { id name
  rooms(first: 100) { totalCount edges { node { id number status
    activeLease { id endDate invoices(status: OPEN, first: 3) { edges { node { id amountFen
      paidFen dueDate status } } } } } } } } } } }"""
OPEN_DOOR = """mutation($i: OpenDoorInput!) { openDoor(input: $i) {
  command { status } userErrors { code } } }"""
MY_LEASES = """{ myLeases { id status endDate
  invoices(first: 12) { edges { node { id amountFen paidFen status dueDate } } } } }"""
NOTIFICATIONS = "{ notifications(first: 20) { edges { node { id kind title readAt } } } }"

Op = Callable[[httpx.AsyncClient, random.Random], Awaitable[tuple[int, bool]]]


@dataclass
class Workload:
    landlords: list[str] = field(default_factory=list)  # access tokens
    tenants: list[str] = field(default_factory=list)
    doors: list[tuple[str, str]] = field(default_factory=list)  # (landlord token, door id)
    communities: list[tuple[str, str]] = field(default_factory=list)
    ops: list[tuple[float, Op]] = field(default_factory=list)
    # who each token belongs to, so that a long run can log everyone in again before the
    # access tokens (15 minutes) expire, as the apps refresh theirs
    accounts: dict[str, tuple[str, str]] = field(default_factory=dict)  # token -> role, phone
    logged_in_at: float = field(default_factory=time.monotonic)  # the oldest token's age
    sim_url: str = ""  # the phones' SMS inbox (the simulator), for sign-up codes

    def log_in_again(self, base: str) -> None:
        with httpx.Client(base_url=base, timeout=300) as client:
            fresh = {
                old: _account(client, self.sim_url, *who) for old, who in self.accounts.items()
            }
        self.accounts = {fresh[old]: who for old, who in self.accounts.items()}
        self.landlords = [fresh[t] for t in self.landlords]
        self.tenants = [fresh[t] for t in self.tenants]
        self.doors = [(fresh[t], door) for t, door in self.doors]
        self.logged_in_at = time.monotonic()

    def pick(self, rng: random.Random) -> Op:
        total = sum(w for w, _ in self.ops)
        x = rng.uniform(0, total)
        for weight, op in self.ops:
            x -= weight
            if x <= 0:
                return op
        return self.ops[-1][1]


def _post(
    client: httpx.Client,
    query: str,
    variables: dict[str, Any] | None = None,
    token: str | None = None,
) -> dict[str, Any]:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    body: dict[str, Any] = client.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
    ).json()
    if body.get("errors"):
        raise RuntimeError(body["errors"])
    return body["data"]


def _mutate(
    client: httpx.Client, name: str, query: str, variables: dict[str, Any], token: str | None = None
) -> dict[str, Any]:
    payload: dict[str, Any] = _post(client, query, variables, token)[name]
    if payload.get("userErrors"):
        raise RuntimeError(f"{name}: {payload['userErrors']}")
    return payload


def _account(client: httpx.Client, sim_url: str, role: str, phone: str) -> str:
    """The access token of the account of `phone`: logged in, or signed up first with the
    code the phone received (the simulator's SMS inbox)."""
    token = _post(
        client,
        "mutation($i: LogInInput!) { logIn(input: $i) { accessToken } }",
        {"i": {"phone": phone, "password": PASSWORD}},
    )["logIn"]["accessToken"]
    if token:
        return str(token)
    known = len(messages(client, sim_url, phone))
    _post(
        client,
        "mutation($i: RequestPhoneCodeInput!) { requestPhoneCode(input: $i) { sent } }",
        {"i": {"phone": phone, "purpose": "SIGN_UP"}},
    )
    payload = _post(
        client,
        "mutation($i: SignUpInput!) { signUp(input: $i) { accessToken userErrors { code } } }",
        {
            "i": {
                "role": role,
                "name": f"{role.title()} {phone[-4:]}",
                "phone": phone,
                "password": PASSWORD,
                "phoneCode": newest_code(client, sim_url, phone, after=known),
            }
        },
    )["signUp"]
    if payload["accessToken"]:
        return str(payload["accessToken"])
    return str(
        _post(
            client,
            "mutation($i: LogInInput!) { logIn(input: $i) { accessToken } }",
            {"i": {"phone": phone, "password": PASSWORD}},
        )["logIn"]["accessToken"]
    )


def _id_number(seq: int) -> str:
    """A valid 18-digit resident ID number (GB 11643-1999 check digit)."""
    body = f"331081199001{seq % 28 + 1:02d}{seq % 1000:03d}"
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    check = "10X98765432"[sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11]
    return body + check


def build_workload(
    base: str, sim_url: str, landlords: int = 4, rooms: int = 6, seed: int = 7
) -> Workload:
    rng = random.Random(seed)
    work = Workload(sim_url=sim_url)
    towns = [("松门镇", "松门村"), ("松门镇", "淋川村"), ("箬横镇", "箬横村")]
    with httpx.Client(base_url=base, timeout=300) as client:
        for li in range(landlords):
            token = _account(client, sim_url, "LANDLORD", f"1370000{li:04d}")
            work.accounts[token] = ("LANDLORD", f"1370000{li:04d}")
            work.landlords.append(token)
            town, community = towns[li % len(towns)]
            prop = _mutate(
                client,
                "createProperty",
                """mutation($i: CreatePropertyInput!) {
              createProperty(input: $i) { property { id } userErrors { code } } }""",
                {
                    "i": {
                        "name": f"Workload {li}",
                        "address": f"{community} {li} 号",
                        "place": {"town": town, "community": community, "grid": "1"},
                        "location": {
                            "lat": 28.35 + rng.uniform(-0.05, 0.05),
                            "lng": 121.6 + rng.uniform(-0.05, 0.05),
                        },
                        "kind": "SECOND_HAND",
                        "safety": {"extinguishers": 2, "smokeDetectors": rooms, "escapeWindows": 1},
                    }
                },
                token,
            )["property"]["id"]
            work.communities.append((town, community))
            for r in range(rooms):
                room = _mutate(
                    client,
                    "addRoom",
                    """mutation($i: AddRoomInput!) {
                  addRoom(input: $i) { room { id } userErrors { code } } }""",
                    {
                        "i": {
                            "propertyId": prop,
                            "number": f"{r + 1:02d}",
                            "floor": 1 + r // 4,
                            "areaSqm": rng.uniform(12, 40),
                            "monthlyRentFen": rng.randrange(80, 300) * 1000,
                        }
                    },
                    token,
                )["room"]["id"]
                door = _mutate(
                    client,
                    "registerDevice",
                    """mutation($i: RegisterDeviceInput!) {
                  registerDevice(input: $i) { door { id } userErrors { code } } }""",
                    {
                        "i": {
                            "kind": "DOOR",
                            "deviceId": f"door-w{li}-{r}",
                            "claimCode": claim_code(client, sim_url, f"door-w{li}-{r}"),
                            "name": f"Door {r}",
                            "propertyId": prop,
                            "roomId": room,
                        }
                    },
                    token,
                )["door"]["id"]
                work.doors.append((token, door))
                if r % 2 == 0:
                    _mutate(
                        client,
                        "publishListing",
                        """mutation($i: PublishListingInput!) {
                      publishListing(input: $i) { listing { id } userErrors { code } } }""",
                        {
                            "i": {
                                "roomId": room,
                                "title": f"{community} 单间 {r}",
                                "description": "近工业区, 拎包入住",
                                "availableFrom": "2026-12-01",
                            }
                        },
                        token,
                    )
                else:
                    phone = f"1360000{li:02d}{r:02d}"
                    tenant = _account(client, sim_url, "TENANT", phone)
                    work.accounts[tenant] = ("TENANT", phone)
                    work.tenants.append(tenant)
                    lease = _mutate(
                        client,
                        "startLease",
                        """mutation($i: StartLeaseInput!) {
                      startLease(input: $i) { lease { id } userErrors { code } } }""",
                        {
                            "i": {
                                "roomId": room,
                                "tenantPhone": phone,
                                "startDate": "2026-10-01",
                                "endDate": "2027-09-30",
                                "monthlyRentFen": 150000,
                                "depositFen": 150000,
                                "rentDueDay": 5,
                                "occupants": [
                                    {
                                        "name": "租客",
                                        "phone": phone,
                                        "idNumber": _id_number(li * 100 + r),
                                    }
                                ],
                            }
                        },
                        token,
                    )["lease"]["id"]
                    _mutate(
                        client,
                        "acceptLease",
                        """mutation($i: AcceptLeaseInput!) {
                      acceptLease(input: $i) { lease { id } userErrors { code } } }""",
                        {"i": {"leaseId": lease}},
                        tenant,
                    )
    work.ops = [
        (40, _search(work)),
        (15, _gql(DASHBOARD, lambda rng: {}, lambda rng: rng.choice(work.landlords))),
        (10, _open_door(work)),
        (20, _gql(MY_LEASES, lambda rng: {}, lambda rng: rng.choice(work.tenants))),
        (
            15,
            _gql(
                NOTIFICATIONS, lambda rng: {}, lambda rng: rng.choice(work.tenants + work.landlords)
            ),
        ),
    ]
    return work


def _gql(
    query: str,
    variables: Callable[[random.Random], dict[str, Any]],
    token: Callable[[random.Random], str | None],
) -> Op:
    async def op(client: httpx.AsyncClient, rng: random.Random) -> tuple[int, bool]:
        t = token(rng)
        response = await client.post(
            "/graphql",
            json={"query": query, "variables": variables(rng)},
            headers={"authorization": f"Bearer {t}"} if t else {},
        )
        ok = response.status_code == 200 and "errors" not in response.json()
        return response.status_code, ok

    return op


def _search(work: Workload) -> Op:
    def variables(rng: random.Random) -> dict[str, Any]:
        _town, community = rng.choice(work.communities)
        return rng.choice(
            [
                {
                    "f": {"community": community, "minRentFen": 50000, "maxRentFen": 300000},
                    "s": "RENT_ASC",
                },
                {"f": {"near": {"lat": 28.35, "lng": 121.6, "radiusKm": 10}}, "s": "DISTANCE"},
                {"f": {"text": "单间"}, "s": "NEWEST"},
            ]
        )

    return _gql(SEARCH, variables, lambda rng: None)


def _open_door(work: Workload) -> Op:
    async def op(client: httpx.AsyncClient, rng: random.Random) -> tuple[int, bool]:
        token, door = rng.choice(work.doors)
        response = await client.post(
            "/graphql",
            json={"query": OPEN_DOOR, "variables": {"i": {"doorId": door}}},
            headers={"authorization": f"Bearer {token}"},
        )
        body = response.json()
        ok = response.status_code == 200 and "errors" not in body
        return response.status_code, ok

    return op
