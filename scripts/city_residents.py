"""The city's leases and residents: a `CityExtension` of scripts/city.py.

Every OCCUPIED room gets an ACTIVE lease running at the anchor date (terms of 6 to 36 months,
started up to a term before the anchor) with a tenant account (phones 18000000001, ...; the
city password) and 1 to 6 registered occupants, the tenant first: about 2.8 per occupied room,
1.3 million residents at SCALE=1. Each occupant has a valid resident ID number (unique; 60% of
Zhejiang, the rest of the provinces migrant workers in 温岭 come from), stored as the services
store it (encrypted under ANJU_ID_NUMBER_KEY, keyed hash, masked), and an access card. The
documents are made by the services' own helpers (`lease_terms.lease_doc`, `occupants.occupant_doc`)
and written through the store (app/store), as the services write them.

Each lease has its invoices, one per month of its term as the API makes them
(`invoices.invoice_docs`); of those due before the anchor 90% were paid in full and 4% half,
each by one payment the landlord recorded (cash or bank transfer, shaped as
`payments.new_payment_doc` makes it, credited to the invoice), and 6% are overdue.
Not made: card jobs (the city has no doors), and ended leases.
Reproducible: everything, the encryption nonces included, is drawn from the extension's own
seeded generator (never do that with real data: a nonce must be random).
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from app.passwords import Passwords
from app.services import cards, idnumbers, invoices, lease_terms, occupants, payments
from app.settings import Settings, load_settings
from app.store import Doc, Store
from scripts.city import CITY_PASSWORD, CityBatch, CitySummary, _ms, _oid, _person

# How many people live in an occupied room (mean 2.77: 1.3 million in the city's ~470,000).
HOUSEHOLD = ((1, 17), (2, 28), (3, 28), (4, 16), (5, 7), (6, 4))
TERMS_MONTHS = ((6, 20), (12, 55), (24, 18), (36, 7))
# Region codes (GB/T 2260): Zhejiang's counties first (温岭 331081), then where migrant
# workers come from (贵州, 四川, 安徽, 江西, 河南, 湖南, 云南, 重庆, 湖北, 广西).
REGIONS = (
    "331081", "331082", "331002", "331003", "331004", "331022", "331023", "331024",
    "330102", "330106", "330203", "330302", "330381", "330382", "330402", "330502",
    "330602", "330702", "330782", "330802", "330902", "331102", "330108", "330304",
    "520102", "520203", "522601", "510107", "511304", "513401", "340102", "341221",
    "360102", "362201", "410102", "411302", "430102", "530102", "500101", "420102",
)  # fmt: skip
BIRTH_FROM = dt.date(1960, 1, 1)
BIRTH_DAYS = (dt.date(2007, 12, 31) - BIRTH_FROM).days + 1
ID_SPACE = len(REGIONS) * BIRTH_DAYS * 1000
# n -> n * step + offset (mod ID_SPACE) is a bijection when step and ID_SPACE are coprime; a
# step near ID_SPACE times the golden ratio scatters consecutive residents over the space
_ID_STEP = next(
    s for s in range(int(ID_SPACE * 0.6180339887), ID_SPACE) if math.gcd(s, ID_SPACE) == 1
)
CHUNK = 5000


def id_number_of(n: int, offset: int) -> str:
    """The n-th city resident's ID number: an affine permutation of the space of (region,
    birth date, sequence) triples, so that every resident has a different one."""
    m = (n * _ID_STEP + offset) % ID_SPACE
    m, seq = divmod(m, 1000)
    region, day = divmod(m, BIRTH_DAYS)
    born = BIRTH_FROM + dt.timedelta(days=day)
    return idnumbers.with_check_digit(f"{REGIONS[region]}{born:%Y%m%d}{seq:03d}")


# Of the invoices due before the anchor: paid in full, paid half, not paid (overdue).
PAID_IN_FULL, PAID_HALF = 0.90, 0.04


def _paid(rng: random.Random, lease: Doc, invoice: Doc, anchor: dt.date) -> Doc | None:
    """The landlord's recorded payment of an invoice due before the anchor, credited to it
    (the invoice's ledger fields change to match), or None if it is not due or not paid."""
    if invoice["due_date"] >= anchor.isoformat():
        return None
    roll = rng.random()
    if roll >= PAID_IN_FULL + PAID_HALF:
        return None
    amount = invoice["amount_fen"] if roll < PAID_IN_FULL else invoice["amount_fen"] // 2
    due = dt.datetime.fromisoformat(invoice["due_date"]).replace(tzinfo=dt.UTC)
    at = _ms(due - dt.timedelta(days=rng.randint(0, 5), minutes=rng.randint(-600, 600)))
    method = rng.choice(sorted(payments.OFFLINE_METHODS))
    payment = payments.new_payment_doc(
        lease["landlord_id"], f"city-{invoice['_id']}", invoice, amount, method, None
    )
    payment |= {
        "_id": _oid(rng, at),
        "status": payments.SUCCEEDED,
        "applied": True,
        "created_at": at,
        "updated_at": at,
        "paid_at": at,
    }
    invoice |= {
        "paid_fen": amount,
        "open_fen": invoice["amount_fen"] - amount,
        "credited_payment_ids": [payment["_id"]],
    }
    return payment


def _months_later(day: dt.date, months: int) -> dt.date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return day.replace(year=year, month=month, day=min(day.day, 28))


@dataclass
class CityResidents:
    """Leases, tenants and occupants for the OCCUPIED rooms of each city batch."""

    settings: Settings = field(default_factory=load_settings)
    log: Callable[[str], None] = lambda line: None
    name: str = "residents"
    anchor: dt.date | None = None
    leases: int = 0
    residents: int = 0
    tenants: int = 0
    invoices: int = 0
    payments: int = 0
    _password_hash: str | None = None
    _offset: int | None = None

    async def extend(self, store: Store, batch: CityBatch, rng: random.Random) -> None:
        if self._password_hash is None:
            self._password_hash = await Passwords().hash(CITY_PASSWORD)
        if self._offset is None:
            self._offset = rng.randrange(ID_SPACE)
        cipher = idnumbers.cipher(self.settings)
        made: dict[str, list[Doc]] = {
            "accounts": [],
            "leases": [],
            "occupants": [],
            "invoices": [],
            "payments": [],
        }
        sizes, size_weights = zip(*HOUSEHOLD, strict=True)
        terms, term_weights = zip(*TERMS_MONTHS, strict=True)
        for room in batch.rooms:
            if room["status"] != "OCCUPIED":
                continue
            anchor = self.anchor or dt.datetime.now(dt.UTC).date()
            months = rng.choices(terms, term_weights)[0]
            start = anchor - dt.timedelta(days=rng.randrange(months * 30 - 1))
            end = _months_later(start, months) - dt.timedelta(days=1)
            if end < anchor:
                end = anchor + dt.timedelta(days=rng.randint(1, 60))
            signed = cards.day_start(start) - dt.timedelta(days=rng.randint(1, 10))
            self.tenants += 1
            tenant: Doc = {
                "_id": _oid(rng, signed),
                "role": "TENANT",
                "name": _person(rng),
                "phone": f"18{self.tenants:09d}",
                "password_hash": self._password_hash,
                "scope": None,
                "status": "ACTIVE",
                "phone_verified_at": signed,
                "created_at": signed,
            }
            rent = room["monthly_rent_fen"]
            lease = lease_terms.lease_doc(
                room,
                tenant["_id"],
                start_date=start,
                end_date=end,
                monthly_rent_fen=rent,
                deposit_fen=rent * rng.choice((1, 1, 2, 3)),
                rent_due_day=rng.choice((1, 5, 5, 10, 15, 20, 25, 28)),
                at=signed,
                oid=_oid(rng, signed),
            )
            # invited by phone and accepted when it was signed (app/services/lease_invitations.py)
            lease |= {
                "invited_phone": tenant["phone"],
                "invited_at": signed,
                "invitation_expires_at": signed + dt.timedelta(days=14),
            }
            valid_from, valid_until = cards.lease_window(lease["start_date"], lease["end_date"])
            count = rng.choices(sizes, size_weights)[0]
            for i in range(count):
                hours = rng.randint(8, 12) if i == 0 else rng.randint(13, 48)  # tenant first
                arrived = valid_from + dt.timedelta(hours=hours)
                person = occupants.Person(
                    name=tenant["name"] if i == 0 else _person(rng),
                    id_number=id_number_of(self.residents, self._offset),
                    phone=tenant["phone"] if i == 0 else f"15{self.residents + 1:09d}",
                )
                self.residents += 1
                doc = occupants.occupant_doc(
                    cipher,
                    lease,
                    person,
                    card_number=f"{rng.randrange(10**cards.CARD_DIGITS):0{cards.CARD_DIGITS}d}",
                    valid_from=valid_from,
                    valid_until=valid_until,
                    arrived_at=arrived,
                    oid=_oid(rng, arrived),
                    nonce=rng.randbytes(12),
                )
                made["occupants"].append(doc)
            made["accounts"].append(tenant)
            made["leases"].append(lease)
            for invoice in invoices.invoice_docs(
                lease, start, end, rent, signed, new_id=functools.partial(_oid, rng, signed)
            ):
                made["invoices"].append(invoice)
                payment = _paid(rng, lease, invoice, anchor)
                if payment is not None:
                    made["payments"].append(payment)
            batch.counters.add(room["place"], room["kind"], residents=count)
        self.leases += len(made["leases"])
        self.invoices += len(made["invoices"])
        self.payments += len(made["payments"])
        for name, docs in made.items():
            for i in range(0, len(docs), CHUNK):
                await store[name].insert_many(docs[i : i + CHUNK], ordered=False)

    async def finish(self, store: Store, summary: CitySummary) -> None:
        self.log(
            f"  {self.leases} leases, {self.tenants} tenants, {self.residents} residents "
            f"({self.residents / max(1, self.leases):.2f} per occupied room), "
            f"{self.invoices} invoices, {self.payments} payments"
        )
