"""DataLoaders, built per request in the context (a module-level loader would cache for the
life of the server and leak one viewer's data to another).

Each batches the keys asked for in one tick into one query and returns results in key order:
`by_id` through the store's `find_by_ids`, the grouped ones with one `$in` on their field. The
orders and conditions are the services' own (a lease's invoices in its order, pending card
jobs): the schema's types ask for `loaders.invoices_by_lease(status)` and never see a query.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Mapping
from typing import Any

from bson import ObjectId
from strawberry.dataloader import DataLoader

from app.store import Doc, SortSpec, Store, sort_docs

ByKey = DataLoader[Any, list[Doc]]


class Loaders:
    """The request's loaders, created on first use."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._made: dict[Hashable, DataLoader[Any, Any]] = {}

    def _once(self, key: Hashable, make: Callable[[], DataLoader[Any, Any]]) -> Any:
        if key not in self._made:
            self._made[key] = make()
        return self._made[key]

    def by_id(self, collection: str) -> DataLoader[ObjectId, Doc | None]:
        async def load(keys: list[ObjectId]) -> list[Doc | None]:
            found = await self._store.find_by_ids(collection, keys)
            return [found.get(k) for k in keys]

        return self._once(("id", collection), lambda: DataLoader(load_fn=load))

    def grouped(
        self,
        collection: str,
        field: str,
        sort: SortSpec = (("_id", 1),),
        where: Mapping[str, Any] | None = None,
    ) -> ByKey:
        """The documents whose `field` is each key (and that match `where`), in `sort`:
        read by the index on `field` alone, and each key's few sorted here (a sort asked of
        the database over an `$in` of many keys would be a merge or an in-memory sort)."""

        async def load(keys: list[Any]) -> list[list[Doc]]:
            query: dict[str, Any] = {field: {"$in": list(set(keys))}, **(where or {})}
            groups: dict[Any, list[Doc]] = defaultdict(list)
            async for doc in self._store[collection].find(query):
                groups[doc[field]].append(doc)
            for group in groups.values():
                sort_docs(group, sort)
            return [groups.get(k, []) for k in keys]

        # repr: the conditions may hold operators ({"$ne": True}), which do not hash
        key = ("grouped", collection, field, tuple(sort), repr(sorted((where or {}).items())))
        return self._once(key, lambda: DataLoader(load_fn=load))

    # --- named in the domain's words ---------------------------------------------------------

    @property
    def account_by_id(self) -> DataLoader[ObjectId, Doc | None]:
        return self.by_id("accounts")

    @property
    def property_by_id(self) -> DataLoader[ObjectId, Doc | None]:
        return self.by_id("properties")

    @property
    def room_by_id(self) -> DataLoader[ObjectId, Doc | None]:
        return self.by_id("rooms")

    @property
    def device_by_id(self) -> DataLoader[ObjectId, Doc | None]:
        return self.by_id("devices")

    @property
    def lease_by_id(self) -> DataLoader[ObjectId, Doc | None]:
        return self.by_id("leases")

    @property
    def invoice_by_id(self) -> DataLoader[ObjectId, Doc | None]:
        return self.by_id("invoices")

    @property
    def rooms_by_property(self) -> ByKey:
        from app.services.rooms import ROOM_ORDER

        return self.grouped("rooms", "property_id", ROOM_ORDER)

    def devices_by(self, field: str) -> ByKey:
        """A property's (`property_id`) or a room's (`room_id`) devices in place (removed
        ones left out), oldest first."""
        from app.services.devices import DEVICE_ORDER

        return self.grouped("devices", field, DEVICE_ORDER, where={"removed_at": None})

    @property
    def active_lease_by_room(self) -> ByKey:
        return self.grouped("leases", "room_id", where={"status": "ACTIVE"})

    @property
    def live_listing_by_room(self) -> ByKey:
        return self.grouped("listings", "room_id", where={"live": True})

    @property
    def occupants_by_lease(self) -> ByKey:
        from app.services.occupants import OCCUPANT_ORDER

        return self.grouped("occupants", "lease_id", OCCUPANT_ORDER)

    def invoices_by_lease(self, where: Mapping[str, Any]) -> ByKey:
        from app.services.invoices import INVOICE_ORDER

        return self.grouped("invoices", "lease_id", INVOICE_ORDER, where)

    @property
    def payments_by_invoice(self) -> ByKey:
        from app.services.payments import PAYMENT_ORDER

        return self.grouped("payments", "invoice_id", PAYMENT_ORDER)

    def pending_card_jobs_by(self, field: str) -> ByKey:
        """A lease's (`lease_id`), an occupant's (`occupant_id`) or a visitor pass's
        (`pass_id`) card and code jobs not yet applied."""
        from app.services.card_outbox import PENDING

        return self.grouped("card_jobs", field, where={"state": PENDING})

    @property
    def open_hazards_by_property(self) -> ByKey:
        """A property's fire-safety hazards not yet rectified, most urgent first."""
        from app.services.hazards import HAZARD_ORDER, OPEN_STATUSES

        return self.grouped(
            "hazards", "property_id", HAZARD_ORDER, where={"status": {"$in": list(OPEN_STATUSES)}}
        )
