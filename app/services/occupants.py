"""Real-name registration of the people living in a room (实名登记): registered on arrival with
their resident ID number, deregistered on departure, each holding one access card.

One person is a current occupant of one room at a time: a rule of the store
(`UniqueWhile("one_room_per_person")`: the keyed hash of the ID number is unique among
current occupants), kept by the insert that registers them. The refusal (ALREADY_REGISTERED)
tells a landlord that an ID number is registered somewhere in the city; where that is another
landlord's registration, each such answer is audited and counted against the landlord
(ANJU_REGISTRATION_PROBES_PER_DAY; RATE_LIMITED past it), so the register cannot be probed.
Everything that changes a lease's occupants (and so their cards) holds the lease's claim
(card_outbox.lease_claim), released before the gateway is called.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from bson import ObjectId

from app.clock import now, today
from app.deps import Deps
from app.errors import Code, Collector, NotFoundError, RateLimitedError, UserInputError
from app.services import audit, cards, idnumbers, rate_limits, stats
from app.services.card_outbox import CardOutbox, lease_claim
from app.store import Doc, Store
from app.validation import check_phone, clean_text
from app.viewer import Role, Viewer

MAX_OCCUPANTS = 10
MAX_NAME = 50
CARD_NUMBER_TRIES = 5
OCCUPANT_ORDER = [("arrived_at", 1), ("_id", 1)]


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
    errors: Collector, field: Sequence[str], given: OccupantIn, day: dt.date
) -> Person:
    name = clean_text(errors, [*field, "name"], given.name, max_len=MAX_NAME)
    phone = check_phone(errors, [*field, "phone"], given.phone)
    number = idnumbers.normalize(given.id_number)
    why = idnumbers.problem(number, day)
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
        "current": True,
        "card": cards.card_doc(card_number, valid_from, valid_until, arrived_at),
        "created_at": arrived_at,
    }


def can_see_occupant(viewer: Viewer, occupant: Doc) -> bool:
    """The landlord and the tenant of the occupant's lease."""
    if viewer.account_id is None:
        return False
    if viewer.role is Role.LANDLORD:
        return bool(occupant.get("landlord_id") == viewer.account_id)
    if viewer.role is Role.TENANT:
        return bool(occupant.get("tenant_id") == viewer.account_id)
    return False


async def current_occupants(store: Store, lease_id: ObjectId) -> list[Doc]:
    return await store.occupants.find(
        {"lease_id": lease_id, "current": True}, sort=OCCUPANT_ORDER
    ).to_list(None)


def _already_registered(field: Sequence[str]) -> UserInputError:
    return UserInputError(
        "This person is registered as living in another room; they must be deregistered "
        "there first.",
        code=Code.ALREADY_REGISTERED,
        field=list(field),
    )


class _CardNumberTaken(UserInputError):
    pass


async def _insert(outbox: CardOutbox, doc: Doc, field: Sequence[str]) -> list[str]:
    """Registers one occupant, its card's door jobs queued first (a card number already
    taken is drawn again). Returns the jobs' keys."""
    refusals = {
        "one_room_per_person": _already_registered(field),
        "card_number_unique": _CardNumberTaken("card number taken"),
    }
    for _ in range(CARD_NUMBER_TRIES):
        keys = await outbox.intend(doc)
        try:
            await outbox.store.insert_unique("occupants", doc, refusals)
            return keys
        except _CardNumberTaken:
            doc["card"]["card_number"] = cards.new_card_number()
    raise UserInputError("No free card number; try again.", code=Code.BUSY)


async def _refused_as_registered(
    deps: Deps, lease: Doc, doc: Doc, refusal: UserInputError
) -> UserInputError:
    """ALREADY_REGISTERED for `doc`'s person, unless the answer would reveal another
    landlord's registration once too often: those answers are audited and counted per
    landlord a day, and past the limit the landlord gets RATE_LIMITED instead."""
    store, settings = deps.store, deps.settings
    holder = await store.occupants.find_one(
        {"id_number_hash": doc["id_number_hash"], "current": True}, {"landlord_id": 1}
    )
    if holder is None or holder.get("landlord_id") == lease["landlord_id"]:
        return refusal  # their own registration (or gone since): nothing revealed
    limited: RateLimitedError | None = None
    try:
        await rate_limits.hit(
            store,
            settings,
            "registration-probe",
            str(lease["landlord_id"]),
            limit=settings.registration_probes_per_day,
            window_s=24 * 3600,
        )
    except RateLimitedError as error:
        limited = error
    await audit.record(
        store,
        lease["landlord_id"],
        "occupant.registered_elsewhere",
        target=doc["id_number_masked"],
        details={"leaseId": str(lease["_id"]), "rateLimited": limited is not None},
    )
    if limited is not None:
        # a refusal like the other (so a lease start is undone the same way), in userErrors
        return UserInputError(
            "Too many registrations refused today as registered elsewhere; try again "
            "tomorrow or ask the police station.",
            code=Code.RATE_LIMITED,
            field=refusal.field,
        )
    return refusal


async def register(
    deps: Deps,
    lease: Doc,
    people: Sequence[Person],
    fields: Sequence[Sequence[str]],
    *,
    valid_from: dt.datetime,
    valid_until: dt.datetime,
) -> tuple[list[Doc], list[str]]:
    """Registers each person as a current occupant of the lease's room, each with a new card
    whose door jobs are queued first (the caller runs them: `outbox.apply_now` with the keys
    returned, once it is done). All or none: a person who is already
    a current occupant somewhere gets ALREADY_REGISTERED at their `fields` entry, and whatever
    this call registered is undone (a refusal that reveals another landlord's registration is
    counted and audited: `_refused_as_registered`)."""
    store = deps.store
    cipher = idnumbers.cipher(deps.settings)
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
    inserted: list[Doc] = []
    keys: list[str] = []
    try:
        for doc, field in zip(docs, fields, strict=True):
            try:
                keys += await _insert(deps.outbox, doc, field)
            except UserInputError as error:
                if error.code != Code.ALREADY_REGISTERED:
                    raise
                raise await _refused_as_registered(deps, lease, doc, error) from error
            inserted.append(doc)
    except BaseException:
        if inserted:
            await store.occupants.delete_many({"_id": {"$in": [d["_id"] for d in inserted]}})
        raise
    return docs, keys


async def deregister(
    deps: Deps, occupant: Doc, lease: Doc, at: dt.datetime
) -> tuple[Doc | None, list[str]]:
    """Marks a current occupant departed and revokes their card, in one update (which also
    frees the person to register elsewhere), its revocation queued for every door first.
    Returns the occupant after it and the card jobs' keys, or (None, []) if they had left."""
    after, keys = await deps.outbox.change_card(
        occupant,
        {"revoked_at": at},
        extra={"left_at": at, "current": False},
        where={"current": True},
    )
    if after is None:
        return None, []
    await stats.bump(deps.store, lease["place"], lease["kind"], residents=-1)
    return after, keys


async def register_occupant(
    deps: Deps, viewer: Viewer, lease_id: ObjectId, given: OccupantIn
) -> Doc:
    """LANDLORD: someone moving in later; their card goes on the doors."""
    from app.services.leases import check_running, owned_lease

    landlord_id = viewer.require(Role.LANDLORD)
    errors = Collector()
    person = check_person(errors, ["occupant"], given, today())
    errors.raise_if_any()
    store = deps.store
    await owned_lease(store, viewer, lease_id)
    async with store.claimed(lease_claim(lease_id)):
        lease = await owned_lease(store, viewer, lease_id)
        check_running(lease)
        present = await store.occupants.count_documents({"lease_id": lease_id, "current": True})
        if present >= MAX_OCCUPANTS:
            raise UserInputError(
                f"A lease has at most {MAX_OCCUPANTS} current occupants.",
                code=Code.OUT_OF_RANGE,
                field=["occupant"],
            )
        valid_from, valid_until = cards.lease_window(lease["start_date"], lease["end_date"])
        # someone moving in later holds a card from now (to the second: the gateway's unit)
        valid_from = max(valid_from, now().replace(microsecond=0))
        (doc,), keys = await register(
            deps,
            lease,
            [person],
            [["occupant", "idNumber"]],
            valid_from=valid_from,
            valid_until=valid_until,
        )
        await stats.bump(store, lease["place"], lease["kind"], residents=1)
        await audit.record(
            store,
            landlord_id,
            "occupant.register",
            target=("Occupant", doc["_id"]),
            details={"leaseId": str(lease_id)},
        )
    await deps.outbox.apply_now(keys)
    return doc


async def deregister_occupant(deps: Deps, viewer: Viewer, occupant_id: ObjectId) -> Doc:
    """LANDLORD: someone has left; their card is revoked at once. Idempotent: a departed
    occupant comes back as is."""
    landlord_id = viewer.require(Role.LANDLORD)
    store = deps.store
    found = await store.find_by_id("occupants", occupant_id, landlord_id=landlord_id)
    if found is None:
        raise NotFoundError("Occupant", field=["occupantId"])
    async with store.claimed(lease_claim(found["lease_id"])):
        doc = await store.occupants.find_one({"_id": occupant_id})
        if doc is None or not doc["current"]:
            return doc or found
        lease = await store.leases.find_one({"_id": doc["lease_id"]})
        assert lease is not None
        after, keys = await deregister(deps, doc, lease, now())
        await audit.record(
            store,
            landlord_id,
            "occupant.deregister",
            target=("Occupant", occupant_id),
            details={"leaseId": str(lease["_id"])},
        )
    await deps.outbox.apply_now(keys)
    return after or doc
