"""The real-name register (residents), for police: who lives (or lived) where, with full ID
numbers.

Every look-up needs a reason and is appended to the audit log with its filter (ID numbers
only masked there) and its number of results, failed look-ups included. A police account
with a scope sees only residents within it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from app.deps import Deps
from app.errors import AnjuError, Code, UserInputError
from app.ids import GivenId
from app.services import audit, idnumbers
from app.settings import Settings
from app.store import Doc, Page, Store
from app.validation import normalize_phone
from app.viewer import Role, Viewer

ORDER = [("arrived_at", -1), ("_id", -1)]
MAX_REASON = 200


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


def _criteria(query: ResidentQuery, settings: Settings) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the database filter, what the audit log records of it)."""
    where: dict[str, Any] = {}
    shown: dict[str, Any] = {}
    if query.id_number:
        number = idnumbers.looked_up(query.id_number, ["filter", "idNumber"])
        where["id_number_hash"] = idnumbers.lookup_hash(number, settings)
        shown["idNumber"] = idnumbers.mask(number)
    if query.name:
        name = " ".join(query.name.split())[:50]
        # names match from their start: 张 finds 张伟 and 张敏; escaped, so never a pattern
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
) -> Page:
    officer = viewer.require(Role.POLICE)
    store = deps.store
    shown: dict[str, Any] = {}
    try:
        clean_reason = check_reason(reason)
        where, shown = _criteria(query, deps.settings)
        for key, value in viewer.scope.place_filter().items():
            if key in where and where[key] != value:
                where[key] = {"$in": []}  # asked outside the scope: nothing, not an error
            else:
                where[key] = value
        page = await store.page(
            "occupants", where, ORDER, first=first, after=after, with_total=True
        )
    except AnjuError as error:
        await audit_refusal(
            store, officer, "police.residents", reason, shown or _as_given(query), error
        )
        raise
    await audit.record(
        store,
        officer,
        "police.residents",
        reason=clean_reason,
        target=shown.get("idNumber") or shown.get("propertyId"),
        details={"filter": shown, "results": page.total_count},
    )
    return page


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
