"""Short-lived named locks, made of inserts into `locks` (`_id` = the name).

FerretDB v1 (SQLite) runs an update as a read followed by a write of the whole document, with
no transaction around the two: two conditional updates (or two `find_one_and_update`s) of one
document can both match, and two updates of one document can lose each other's changes. A
unique-key insert is the one operation it makes exclusive. So code that reads, decides and
writes one object (a lease and its occupants; one card at one door) holds that object's lock:
inserting `{_id: name}` succeeds for exactly one caller. The lock expires after `ttl`, so a
crashed holder blocks others for that long at most; whoever finds it expired deletes it and
takes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator

from bson import ObjectId
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from app.db import Doc
from app.errors import Code, UserInputError
from app.services.clock import now

TTL = dt.timedelta(seconds=30)
POLL_S = 0.05


async def try_acquire(
    db: AsyncDatabase[Doc], name: str, ttl: dt.timedelta = TTL
) -> ObjectId | None:
    """The lock's token if this caller now holds it, else None (someone else does)."""
    token = ObjectId()
    for _ in range(2):
        at = now()
        try:
            await db.locks.insert_one(
                {"_id": name, "token": token, "expires_at": at + ttl, "created_at": at}
            )
            return token
        except DuplicateKeyError:
            held = await db.locks.find_one({"_id": name})
            if held is None:
                continue  # released meanwhile: try once more
            if held["expires_at"] >= at:
                return None
            await db.locks.delete_one({"_id": name, "token": held["token"]})  # expired
    return None


async def release(db: AsyncDatabase[Doc], name: str, token: ObjectId) -> None:
    await db.locks.delete_one({"_id": name, "token": token})


async def acquire(
    db: AsyncDatabase[Doc], name: str, *, wait_s: float = 10.0, ttl: dt.timedelta = TTL
) -> ObjectId:
    """Waits up to `wait_s` for the lock; BUSY if it stays taken."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_s
    while True:
        token = await try_acquire(db, name, ttl)
        if token is not None:
            return token
        if loop.time() >= deadline:
            raise UserInputError(
                "Someone else is changing this right now; try again in a moment.",
                code=Code.BUSY,
            )
        await asyncio.sleep(POLL_S)


@contextlib.asynccontextmanager
async def held(
    db: AsyncDatabase[Doc], name: str, *, wait_s: float = 10.0, ttl: dt.timedelta = TTL
) -> AsyncIterator[None]:
    token = await acquire(db, name, wait_s=wait_s, ttl=ttl)
    try:
        yield
    finally:
        await release(db, name, token)


__all__ = ["TTL", "acquire", "held", "release", "try_acquire"]
