"""Reading the text messages the simulator's SMS provider received (GET /sim/sms), as a
phone's owner reads their phone: the demo loader and the tests get verification codes here,
never through a back door into Anju."""

from __future__ import annotations

import time
from typing import Any

import httpx


def messages(http: httpx.Client, sim_url: str, phone: str) -> list[dict[str, Any]]:
    """Every message sent to `phone`, newest first."""
    response = http.get(f"{sim_url}/sim/sms", params={"phone": phone})
    response.raise_for_status()
    found: list[dict[str, Any]] = response.json()
    return found


def newest_code(
    http: httpx.Client, sim_url: str, phone: str, *, after: int, within: float = 15.0
) -> str:
    """The code of the first verification message to `phone` beyond the `after` it had
    (messages are queued by Anju and sent a moment later)."""
    deadline = time.monotonic() + within
    while True:
        found = messages(http, sim_url, phone)
        if len(found) > after:
            for message in found[: len(found) - after]:
                if message["template"] == "verification_code":
                    return str(message["params"]["code"])
        if time.monotonic() > deadline:
            raise TimeoutError(f"no verification code reached {phone} within {within}s")
        time.sleep(0.05)
