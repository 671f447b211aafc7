"""What the database engine guarantees, found once at start-up and held by the Store.

Anju is written for MongoDB's guarantees. An engine that lacks one gets it restored by the
store (see app/store/__init__.py); nothing outside app/store/ asks which engine runs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pymongo.asynchronous.database import AsyncDatabase

from app.store.types import Doc

_VERSION = re.compile(r"v?(\d+)\.(\d+)")


@dataclass(frozen=True)
class Engine:
    name: str
    # one document's conditional update (`find_one_and_update({_id, status: A}, ...)`,
    # `$inc`) is atomic: of two concurrent ones exactly one matches, and none is lost
    atomic_updates: bool = True
    # partial (unique) indexes and TTL indexes exist
    partial_indexes: bool = True
    ttl_indexes: bool = True
    # filters other than {_id: x} are served from indexes; where not, a page's documents are
    # read one `_id` at a time rather than with one `$in` (which would read the collection)
    indexed_queries: bool = True
    # a 2dsphere index on listings.geo: `near` becomes $geoWithin
    geo_index: bool = False

    @property
    def emulated(self) -> bool:
        """Whether the store restores guarantees the engine lacks."""
        return not (self.atomic_updates and self.partial_indexes and self.ttl_indexes)


MONGODB = Engine("MongoDB")
# FerretDB v1.24 on SQLite (measured: ../shared/FERRETDB.md): an update is a read, then a
# write of the whole document; no partial or TTL index; only `{_id: x}` is pushed down.
FERRETDB_V1 = Engine(
    "FerretDB v1",
    atomic_updates=False,
    partial_indexes=False,
    ttl_indexes=False,
    indexed_queries=False,
)


def from_build_info(info: Doc) -> Engine:
    """The engine a `buildInfo` answer describes: FerretDB before v2 lacks the guarantees;
    MongoDB, and FerretDB v2 (on PostgreSQL with DocumentDB), have them."""
    ferret = info.get("ferretdbVersion")
    if isinstance(ferret, str):
        match = _VERSION.match(ferret)
        if match is None or int(match.group(1)) < 2:
            return Engine(f"FerretDB {ferret}", **_fields(FERRETDB_V1))
        return Engine(f"FerretDB {ferret}")
    return Engine(f"MongoDB {info.get('version', '?')}")


def _fields(engine: Engine) -> dict[str, bool]:
    return {
        "atomic_updates": engine.atomic_updates,
        "partial_indexes": engine.partial_indexes,
        "ttl_indexes": engine.ttl_indexes,
        "indexed_queries": engine.indexed_queries,
    }


async def detect(db: AsyncDatabase[Doc]) -> Engine:
    engine = from_build_info(await db.command("buildInfo"))
    if engine.indexed_queries:
        # an operator may create the 2dsphere index (README); the box is the default
        async for index in await db.listings.list_indexes():
            if dict(index.get("key", {})).get("geo") == "2dsphere":
                return Engine(engine.name, **_fields(engine), geo_index=True)
    return engine
