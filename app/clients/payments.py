"""The payment provider client (../shared/DEVICES.md): one pooled httpx client per process, a
bearer token, short timeouts. `POST /v1/charges` is idempotent by `idempotencyKey` (the same
key always returns the same charge), so it is retried, and re-sending it later is also how
Anju learns the current status of a charge whose answer or webhook it missed.

    PaymentsError                 the provider could not do it
     ├── PaymentsUnavailable      the request was not taken: connection refused, 503, 429
     │                            (no charge was created by this call)
     ├── PaymentsRefused          a 4xx: the provider refused this request (bad token or body);
     │                            no charge was created by this call
     └── PaymentsUncertain        no usable answer: timed out, 5xx, broken connection or an
                                  answer that breaks the protocol; a charge may exist, and
                                  re-sending the same idempotency key tells which
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

import httpx

from app.logs import add_request_id
from app.settings import Settings

log = logging.getLogger("anju.payments")

# A tenant waits for this call in the app: answer or give up within seconds.
CONNECT_TIMEOUT_S = 2.0
TIMEOUT_S = 5.0
RETRIES = 2
CHARGE_STATUSES = frozenset({"pending", "succeeded", "failed"})
MAX_CHARGE_ID = 128


class PaymentsError(Exception):
    pass


class PaymentsUnavailable(PaymentsError):
    pass


class PaymentsRefused(PaymentsError):
    pass


class PaymentsUncertain(PaymentsError):
    pass


@dataclass(frozen=True)
class Charge:
    charge_id: str
    status: str  # "pending", "succeeded", "failed"


class PaymentsClient:
    def __init__(self, settings: Settings, transport: httpx.AsyncBaseTransport | None = None):
        self._http = httpx.AsyncClient(
            base_url=settings.payments_url,
            headers={"authorization": f"Bearer {settings.payments_token}"},
            timeout=httpx.Timeout(TIMEOUT_S, connect=CONNECT_TIMEOUT_S),
            limits=httpx.Limits(max_connections=50, max_keepalive_connections=10),
            transport=transport,
            event_hooks={"request": [add_request_id]},
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def create_charge(
        self,
        *,
        idempotency_key: str,
        amount_fen: int,
        method: str,
        description: str,
        notify_url: str,
    ) -> Charge:
        """Creates (or, for a key already used, finds) the charge; retried on failures that
        leave its fate unknown, which the idempotency key makes safe."""
        body = {
            "idempotencyKey": idempotency_key,
            "amountFen": amount_fen,
            "method": method,
            "description": description,
            "notifyUrl": notify_url,
        }
        attempt = 0
        while True:
            try:
                return await self._post_charge(body)
            except (PaymentsUnavailable, PaymentsUncertain) as exc:
                if attempt >= RETRIES:
                    raise
                attempt += 1
                log.info("charge %s: %s; retry %d", idempotency_key, exc, attempt)
                await asyncio.sleep(0.2 * attempt)

    async def _post_charge(self, body: dict[str, Any]) -> Charge:
        try:
            response = await self._http.post("/v1/charges", json=body)
        except httpx.ConnectError as exc:  # nothing was sent
            raise PaymentsUnavailable(f"cannot reach the provider: {exc!r}") from exc
        except httpx.TimeoutException as exc:
            if isinstance(exc, httpx.ConnectTimeout):
                raise PaymentsUnavailable("no connection in time") from exc
            raise PaymentsUncertain("no answer in time") from exc
        except httpx.TransportError as exc:
            raise PaymentsUncertain(f"the connection broke: {exc!r}") from exc
        status = response.status_code
        if status in {429, 503}:
            raise PaymentsUnavailable(f"the provider answered {status}")
        if status >= 500:
            raise PaymentsUncertain(f"the provider answered {status}")
        if 400 <= status < 500:
            log.error("the provider refused a charge: %s %s", status, response.text[:200])
            raise PaymentsRefused(f"the provider refused the charge ({status})")
        if status not in {200, 201}:
            raise PaymentsUncertain(f"unexpected answer {status}")
        try:
            answer = response.json()
            charge_id, charge_status = answer["chargeId"], answer["status"]
        except (ValueError, KeyError, TypeError) as exc:
            raise PaymentsUncertain("malformed charge answer") from exc
        if (
            not isinstance(charge_id, str)
            or not 0 < len(charge_id) <= MAX_CHARGE_ID
            or charge_status not in CHARGE_STATUSES
        ):
            raise PaymentsUncertain("malformed charge answer")
        return Charge(charge_id, charge_status)
