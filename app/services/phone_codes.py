"""Codes sent by SMS to prove that the caller holds a phone: for signing up, for logging in
without the password (even while it is locked out) and for resetting the password.

A code is six random digits, valid for CODE_TTL, good for one use and at most MAX_TRIES wrong
tries. Only a keyed hash of it is stored, under `<purpose>:<phone>` (a new request replaces
the old code). Requests are limited per phone (a cooldown and an hourly number) and counted
with the other authentication attempts per client address (app/services/rate_limits.py).
The answer is the same whether or not the phone has an account: a code for logging in or
resetting is sent only where an account could use it, but the request is recorded, limited
and answered alike, and the message is queued (never sent while the caller waits).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets

from pymongo import ReturnDocument

from app.clock import now
from app.deps import Deps
from app.errors import Code, Collector, UserInputError
from app.services import rate_limits
from app.settings import Settings
from app.store import Doc
from app.validation import check_phone

SIGN_UP, LOG_IN, RESET_PASSWORD = "SIGN_UP", "LOG_IN", "RESET_PASSWORD"
PURPOSES = (SIGN_UP, LOG_IN, RESET_PASSWORD)
CODE_TTL = dt.timedelta(minutes=5)
MAX_TRIES = 5
HOUR = 3600


def _hash(settings: Settings, doc_id: str, code: str) -> str:
    message = f"phone-code:{doc_id}:{code}".encode()
    return hmac.new(settings.url_signing_key.encode(), message, hashlib.sha256).hexdigest()


def invalid_code() -> UserInputError:
    return UserInputError(
        "The code is wrong or has expired; request a new one.",
        code=Code.INVALID_PHONE_CODE,
        field=["phoneCode"],
    )


async def request_code(deps: Deps, *, phone: str, purpose: str, client: str) -> int:
    """Queues a new code for `phone`; the seconds before another may be requested."""
    errors = Collector()
    clean = check_phone(errors, ["phone"], phone)
    if purpose not in PURPOSES:
        errors.add(["purpose"], Code.INVALID_ARGUMENT, "Unknown purpose.")
    errors.raise_if_any()
    store, settings = deps.store, deps.settings
    await rate_limits.auth_attempt(store, settings, phone=clean, client=client)
    doc_id = f"{purpose}:{clean}"
    at = now()
    existing = await store.phone_codes.find_one({"_id": doc_id}, {"sent_at": 1})
    if existing is not None:
        wait = (existing["sent_at"] - at).total_seconds() + settings.phone_code_cooldown_s
        if wait > 0:
            raise _too_soon(wait)
    sent, _ = await rate_limits.count(store, settings, "phone-code", clean, window_s=HOUR)
    if sent > settings.phone_codes_per_hour:
        raise _too_soon(HOUR)
    code = f"{secrets.randbelow(10**6):06d}"
    async with store.exclusive(f"phone-code:{doc_id}"):
        await store.phone_codes.find_one_and_update(
            {"_id": doc_id},
            {
                "$set": {
                    "code_hash": _hash(settings, doc_id, code),
                    "sent_at": at,
                    "expires_at": at + CODE_TTL,
                    "tries": 0,
                    "used_at": None,
                }
            },
            upsert=True,
        )
    if await _worth_sending(deps, clean, purpose):
        minutes = str(int(CODE_TTL.total_seconds() // 60))
        await deps.sms.queue(clean, "verification_code", {"code": code, "minutes": minutes})
    return settings.phone_code_cooldown_s


def _too_soon(seconds: float) -> UserInputError:
    error = UserInputError(
        "A code was sent a moment ago; wait before asking for another.",
        code=Code.RATE_LIMITED,
        field=["phone"],
    )
    error.retry_after = max(1, int(seconds + 0.999))  # type: ignore[attr-defined]
    return error


async def _worth_sending(deps: Deps, phone: str, purpose: str) -> bool:
    """A sign-up code goes to any phone; a log-in or reset code only where an account could
    use it (its phone verified, for a reset)."""
    if purpose == SIGN_UP:
        return True
    account: Doc | None = await deps.store.accounts.find_one(
        {"phone": phone}, {"phone_verified_at": 1}
    )
    if account is None:
        return False
    return purpose == LOG_IN or account.get("phone_verified_at") is not None


async def consume(deps: Deps, *, phone: str, purpose: str, code: str | None) -> None:
    """Uses up the phone's code for `purpose`; INVALID_PHONE_CODE if it is missing, wrong,
    expired, used, or has had MAX_TRIES wrong tries."""
    if not code or not code.strip():
        raise UserInputError(
            "Enter the code sent to the phone.", code=Code.REQUIRED, field=["phoneCode"]
        )
    store, settings = deps.store, deps.settings
    doc_id = f"{purpose}:{phone}"
    at = now()
    given = _hash(settings, doc_id, code.strip()[:12])
    # each try is counted before the code is compared, by one conditional increment: of any
    # number of concurrent guesses, at most MAX_TRIES are compared
    async with store.exclusive(f"phone-code:{doc_id}"):
        tried = await store.phone_codes.find_one_and_update(
            {
                "_id": doc_id,
                "used_at": None,
                "expires_at": {"$gt": at},
                "tries": {"$lt": MAX_TRIES},
            },
            {"$inc": {"tries": 1}},
            return_document=ReturnDocument.AFTER,
        )
    if tried is None or not hmac.compare_digest(tried["code_hash"], given):
        raise invalid_code()
    async with store.exclusive(f"phone-code:{doc_id}"):
        used = await store.phone_codes.find_one_and_update(
            {"_id": doc_id, "code_hash": tried["code_hash"], "used_at": None},
            {"$set": {"used_at": at}},
        )
    if used is None:  # used by a concurrent call
        raise invalid_code()
