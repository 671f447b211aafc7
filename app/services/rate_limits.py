"""Rate limits: how many attempts one key (a phone, a client address, everyone) may make in a
window, counted *before* the attempt runs, so that concurrent attempts cannot slip past the
count (each counts itself with one atomic increment, and learns its own place).

Fixed windows, one counter document per (scope, key, window), removed when the window ends
(a TTL index). Keys are stored as keyed hashes, so the counters keep no phone numbers or
addresses. Every limit is a setting (app/settings.py): strict in production, generous in
development and tests.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import math
import time

from pymongo import ReturnDocument

from app.clock import now
from app.errors import Code, RateLimitedError, UserInputError
from app.settings import Settings
from app.store import Store


def _key(settings: Settings, scope: str, key: str) -> str:
    mac = hmac.new(
        settings.url_signing_key.encode(), f"rate:{scope}:{key}".encode(), hashlib.sha256
    )
    return mac.hexdigest()[:32]


def _window(
    settings: Settings, scope: str, key: str, window_s: int
) -> tuple[str, dt.datetime, dt.datetime]:
    """(the counter's id, now, the end of the current window)."""
    at = now()
    start = math.floor(at.timestamp() / window_s) * window_s
    end = dt.datetime.fromtimestamp(start + window_s, dt.UTC)
    return f"{scope}:{_key(settings, scope, key)}:{start}", at, end


async def _add(store: Store, doc_id: str, end: dt.datetime, step: int) -> int:
    try:
        async with store.exclusive(f"rate:{doc_id}"):
            doc = await store.rate_limits.find_one_and_update(
                {"_id": doc_id},
                {"$inc": {"count": step}, "$setOnInsert": {"expires_at": end}},
                upsert=True,
                return_document=ReturnDocument.AFTER,
            )
    except UserInputError as exc:
        if exc.code != Code.BUSY:
            raise
        # so many attempts at once on one key that they queue for its counter (an engine
        # without atomic updates): an attempt that cannot be counted is refused
        raise RateLimitedError("Too many attempts at once; try again in a moment.") from exc
    return int(doc["count"]) if doc else step


async def count(
    store: Store, settings: Settings, scope: str, key: str, *, window_s: int
) -> tuple[int, float]:
    """Counts one attempt of `key` in the current window: (its place in the window, the
    seconds until the window ends)."""
    doc_id, at, end = _window(settings, scope, key, window_s)
    return await _add(store, doc_id, end, 1), (end - at).total_seconds()


async def reserve(
    store: Store,
    settings: Settings,
    scope: str,
    key: str,
    *,
    want: int,
    limit: int,
    window_s: int,
) -> int:
    """Takes up to `want` of the `limit` that `key` may use in `window_s` from its first use
    (a budget, not a fixed window): returns how many were granted, 0 once it is spent. One
    atomic increment decides, so concurrent callers never share out more than `limit`; what
    was taken beyond it is given back at once."""
    doc_id = f"{scope}:{_key(settings, scope, key)}"
    async with store.exclusive(f"rate:{doc_id}"):
        doc = await store.rate_limits.find_one_and_update(
            {"_id": doc_id},
            {
                "$inc": {"count": want},
                "$setOnInsert": {"expires_at": now() + dt.timedelta(seconds=window_s)},
            },
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
    used_before = (int(doc["count"]) if doc else want) - want
    granted = max(0, min(want, limit - used_before))
    if granted < want:
        await give_back(store, settings, scope, key, want - granted)
    return granted


async def left(store: Store, settings: Settings, scope: str, key: str, *, limit: int) -> int:
    """What is left of a `reserve` budget, read without taking any: for a caller that looks
    first and then takes what it used (a read by `_id`; the taking still decides)."""
    doc = await store.rate_limits.find_one({"_id": f"{scope}:{_key(settings, scope, key)}"})
    return max(0, limit - (int(doc["count"]) if doc else 0))


async def give_back(store: Store, settings: Settings, scope: str, key: str, amount: int) -> None:
    """Returns `amount` of a budget taken by `reserve` and not used."""
    if amount <= 0:
        return
    doc_id = f"{scope}:{_key(settings, scope, key)}"
    async with store.exclusive(f"rate:{doc_id}"):
        await store.rate_limits.update_one({"_id": doc_id}, {"$inc": {"count": -amount}})


async def hit(
    store: Store, settings: Settings, scope: str, key: str, *, limit: int, window_s: int
) -> None:
    """Counts one attempt; RATE_LIMITED once `key` has made more than `limit` in the window."""
    place, _ = await count(store, settings, scope, key, window_s=window_s)
    if place > limit:
        raise RateLimitedError("Too many attempts; try again later.")


async def spend(
    store: Store, settings: Settings, scope: str, key: str, *, limit: int, window_s: int
) -> str:
    """Counts one attempt whose *failures* are limited: RATE_LIMITED past `limit`, else the
    counter's id, for `give_back_spent` once the attempt succeeded. Counting before the attempt
    (not after its failure) keeps concurrent attempts within the limit too."""
    doc_id, _, end = _window(settings, scope, key, window_s)
    if await _add(store, doc_id, end, 1) > limit:
        await _add(store, doc_id, end, -1)  # a refused attempt costs nothing more
        raise RateLimitedError("Too many failed attempts; try again later.")
    return doc_id


async def give_back_spent(store: Store, counter_id: str) -> None:
    """Takes back an attempt counted by `spend` that succeeded."""
    async with store.exclusive(f"rate:{counter_id}"):
        await store.rate_limits.update_one({"_id": counter_id}, {"$inc": {"count": -1}})


async def auth_attempt(store: Store, settings: Settings, *, phone: str | None, client: str) -> None:
    """One log-in, sign-up, code or reset attempt, counted against the phone, the client's
    address and the whole service; RATE_LIMITED past any of them."""
    window = settings.auth_window_s
    await hit(
        store, settings, "auth-all", "*", limit=settings.auth_attempts_overall, window_s=window
    )
    await hit(
        store,
        settings,
        "auth-address",
        client,
        limit=settings.auth_attempts_per_address,
        window_s=window,
    )
    if phone is not None:
        await hit(
            store,
            settings,
            "auth-phone",
            phone,
            limit=settings.auth_attempts_per_phone,
            window_s=window,
        )


class LocalWindows:
    """Fixed-window counters kept in this worker's memory, for limits on hot paths where a
    database round trip per request would cost more than it protects (the anonymous search:
    the kiosks' and scrapers' traffic). Each worker counts on its own, so N workers allow N
    times the limit; at most `max_keys` keys are kept (the oldest windows are dropped first),
    so a flood of addresses costs bounded memory."""

    def __init__(self, max_keys: int = 50_000) -> None:
        self.max_keys = max_keys
        self._counts: dict[str, tuple[float, int]] = {}

    def hit(self, key: str, *, limit: int, window_s: int) -> bool:
        """Counts one attempt of `key`; False once it has made more than `limit` this window."""
        start = math.floor(time.monotonic() / window_s) * window_s
        seen_start, count = self._counts.get(key, (start, 0))
        count = count + 1 if seen_start == start else 1
        self._counts[key] = (start, count)
        if len(self._counts) > self.max_keys:
            self._prune(start)
        return count <= limit

    def _prune(self, current: float) -> None:
        stale = [k for k, (started, _) in self._counts.items() if started < current]
        for key in stale or list(self._counts)[: len(self._counts) // 2]:
            del self._counts[key]
