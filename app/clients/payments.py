"""The payment provider client (../shared/DEVICES.md): one pooled httpx client per process, a
bearer token, short timeouts. `POST /v1/charges` and `POST /v1/agreements` are idempotent by
`idempotencyKey` (the same key always returns the same charge or agreement), so they are
retried, and re-sending one later is also how Anju learns the current status of a charge
whose answer or webhook it missed. A charge may name a signed payment agreement (autopay):
the provider then charges the payer without their interaction, or answers 409 when the
agreement is not active.

    PaymentsError                 the provider could not do it
     ├── PaymentsUnavailable      the request was not taken: connection refused, 503, 429
     │                            (nothing was created by this call)
     ├── PaymentsRefused          a 4xx: the provider refused this request (bad token or body);
     │    │                       nothing was created by this call
     │    └── AgreementInactive   409 agreement_inactive: the charge names an agreement that
     │                            is not (or no longer) active; no charge was created
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
AGREEMENT_STATUSES = frozenset({"pending", "active", "cancelled"})
MAX_SIGN_URL = 2048


class PaymentsError(Exception):
    pass


class PaymentsUnavailable(PaymentsError):
    pass


class PaymentsRefused(PaymentsError):
    pass


class PaymentsUncertain(PaymentsError):
    pass


class AgreementInactive(PaymentsRefused):
    pass


@dataclass(frozen=True)
class Charge:
    charge_id: str
    status: str  # "pending", "succeeded", "failed"


@dataclass(frozen=True)
class Agreement:
    agreement_id: str
    status: str  # "pending", "active", "cancelled"
    sign_url: str


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
        agreement_id: str | None = None,
        retries: int = RETRIES,
    ) -> Charge:
        """Creates (or, for a key already used, finds) the charge, through `agreement_id`
        when given (autopay); retried on failures that leave its fate unknown, which the
        idempotency key makes safe."""
        body: dict[str, Any] = {
            "idempotencyKey": idempotency_key,
            "amountFen": amount_fen,
            "method": method,
            "description": description,
            "notifyUrl": notify_url,
        }
        if agreement_id is not None:
            body["agreementId"] = agreement_id
        attempt = 0
        while True:
            try:
                return _charge_of(await self._post("/v1/charges", body))
            except (PaymentsUnavailable, PaymentsUncertain) as exc:
                if attempt >= retries:
                    raise
                attempt += 1
                log.info("charge %s: %s; retry %d", idempotency_key, exc, attempt)
                await asyncio.sleep(0.2 * attempt)

    async def create_agreement(
        self,
        *,
        idempotency_key: str,
        method: str,
        payer_phone: str,
        description: str,
        notify_url: str,
    ) -> Agreement:
        """Creates (or, for a key already used, finds) a payment agreement that the payer
        then signs in their wallet app. Not retried here: the caller (a tenant waiting in
        the app, or the worker) asks again with the same key."""
        body = {
            "idempotencyKey": idempotency_key,
            "method": method,
            "payerPhone": payer_phone,
            "description": description,
            "notifyUrl": notify_url,
        }
        answer = await self._post("/v1/agreements", body)
        agreement_id, status = answer.get("agreementId"), answer.get("status")
        sign_url = answer.get("signUrl")
        if (
            not isinstance(agreement_id, str)
            or not 0 < len(agreement_id) <= MAX_CHARGE_ID
            or status not in AGREEMENT_STATUSES
            or not isinstance(sign_url, str)
            or not sign_url.startswith(("https://", "http://"))
            or len(sign_url) > MAX_SIGN_URL
        ):
            raise PaymentsUncertain("malformed agreement answer")
        return Agreement(agreement_id, status, sign_url)

    async def cancel_agreement(self, agreement_id: str) -> None:
        """Ends an agreement (charges already taken still settle). An agreement the
        provider does not know is as good as cancelled."""
        try:
            response = await self._http.delete(f"/v1/agreements/{agreement_id}")
        except httpx.ConnectError as exc:
            raise PaymentsUnavailable(f"cannot reach the provider: {exc!r}") from exc
        except httpx.TimeoutException as exc:
            raise PaymentsUncertain("no answer in time") from exc
        except httpx.TransportError as exc:
            raise PaymentsUncertain(f"the connection broke: {exc!r}") from exc
        if response.status_code in {204, 200, 404}:
            return
        _raise_for(response)
        raise PaymentsUncertain(f"unexpected answer {response.status_code}")

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """The JSON object a 200/201 answer carries, or the error its failure means."""
        try:
            response = await self._http.post(path, json=body)
        except httpx.ConnectError as exc:  # nothing was sent
            raise PaymentsUnavailable(f"cannot reach the provider: {exc!r}") from exc
        except httpx.TimeoutException as exc:
            if isinstance(exc, httpx.ConnectTimeout):
                raise PaymentsUnavailable("no connection in time") from exc
            raise PaymentsUncertain("no answer in time") from exc
        except httpx.TransportError as exc:
            raise PaymentsUncertain(f"the connection broke: {exc!r}") from exc
        _raise_for(response)
        if response.status_code not in {200, 201}:
            raise PaymentsUncertain(f"unexpected answer {response.status_code}")
        try:
            answer = response.json()
        except ValueError as exc:
            raise PaymentsUncertain("malformed answer") from exc
        if not isinstance(answer, dict):
            raise PaymentsUncertain("malformed answer")
        return answer


def _raise_for(response: httpx.Response) -> None:
    """The error an answer's failure status means (nothing for a 1xx-3xx)."""
    status = response.status_code
    if status in {429, 503}:
        raise PaymentsUnavailable(f"the provider answered {status}")
    if status >= 500:
        raise PaymentsUncertain(f"the provider answered {status}")
    if status == 409 and "agreement_inactive" in response.text[:200]:
        raise AgreementInactive("the agreement is not active")
    if 400 <= status < 500:
        log.error("the provider refused a request: %s %s", status, response.text[:200])
        raise PaymentsRefused(f"the provider refused the request ({status})")


def _charge_of(answer: dict[str, Any]) -> Charge:
    charge_id, charge_status = answer.get("chargeId"), answer.get("status")
    if (
        not isinstance(charge_id, str)
        or not 0 < len(charge_id) <= MAX_CHARGE_ID
        or charge_status not in CHARGE_STATUSES
    ):
        raise PaymentsUncertain("malformed charge answer")
    return Charge(charge_id, charge_status)
