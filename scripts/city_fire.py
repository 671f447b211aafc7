"""Fire-safety inspections and hazards for the synthetic city (scripts/city.py), in plausible
proportions, stored as the services store them (app/services/inspections.py, hazards.py).

One fire-brigade responder per town (phones 16000000001...; the city password). About a third
of the properties were inspected in the year before the anchor, a few of them twice; an
inspection fails none to three checklist items (fewer in apartment buildings), each with a
hazard due 7 to 30 days on. A hazard whose deadline passed was mostly rectified (reported by
the landlord, verified by the responder, 1 to 40 days after it was found); the rest are
overdue and escalated. One still within its deadline is open, reported, or already rectified.
Notices were sent as the safety worker would have (the DUE and OVERDUE marks set), so loading
a city sends no storm of old notices. Not made: Anju's own hazards (the safety worker opens
them from the devices and rooms), notifications. Reproducible from the extension's own seed.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from bson import ObjectId

from app.passwords import Passwords
from app.services import hazard_deadlines, hazards
from app.services.notifications import LOCAL_TZ
from app.store import Doc, Store
from app.viewer import place_keys
from scripts.city import CITY_PASSWORD, CityBatch, CitySummary, _ms, _oid, _person

INSPECTED = 0.33
TWICE = 0.15
FAILED_ITEMS = {
    "APARTMENT_BUILDING": ((0, 60), (1, 28), (2, 9), (3, 3)),
    "FIRST_HAND": ((0, 45), (1, 32), (2, 16), (3, 7)),
    "SECOND_HAND": ((0, 35), (1, 33), (2, 21), (3, 11)),
}
# the items that fail most in rented rooms: e-bikes, blocked routes, wiring, extinguishers
ITEM_WEIGHTS = (3, 8, 7, 2, 8, 2, 2, 14, 6, 5, 9)
SEVERITIES = (("LOW", 20), ("MEDIUM", 45), ("HIGH", 28), ("CRITICAL", 7))
DEADLINE_DAYS = (7, 15, 15, 30)
TEXT = {
    "RESPONSIBILITY_SYSTEM": "未落实消防安全责任制",
    "EXITS_CLEAR": "安全出口堆放杂物",
    "EVACUATION_ROUTES_CLEAR": "疏散通道堵塞",
    "FIRE_LANE_CLEAR": "消防车通道被占用",
    "EXTINGUISHERS_WORKING": "灭火器过期或压力不足",
    "HYDRANTS_WORKING": "消火栓无水",
    "AUTOMATIC_EQUIPMENT_WORKING": "自动报警系统故障",
    "NO_EBIKES_INDOORS": "楼道内停放电动自行车并充电",
    "SMOKE_DETECTORS_IN_EVERY_ROOM": "部分房间未安装烟感",
    "ESCAPE_WINDOWS": "窗户加装固定防盗窗",
    "WIRING_SAFE": "私拉乱接电线",
}
CHUNK = 5000


@dataclass
class CityFireSafety:
    log: Callable[[str], None] = lambda line: None
    name: str = "fire"
    anchor: dt.date | None = None
    inspections: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    _responders: dict[str, Doc] = field(default_factory=dict)
    _password_hash: str | None = None

    def _now(self) -> dt.datetime:
        day = self.anchor or dt.datetime.now(dt.UTC).date()
        return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)

    def _responder(self, town: str, rng: random.Random, made: list[Doc]) -> Doc:
        if town not in self._responders:
            at = self._now() - dt.timedelta(days=400)
            doc = {
                "_id": _oid(rng, at),
                "role": "RESPONDER",
                "name": f"{_person(rng)} ({town}消防救援)",
                "phone": f"16{len(self._responders) + 1:09d}",
                "password_hash": self._password_hash,
                "scope": {"town": town},
                "status": "ACTIVE",
                "phone_verified_at": None,
                "created_at": at,
            }
            self._responders[town] = doc
            made.append(doc)
        return self._responders[town]

    async def extend(self, store: Store, batch: CityBatch, rng: random.Random) -> None:
        if self._password_hash is None:
            # the city's one password: its landlords' hash (argon2 takes a while), else a new one
            known = next((a["password_hash"] for a in batch.landlords), None)
            self._password_hash = known or await Passwords().hash(CITY_PASSWORD)
        rooms: dict[ObjectId, list[Doc]] = defaultdict(list)
        for room in batch.rooms:
            rooms[room["property_id"]].append(room)
        made: dict[str, list[Doc]] = {"accounts": [], "inspections": [], "hazards": []}
        for prop in batch.properties:
            if rng.random() >= INSPECTED:
                continue
            inspector = self._responder(prop["place"]["town"], rng, made["accounts"])
            for _ in range(2 if rng.random() < TWICE else 1):
                self._inspect(rng, prop, rooms[prop["_id"]], inspector, made)
        for name, docs in made.items():
            for i in range(0, len(docs), CHUNK):
                await store[name].insert_many(docs[i : i + CHUNK], ordered=False)

    def _inspect(
        self,
        rng: random.Random,
        prop: Doc,
        rooms: list[Doc],
        inspector: Doc,
        made: dict[str, list[Doc]],
    ) -> None:
        now = self._now()
        # an evening in the city (UTC+8), within the year before the anchor
        at = _ms(now - dt.timedelta(days=rng.randint(1, 360), hours=rng.uniform(2, 6)))
        counts, weights = zip(*FAILED_ITEMS[prop["kind"]], strict=True)
        failed = set()
        for _ in range(rng.choices(counts, weights)[0]):
            failed.add(rng.choices(hazards.ITEMS, ITEM_WEIGHTS)[0])
        inspection_id = _oid(rng, at)
        day = at.astimezone(LOCAL_TZ).date()
        found = [
            self._hazard(rng, prop, rooms, inspector, inspection_id, item, at, day)
            for item in hazards.ITEMS
            if item in failed
        ]
        self.inspections += 1
        made["hazards"] += found
        made["inspections"].append(
            {
                "_id": inspection_id,
                "property_id": prop["_id"],
                "landlord_id": prop["landlord_id"],
                "place": prop["place"],
                "scope_keys": place_keys(prop["place"]),
                "inspected_at": at,
                "recorded_by": inspector["_id"],
                "inspectors": [inspector["_id"]],
                "findings": [
                    {"item": i, "passed": i not in failed, "note": None, "photo_ids": []}
                    for i in hazards.ITEMS
                ],
                "actions": ["ORDER_TO_RECTIFY"] if found else [],
                "hazard_ids": [h["_id"] for h in found],
                "note": None,
                "rooms": [],
                "photos": [],
                "created_at": at,
            }
        )

    def _hazard(
        self,
        rng: random.Random,
        prop: Doc,
        rooms: list[Doc],
        inspector: Doc,
        inspection_id: ObjectId,
        item: str,
        at: dt.datetime,
        day: dt.date,
    ) -> Doc:
        now = self._now()
        names, weights = zip(*SEVERITIES, strict=True)
        room = rng.choice(rooms) if rooms and item in ("ESCAPE_WINDOWS", "WIRING_SAFE") else None
        doc = hazards.hazard_doc(
            prop,
            source=hazards.INSPECTION,
            item=item,
            description=TEXT[item] + "。",
            severity=rng.choices(names, weights)[0],
            deadline=day + dt.timedelta(days=rng.choice(DEADLINE_DAYS)),
            room_id=room["_id"] if room else None,
            inspection_id=inspection_id,
            found_by=inspector["_id"],
            hazard_id=_oid(rng, at),
        )
        doc |= {"found_at": at, "created_at": at, "updated_at": at}
        doc["history"][0]["at"] = at
        passed = now >= doc["due_at"]
        roll = rng.random()
        if (passed and roll < 0.85) or (not passed and roll < 0.2):
            latest = min(now, doc["due_at"] + dt.timedelta(days=10)) - at
            done = _ms(at + rng.uniform(0.1, 1.0) * latest)
            reported = _ms(done - (done - at) * 0.2)
            doc["history"] += [
                self._entry(reported, prop["landlord_id"], hazards.REPORTED, "已整改。"),
                self._entry(done, inspector["_id"], hazards.RECTIFIED, "复查合格。"),
            ]
            doc |= hazards.rectified_fields(doc, done) | {"reported_at": reported}
        elif not passed and roll < 0.4:
            reported = _ms(at + (now - at) * rng.uniform(0.2, 0.9))
            doc["history"].append(
                self._entry(reported, prop["landlord_id"], hazards.REPORTED, "已整改, 请复查。")
            )
            doc |= {"status": hazards.REPORTED, "reported_at": reported, "updated_at": reported}
        notices = {
            "due": doc["deadline"] if now >= doc["remind_at"] else None,
            "overdue": doc["deadline"] if passed else None,
        }
        if passed and doc["status"] != hazards.RECTIFIED:
            doc["escalated_at"] = doc["due_at"]
            doc["history"].append(
                self._entry(doc["due_at"], None, doc["status"], hazard_deadlines.ESCALATED)
            )
        doc["notices"] = notices
        doc["next_check_at"] = hazards.next_check_at(doc)
        doc["version"] = len(doc["history"])
        self.statuses[doc["status"] + (" overdue" if hazards.is_overdue(doc, now) else "")] += 1
        return doc

    @staticmethod
    def _entry(at: dt.datetime, by: ObjectId | None, status: str, note: str) -> Doc:
        return {"at": at, "by": by, "status": status, "note": note, "photo_ids": []}

    async def finish(self, store: Store, summary: CitySummary) -> None:
        self.log(
            f"  {self.inspections} inspections by {len(self._responders)} responders; hazards: "
            + ", ".join(f"{n} {s.lower()}" for s, n in sorted(self.statuses.items()))
        )
