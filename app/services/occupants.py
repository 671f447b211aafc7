"""Real-name registration of the people living in a room (实名登记): registered on arrival with
their resident ID number, deregistered on departure, each holding one access card.

One person is a current occupant of one room at a time. That rule lives in a unique index, and
is enforced through inserts (reliable on FerretDB and MongoDB alike): `current_registrations`
holds one document per current occupant, `_id` the keyed hash of their ID number, inserted on
arrival and deleted on departure.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from bson import ObjectId
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from app.db import Doc
from app.errors import Code, Collector, UserInputError
from app.services import cards, idnumbers, stats
from app.services.clock import now
from app.validation import check_phone, clean_text
from app.viewer import Role, Viewer

MAX_OCCUPANTS = 10
MAX_NAME = 50
CARD_NUMBER_TRIES = 5


@dataclass(frozen=True)
class OccupantIn:
    """An occupant as the landlord typed them."""

    name: str
    id_number: str
    phone: str


@dataclass(frozen=True)
class Person:
    """An occupant's checked input: the ID number normalised and valid."""

    name: str
    id_number: str
    phone: str


def check_person(
    errors: Collector, field: Sequence[str], given: OccupantIn, today: dt.date
) -> Person:
    name = clean_text(errors, [*field, "name"], given.name, max_len=MAX_NAME)
    phone = check_phone(errors, [*field, "phone"], given.phone)
    number = idnumbers.normalize(given.id_number)
    why = idnumbers.problem(number, today)
    if why is not None:
        errors.add([*field, "idNumber"], Code.INVALID_ID_NUMBER, why)
    return Person(name, number, phone)


def occupant_doc(
    cipher: idnumbers.IdNumberCipher,
    lease: Doc,
    person: Person,
    *,
    card_number: str,
    valid_from: dt.datetime,
    valid_until: dt.datetime,
    arrived_at: dt.datetime,
    oid: ObjectId | None = None,
    nonce: bytes | None = None,
) -> Doc:
    """An occupant document of `lease`, with a fresh card (the city builds them with this)."""
    return {
        "_id": oid or ObjectId(),
        "lease_id": lease["_id"],
        "room_id": lease["room_id"],
        "property_id": lease["property_id"],
        "landlord_id": lease["landlord_id"],
        "tenant_id": lease["tenant_id"],
        "place": lease["place"],
        "name": person.name,
        "phone": person.phone,
        **cipher.stored_fields(person.id_number, nonce),
        "arrived_at": arrived_at,
        "left_at": None,
        "card": cards.card_doc(card_number, valid_from, valid_until, arrived_at),
        "created_at": arrived_at,
    }


def registration_doc(occupant: Doc) -> Doc:
    return {
        "_id": occupant["id_number_hash"],
        "occupant_id": occupant["_id"],
        "lease_id": occupant["lease_id"],
        "room_id": occupant["room_id"],
        "since": occupant["arrived_at"],
    }


async def _insert_with_card(db: AsyncDatabase[Doc], doc: Doc) -> Doc:
    """Inserts an occupant; a card number already taken (the unique index says so) is drawn
    again."""
    for attempt in range(CARD_NUMBER_TRIES):
        try:
            await db.occupants.insert_one(doc)
            return doc
        except DuplicateKeyError:
            if attempt == CARD_NUMBER_TRIES - 1:
                raise
            doc["card"]["card_number"] = cards.new_card_number()
    raise AssertionError("unreachable")


async def register(
    db: AsyncDatabase[Doc],
    lease: Doc,
    people: Sequence[Person],
    fields: Sequence[Sequence[str]],
    *,
    valid_from: dt.datetime,
    valid_until: dt.datetime,
) -> list[Doc]:
    """Registers each person as a current occupant of the lease's room, each with a new card
    (not yet queued for the doors: the caller enqueues). All or none: a person who is already
    a current occupant somewhere gets ALREADY_REGISTERED at their `fields` entry, and whatever
    this call registered is undone."""
    cipher = idnumbers.cipher()
    at = now()
    docs = [
        occupant_doc(
            cipher,
            lease,
            person,
            card_number=cards.new_card_number(),
            valid_from=valid_from,
            valid_until=valid_until,
            arrived_at=max(at, valid_from),  # a lease starting later: on its first day
        )
        for person in people
    ]
    taken: list[Doc] = []
    inserted: list[Doc] = []
    try:
        for doc, field in zip(docs, fields, strict=True):
            try:
                await db.current_registrations.insert_one(registration_doc(doc))
            except DuplicateKeyError as exc:
                raise UserInputError(
                    "This person is registered as living in another room; they must be "
                    "deregistered there first.",
                    code=Code.ALREADY_REGISTERED,
                    field=list(field),
                ) from exc
            taken.append(doc)
        for doc in docs:
            inserted.append(await _insert_with_card(db, doc))
    except BaseException:
        await _unregister(db, taken, inserted)
        raise
    return docs


async def _unregister(db: AsyncDatabase[Doc], taken: list[Doc], inserted: list[Doc]) -> None:
    if inserted:
        await db.occupants.delete_many({"_id": {"$in": [d["_id"] for d in inserted]}})
    for doc in taken:
        await db.current_registrations.delete_one(
            {"_id": doc["id_number_hash"], "occupant_id": doc["_id"]}
        )


async def deregister(
    db: AsyncDatabase[Doc], occupant: Doc, lease: Doc, at: dt.datetime
) -> tuple[Doc | None, list[str]]:
    """Marks a current occupant departed and revokes their card, in one update; then queues
    the revocation for every door and frees the person to register elsewhere. Returns the
    occupant after it and the card jobs' keys, or (None, []) if they had already left."""
    after = await cards.change_card(
        db,
        {"_id": occupant["_id"], "left_at": None},
        {"revoked_at": at},
        extra={"left_at": at},
    )
    if after is None:
        return None, []
    keys = await cards.enqueue(db, after)
    await db.current_registrations.delete_one(
        {"_id": after["id_number_hash"], "occupant_id": after["_id"]}
    )
    await stats.bump(db, lease["place"], lease["kind"], residents=-1)
    return after, keys


def can_see_occupant(viewer: Viewer, occupant: Doc) -> bool:
    """The landlord and the tenant of the occupant's lease."""
    if viewer.account_id is None:
        return False
    if viewer.role is Role.LANDLORD:
        return bool(occupant.get("landlord_id") == viewer.account_id)
    if viewer.role is Role.TENANT:
        return bool(occupant.get("tenant_id") == viewer.account_id)
    return False


__all__ = [
    "MAX_OCCUPANTS",
    "OccupantIn",
    "Person",
    "can_see_occupant",
    "check_person",
    "deregister",
    "occupant_doc",
    "register",
    "registration_doc",
]
