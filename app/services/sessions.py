"""Sessions: opened by a log-in, kept alive by refresh tokens, ended by a log-out, by a
password change, by an admin, or by their absolute lifetime (ANJU_SESSION_MAX_AGE_S from the
log-in, whatever the refreshes).

Refresh tokens are opaque random strings; only their SHA-256 is stored (a 256-bit random
token needs no slow hash). Each use rotates it: the old one is marked used and a new one is
issued in the same session. Presenting a used one again means it was stolen or replayed, so
the whole session is revoked (RFC 6819 5.2.2.3; OAuth 2.0 Security BCP 4.14).

Access tokens are checked on every request against their session and account
(`AccessChecks`): a revoked or expired session, or a disabled account, stops its tokens
within the cache's lifetime (ANJU_ACCESS_CHECK_CACHE_S, 20 s by default), and open
subscriptions are closed as soon as a check fails or the token expires (`while_valid`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, TypeVar

from bson import ObjectId

from app.clock import now
from app.deps import Deps
from app.errors import Code, UserInputError
from app.services import audit
from app.services.notifications import notify
from app.store import Doc, Store
from app.viewer import Viewer

ACTIVE, DISABLED = "ACTIVE", "DISABLED"
T = TypeVar("T")


@dataclass
class Session:
    account: Doc
    access_token: str
    refresh_token: str
    expires_in: int


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def open_session(deps: Deps, account: Doc, *, told: str | None = None) -> Session:
    """A new session for the account; `told`, if given, is the ACCOUNT_SECURITY notice the
    account gets about it (a new log-in, a new password)."""
    at = now()
    session_id = ObjectId()
    await deps.store.sessions.insert_one(
        {
            "_id": session_id,
            "account_id": account["_id"],
            "created_at": at,
            "expires_at": at + dt.timedelta(seconds=deps.settings.session_max_age_s),
            "revoked_at": None,
        }
    )
    if told:
        await notify(
            deps.store, account["_id"], "ACCOUNT_SECURITY", "账号安全 Account security", told
        )
    return await _issue(deps, account, session_id)


async def _issue(deps: Deps, account: Doc, session_id: ObjectId) -> Session:
    session = await deps.store.sessions.find_one({"_id": session_id}, {"expires_at": 1})
    assert session is not None
    refresh = "rt_" + secrets.token_urlsafe(32)
    at = now()
    await deps.store.refresh_tokens.insert_one(
        {
            "_id": _token_hash(refresh),
            "session_id": session_id,
            "account_id": account["_id"],
            "created_at": at,
            "expires_at": min(
                at + dt.timedelta(seconds=deps.settings.refresh_token_ttl_s), session["expires_at"]
            ),
            "used_at": None,
        }
    )
    access = deps.keys.issue(
        account_id=str(account["_id"]),
        role=account["role"],
        scope=account.get("scope") or {},
        session_id=str(session_id),
    )
    return Session(account, access, refresh, deps.keys.ttl)


def invalid_refresh() -> UserInputError:
    return UserInputError(
        "The refresh token is invalid, expired or revoked; log in again.",
        code=Code.INVALID_REFRESH_TOKEN,
        field=["refreshToken"],
    )


async def revoke(store: Store, session_id: Any, reason: str) -> None:
    await store.sessions.update_one(
        {"_id": session_id, "revoked_at": None},
        {"$set": {"revoked_at": now(), "revoked_reason": reason}},
    )


async def end_sessions(
    store: Store, account_id: ObjectId, reason: str, *, keep: ObjectId | None = None
) -> int:
    """Revokes every live session of the account (but `keep`); how many."""
    query: Doc = {"account_id": account_id, "revoked_at": None}
    if keep is not None:
        query["_id"] = {"$ne": keep}
    result = await store.sessions.update_many(
        query, {"$set": {"revoked_at": now(), "revoked_reason": reason}}
    )
    return result.modified_count


async def refresh_session(deps: Deps, *, refresh_token: str) -> Session:
    if not isinstance(refresh_token, str) or len(refresh_token) > 128:
        raise invalid_refresh()
    store = deps.store
    token_hash = _token_hash(refresh_token)
    at = now()
    doc = await store.refresh_tokens.find_one({"_id": token_hash})
    if doc is None or doc["expires_at"] <= at:
        raise invalid_refresh()
    if doc["used_at"] is not None:
        await revoke(store, doc["session_id"], "refresh token reused")
        raise invalid_refresh()
    session = await store.sessions.find_one({"_id": doc["session_id"]})
    account = await store.accounts.find_one({"_id": doc["account_id"]})
    if (
        session is None
        or session.get("revoked_at") is not None
        or session.get("expires_at", at) <= at
        or account is None
        or account.get("status", ACTIVE) != ACTIVE
    ):
        raise invalid_refresh()
    # Of concurrent uses exactly one marks the token used and gets a new pair; each other is
    # a reuse that revokes the session, the pair just issued included.
    async with store.exclusive(f"refresh:{token_hash}"):
        won = await store.refresh_tokens.find_one_and_update(
            {"_id": token_hash, "used_at": None}, {"$set": {"used_at": at}}
        )
    if won is None:
        await revoke(store, doc["session_id"], "refresh token reused")
        raise invalid_refresh()
    return await _issue(deps, account, session["_id"])


async def log_out(deps: Deps, *, refresh_token: str) -> None:
    if not isinstance(refresh_token, str) or len(refresh_token) > 128:
        raise invalid_refresh()
    doc = await deps.store.refresh_tokens.find_one({"_id": _token_hash(refresh_token)})
    if doc is None:
        raise invalid_refresh()
    await revoke(deps.store, doc["session_id"], "logged out")


async def log_out_everywhere(
    deps: Deps, viewer: Viewer, *, except_refresh_token: str | None
) -> int:
    """Ends every session of the caller's account, but the one of `except_refresh_token`
    (which must be the caller's own)."""
    account_id = viewer.require()
    keep = None
    if except_refresh_token:
        doc = await deps.store.refresh_tokens.find_one({"_id": _token_hash(except_refresh_token)})
        if doc is None or doc["account_id"] != account_id:
            raise invalid_refresh()
        keep = doc["session_id"]
    ended = await end_sessions(deps.store, account_id, "logged out everywhere", keep=keep)
    await audit.record(
        deps.store,
        account_id,
        "account.logOutEverywhere",
        target=("Account", account_id),
        details={"sessions": ended},
    )
    return ended


# --- checking access tokens ----------------------------------------------------------------


class AccessChecks:
    """Whether a signed-in viewer's session is live and account active, asked of the
    database at most once per `cache_s` per session (per worker)."""

    def __init__(self, store: Store, cache_s: float) -> None:
        self.store = store
        self.cache_s = cache_s
        self._seen: dict[ObjectId, tuple[float, bool]] = {}

    async def allowed(self, viewer: Viewer) -> bool:
        if viewer.session_id is None or viewer.account_id is None:
            return False
        clock = time.monotonic()
        cached = self._seen.get(viewer.session_id)
        if cached is not None and cached[0] > clock:
            return cached[1]
        session, account = await asyncio.gather(
            self.store.sessions.find_one({"_id": viewer.session_id}),
            self.store.accounts.find_one({"_id": viewer.account_id}, {"status": 1}),
        )
        at = now()
        ok = (
            session is not None
            and session["account_id"] == viewer.account_id
            and session.get("revoked_at") is None
            and session.get("expires_at", at) > at
            and account is not None
            and account.get("status", ACTIVE) == ACTIVE
        )
        if len(self._seen) > 50_000:
            self._seen.clear()
        self._seen[viewer.session_id] = (clock + self.cache_s, ok)
        return ok


async def while_valid(deps: Deps, viewer: Viewer, source: AsyncIterator[T]) -> AsyncIterator[T]:
    """`source` (a subscription's items) until the viewer's token expires or its session
    ends, checked at least every `cache_s`."""
    items = source.__aiter__()
    pending: asyncio.Future[T] | None = None
    try:
        while True:
            left = (viewer.expires_at or 0) - time.time()
            if left <= 0 or not await deps.access.allowed(viewer):
                return
            if pending is None:
                pending = asyncio.ensure_future(items.__anext__())
            done, _ = await asyncio.wait({pending}, timeout=min(left, deps.access.cache_s))
            if pending in done:
                try:
                    item = pending.result()
                except StopAsyncIteration:
                    return
                pending = None
                yield item
    finally:
        if pending is not None:
            pending.cancel()  # and let it finish: a generator cannot close mid-step
            await asyncio.gather(pending, return_exceptions=True)
        await items.aclose()  # type: ignore[attr-defined]
