"""The Store: the database as the services use it (see app/store/__init__.py for the
guarantees it keeps on each engine)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import re
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bson import ObjectId
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from app.clock import now
from app.errors import AnjuError, Code, UserInputError
from app.store.engine import Engine
from app.store.indexes import INDEXES, UniqueWhile, ttl_fields, unique_while
from app.store.paging import COUNT_CAP, Page, SortSpec, paginate
from app.store.shadow import ShadowedCollection
from app.store.types import Doc

# A claim lives this long unless its holder renews it (every third of it, while held): a
# crashed holder blocks others for at most this long.
CLAIM_TTL = dt.timedelta(seconds=6)
CLAIM_WAIT_S = 10.0
_DUP_INDEX = re.compile(r"index: (\S+) dup key")


@dataclass
class Claim:
    name: str
    token: ObjectId
    renewal: asyncio.Task[None] | None = None


def busy() -> UserInputError:
    return UserInputError(
        "Someone else is changing this right now; try again in a moment.", code=Code.BUSY
    )


class Store:
    """The collections (`store.leases`, `store["leases"]`) and what MongoDB guarantees
    about them, on every engine."""

    def __init__(self, db: AsyncDatabase[Doc], engine: Engine, count_cap: int = COUNT_CAP) -> None:
        self.db = db
        self.engine = engine
        # totals of pages are counted this far (ANJU_COUNT_CAP)
        self.count_cap = count_cap
        self._collections: dict[str, AsyncCollection[Doc]] = {}

    def __getitem__(self, name: str) -> AsyncCollection[Doc]:
        collection = self._collections.get(name)
        if collection is None:
            rules = unique_while(name)
            if rules and not self.engine.partial_indexes:
                shadowed = ShadowedCollection(self.db, name)
                shadowed.rules = tuple(rules)
                collection = shadowed
            else:
                collection = self.db[name]
            self._collections[name] = collection
        return collection

    def __getattr__(self, name: str) -> AsyncCollection[Doc]:
        if name.startswith("_"):
            raise AttributeError(name)
        return self[name]

    # --- read-decide-write of one document ---------------------------------------------------

    @contextlib.asynccontextmanager
    async def exclusive(self, name: str, *, wait_s: float = CLAIM_WAIT_S) -> AsyncIterator[None]:
        """Around a read-decide-write of one document (`name` names it), whose write is a
        conditional update. Where updates are atomic (MongoDB) the condition is the guard
        and this does nothing; elsewhere (FerretDB v1) it holds the document's claim, so
        one such section runs at a time. BUSY after `wait_s`."""
        if self.engine.atomic_updates:
            yield
            return
        async with self.claimed(f"exclusive:{name}", wait_s=wait_s):
            yield

    # --- claims: a unit of work held by one caller at a time -----------------------------------

    async def claim(self, name: str, ttl: dt.timedelta = CLAIM_TTL) -> Claim | None:
        """Takes the claim `name`, or None while someone else holds it. An insert of
        `{_id: name}` (exclusive on every engine), renewed every third of `ttl` until
        released; a claim left by a crash expires after `ttl` and is taken over."""
        token = ObjectId()
        for _ in range(2):
            at = now()
            try:
                await self.claims.insert_one(
                    {"_id": name, "token": token, "expires_at": at + ttl, "created_at": at}
                )
                claim = Claim(name, token)
                claim.renewal = asyncio.create_task(self._renew(claim, ttl))
                return claim
            except DuplicateKeyError:
                other = await self.claims.find_one({"_id": name})
                if other is None:
                    continue  # released meanwhile: once more
                if other["expires_at"] >= at:
                    return None
                await self.claims.delete_one({"_id": name, "token": other["token"]})
        return None

    async def _renew(self, claim: Claim, ttl: dt.timedelta) -> None:
        while True:
            await asyncio.sleep(ttl.total_seconds() / 3)
            with contextlib.suppress(Exception):  # a failed renewal: the next one may work
                await self.claims.update_one(
                    {"_id": claim.name, "token": claim.token}, {"$set": {"expires_at": now() + ttl}}
                )

    async def release(self, claim: Claim) -> None:
        if claim.renewal is not None:
            claim.renewal.cancel()
        await self.claims.delete_one({"_id": claim.name, "token": claim.token})

    @contextlib.asynccontextmanager
    async def claimed(
        self, name: str, *, ttl: dt.timedelta = CLAIM_TTL, wait_s: float = CLAIM_WAIT_S
    ) -> AsyncIterator[Claim]:
        """Holds the claim `name`, waiting up to `wait_s` for it (then BUSY): for work that
        spans documents or calls out, on every engine (a lease and its occupants; one card
        at one door)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait_s
        pause = 0.005
        while (held := await self.claim(name, ttl)) is None:
            if loop.time() >= deadline:
                raise busy()
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.05)
        try:
            yield held
        finally:
            await self.release(held)

    # --- unique inserts --------------------------------------------------------------------

    async def insert_unique(
        self, collection: str, doc: Doc, error: AnjuError | Mapping[str, AnjuError]
    ) -> Doc:
        """Inserts `doc`; a unique index refusing it raises `error` (or, given one error per
        index name, the one of the index that refused)."""
        try:
            await self[collection].insert_one(doc)
        except DuplicateKeyError as exc:
            if isinstance(error, AnjuError):
                raise error from exc
            index = duplicate_index(exc) or await self._refusing_index(collection, doc)
            if index is not None and index in error:
                raise error[index] from exc
            raise
        return doc

    async def _refusing_index(self, collection: str, doc: Doc) -> str | None:
        """Which unique index holds `doc`'s key already, for an engine whose duplicate-key
        error does not name it (FerretDB v1): a look-up per unique index, rare by nature."""
        for declared in INDEXES.get(collection, []):
            if isinstance(declared, UniqueWhile):
                if doc.get(declared.field) != declared.value:
                    continue
                where = {declared.key: doc.get(declared.key), declared.field: declared.value}
                name = declared.name
            elif declared.document.get("unique"):
                where = {key: _get(doc, key) for key in declared.document["key"]}
                name = declared.document["name"]
            else:
                continue
            if await self[collection].find_one({**where, "_id": {"$ne": doc["_id"]}}, {"_id": 1}):
                return str(name)
        return None

    async def insert_once(self, collection: str, doc: Doc) -> bool:
        """Inserts `doc` unless a unique index already holds its key (its `_id`, an
        idempotency key, a notification's key): True if this call inserted it."""
        try:
            await self[collection].insert_one(doc)
        except DuplicateKeyError:
            return False
        return True

    # --- reads ------------------------------------------------------------------------------

    async def find_by_id(
        self,
        collection: str,
        oid: Any,
        projection: Mapping[str, int] | None = None,
        **must: Any,
    ) -> Doc | None:
        """The document with this `_id` if each field in `must` equals the value given (its
        owner, its kind), else None. Read by `_id` alone and compared here: on MongoDB the
        same index serves either form, and `{_id: x}` is the one filter FerretDB v1 answers
        without reading the whole collection."""
        if projection is not None:
            projection = {**projection, **dict.fromkeys(must, 1)}
        doc = await self[collection].find_one({"_id": oid}, projection)
        if doc is None or any(doc.get(name) != value for name, value in must.items()):
            return None
        return doc

    async def find_by_ids(self, collection: str, ids: Sequence[Any]) -> dict[Any, Doc]:
        """The documents with these `_id`s, by `_id` (missing ones left out): one `$in`, or
        on an engine that serves only `{_id: x}` from an index, each by `_id`, at once."""
        distinct = list(dict.fromkeys(ids))
        if not distinct:
            return {}
        coll = self[collection]
        if not self.engine.indexed_queries or len(distinct) == 1:
            found = await asyncio.gather(*(coll.find_one({"_id": i}) for i in distinct))
            return {doc["_id"]: doc for doc in found if doc is not None}
        return {doc["_id"]: doc async for doc in coll.find({"_id": {"$in": distinct}})}

    async def page(
        self,
        collection: str,
        query: Mapping[str, Any],
        sort: SortSpec,
        *,
        first: int | None,
        after: str | None,
        last: int | None = None,
        before: str | None = None,
        default_first: int = 20,
        with_total: bool = False,
    ) -> Page:
        """One keyset page of `query` in `sort` order (app/store/paging.py), forward or (with
        `last`, `before`) backward, its total counted up to the store's cap."""
        return await paginate(
            self[collection],
            query,
            sort,
            first=first,
            after=after,
            last=last,
            before=before,
            default_first=default_first,
            with_total=with_total,
            count_cap=self.count_cap,
        )

    # --- expiry ----------------------------------------------------------------------------

    async def expire(self) -> int:
        """Removes what TTL indexes would have removed, on an engine without them; a no-op
        on MongoDB. Returns how many documents went."""
        removed = 0
        at = now()
        for collection, field, seconds in ttl_fields(self.engine):
            cutoff = at - dt.timedelta(seconds=seconds)
            result = await self[collection].delete_many({field: {"$lt": cutoff}})
            removed += result.deleted_count
        return removed


def _get(doc: Doc, dotted: str) -> Any:
    value: Any = doc
    for part in dotted.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def duplicate_index(exc: DuplicateKeyError) -> str | None:
    """The name of the unique index that refused a write."""
    match = _DUP_INDEX.search(str(exc.details.get("errmsg", "") if exc.details else exc))
    return match.group(1) if match else None
