"""Password hashing: argon2id, with RFC 9106's second recommended profile (64 MiB, 3 passes,
4 lanes) by default. Its memory cost is a setting only so that the test suite, which creates
hundreds of accounts, can run on a cheaper one; production refuses anything below the default
(app/settings.py). A hash records its own parameters, so one made under any setting verifies.

Checks run in a thread (argon2 releases the GIL), at most `concurrent` at once per worker: a
check beyond that is refused at once (RATE_LIMITED) rather than queued, so a flood of log-ins
cannot eat a worker's memory (64 MiB each). An unknown phone is checked against a dummy hash,
so that it costs as much time as a wrong password.
"""

from __future__ import annotations

import asyncio
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from app.errors import RateLimitedError

DEFAULT_MEMORY_KIB = 64 * 1024


class Passwords:
    def __init__(self, memory_kib: int = DEFAULT_MEMORY_KIB, concurrent: int = 4) -> None:
        self._hasher = PasswordHasher(memory_cost=memory_kib)
        self.dummy_hash = self._hasher.hash(secrets.token_urlsafe(16))
        self._slots = asyncio.Semaphore(concurrent)
        self.checks = 0  # checks run by this worker (a figure for tests and metrics)

    async def hash(self, password: str) -> str:
        async with self._slot():
            return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, hashed: str, password: str) -> bool:
        def check() -> bool:
            try:
                return self._hasher.verify(hashed, password)
            except (VerifyMismatchError, VerificationError, InvalidHashError):
                return False

        async with self._slot():
            self.checks += 1
            return await asyncio.to_thread(check)

    def _slot(self) -> asyncio.Semaphore:
        if self._slots.locked():
            raise RateLimitedError("Too many sign-ins at once; try again in a moment.")
        return self._slots
