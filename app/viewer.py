"""Who is calling: the account, its role and the place it serves, from the access token."""

from __future__ import annotations

import enum
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from bson import ObjectId

from app.errors import ForbiddenError, UnauthenticatedError


class Role(enum.Enum):
    LANDLORD = "LANDLORD"
    TENANT = "TENANT"
    POLICE = "POLICE"
    RESPONDER = "RESPONDER"
    ADMIN = "ADMIN"


@dataclass(frozen=True)
class Scope:
    """The part of the city a POLICE or RESPONDER account serves; all None means the city."""

    town: str | None = None
    community: str | None = None
    grid: str | None = None

    def as_claim(self) -> dict[str, str]:
        return {
            k: v
            for k, v in (("town", self.town), ("community", self.community), ("grid", self.grid))
            if v
        }

    def place_filter(self, prefix: str = "place") -> dict[str, str]:
        """A query filter restricting documents with a `place` to this scope."""
        return {f"{prefix}.{k}": v for k, v in self.as_claim().items()}

    def contains(self, place: dict[str, str | None]) -> bool:
        return all(place.get(k) == v for k, v in self.as_claim().items())

    def key(self) -> str:
        """The scope as one of the `place_keys` of the documents in it (ValueError when a
        level is given without the one above it: a grid without its community)."""
        levels = [self.town, self.community, self.grid]
        given = [bool(v) for v in levels]
        if given != sorted(given, reverse=True):
            raise ValueError("a grid needs its community, a community its town")
        return _place_key([v for v in levels if v])


LEVELS = ("town", "community", "grid")


def _place_key(levels: list[str]) -> str:
    return json.dumps(levels, ensure_ascii=False, separators=(",", ":"))


def place_keys(place: Mapping[str, str | None]) -> list[str]:
    """The keys a document at `place` is found by, one per scope that holds it: the city's,
    its town's, its community's and its grid's (JSON lists of the levels, so that no two
    places share one). A query for a scope is then one equality on a multikey field, which
    an index serves with its sort, whatever the scope's level."""
    levels: list[str] = []
    keys = [_place_key(levels)]
    for level in LEVELS:
        value = place.get(level)
        if not value:
            break
        levels.append(value)
        keys.append(_place_key(levels))
    return keys


@dataclass(frozen=True)
class Viewer:
    account_id: ObjectId | None = None
    role: Role | None = None
    scope: Scope = Scope()
    # the session the access token belongs to, and when the token expires (unix seconds)
    session_id: ObjectId | None = None
    expires_at: float | None = None
    # A token was sent but failed verification: the caller is anonymous, and told why
    # wherever sign-in is needed (so the app knows to refresh).
    token_invalid: bool = False

    @property
    def signed_in(self) -> bool:
        return self.account_id is not None

    def require(self, *roles: Role) -> ObjectId:
        """The caller's account id if signed in with one of `roles`, else the right error."""
        if self.account_id is None or self.role is None:
            if self.token_invalid:
                raise UnauthenticatedError("The access token is invalid or expired.")
            raise UnauthenticatedError()
        if roles and self.role not in roles:
            raise ForbiddenError()
        return self.account_id

    def has(self, roles: Iterable[Role]) -> bool:
        return self.role in set(roles)


ANONYMOUS = Viewer()
