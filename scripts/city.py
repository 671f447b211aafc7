"""`make city SCALE=0.1 SEED=42`: fills a database with a synthetic city, in bulk.

At SCALE=1: 14 towns and streets of 温岭市 with their communities and grids, 87,000 rental
properties (mostly small SECOND_HAND houses of 2-8 rooms, some FIRST_HAND houses, a few
APARTMENT_BUILDINGs of 100-300 rooms), 523,000 rooms (sizes log-normal around 20 sqm, 10-60;
rents log-normal around 1,500 yuan, dearer in the central streets), about 8% of them vacant
and most vacancies published as listings, and the landlords' accounts. Everything is drawn
from one seeded generator: the same seed and anchor date give the same database (bar the
salt of the shared password hash). Dates are placed relative to the anchor (default: today).

Documents have exactly the shapes the services write: listings are built by
`app.services.listings.listing_doc`, and a test compares the other shapes with documents
made through the API. They are inserted with `insert_many(ordered=False)` in batches, the
indexes are built afterwards. The population counters (stats_counters) are summed in memory
as the documents are made and written at the end: `stats.recount` groups every room with
$group, which FerretDB does far too slowly for a city.

Later domains add to the city through `CityExtension`s (leases and residents for the
OCCUPIED rooms, say): `build_city(db, scale, seed, extensions=[...])` hands each extension
every batch right after it is stored, with a generator of its own derived from the seed.

All city landlords log in with their phone (17000000001, 17000000002, ...) and CITY_PASSWORD.
The database is wiped first; ANJU_ENV=production refuses to run.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import math
import random
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from bson import ObjectId
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from app.passwords import Passwords
from app.services import stats
from app.services.accounts import ensure_admin
from app.services.listings import listing_doc
from app.settings import load_settings
from app.store import Doc, Store, detect, ensure_indexes

# What the generator makes: raised when that changes, so that a city kept by the benchmark
# (.bench/) from an older generator is built again. 2: leases have invoices and payments.
CITY_VERSION = 2
CITY_PASSWORD = "anju-city-2026"
PROPERTIES_AT_SCALE_1 = 87_000
ROOMS_AT_SCALE_1 = 523_000
CITY = "温岭市"
KM_PER_DEG_LAT = 111.195

# --- geography ----------------------------------------------------------------------------


@dataclass(frozen=True)
class TownSpec:
    name: str
    lat: float
    lng: float
    weight: float  # share of the city's rental properties
    rent_factor: float
    urban: bool  # a street (街道) of the centre: 社区, denser, dearer
    known: tuple[str, ...] = ()  # real community names to include


TOWNS: tuple[TownSpec, ...] = (
    TownSpec("太平街道", 28.372, 121.375, 0.12, 1.20, True, ("万昌社区", "锦屏社区", "北门社区")),
    TownSpec("城东街道", 28.386, 121.405, 0.10, 1.15, True, ("东辉社区", "湖漫社区")),
    TownSpec("城西街道", 28.368, 121.345, 0.09, 1.10, True),
    TownSpec("城北街道", 28.401, 121.372, 0.08, 1.10, True),
    TownSpec("横峰街道", 28.428, 121.338, 0.08, 1.05, True),
    TownSpec("泽国镇", 28.509, 121.322, 0.11, 1.05, False, ("泽国村", "丹崖村")),
    TownSpec("大溪镇", 28.441, 121.252, 0.09, 0.95, False),
    TownSpec("松门镇", 28.350, 121.610, 0.06, 0.90, False, ("松门村", "淋川村", "礁山村")),
    TownSpec("箬横镇", 28.302, 121.492, 0.05, 0.90, False, ("箬横村", "东浦村")),
    TownSpec("新河镇", 28.452, 121.448, 0.05, 0.90, False),
    TownSpec("石塘镇", 28.268, 121.612, 0.03, 0.85, False, ("石塘村", "里箬村")),
    TownSpec("滨海镇", 28.398, 121.548, 0.05, 0.90, False),
    TownSpec("温峤镇", 28.402, 121.232, 0.05, 0.90, False),
    TownSpec("城南镇", 28.300, 121.382, 0.04, 0.90, False),
)

_NAME_CHARS = (
    "东西南北新华兴海山塘桥湖溪岙洋岩林田上下前后里外石沙金龙凤安乐和平福康宁泰丰盛港湾礁浦"
    "渡屿岭坑横河江云松竹梅兰桂荷锦绣光明振联合胜利团结民主"
)
_STREET_SUFFIX = ("路", "路", "街", "大道", "巷")
_SURNAMES = "陈林王李张郭江叶黄赵吴周徐孙朱胡何高罗郑梁谢蒋蔡潘杨金应颜毛阮程戴卢莫丁夏方项邵"
_GIVEN = "建国秀英伟芳娜敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂英华志红海燕文斌玲小彬宇浩"
_BRANDS = ("安居", "宜家", "蓝领", "乐居", "海韵", "东方", "幸福里", "青年汇", "城市之家")


@dataclass
class Community:
    town: TownSpec
    name: str
    lat: float
    lng: float
    grids: list[str]
    streets: list[str]
    weight: float


def _offset(lat: float, lng: float, north_km: float, east_km: float) -> tuple[float, float]:
    return (
        lat + north_km / KM_PER_DEG_LAT,
        lng + east_km / (KM_PER_DEG_LAT * math.cos(math.radians(lat))),
    )


def _in_disc(rng: random.Random, radius_km: float) -> tuple[float, float]:
    r, a = radius_km * math.sqrt(rng.random()), rng.uniform(0, 2 * math.pi)
    return r * math.cos(a), r * math.sin(a)


def _names(rng: random.Random, count: int, suffix: Callable[[], str], taken: set[str]) -> list[str]:
    out: list[str] = []
    while len(out) < count:
        name = "".join(rng.sample(_NAME_CHARS, 2)) + suffix()
        if name not in taken:
            taken.add(name)
            out.append(name)
    return out


def build_geography(rng: random.Random) -> list[Community]:
    """The towns' communities, each with its centre, grids, streets and a share of the
    town's rental properties (log-normal: a few villages hold many)."""
    communities: list[Community] = []
    for town in TOWNS:
        count = rng.randint(18, 26) if town.urban else rng.randint(24, 40)
        taken = set(town.known)
        suffix = (
            (lambda: "社区") if town.urban else (lambda: "村" if rng.random() < 0.9 else "社区")
        )
        names = list(town.known) + _names(rng, count - len(town.known), suffix, taken)
        streets = _names(rng, rng.randint(8, 14), lambda: rng.choice(_STREET_SUFFIX), set())
        raw = [rng.lognormvariate(0, 0.6) for _ in names]
        total = sum(raw)
        for name, w in zip(names, raw, strict=True):
            north, east = _in_disc(rng, 2.2 if town.urban else 4.5)
            lat, lng = _offset(town.lat, town.lng, north, east)
            communities.append(
                Community(
                    town=town,
                    name=name,
                    lat=lat,
                    lng=lng,
                    grids=[f"网格{i}" for i in range(1, rng.randint(3, 8) + 1)],
                    streets=rng.sample(streets, min(len(streets), rng.randint(3, 6))),
                    weight=town.weight * w / total,
                )
            )
    return communities


# --- the plan: how many properties of which kind, with how many rooms, where ---------------

KIND_SHARES = (("SECOND_HAND", 0.8664), ("FIRST_HAND", 0.13), ("APARTMENT_BUILDING", 0.0036))
ROOM_BOUNDS = {"SECOND_HAND": (2, 8), "FIRST_HAND": (4, 20), "APARTMENT_BUILDING": (100, 300)}
_SECOND_HAND_ROOMS = ((2, 14), (3, 20), (4, 20), (5, 16), (6, 12), (7, 10), (8, 8))


@dataclass
class PropertyPlan:
    community: int
    kind: str
    rooms: int


def _apportion(total: int, weights: Sequence[float]) -> list[int]:
    """`total` split in proportion to `weights` (largest remainders), summing exactly."""
    s = sum(weights)
    exact = [total * w / s for w in weights]
    counts = [int(x) for x in exact]
    order = sorted(range(len(weights)), key=lambda i: exact[i] - counts[i], reverse=True)
    for i in order[: total - sum(counts)]:
        counts[i] += 1
    return counts


def _draw_rooms(rng: random.Random, kind: str) -> int:
    if kind == "SECOND_HAND":
        sizes, weights = zip(*_SECOND_HAND_ROOMS, strict=True)
        return rng.choices(sizes, weights)[0]
    if kind == "FIRST_HAND":
        return min(20, 4 + int(rng.expovariate(1 / 5)))
    return rng.randint(100, 300)


def plan_properties(
    rng: random.Random, communities: list[Community], properties: int, rooms: int
) -> list[PropertyPlan]:
    """Every property's community, kind and room count; the room counts are nudged within
    their kind's bounds until they add up to `rooms` exactly (where the bounds allow)."""
    kinds: list[str] = []
    buildings = max(1, round(properties * KIND_SHARES[2][1])) if properties >= 20 else 0
    first_hand = round(properties * KIND_SHARES[1][1])
    kinds = (
        ["APARTMENT_BUILDING"] * buildings
        + ["FIRST_HAND"] * first_hand
        + ["SECOND_HAND"] * (properties - buildings - first_hand)
    )
    rng.shuffle(kinds)
    counts = _apportion(properties, [c.weight for c in communities])
    homes = [i for i, n in enumerate(counts) for _ in range(n)]
    plans = [
        PropertyPlan(home, kind, _draw_rooms(rng, kind))
        for home, kind in zip(homes, kinds, strict=True)
    ]
    adjustable = [p for p in plans if p.kind != "APARTMENT_BUILDING"]
    diff = rooms - sum(p.rooms for p in plans)
    step = 1 if diff > 0 else -1
    stuck = 0
    while diff and adjustable and stuck < 50 * len(adjustable):
        p = rng.choice(adjustable)
        low, high = ROOM_BOUNDS[p.kind]
        if low <= p.rooms + step <= high:
            p.rooms += step
            diff -= step
            stuck = 0
        else:
            stuck += 1
    return plans


# --- documents ----------------------------------------------------------------------------


def _oid(rng: random.Random, at: dt.datetime) -> ObjectId:
    """An ObjectId drawn from the seeded generator, its time part `at` (so ids sort roughly
    by creation, as real ones do)."""
    return ObjectId(int(at.timestamp()).to_bytes(4, "big") + rng.randbytes(8))


def _ms(t: dt.datetime) -> dt.datetime:
    return t.replace(microsecond=t.microsecond // 1000 * 1000)


def account_doc(oid: ObjectId, name: str, phone: str, password_hash: str, at: dt.datetime) -> Doc:
    """A LANDLORD account, shaped as accounts.sign_up stores it."""
    return {
        "_id": oid,
        "role": "LANDLORD",
        "name": name,
        "phone": phone,
        "password_hash": password_hash,
        "scope": None,
        "status": "ACTIVE",
        "phone_verified_at": at,
        "created_at": at,
    }


def property_doc(
    oid: ObjectId,
    *,
    landlord_id: ObjectId,
    name: str,
    address: str,
    place: dict[str, str | None],
    lat: float,
    lng: float,
    kind: str,
    safety: dict[str, int],
    room_count: int,
    occupied_count: int,
    at: dt.datetime,
) -> Doc:
    """A property, shaped as properties.create_property stores it, plus two figures the
    generator keeps while it fills the property (`_store` leaves them out)."""
    return {
        "_id": oid,
        "landlord_id": landlord_id,
        "name": name,
        "address": address,
        "place": place,
        "location": {"lat": lat, "lng": lng},
        "kind": kind,
        "safety": safety,
        "room_count": room_count,
        "occupied_count": occupied_count,
        "created_at": at,
        "archived_at": None,
    }


def room_doc(
    oid: ObjectId,
    prop: Doc,
    *,
    number: str,
    floor: int,
    area_sqm: float,
    monthly_rent_fen: int,
    status: str,
    at: dt.datetime,
) -> Doc:
    """A room, shaped as properties.add_room stores it."""
    return {
        "_id": oid,
        "property_id": prop["_id"],
        "landlord_id": prop["landlord_id"],
        "place": prop["place"],
        "kind": prop["kind"],
        "number": number,
        "floor": floor,
        "area_sqm": area_sqm,
        "monthly_rent_fen": monthly_rent_fen,
        "status": status,
        # no photos: the city's rooms have none (`make run`'s demo rooms do)
        "description": None,
        "amenities": [],
        "photos": [],
        "archived_at": None,
        "created_at": at,
    }


_ROOM_WORDS = ("单间", "一室户", "朝南主卧", "独立卫浴单间", "带阳台单间", "一室一厅", "LOFT公寓")
_FEATURES = (
    "拎包入住",
    "近菜市场",
    "近公交站",
    "可短租",
    "包物业费",
    "独立厨卫",
    "免费WiFi",
    "押一付一",
    "有电梯",
    "停车方便",
    "近工业区",
    "房东直租",
)
_COMMA = "\uff0c"  # the full-width comma of Chinese text
_SENTENCES = tuple(
    _COMMA.join(clauses) + "。"
    for clauses in (
        ("房间干净整洁", "家具家电齐全"),
        ("空调、热水器、洗衣机都有",),
        ("步行5分钟到公交站",),
        ("适合上班族", "安静不吵"),
        ("水电按民用价收取",),
        ("押一付三", "可月付"),
        ("Free WiFi", "随时看房"),
        ("房东直租", "无中介费"),
        ("楼下就是菜市场和超市",),
        ("可做饭", "有独立厨房"),
        ("24小时门禁", "刷卡进出", "安全放心"),
        ("南北通透", "采光好"),
    )
)
VACANT = {"SECOND_HAND": 0.08, "FIRST_HAND": 0.09, "APARTMENT_BUILDING": 0.12}
UNAVAILABLE = 0.02
PUBLISHED = 0.85  # of vacant rooms
KIND_RENT = {"SECOND_HAND": 0.95, "FIRST_HAND": 1.05, "APARTMENT_BUILDING": 1.15}
YUAN_PER_SQM = 76.0


def _person(rng: random.Random) -> str:
    return rng.choice(_SURNAMES) + "".join(rng.sample(_GIVEN, rng.choice((1, 2, 2))))


class CityCounters:
    """The city's population counters, documents as `stats.recount` writes them, summed in
    memory. Extensions add theirs (residents, say) with `add`."""

    def __init__(self) -> None:
        self.slots: dict[str, Doc] = {}

    def add(self, place: dict[str, Any], kind: str, **deltas: int) -> None:
        key = stats.counter_key(place, kind)
        cid = stats.counter_id(key)
        slot = self.slots.get(cid)
        if slot is None:
            slot = self.slots[cid] = {"_id": cid, **key, **dict.fromkeys(stats.COUNTERS, 0)}
        for name, delta in deltas.items():
            slot[name] += delta

    async def store(self, store: Store) -> None:
        await store.stats_counters.delete_many({})
        if self.slots:
            await store.stats_counters.insert_many(list(self.slots.values()), ordered=False)


@dataclass
class CityBatch:
    """Documents stored together; extensions see each batch right after it is stored."""

    counters: CityCounters
    landlords: list[Doc] = field(default_factory=list)
    properties: list[Doc] = field(default_factory=list)
    rooms: list[Doc] = field(default_factory=list)
    listings: list[Doc] = field(default_factory=list)


class _Generator:
    """Turns the plan into documents, community by community, in batches."""

    def __init__(
        self,
        rng: random.Random,
        anchor: dt.datetime,
        password_hash: str,
        counters: CityCounters,
    ) -> None:
        self.rng = rng
        self.counters = counters
        self.anchor = anchor
        self.password_hash = password_hash
        self.landlords = 0

    def _landlord(self, batch: CityBatch, name: str, at: dt.datetime) -> Doc:
        self.landlords += 1
        doc = account_doc(
            _oid(self.rng, at), name, f"17{self.landlords:09d}", self.password_hash, at
        )
        batch.landlords.append(doc)
        return doc

    def batches(
        self, communities: list[Community], plans: list[PropertyPlan], batch_rooms: int
    ) -> Iterator[CityBatch]:
        rng = self.rng
        batch = CityBatch(self.counters)
        owner: Doc | None = None
        run = 0  # properties the current owner still has to get
        for plan in plans:
            community = communities[plan.community]
            built = _ms(self.anchor - dt.timedelta(days=rng.uniform(60, 1500)))
            if plan.kind == "APARTMENT_BUILDING":
                brand = rng.choice(_BRANDS)
                landlord = self._landlord(batch, f"温岭{brand}公寓管理有限公司", built)
            else:
                if owner is None or run == 0:
                    owner = self._landlord(batch, _person(rng), built)
                    run = rng.choices((1, 2, 3, 4), (80, 14, 4, 2))[0]
                landlord, run = owner, run - 1
                brand = ""
            self._property(batch, community, plan, landlord, brand, built)
            if len(batch.rooms) >= batch_rooms:
                yield batch
                batch = CityBatch(self.counters)
        if batch.properties:
            yield batch

    def _property(
        self,
        batch: CityBatch,
        community: Community,
        plan: PropertyPlan,
        landlord: Doc,
        brand: str,
        built: dt.datetime,
    ) -> None:
        rng, town = self.rng, community.town
        north, east = _in_disc(rng, 0.6 if town.urban else 0.9)
        lat, lng = _offset(community.lat, community.lng, north, east)
        street, number = rng.choice(community.streets), rng.randint(1, 320)
        where = f"{CITY}{town.name}" + ("" if town.urban else community.name)
        address = f"{where}{street}{number}号"
        if plan.kind == "APARTMENT_BUILDING":
            name = f"{brand}公寓({community.name}店)"
        elif plan.kind == "FIRST_HAND":
            name = f"{community.name}{street}{number}号自建房"
        else:
            name = rng.choice(
                (
                    f"{street}{number}号出租房",
                    f"{community.name}{number}号民房",
                    f"{street}{number}号",
                )
            )
        rooms = plan.rooms
        safety = {
            "extinguishers": max(1, math.ceil(rooms / 4)) - (1 if rng.random() < 0.05 else 0),
            "smoke_detectors": rooms if rng.random() < 0.85 else rng.randint(0, rooms),
            "escape_windows": rng.randint(1, 2 + rooms // 20),
        }
        prop = property_doc(
            _oid(rng, built),
            landlord_id=landlord["_id"],
            name=name,
            address=address,
            place={
                "town": town.name,
                "community": community.name,
                "grid": rng.choice(community.grids),
            },
            lat=round(lat, 6),
            lng=round(lng, 6),
            kind=plan.kind,
            safety=safety,
            room_count=rooms,
            occupied_count=0,
            at=built,
        )
        batch.properties.append(prop)
        self._rooms(batch, prop, landlord, town, built)

    def _rooms(
        self, batch: CityBatch, prop: Doc, landlord: Doc, town: TownSpec, built: dt.datetime
    ) -> None:
        rng, kind, count = self.rng, prop["kind"], prop["room_count"]
        if kind == "APARTMENT_BUILDING":
            floors = rng.randint(6, 18)
            types = [rng.lognormvariate(math.log(22), 0.25) for _ in range(rng.randint(2, 3))]
        else:
            floors = min(
                6 if kind == "SECOND_HAND" else 7, max(1, math.ceil(count / rng.choice((2, 3, 4))))
            )
            types = []
        per_floor = math.ceil(count / floors)
        base = math.log(18 if kind == "SECOND_HAND" else 24)
        occupied = 0
        for i in range(count):
            floor, slot = 1 + i // per_floor, 1 + i % per_floor
            raw_area = rng.choice(types) if types else rng.lognormvariate(base, 0.3)
            area = min(60.0, max(10.0, round(raw_area * 2) / 2))
            yuan = area * YUAN_PER_SQM * town.rent_factor * KIND_RENT[kind]
            yuan *= rng.lognormvariate(0, 0.25)
            rent_fen = int(min(12_000, max(300, round(yuan / 10) * 10))) * 100
            roll = rng.random()
            status = (
                "VACANT"
                if roll < VACANT[kind]
                else "UNAVAILABLE"
                if roll < VACANT[kind] + UNAVAILABLE
                else "OCCUPIED"
            )
            occupied += status == "OCCUPIED"
            at = built + dt.timedelta(seconds=1 + i)
            room = room_doc(
                _oid(rng, at),
                prop,
                number=f"{floor}{slot:02d}",
                floor=floor,
                area_sqm=area,
                monthly_rent_fen=rent_fen,
                status=status,
                at=at,
            )
            batch.rooms.append(room)
            if status == "VACANT" and rng.random() < PUBLISHED:
                batch.listings.append(self._listing(room, prop, landlord))
        prop["occupied_count"] = occupied
        self.counters.add(
            prop["place"],
            kind,
            properties=1,
            rooms=count,
            occupied_rooms=occupied,
            **prop["safety"],
        )

    def _listing(self, room: Doc, prop: Doc, landlord: Doc) -> Doc:
        rng = self.rng
        place = prop["place"]
        area = room["area_sqm"]
        word, feature = rng.choice(_ROOM_WORDS), rng.choice(_FEATURES)
        title = rng.choice(
            (
                f"{place['community']} {word} {area:g}㎡ {feature}",
                f"{place['town']}{word}出租 月租{room['monthly_rent_fen'] // 100}元",
                f"{word} {feature} 近{place['community']}",
            )
        )
        description = "".join(rng.sample(_SENTENCES, rng.randint(2, 4)))
        published = _ms(self.anchor - dt.timedelta(days=min(120, rng.expovariate(1 / 10))))
        available = self.anchor.date() + dt.timedelta(days=rng.randint(-20, 45))
        return listing_doc(
            room=room,
            prop=prop,
            landlord=landlord,
            title=title,
            description=description,
            monthly_rent_fen=room["monthly_rent_fen"],
            available_from=available,
            contact_phone=landlord["phone"],
            published_at=published,
            listing_id=_oid(rng, published),
        )


# --- loading ------------------------------------------------------------------------------


@dataclass
class CitySummary:
    scale: float
    seed: int
    anchor: dt.datetime
    towns: int = 0
    communities: int = 0
    grids: int = 0
    landlords: int = 0
    properties: int = 0
    rooms: int = 0
    vacant: int = 0
    occupied: int = 0
    listings: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    counters: CityCounters = field(default_factory=CityCounters)
    seconds: dict[str, float] = field(default_factory=dict)

    def report(self) -> str:
        total = sum(self.seconds.values())
        docs = self.landlords + self.properties + self.rooms + self.listings
        lines = [
            f"city: scale {self.scale} seed {self.seed} anchor {self.anchor.date()}",
            f"  {self.towns} towns, {self.communities} communities, {self.grids} grids",
            f"  {self.landlords} landlords, {self.properties} properties "
            + "("
            + ", ".join(f"{k} {v}" for k, v in sorted(self.by_kind.items()))
            + ")",
            f"  {self.rooms} rooms: {self.occupied} occupied, {self.vacant} vacant, "
            f"{self.listings} listings",
            "  time: "
            + ", ".join(f"{k} {v:.1f}s" for k, v in self.seconds.items())
            + f"; total {total:.1f}s ({docs / max(total, 1e-9):,.0f} documents/s)",
        ]
        return "\n".join(lines)


class CityExtension(Protocol):
    """Adds to the city: `extend` sees each batch right after it is stored; `finish` runs
    once all batches are in, before indexes and counters are built."""

    name: str

    async def extend(self, store: Store, batch: CityBatch, rng: random.Random) -> None: ...

    async def finish(self, store: Store, summary: CitySummary) -> None: ...


CITY_COLLECTIONS = ("accounts", "properties", "rooms", "listings")
# kept on a property while the generator fills it, not stored
GENERATOR_ONLY = frozenset({"room_count", "occupied_count"})


async def _store(store: Store, batch: CityBatch, chunk: int = 5000) -> None:
    properties = [{k: v for k, v in p.items() if k not in GENERATOR_ONLY} for p in batch.properties]
    for name, docs in (
        ("accounts", batch.landlords),
        ("properties", properties),
        ("rooms", batch.rooms),
        ("listings", batch.listings),
    ):
        for start in range(0, len(docs), chunk):
            await store[name].insert_many(docs[start : start + chunk], ordered=False)


async def wipe(db: AsyncDatabase[Doc]) -> None:
    """Drops every collection of the database (the city replaces what was there)."""
    for name in await db.list_collection_names():
        await db.drop_collection(name)


async def build_city(
    db: AsyncDatabase[Doc],
    scale: float,
    seed: int,
    *,
    anchor: dt.datetime | None = None,
    extensions: Sequence[CityExtension] = (),
    batch_rooms: int = 20_000,
    log: Callable[[str], None] = lambda line: None,
) -> CitySummary:
    """Wipes `db` and loads the city into it; returns what was made and how long it took."""
    if not 0 < scale <= 5:
        raise ValueError("scale must be in (0, 5]")
    anchor = (anchor or dt.datetime.now(dt.UTC)).replace(hour=0, minute=0, second=0, microsecond=0)
    summary = CitySummary(scale=scale, seed=seed, anchor=anchor)
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        t = time.perf_counter()
        summary.seconds[name] = summary.seconds.get(name, 0.0) + t - clock
        clock = t

    await wipe(db)
    # through the store, which writes what the engine needs (app/store)
    store = Store(db, await detect(db))
    rng = random.Random(seed)
    communities = build_geography(rng)
    plans = plan_properties(
        rng,
        communities,
        round(PROPERTIES_AT_SCALE_1 * scale),
        round(ROOMS_AT_SCALE_1 * scale),
    )
    summary.towns = len(TOWNS)
    summary.communities = len(communities)
    summary.grids = sum(len(c.grids) for c in communities)
    generator = _Generator(rng, anchor, await Passwords().hash(CITY_PASSWORD), summary.counters)
    ext_rngs = [random.Random(f"{seed}/{ext.name}") for ext in extensions]
    lap("plan")
    batches = generator.batches(communities, plans, batch_rooms)
    # generate the next batch in a thread while the database stores this one
    pending = asyncio.create_task(asyncio.to_thread(next, batches, None))
    while True:
        batch = await pending
        lap("generate")
        if batch is None:
            break
        pending = asyncio.create_task(asyncio.to_thread(next, batches, None))
        await _store(store, batch)
        lap("insert")
        for ext, ext_rng in zip(extensions, ext_rngs, strict=True):
            await ext.extend(store, batch, ext_rng)
            lap(ext.name)
        summary.landlords += len(batch.landlords)
        summary.properties += len(batch.properties)
        summary.rooms += len(batch.rooms)
        summary.listings += len(batch.listings)
        for prop in batch.properties:
            summary.by_kind[prop["kind"]] = summary.by_kind.get(prop["kind"], 0) + 1
            summary.occupied += prop["occupied_count"]
        summary.vacant += sum(1 for r in batch.rooms if r["status"] == "VACANT")
        log(f"  ... {summary.properties} properties, {summary.rooms} rooms")
    for ext in extensions:
        await ext.finish(store, summary)
        lap(ext.name)
    await ensure_indexes(db, store.engine)
    lap("indexes")
    await summary.counters.store(store)
    lap("counters")
    return summary


# --- command line -------------------------------------------------------------------------


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    settings = load_settings()
    parser = argparse.ArgumentParser(prog="python -m scripts.city", description=__doc__)
    parser.add_argument("--scale", type=float, default=0.1, help="1 = the whole city")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--mongodb-uri", default=settings.effective_mongodb_uri)
    parser.add_argument("--db", default=settings.mongodb_db)
    parser.add_argument("--anchor", type=dt.date.fromisoformat, help="YYYY-MM-DD; default today")
    parser.add_argument("--batch-rooms", type=int, default=20_000)
    args = parser.parse_args(argv)
    args.production = settings.production
    args.own_ferretdb = not settings.mongodb_uri and args.mongodb_uri == (
        settings.effective_mongodb_uri
    )
    args.ferretdb_port = settings.ferretdb_port
    return args


async def _run(args: argparse.Namespace) -> CitySummary:
    client: AsyncMongoClient[Doc] = AsyncMongoClient(args.mongodb_uri, tz_aware=True)
    try:
        anchor = dt.datetime.combine(args.anchor, dt.time(), tzinfo=dt.UTC) if args.anchor else None
        from scripts.city_fire import CityFireSafety  # they build on this module
        from scripts.city_residents import CityResidents

        def log(line: str) -> None:
            print(line, flush=True)

        summary = await build_city(
            client[args.db],
            args.scale,
            args.seed,
            anchor=anchor,
            extensions=[
                CityResidents(anchor=args.anchor, log=log),
                CityFireSafety(anchor=args.anchor, log=log),
            ],
            batch_rooms=args.batch_rooms,
            log=log,
        )
        # the wipe took the first admin with it: restore it, as Anju's start-up would
        settings = load_settings()
        db = client[args.db]
        await ensure_admin(
            Store(db, await detect(db)), settings, Passwords(settings.password_hash_memory_kib)
        )
        return summary
    finally:
        await client.close()


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(argv)
    if args.production:
        print("refusing to wipe a database with ANJU_ENV=production", file=sys.stderr)
        return 2
    ferretdb: Any = None
    if args.own_ferretdb:
        # the development FerretDB of `make run`: start it for the load if it is not running
        from devstack.ferretdb import start_ferretdb
        from devstack.procs import ROOT, port_open, stop

        if not port_open(args.ferretdb_port):
            print(f"starting FerretDB on port {args.ferretdb_port} (.data/ferretdb)", flush=True)
            ferretdb = start_ferretdb(args.ferretdb_port, ROOT / ".data" / "ferretdb")
    try:
        print(f"loading the city into {args.mongodb_uri} db {args.db} (wiped first)", flush=True)
        summary = asyncio.run(_run(args))
        print(summary.report())
        print(f"landlords log in with 17000000001... and the password {CITY_PASSWORD!r}")
    finally:
        if ferretdb is not None:
            stop(ferretdb)
    return 0


if __name__ == "__main__":
    sys.exit(main())
