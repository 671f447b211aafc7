"""Demo data for `make run`, loaded through the public GraphQL API (as an app would), and
idempotently: running it twice leaves one copy of everything. Phones are confirmed as their
owners would: with the codes the simulator's SMS provider received (devstack/sim_sms.py);
tenants accept their leases in the app."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import httpx

from app.settings import Settings
from devstack.demo_fire import ensure_demo_hazards
from devstack.demo_photos import ensure_demo_photos, ensure_demo_repairs
from devstack.sim_labels import claim_code
from devstack.sim_sms import messages, newest_code

DEMO_PASSWORD = "anju-demo-2026"


@dataclass(frozen=True)
class DemoAccount:
    role: str
    name: str
    phone: str
    scope: dict[str, str] | None = None


DEMO_ACCOUNTS = [
    DemoAccount("LANDLORD", "王建国 (demo landlord)", "13900000001"),
    DemoAccount("LANDLORD", "李秀英 (second demo landlord)", "13900000002"),
    DemoAccount("TENANT", "张伟 (demo tenant)", "13900000011"),
    DemoAccount("TENANT", "刘芳 (second demo tenant)", "13900000012"),
    DemoAccount("POLICE", "陈警官 (demo police)", "13900000021"),
    DemoAccount(
        "RESPONDER",
        "赵队长 (demo responder)",
        "13900000031",
        {"town": "松门镇", "community": "松门村"},
    ),
]


class DemoClient:
    def __init__(self, base_url: str, sim_url: str) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=30)
        self.sim_url = sim_url

    def gql(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> dict[str, Any]:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        body = self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        ).json()
        if body.get("errors"):
            raise RuntimeError(f"demo data: {body['errors']}")
        data: dict[str, Any] = body["data"]
        return data

    def phone_code(self, phone: str, purpose: str) -> str:
        """A code requested for `phone`, read from the phone (the simulator's SMS inbox)."""
        known = len(messages(self.http, self.sim_url, phone))
        self.gql(
            "mutation($i: RequestPhoneCodeInput!) { requestPhoneCode(input: $i) { sent } }",
            {"i": {"phone": phone, "purpose": purpose}},
        )
        return newest_code(self.http, self.sim_url, phone, after=known)

    def log_in(self, phone: str, password: str) -> str | None:
        """The account's access token; None if it does not log in. An account an admin made
        confirms its phone on the way (a code, and the password), as its owner would."""
        given = {"phone": phone, "password": password}
        payload = self.gql(
            "mutation($i: LogInInput!) { logIn(input: $i) { accessToken userErrors { code } } }",
            {"i": given},
        )["logIn"]
        if [e["code"] for e in payload["userErrors"]] == ["PHONE_VERIFICATION_REQUIRED"]:
            given["phoneCode"] = self.phone_code(phone, "LOG_IN")
            payload = self.gql(
                "mutation($i: LogInWithCodeInput!) { logInWithCode(input: $i) { accessToken } }",
                {"i": given},
            )["logInWithCode"]
        token: str | None = payload["accessToken"]
        return token


def _ensure_accounts(client: DemoClient, settings: Settings) -> dict[str, str]:
    tokens: dict[str, str] = {}
    admin = client.log_in(settings.admin_phone or "", settings.admin_password or "")
    if admin is None:
        raise RuntimeError("cannot log in as the first admin (ANJU_ADMIN_PHONE/PASSWORD)")
    tokens["ADMIN"] = admin
    for acc in DEMO_ACCOUNTS:
        token = client.log_in(acc.phone, DEMO_PASSWORD)
        if token is None:
            if acc.role in {"LANDLORD", "TENANT"}:
                client.gql(
                    "mutation($i: SignUpInput!) { signUp(input: $i) { userErrors { code } } }",
                    {
                        "i": {
                            "role": acc.role,
                            "name": acc.name,
                            "phone": acc.phone,
                            "password": DEMO_PASSWORD,
                            "phoneCode": client.phone_code(acc.phone, "SIGN_UP"),
                        }
                    },
                )
            else:
                client.gql(
                    "mutation($i: CreateAccountInput!) { createAccount(input: $i) "
                    "{ userErrors { code } } }",
                    {
                        "i": {
                            "role": acc.role,
                            "name": acc.name,
                            "phone": acc.phone,
                            "password": DEMO_PASSWORD,
                            "scope": acc.scope,
                        }
                    },
                    token=admin,
                )
            token = client.log_in(acc.phone, DEMO_PASSWORD)
        tokens.setdefault(acc.role, token or "")
        tokens[acc.phone] = token or ""
    return tokens


def load_demo(base_url: str, settings: Settings) -> str:
    """Loads the demo data; returns a summary to print."""
    client = DemoClient(base_url, f"http://127.0.0.1:{settings.sim_port}")
    _wait_ready(client)
    tokens = _ensure_accounts(client, settings)
    places = ensure_demo_properties(client, tokens)
    devices_added = _ensure_devices(client, tokens)
    photos_added = ensure_demo_photos(client, places)
    leases_started = ensure_demo_leases(client, tokens)
    repairs_reported = ensure_demo_repairs(client, tokens, places)
    hazards_found = ensure_demo_hazards(client, tokens, places)
    # keep last: builds on the demo leases
    rent_payments = ensure_demo_rent(client, tokens)
    lines = [
        "Demo accounts (development passwords):",
        f"  ADMIN      {settings.admin_phone}  {settings.admin_password}",
    ]
    lines += [f"  {a.role:<10} {a.phone}  {DEMO_PASSWORD}  {a.name}" for a in DEMO_ACCOUNTS]
    rooms = sum(len(p.rooms) for p in places.values())
    lines.append(f"Demo properties: {len(places)} in 松门镇 with {rooms} rooms; listings published")
    lines.append(
        "Demo devices on the simulator: door-<room id> on each room, door-<property id>-entrance, "
        f"cam-<property id>, smoke-<room id> ({devices_added} registered now)"
    )
    lines.append(
        "Demo leases: 张伟 (13900000011) in 东海路18号 room 101 with 王芳, since three months "
        f"ago; 刘芳 (13900000012) in 安居公寓 room 101 ({leases_started} started now)"
    )
    lines.append(
        f"Demo rent: {rent_payments} payments on the demo leases (paid, partly paid, overdue)"
    )
    lines.append(
        f"Demo photos: two on every room, amenities too ({photos_added} added now); repair "
        f"requests: a leak scheduled and an e-bike in the stairwell from 张伟, a sparking "
        f"socket fixed and rated from 刘芳 ({repairs_reported} reported now)"
    )
    lines.append(
        "Demo fire safety: 赵队长 (13900000031) inspected 东海路18号 twenty days ago: e-bikes in "
        "the stairwell (overdue), barred escape window (open), flat extinguisher (rectified) "
        f"({hazards_found} hazards made now)"
    )
    return "\n".join(lines)


def _wait_ready(client: DemoClient, timeout: float = 60) -> None:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if client.http.get("/readyz").status_code == 200:
            return
        time.sleep(0.3)
    raise RuntimeError("Anju did not become ready")


# --- properties, rooms and published listings (issue 4) ----------------------------------


@dataclass(frozen=True)
class DemoRoom:
    number: str
    floor: int
    area_sqm: float
    rent_fen: int
    listing: tuple[str, str] | None = None  # (title, description): published while vacant


@dataclass(frozen=True)
class DemoProperty:
    landlord_phone: str
    name: str
    address: str
    place: dict[str, str]
    location: dict[str, float]
    kind: str
    safety: dict[str, int]
    rooms: tuple[DemoRoom, ...]


def _rooms(floors: int, per_floor: int, area: float, rent_fen: int) -> list[DemoRoom]:
    return [
        DemoRoom(f"{f}{n:02d}", f, area + 1.5 * n, rent_fen + 5000 * (f + n))
        for f in range(1, floors + 1)
        for n in range(1, per_floor + 1)
    ]


def _with_listings(
    rooms: list[DemoRoom], listings: dict[str, tuple[str, str]]
) -> tuple[DemoRoom, ...]:
    return tuple(
        DemoRoom(r.number, r.floor, r.area_sqm, r.rent_fen, listings.get(r.number)) for r in rooms
    )


DEMO_PROPERTIES = [
    DemoProperty(
        "13900000001",
        "东海路18号出租房 (Donghai Road 18)",
        "温岭市松门镇松门村东海路18号",
        {"town": "松门镇", "community": "松门村", "grid": "网格1"},
        {"lat": 28.3521, "lng": 121.6083},
        "SECOND_HAND",
        {"extinguishers": 2, "smokeDetectors": 5, "escapeWindows": 2},
        _with_listings(
            _rooms(3, 2, 14.0, 100000)[:5],
            {
                "102": (
                    "松门村 朝南单间 拎包入住 (south-facing room, move-in ready)",
                    "家具家电齐全, 空调热水器都有。步行5分钟到公交站。\n"
                    "Furnished, air conditioning and water heater; 5 minutes to the bus.",
                ),
                "301": (
                    "顶楼带阳台单间 近菜市场 (top-floor room with balcony)",
                    "采光好, 楼下就是菜市场。Bright, with the market downstairs.",
                ),
            },
        ),
    ),
    DemoProperty(
        "13900000001",
        "淋川村新居3幢 (Linchuan new house No. 3)",
        "温岭市松门镇淋川村环村路3幢",
        {"town": "松门镇", "community": "淋川村", "grid": "网格2"},
        {"lat": 28.3352, "lng": 121.5851},
        "FIRST_HAND",
        {"extinguishers": 3, "smokeDetectors": 8, "escapeWindows": 2},
        _with_listings(
            _rooms(2, 4, 16.0, 90000),
            {
                "203": (
                    "淋川村 独立卫浴单间 押一付一 (private bathroom, one month deposit)",
                    "独立卫生间, 可做饭。房东直租, 无中介费。\n"
                    "Own bathroom, cooking allowed; let by the owner, no agency fee.",
                )
            },
        ),
    ),
    DemoProperty(
        "13900000002",
        "安居公寓(松门店) (Anju Apartments, Songmen)",
        "温岭市松门镇东海路66号",
        {"town": "松门镇", "community": "松门村", "grid": "网格3"},
        {"lat": 28.3498, "lng": 121.6102},
        "APARTMENT_BUILDING",
        {"extinguishers": 6, "smokeDetectors": 12, "escapeWindows": 4},
        _with_listings(
            _rooms(3, 4, 18.0, 120000),
            {
                "104": (
                    "安居公寓 LOFT一室户 免费WiFi (loft studio, free WiFi)",
                    "24小时门禁, 刷卡进出。Free WiFi, 24-hour card access.",
                ),
                "204": (
                    "安居公寓 标准间 有电梯 (standard room, lift)",
                    "有电梯, 停车方便。Lift and easy parking.",
                ),
            },
        ),
    ),
]

_MY_PROPERTIES = """{ myProperties(first: 100) { edges { node { id name
  rooms(first: 100) { edges { node { id number status listing { id } } } } } } } }"""
_CREATE_PROPERTY = """mutation($i: CreatePropertyInput!) { createProperty(input: $i) {
  property { id } userErrors { code message } } }"""
_ADD_ROOM = """mutation($i: AddRoomInput!) { addRoom(input: $i) {
  room { id } userErrors { code message } } }"""
_PUBLISH = """mutation($i: PublishListingInput!) { publishListing(input: $i) {
  listing { id } userErrors { code message } } }"""


def _mutate(client: DemoClient, query: str, name: str, i: dict[str, Any], token: str) -> Any:
    payload = client.gql(query, {"i": i}, token=token)[name]
    if payload["userErrors"]:
        raise RuntimeError(f"demo data: {name}: {payload['userErrors']}")
    return payload


@dataclass
class DemoPlace:
    """A demo property as made: its id, its landlord's token, its rooms' ids by number."""

    property_id: str
    landlord_phone: str
    token: str
    rooms: dict[str, str]


def ensure_demo_properties(client: DemoClient, tokens: dict[str, str]) -> dict[str, DemoPlace]:
    """The demo landlords' properties, rooms and published listings in 松门镇, made if
    missing (found by property name and room number, so running twice changes nothing).
    Returns them by property name, for other demo data to build on (devices, leases)."""
    made: dict[str, DemoPlace] = {}
    for phone in sorted({p.landlord_phone for p in DEMO_PROPERTIES}):
        token = tokens[phone]
        existing = {
            e["node"]["name"]: e["node"]
            for e in client.gql(_MY_PROPERTIES, token=token)["myProperties"]["edges"]
        }
        for spec in (p for p in DEMO_PROPERTIES if p.landlord_phone == phone):
            node = existing.get(spec.name)
            if node is None:
                pid = _mutate(
                    client,
                    _CREATE_PROPERTY,
                    "createProperty",
                    {
                        "name": spec.name,
                        "address": spec.address,
                        "place": spec.place,
                        "location": spec.location,
                        "kind": spec.kind,
                        "safety": spec.safety,
                    },
                    token,
                )["property"]["id"]
                node = {"id": pid, "rooms": {"edges": []}}
            rooms = {e["node"]["number"]: e["node"] for e in node["rooms"]["edges"]}
            place = made[spec.name] = DemoPlace(node["id"], phone, token, {})
            for room in spec.rooms:
                have = rooms.get(room.number)
                if have is None:
                    rid = _mutate(
                        client,
                        _ADD_ROOM,
                        "addRoom",
                        {
                            "propertyId": node["id"],
                            "number": room.number,
                            "floor": room.floor,
                            "areaSqm": room.area_sqm,
                            "monthlyRentFen": room.rent_fen,
                        },
                        token,
                    )["room"]["id"]
                    have = {"id": rid, "status": "VACANT", "listing": None}
                place.rooms[room.number] = have["id"]
                if room.listing and have["status"] == "VACANT" and have["listing"] is None:
                    title, description = room.listing
                    _mutate(
                        client,
                        _PUBLISH,
                        "publishListing",
                        {
                            "roomId": have["id"],
                            "title": title,
                            "description": description,
                            "availableFrom": dt.date.today().isoformat(),
                        },
                        token,
                    )
    return made


# --- doors, cameras and smoke detectors (doors issue) ----------------------------------------

_DEMO_DEVICES = """query { myProperties(first: 20) { edges { node { id doors { deviceId }
  cameras { deviceId }
  rooms(first: 50) { edges { node { id doors { deviceId } smokeDetectors { deviceId } } } }
} } } }"""
_REGISTER_DEVICE = """mutation($i: RegisterDeviceInput!) { registerDevice(input: $i) {
  userErrors { code message } } }"""


def _raw_id(gid: str) -> str:
    import base64

    return base64.urlsafe_b64decode(gid + "=" * (-len(gid) % 4)).decode().split(":", 1)[1]


def _ensure_devices(client: DemoClient, tokens: dict[str, str]) -> int:
    """Every demo property gets an entrance door and a camera, every room a door and a smoke
    detector, on the simulator (which knows any id by its prefix: door-, cam-, smoke-). The
    ids derive from the property and room ids, and what exists is skipped: idempotent.
    Returns how many devices were registered now."""
    added = 0
    for acc in DEMO_ACCOUNTS:
        token = tokens.get(acc.phone)
        if acc.role != "LANDLORD" or not token:
            continue
        props = client.gql(_DEMO_DEVICES, token=token)["myProperties"]["edges"]
        for prop in (edge["node"] for edge in props):
            pid = prop["id"]
            wanted: list[tuple[str, str, str, str | None]] = []
            if not any(d["deviceId"] == f"door-{_raw_id(pid)}-entrance" for d in prop["doors"]):
                wanted.append(("DOOR", f"door-{_raw_id(pid)}-entrance", "大门 Entrance", None))
            if not prop["cameras"]:
                wanted.append(("CAMERA", f"cam-{_raw_id(pid)}", "门口摄像头 Entrance camera", None))
            for room in (edge["node"] for edge in prop["rooms"]["edges"]):
                rid = room["id"]
                if not room["doors"]:
                    wanted.append(("DOOR", f"door-{_raw_id(rid)}", "房门 Room door", rid))
                if not room["smokeDetectors"]:
                    wanted.append(("SMOKE_DETECTOR", f"smoke-{_raw_id(rid)}", "烟感 Smoke", rid))
            for kind, device_id, name, room_id in wanted:
                errors = client.gql(
                    _REGISTER_DEVICE,
                    {
                        "i": {
                            "kind": kind,
                            "deviceId": device_id,
                            "claimCode": claim_code(client.http, client.sim_url, device_id),
                            "name": name,
                            "propertyId": pid,
                            "roomId": room_id,
                        }
                    },
                    token=token,
                )["registerDevice"]["userErrors"]
                if errors and errors[0]["code"] != "DUPLICATE":
                    raise RuntimeError(f"demo device {device_id}: {errors}")
                added += 0 if errors else 1
    return added


# --- leases and their occupants (leases issue) -------------------------------------------------


@dataclass(frozen=True)
class DemoLease:
    landlord_phone: str
    property_name: str
    room: str
    tenant_phone: str
    months_ago: int  # started on the first of the month this many months ago
    months: int
    rent_fen: int
    occupants: tuple[tuple[str, str, str], ...]  # (name, ID number, phone)


DEMO_LEASES = [
    DemoLease(
        "13900000001",
        "东海路18号出租房 (Donghai Road 18)",
        "101",
        "13900000011",
        3,
        12,
        110000,
        (
            ("张伟", "331081199001010515", "13900000011"),
            ("王芳", "520102199506120722", "13900000013"),
        ),
    ),
    DemoLease(
        "13900000002",
        "安居公寓(松门店) (Anju Apartments, Songmen)",
        "101",
        "13900000012",
        0,
        6,
        135000,
        (("刘芳", "331081198803050231", "13900000012"),),
    ),
]
_ROOM_LEASES = """{ myProperties(first: 100) { edges { node { name
  rooms(first: 100) { edges { node { id number activeLease { id } } } } } } } }"""
_START_LEASE = """mutation($i: StartLeaseInput!) { startLease(input: $i) {
  lease { id } userErrors { code message } } }"""
_MY_LEASES = "{ myLeases { id tenantAcceptedAt } }"
_ACCEPT = """mutation($i: AcceptLeaseInput!) { acceptLease(input: $i) {
  lease { id } userErrors { code message } } }"""


def ensure_demo_leases(client: DemoClient, tokens: dict[str, str]) -> int:
    """The demo tenants' leases on the demo landlords' rooms (their cards go on the demo
    doors), started if the room has no active lease; a room let or a person registered
    elsewhere meanwhile is left alone. Returns how many were started now."""
    started = 0
    today = dt.datetime.now(dt.UTC).date()
    for spec in DEMO_LEASES:
        token = tokens.get(spec.landlord_phone)
        if not token:
            continue
        rooms = {
            (p["node"]["name"], r["node"]["number"]): r["node"]
            for p in client.gql(_ROOM_LEASES, token=token)["myProperties"]["edges"]
            for r in p["node"]["rooms"]["edges"]
        }
        room = rooms.get((spec.property_name, spec.room))
        if room is None or room["activeLease"] is not None:
            continue
        month, year = today.month - spec.months_ago, today.year
        while month < 1:
            month, year = month + 12, year - 1
        start = dt.date(year, month, 1)
        end_month, end_year = month + spec.months, year
        while end_month > 12:
            end_month, end_year = end_month - 12, end_year + 1
        end = dt.date(end_year, end_month, 1) - dt.timedelta(days=1)
        payload = client.gql(
            _START_LEASE,
            {
                "i": {
                    "roomId": room["id"],
                    "tenantPhone": spec.tenant_phone,
                    "startDate": start.isoformat(),
                    "endDate": end.isoformat(),
                    "monthlyRentFen": spec.rent_fen,
                    "depositFen": spec.rent_fen * 2,
                    "rentDueDay": 5,
                    "occupants": [
                        {"name": n, "idNumber": i, "phone": p} for n, i, p in spec.occupants
                    ],
                }
            },
            token=token,
        )["startLease"]
        codes = [e["code"] for e in payload["userErrors"]]
        if codes and codes[0] not in {"ROOM_OCCUPIED", "ALREADY_REGISTERED"}:
            raise RuntimeError(f"demo lease: {payload['userErrors']}")
        started += not codes
    _accept_demo_leases(client, tokens)
    return started


def _accept_demo_leases(client: DemoClient, tokens: dict[str, str]) -> None:
    """Each demo tenant accepts, in the app, the leases sent to their phone."""
    for phone in {spec.tenant_phone for spec in DEMO_LEASES}:
        token = tokens.get(phone)
        if not token:
            continue
        for lease in client.gql(_MY_LEASES, token=token)["myLeases"]:
            if lease["tenantAcceptedAt"] is None:
                client.gql(_ACCEPT, {"i": {"leaseId": lease["id"]}}, token=token)


# --- rent: paid, partly paid and overdue invoices (rent issue) ------------------------------

_DEMO_LEASES = """query { myProperties(first: 10) { edges { node { rooms(first: 50) {
  edges { node { activeLease { id tenant { phone } invoices(first: 36) {
    edges { node { id periodStart dueDate amountFen } } } } } } } } } } }"""
_PAY = """mutation($i: PayInvoiceInput!) { payInvoice(input: $i) {
  payment { status } userErrors { code message } } }"""
_RECORD = """mutation($i: RecordPaymentInput!) { recordPayment(input: $i) {
  payment { status } userErrors { code message } } }"""


def _demo_payment(client: DemoClient, token: str, online: bool, i: dict[str, Any]) -> bool:
    """One demo payment, keyed by the invoice (so a second run answers the same payment)."""
    query, name = (_PAY, "payInvoice") if online else (_RECORD, "recordPayment")
    payload = client.gql(query, {"i": i}, token=token)[name]
    errors = [e["code"] for e in payload["userErrors"]]
    if errors and errors[0] not in {"INVOICE_NOT_PAYABLE", "AMOUNT_EXCEEDS_BALANCE"}:
        raise RuntimeError(f"demo rent: {name}: {payload['userErrors']}")
    return not errors


def ensure_demo_rent(client: DemoClient, tokens: dict[str, str]) -> int:
    """On every active lease of the demo landlords (run after the demo leases exist): past
    months paid in full, alternately online by the tenant and in cash; the month before the
    last one unpaid half, the last past month not at all (both OVERDUE); the next invoice to
    fall due a third paid online (PARTIALLY_PAID). Keys are derived from the invoices, so
    running this twice pays nothing twice. Returns the number of payments answered."""
    done = 0
    day = dt.datetime.now(dt.UTC).date().isoformat()
    landlords = [a.phone for a in DEMO_ACCOUNTS if a.role == "LANDLORD"]
    for phone in landlords:
        landlord_token = tokens.get(phone)
        if not landlord_token:
            continue
        edges = client.gql(_DEMO_LEASES, token=landlord_token)["myProperties"]["edges"]
        for prop in (e["node"] for e in edges):
            for room in (e["node"] for e in prop["rooms"]["edges"]):
                lease = room["activeLease"]
                tenant_token = tokens.get(lease["tenant"]["phone"]) if lease else None
                if not lease or not tenant_token:
                    continue
                invoices = sorted(
                    (e["node"] for e in lease["invoices"]["edges"]),
                    key=lambda n: n["periodStart"],
                )
                past = [n for n in invoices if n["dueDate"] < day]
                upcoming = [n for n in invoices if n["dueDate"] >= day][:1]
                plan: list[tuple[dict[str, Any], int, bool]] = [
                    (n, n["amountFen"], i % 2 == 0) for i, n in enumerate(past[:-2])
                ]
                if len(past) >= 2:
                    plan.append((past[-2], past[-2]["amountFen"] // 2, False))
                plan += [(n, n["amountFen"] // 3, True) for n in upcoming]
                for invoice, amount, online in plan:
                    if amount <= 0:
                        continue
                    i: dict[str, Any] = {
                        "invoiceId": invoice["id"],
                        "amountFen": amount,
                        "method": "WECHAT_PAY" if online else "CASH",
                        "idempotencyKey": f"demo-{'pay' if online else 'cash'}-{invoice['id']}",
                    }
                    if not online:
                        i["note"] = "现金收讫 (demo)"
                    token = tenant_token if online else landlord_token
                    done += _demo_payment(client, token, online, i)
    return done
