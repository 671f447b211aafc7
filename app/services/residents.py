"""The real-name register (residents), for police: who lives (or lived) where, with full ID
numbers, who lives with them, and whose property it is; not the lease's money.

A look-up stays in its lane:
- it needs a reason, and a filter that names someone or somewhere: a name needs at least two
  letters or digits once normalised (NFKC, spaces collapsed), so `" "` or `"*"` is refused
  (TOO_SHORT), never a page through everyone in scope;
- one reason reads at most ANJU_POLICE_RESULTS_PER_REASON residents (counted per officer and
  reason, for ANJU_POLICE_REASON_WINDOW_S): past that, NEW_REASON_REQUIRED;
- it is appended to the audit log with its reason, its filter (ID numbers only masked there),
  its number of results and the ids of the residents (and co-residents) it returned; refused
  look-ups are audited too;
- a police account with a scope sees only residents within it.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from bson import ObjectId

from app.deps import Deps
from app.errors import AnjuError, Code, UserInputError
from app.ids import GivenId
from app.services import audit, idnumbers, rate_limits
from app.settings import Settings
from app.store import Doc, Page, Store, check_first
from app.validation import normalize_phone
from app.viewer import Role, Viewer

ORDER = [("arrived_at", -1), ("_id", -1)]
MAX_REASON = 200
MIN_NAME_CHARS = 2
CO_RESIDENT_ORDER = [("arrived_at", 1), ("_id", 1)]


@dataclass
class RegisterPage:
    """A page of residents and, for each, the others registered under the same lease."""

    page: Page
    co_residents: dict[ObjectId, list[Doc]] = field(default_factory=dict)


@dataclass(frozen=True)
class ResidentQuery:
    id_number: str | None = None
    name: str | None = None
    phone: str | None = None
    property_id: GivenId | None = None  # decoded (and audited) with the rest
    town: str | None = None
    community: str | None = None
    current_only: bool = True


def check_reason(reason: str | None) -> str:
    clean = " ".join((reason or "").split())
    if not clean:
        raise UserInputError(
            "Give the reason for this look-up (a case or task reference).",
            code=Code.REASON_REQUIRED,
            field=["reason"],
        )
    if len(clean) > MAX_REASON:
        raise UserInputError(
            f"At most {MAX_REASON} characters.", code=Code.TOO_LONG, field=["reason"]
        )
    return clean


def clean_name(given: str) -> str:
    """A name filter normalised (NFKC: full-width forms to their usual ones; spaces collapsed),
    refused unless it has at least two letters or digits: a blank or a symbol would match
    everyone in scope."""
    name = " ".join(unicodedata.normalize("NFKC", given).split())[:50]
    meaningful = sum(1 for ch in name if unicodedata.category(ch)[0] in "LN")
    if meaningful < MIN_NAME_CHARS:
        raise UserInputError(
            f"Give at least {MIN_NAME_CHARS} letters of the name (the surname and more).",
            code=Code.TOO_SHORT,
            field=["filter", "name"],
        )
    return name


def _criteria(query: ResidentQuery, settings: Settings) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the database filter, what the audit log records of it)."""
    where: dict[str, Any] = {}
    shown: dict[str, Any] = {}
    if query.id_number:
        number = idnumbers.looked_up(query.id_number, ["filter", "idNumber"])
        where["id_number_hash"] = idnumbers.lookup_hash(number, settings)
        shown["idNumber"] = idnumbers.mask(number)
    if query.name is not None:
        name = clean_name(query.name)
        # names match from their start: 张伟 finds 张伟 and 张伟东; escaped, so never a pattern
        where["name"] = {"$regex": "^" + re.escape(name)}
        shown["name"] = name
    if query.phone:
        phone = normalize_phone(query.phone)
        if phone is None:
            raise UserInputError(
                "Enter a mainland mobile number.",
                code=Code.INVALID_PHONE,
                field=["filter", "phone"],
            )
        where["phone"] = phone
        shown["phone"] = phone
    if query.property_id:
        shown["propertyId"] = query.property_id.shown
        where["property_id"] = query.property_id.oid()
    for level in ("town", "community"):
        value = getattr(query, level)
        if value:
            where[f"place.{level}"] = " ".join(value.split())[:64]
            shown[level] = where[f"place.{level}"]
    if not where:
        raise UserInputError(
            "Give at least one of idNumber, name, phone, propertyId, town or community.",
            code=Code.REQUIRED,
            field=["filter"],
        )
    if query.current_only:
        where["current"] = True
    shown["currentOnly"] = query.current_only
    return where, shown


async def search(
    deps: Deps,
    viewer: Viewer,
    query: ResidentQuery,
    reason: str | None,
    *,
    first: int | None,
    after: str | None,
) -> RegisterPage:
    officer = viewer.require(Role.POLICE)
    store, settings = deps.store, deps.settings
    shown: dict[str, Any] = {}
    try:
        clean_reason = check_reason(reason)
        where, shown = _criteria(query, settings)
        for key, value in viewer.scope.place_filter().items():
            if key in where and where[key] != value:
                where[key] = {"$in": []}  # asked outside the scope: nothing, not an error
            else:
                where[key] = value
        found = await _within_budget(deps, officer, clean_reason, where, first, after)
    except AnjuError as error:
        await audit_refusal(
            store, officer, "police.residents", reason, shown or _as_given(query), error
        )
        raise
    page = found.page
    await audit.record(
        store,
        officer,
        "police.residents",
        reason=clean_reason,
        target=next((str(shown[k]) for k in _TARGETS if shown.get(k)), None),
        details={
            "filter": shown,
            "results": page.total_count,
            "residents": [doc["_id"] for doc in page.items],
            "coResidents": sorted({d["_id"] for ds in found.co_residents.values() for d in ds}),
        },
    )
    return found


# what an audit entry names as the look-up's target, the most specific first
_TARGETS = ("idNumber", "phone", "propertyId", "name", "community", "town")


async def _within_budget(
    deps: Deps,
    officer: ObjectId,
    reason: str,
    where: dict[str, Any],
    first: int | None,
    after: str | None,
) -> RegisterPage:
    """One page, no bigger than what is left of the reason's budget (NEW_REASON_REQUIRED
    once it is spent), with each resident's co-residents."""
    store, settings = deps.store, deps.settings
    want = check_first(first)
    budget = f"{officer}:{reason}"
    limit = settings.police_results_per_reason
    # look at what is left, read at most that, then take what was read: one atomic increment
    # decides, so concurrent look-ups never show more than the budget between them (a page
    # that lost the race is cut to what it was granted)
    left = await rate_limits.left(store, settings, "police-reason", budget, limit=limit)
    if want and not left:
        raise UserInputError(
            f"This reason has read {limit} results, as many as one reason may; give the "
            "reason for a new look-up.",
            code=Code.NEW_REASON_REQUIRED,
            field=["reason"],
        )
    page = await store.page(
        "occupants", where, ORDER, first=min(want, left), after=after, with_total=True
    )
    if page.items:
        granted = await rate_limits.reserve(
            store,
            settings,
            "police-reason",
            budget,
            want=len(page.items),
            limit=limit,
            window_s=settings.police_reason_window_s,
        )
        if granted < len(page.items):
            page.items, page.has_next = page.items[:granted], True
    return RegisterPage(page, await _co_residents(store, page.items))


async def _co_residents(store: Store, residents: list[Doc]) -> dict[ObjectId, list[Doc]]:
    """For each resident, the others registered under the same lease (current and past)."""
    lease_ids = list({doc["lease_id"] for doc in residents})
    if not lease_ids:
        return {}
    by_lease: dict[ObjectId, list[Doc]] = defaultdict(list)
    async for doc in store.occupants.find({"lease_id": {"$in": lease_ids}}, sort=CO_RESIDENT_ORDER):
        by_lease[doc["lease_id"]].append(doc)
    return {
        r["_id"]: [d for d in by_lease[r["lease_id"]] if d["_id"] != r["_id"]] for r in residents
    }


async def audit_refusal(
    store: Store,
    officer: Any,
    action: str,
    reason: str | None,
    shown: dict[str, Any],
    error: AnjuError,
) -> None:
    """Refused police look-ups are audited too, with what was asked and why it failed."""
    await audit.record(
        store,
        officer,
        action,
        reason=(reason or "")[:MAX_REASON],
        details={"filter": shown, "error": error.code},
    )


def _as_given(query: ResidentQuery) -> dict[str, Any]:
    """A refused query as the audit log keeps it: never a whole ID number."""
    given = {
        k: (v.shown if isinstance(v, GivenId) else str(v)[:64])
        for k, v in vars(query).items()
        if v not in (None, "")
    }
    if "id_number" in given:
        given["id_number"] = given["id_number"][:6] + "…"
    return given


def full_id_number(occupant: Doc, settings: Settings) -> str:
    return idnumbers.reveal_id_number(occupant, settings)
