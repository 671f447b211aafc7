"""`python -m scripts.recount_stats`: rebuilds the population counters from the collections
(after a bulk load, or to repair drift left by a crash between a change and its counter)."""

from __future__ import annotations

import asyncio
import time

from app.services import stats
from app.settings import load_settings
from app.store import Store, detect, make_client


async def main() -> None:
    settings = load_settings()
    client = make_client(settings)
    try:
        started = time.perf_counter()
        db = client[settings.mongodb_db]
        n = await stats.recount(Store(db, await detect(db)))
        print(f"{n} counter documents rebuilt in {time.perf_counter() - started:.1f}s")
    finally:
        await client.close()


if __name__ == "__main__":
    asyncio.run(main())
