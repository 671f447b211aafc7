"""Partial unique indexes on an engine without them (FerretDB v1).

A `UniqueWhile` rule (app/store/indexes.py) says: at most one document per `key` while its
`field` equals `value`. MongoDB keeps it with a partial unique index. Here the rule gets a
field of its own (`rule.shadow`) under a plain unique index: the key's value while the state
holds, the document's own `_id` once it leaves the state. Every document then has a distinct
shadow value except those in the state with the same key, which the index refuses.

The collection below writes the shadow field wherever a document enters the state (only by
an insert) or leaves it (an update that `$set`s the state field to another value, of one
document named by `_id`). Any other write to a state field is refused loudly: it would leave
the rule unkept on this engine only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from app.store.indexes import UniqueWhile
from app.store.types import Doc


def with_shadows(doc: Doc, rules: Iterable[UniqueWhile]) -> Doc:
    """`doc` with the shadow field of each rule, as an insert writes it."""
    for rule in rules:
        doc[rule.shadow] = doc[rule.key] if doc.get(rule.field) == rule.value else doc["_id"]
    return doc


def shadowed_update(
    filter: Mapping[str, Any], update: Mapping[str, Any], rules: Iterable[UniqueWhile]
) -> Mapping[str, Any]:
    """The update with the shadow fields of the rules whose state it leaves."""
    changes = dict(update.get("$set") or {})
    added: dict[str, Any] = {}
    for rule in rules:
        touched = rule.field in changes or rule.field in (update.get("$unset") or {})
        if not touched:
            continue
        doc_id = filter.get("_id")
        if (
            changes.get(rule.field, object()) == rule.value
            or doc_id is None
            or isinstance(doc_id, Mapping)
        ):
            raise NotImplementedError(
                f"{rule.name}: a document enters its state only by an insert, and leaves it "
                "by an update of one document named by _id"
            )
        added[rule.shadow] = doc_id
    if not added:
        return update
    return {**update, "$set": {**changes, **added}}


class ShadowedCollection(AsyncCollection[Doc]):
    """A collection with `UniqueWhile` rules, on an engine without partial indexes."""

    rules: tuple[UniqueWhile, ...] = ()

    async def insert_one(self, document: Any, *args: Any, **kwargs: Any) -> Any:
        return await super().insert_one(with_shadows(document, self.rules), *args, **kwargs)

    async def insert_many(self, documents: Iterable[Any], *args: Any, **kwargs: Any) -> Any:
        docs = [with_shadows(d, self.rules) for d in documents]
        return await super().insert_many(docs, *args, **kwargs)

    async def update_one(self, filter: Any, update: Any, *args: Any, **kwargs: Any) -> Any:
        return await super().update_one(
            filter, shadowed_update(filter, update, self.rules), *args, **kwargs
        )

    async def find_one_and_update(self, filter: Any, update: Any, *args: Any, **kwargs: Any) -> Any:
        return await super().find_one_and_update(
            filter, shadowed_update(filter, update, self.rules), *args, **kwargs
        )

    async def update_many(self, filter: Any, update: Any, *args: Any, **kwargs: Any) -> Any:
        touched = {**(update.get("$set") or {}), **(update.get("$unset") or {})}
        if any(rule.field in touched for rule in self.rules):
            raise NotImplementedError("leave a UniqueWhile state one document at a time")
        return await super().update_many(filter, update, *args, **kwargs)
