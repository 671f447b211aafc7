"""DataLoaders, built per request in the context (a module-level loader would cache for the
life of the server and leak one viewer's data to another).

Each loader batches the keys asked for in one tick into one `$in` query (on FerretDB, `by_id`
reads each key by `_id` instead, at once: see `db.find_by_ids`) and returns results
in key order. Named `XByYLoader` after what they return and what they are keyed by.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from bson import ObjectId
from pymongo.asynchronous.database import AsyncDatabase
from strawberry.dataloader import DataLoader

from app.db import Doc, find_by_ids


def _by_id_loader(
    db: AsyncDatabase[Doc], collection: str, point_lookups: bool
) -> DataLoader[ObjectId, Doc | None]:
    async def load(keys: list[ObjectId]) -> list[Doc | None]:
        found = await find_by_ids(db[collection], keys, point_lookups)
        return [found.get(k) for k in keys]

    return DataLoader(load_fn=load)


def _many_by_loader(
    db: AsyncDatabase[Doc],
    collection: str,
    field: str,
    sort: list[tuple[str, int]],
    extra: Mapping[str, Any] | None = None,
) -> DataLoader[ObjectId, list[Doc]]:
    async def load(keys: list[ObjectId]) -> list[list[Doc]]:
        query: dict[str, Any] = {field: {"$in": list(set(keys))}, **(extra or {})}
        grouped: dict[Any, list[Doc]] = defaultdict(list)
        async for doc in db[collection].find(query, sort=sort):
            grouped[doc[field]].append(doc)
        return [grouped.get(k, []) for k in keys]

    return DataLoader(load_fn=load)


class Loaders:
    """The request's loaders, created on first use."""

    def __init__(self, db: AsyncDatabase[Doc], *, point_lookups: bool = False) -> None:
        self._db = db
        # the database serves only `{_id: x}` from an index (FerretDB v1: see
        # services/listings.detect_capabilities)
        self._point_lookups = point_lookups
        self._made: dict[tuple[Any, ...], DataLoader[Any, Any]] = {}

    def by_id(self, collection: str) -> DataLoader[ObjectId, Doc | None]:
        key = ("id", collection)
        if key not in self._made:
            self._made[key] = _by_id_loader(self._db, collection, self._point_lookups)
        return self._made[key]

    def many_by(
        self,
        collection: str,
        field: str,
        sort: Iterable[tuple[str, int]] = (("_id", 1),),
        extra: Mapping[str, Any] | None = None,
    ) -> DataLoader[ObjectId, list[Doc]]:
        sort_list = list(sort)
        # repr: the extra conditions may hold operators ({"$ne": True}), which do not hash
        key = ("many", collection, field, tuple(sort_list), repr(sorted((extra or {}).items())))
        if key not in self._made:
            self._made[key] = _many_by_loader(self._db, collection, field, sort_list, extra)
        return self._made[key]

    # Named loaders, so resolvers read in the domain's words.
    @property
    def account_by_id(self) -> DataLoader[ObjectId, Doc | None]:
        return self.by_id("accounts")

    @property
    def live_listings_by_room(self) -> DataLoader[ObjectId, list[Doc]]:
        """A room's live listing (none or one): `live_key` is the room's id while live."""
        return self.many_by("listings", "live_key")
