"""Which declared index serves a query, by MongoDB's Equality, Sort, Range rule.

A query is served well by an index whose keys are, in order: every field the query matches
by equality (in any order among themselves), then the sort's fields (all in the sort's
directions, or all reversed), then the fields it bounds by a range. Such an index reads only
the entries the answer needs, already in order. A condition no index key can bound
(`$ne`, `$nin`, `$exists`, `$not`, an unanchored `$regex`, `$expr`, `$where`) or a field the
index lacks is left to a second index or to reading every candidate document: on an engine
that plans with its indexes (MongoDB, DocumentDB) that is where time goes (issue 25 measured
a BitmapAnd of two indexes at 348 ms where one equality-first index took 2 ms).

`check(collection, filter, sort)` names the serving index and what, if anything, breaks the
rule; tests/test_query_shapes.py runs it over every query the services send. Indexes are those
MongoDB would have (app/store/indexes.py, partial indexes included), whatever engine runs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from app.store.engine import MONGODB
from app.store.indexes import INDEXES, model_for

RANGE_OPS = frozenset({"$gt", "$gte", "$lt", "$lte", "$geoWithin", "$near", "$nearSphere"})
EQUALITY_OPS = frozenset({"$eq", "$in", "$all"})
UNBOUNDED_OPS = frozenset({"$ne", "$nin", "$exists", "$not", "$type", "$size", "$mod"})


@dataclass
class Shape:
    """The fields a query matches by equality and by range, its sort, and the conditions no
    index can bound."""

    equality: set[str] = field(default_factory=set)
    ranges: set[str] = field(default_factory=set)
    sort: list[tuple[str, int]] = field(default_factory=list)
    unbounded: list[str] = field(default_factory=list)

    @property
    def fields(self) -> set[str]:
        return self.equality | self.ranges


@dataclass
class Verdict:
    index: str | None
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


def shape_of(flt: Mapping[str, Any] | None, sort: Any = None) -> Shape:
    shape = Shape(sort=_sort_keys(sort))
    _collect(shape, flt or {})
    return shape


def _sort_keys(sort: Any) -> list[tuple[str, int]]:
    if isinstance(sort, Mapping):
        return [(str(k), int(v)) for k, v in sort.items()]
    if isinstance(sort, Sequence) and not isinstance(sort, str):
        return [(str(k), int(v)) for k, v in sort]
    return []


def _collect(shape: Shape, flt: Mapping[str, Any]) -> None:
    for key, value in flt.items():
        if key == "$and":
            for part in value:
                _collect(shape, part)
        elif key == "$or" and _only_sort_fields(value, shape.sort):
            continue  # a page's continuation (app/store/paging.py): the sort serves it
        elif key in ("$or", "$nor"):
            shape.unbounded.append(f"{key} (each branch needs its own index)")
        elif key.startswith("$"):
            shape.unbounded.append(key)
        elif isinstance(value, Mapping) and any(str(k).startswith("$") for k in value):
            _condition(shape, key, value)
        else:
            shape.equality.add(key)


def _only_sort_fields(branches: Any, sort: list[tuple[str, int]]) -> bool:
    names = {f for f, _ in sort}
    return bool(names) and all(isinstance(b, Mapping) and set(b) <= names for b in branches or [])


def _condition(shape: Shape, key: str, ops: Mapping[str, Any]) -> None:
    for op, arg in ops.items():
        if op in EQUALITY_OPS:
            shape.equality.add(key)
        elif op in RANGE_OPS:
            shape.ranges.add(key)
        elif op == "$regex":
            anchored = (
                isinstance(arg, str) and arg.startswith("^") and "i" not in ops.get("$options", "")
            )
            if anchored:
                shape.ranges.add(key)
            else:
                shape.unbounded.append(f"{key} $regex not anchored")
        elif op == "$options":
            continue
        elif op in UNBOUNDED_OPS or op == "$elemMatch":
            shape.unbounded.append(f"{key} {op}")
        else:
            shape.unbounded.append(f"{key} {op}")


def check(collection: str, flt: Mapping[str, Any] | None, sort: Any = None) -> Verdict:
    """The declared index that serves this query by the ESR rule, or the best candidate and
    what breaks the rule.

    Conditions the serving index's keys do not bound in ESR order are filtered on the
    entries it reads; that is allowed only where no other index could take them (its first
    key constrained by the query), since a planner would then intersect the two indexes."""
    expanded = _branches(flt or {}, _sort_keys(sort))
    if expanded is not None:
        # MongoDB plans each branch of an $or on its own index (merged in sort order)
        verdicts = [check(collection, branch, sort) for branch in expanded]
        return Verdict(
            " + ".join(str(v.index) for v in verdicts), [p for v in verdicts for p in v.problems]
        )
    shape = shape_of(flt, sort)
    if "_id" in shape.equality:
        return Verdict("_id_", [])  # a point look-up (or a few): the rest is about them
    if not shape.fields and not shape.sort:
        return Verdict(None, list(shape.unbounded))  # every document: no index would help
    indexes = _indexes(collection, flt or {})
    best: tuple[tuple[int, int], str, list[str], list[str]] | None = None
    for name, keys, unique, implied in indexes:
        hard, residual = _against(keys, shape, implied, unique)
        score = (len(hard), len(residual))
        if best is None or score < best[0]:
            best = (score, name, hard, residual)
    assert best is not None
    _, name, hard, residual = best
    residual += [f"{u}: filtered after the index" for u in shape.unbounded]
    chosen_first = next(keys[0][0] for n, keys, _, _ in indexes if n == name)
    rivals = [
        other
        for other, keys, _, implied in indexes
        if other not in (name, "_id_")
        and keys[0][0] in shape.fields
        and keys[0][0] not in implied
        and keys[0][0] != chosen_first  # an alternative, not a second half
    ]
    if residual and rivals:
        hard += [f"{r} (could be intersected with {', '.join(rivals)})" for r in residual]
    return Verdict(name, hard)


def _branches(flt: Mapping[str, Any], sort: list[tuple[str, int]]) -> list[dict[str, Any]] | None:
    """A filter with a top-level `$or` (not a page's continuation) as one filter per branch,
    each with the rest of the conditions; None when it has none."""
    branches = flt.get("$or")
    if not branches or _only_sort_fields(branches, sort):
        return None
    rest = {k: v for k, v in flt.items() if k != "$or"}
    return [{**rest, **branch} for branch in branches]


def _indexes(
    collection: str, flt: Mapping[str, Any]
) -> list[tuple[str, list[tuple[str, int]], bool, set[str]]]:
    """(name, keys, unique, fields its partial filter implies) of each index usable here."""
    found: list[tuple[str, list[tuple[str, int]], bool, set[str]]] = [
        ("_id_", [("_id", 1)], True, set())
    ]
    for declared in INDEXES.get(collection, []):
        model = model_for(declared, MONGODB)
        partial = model.document.get("partialFilterExpression") or {}
        if partial and not all(flt.get(k) == v for k, v in partial.items()):
            continue  # a partial index serves only queries that imply its filter
        keys = [(str(k), int(v)) for k, v in model.document["key"].items()]
        if any(v == 0 or isinstance(v, str) for _, v in model.document["key"].items()):
            continue
        found.append(
            (str(model.document["name"]), keys, bool(model.document.get("unique")), set(partial))
        )
    return found


def _against(
    keys: list[tuple[str, int]], shape: Shape, implied: set[str], unique: bool
) -> tuple[list[str], list[str]]:
    """What this index's keys, read in the ESR order, cannot give the query (hard), and the
    conditions it leaves to be filtered on the entries it reads (residual)."""
    names = [k for k, _ in keys]
    equality = shape.equality - implied
    hard: list[str] = []
    i = 0
    # E: the equality fields first, in any order
    while i < len(names) and names[i] in equality:
        i += 1
    lead = set(names[:i])
    if i == 0 and (equality or shape.ranges or shape.sort) and names[0] not in shape.ranges:
        sort_first = shape.sort and shape.sort[0][0] == names[0]
        if not sort_first:
            return [f"{names[0]}: the index's first key is not constrained"], []
    if unique and i == len(names):
        # a point look-up: at most one entry, whatever else the query asks
        return [], []
    residual = [f"{f}: equality filtered after the index" for f in sorted(equality - lead)]
    # S: then the sort (fields matched by equality may be skipped: they are constant)
    sort = [(f, d) for f, d in shape.sort if f not in equality]
    if sort:
        window = keys[i : i + len(sort)]
        same = list(window) == sort
        reverse = [(f, -d) for f, d in window] == sort
        if same or reverse:
            i += len(sort)
        else:
            hard.append("sort not served by the index after its equality keys")
    # R: then one range bounded by the index (a range on a sort field is where a page
    # starts: the sort serves it); any other range is filtered on the entries read
    ranges = shape.ranges - {f for f, _ in shape.sort}
    bounded = names[i] if i < len(names) and names[i] in ranges else None
    residual += [f"{f}: range filtered after the index" for f in sorted(ranges) if f != bounded]
    return hard, residual
