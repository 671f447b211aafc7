"""The database engine, in one place.

Anju's rules rest on what MongoDB guarantees. The services are written as if the engine were
MongoDB; this package finds out at start-up what the engine really does (`Engine`, from its
`buildInfo`) and restores, on an engine that lacks it, each guarantee below. Nothing outside
this package asks which engine runs.

Per guarantee the services rely on: what MongoDB (and FerretDB v2) does, and what is done
here on FerretDB v1 (SQLite), which lacks it.

- A conditional update of one document is atomic (`exclusive(name)` around a
  read-decide-write). MongoDB: native; `exclusive` does nothing and the update's condition is
  the guard. FerretDB v1: an update is a read then a whole-document write, so `exclusive`
  holds the document's claim and one such section runs at a time.
- A unique index refuses a second document (`insert_unique`, `insert_once`). Native on both
  for inserts (on FerretDB an update's duplicate is an internal error: unique keys are
  written by inserts).
- A partial unique index (`UniqueWhile`: one live listing per room, one active lease per
  room, one current registration per person, one open alarm per detector). MongoDB: native.
  FerretDB v1: a shadow field under a plain unique index (shadow.py).
- A TTL index removes expired documents (claims, snapshots). MongoDB: native. FerretDB v1:
  `Store.expire()`, run by a background pass.
- A named unit of work is held by one caller at a time (`claim`, `claimed`: one card at one
  door, a lease and its occupants, one payment at the provider, one webhook event). On every
  engine an insert of `{_id: name}` into `claims`; an expired claim (a crashed holder's) is
  taken over.
- Reads by `_id` are cheap (`find_by_id`, `find_by_ids`, `page`). MongoDB: one `$in` for
  many ids. FerretDB v1 serves only `{_id: x}` without a scan: many ids are read one by one,
  at once.

Layout: engine.py (what the engine does), indexes.py (the declared indexes and rules),
shadow.py (partial unique indexes emulated), paging.py (keyset pages), client.py (the client
and the per-request command count), store.py (the Store).
"""

from __future__ import annotations

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase

from app.store.client import RoundTrips, current_round_trips, make_client, ping, uncounted
from app.store.engine import Engine, detect
from app.store.indexes import INDEXES, UniqueWhile, ensure_indexes
from app.store.paging import (
    COUNT_CAP,
    MAX_FIRST,
    Page,
    SortSpec,
    Window,
    check_first,
    count_up_to,
    page_of_sorted,
    sort_docs,
)
from app.store.store import Claim, Store, busy, duplicate_index
from app.store.types import Doc


async def open_store(db: AsyncDatabase[Doc], *, count_cap: int = COUNT_CAP) -> Store:
    """The store over `db`: its engine found and its indexes ensured."""
    engine = await detect(db)
    await ensure_indexes(db, engine)
    return Store(db, engine, count_cap)


__all__ = [
    "ASCENDING",
    "COUNT_CAP",
    "DESCENDING",
    "INDEXES",
    "MAX_FIRST",
    "Claim",
    "Doc",
    "Engine",
    "Page",
    "RoundTrips",
    "SortSpec",
    "Store",
    "UniqueWhile",
    "Window",
    "busy",
    "check_first",
    "count_up_to",
    "current_round_trips",
    "detect",
    "duplicate_index",
    "ensure_indexes",
    "make_client",
    "open_store",
    "page_of_sorted",
    "ping",
    "sort_docs",
    "uncounted",
]
