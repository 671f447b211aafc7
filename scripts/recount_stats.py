"""`python -m scripts.recount_stats`: rebuilds the population counters from the collections
(after a bulk load, or to repair drift left by a crash between a change and its counter)."""

from __future__ import annotations

import asyncio
import time

from app import db as dbmod
from app.services import stats
from app.settings import load_settings


async def main() -> None:
    settings = load_settings()
    client = dbmod.make_client(settings)
    try:
        started = time.perf_counter()
        n = await stats.recount(client[settings.mongodb_db])
        print(f"{n} counter documents rebuilt in {time.perf_counter() - started:.1f}s")
    finally:
        await client.close()


if __name__ == "__main__":
    asyncio.run(main())
