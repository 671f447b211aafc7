"""The SMS provider client (../shared/DEVICES.md, "SMS provider"): one pooled httpx client per
process, a bearer token, short timeouts. `POST /v1/messages` is idempotent by
`idempotencyKey` (the same key sends once), so a message whose answer was lost is simply sent
again with its key. No message carries an ID number or a password.

    SmsError                 the message was not accepted
     ├── SmsThrottled        429: try again after `retry_after` seconds
     ├── SmsUndeliverable    400: the provider cannot reach that number (do not retry)
     └── SmsUnavailable      no usable answer: unreachable, timed out, 5xx, malformed
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from app.logs import add_request_id
from app.settings import Settings

CONNECT_TIMEOUT_S = 2.0
TIMEOUT_S = 5.0
MAX_MESSAGE_ID = 128


class SmsError(Exception):
    pass


class SmsThrottled(SmsError):
    def __init__(self, retry_after: float) -> None:
        super().__init__(f"throttled for {retry_after}s")
        self.retry_after = retry_after


class SmsUndeliverable(SmsError):
    pass


class SmsUnavailable(SmsError):
    pass


@dataclass(frozen=True)
class Sent:
    message_id: str


class SmsClient:
    def __init__(self, settings: Settings, transport: httpx.AsyncBaseTransport | None = None):
        self._http = httpx.AsyncClient(
            base_url=settings.sms_url,
            headers={"authorization": f"Bearer {settings.sms_token}"},
            timeout=httpx.Timeout(TIMEOUT_S, connect=CONNECT_TIMEOUT_S),
            limits=httpx.Limits(max_connections=20, max_keepalive_connections=5),
            transport=transport,
            event_hooks={"request": [add_request_id]},
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def send(
        self, *, to: str, template: str, params: dict[str, str], idempotency_key: str
    ) -> Sent:
        body: dict[str, Any] = {
            "to": to,
            "template": template,
            "params": params,
            "idempotencyKey": idempotency_key,
        }
        try:
            response = await self._http.post("/v1/messages", json=body)
        except httpx.HTTPError as exc:
            raise SmsUnavailable(f"no answer from the SMS provider: {exc!r}") from exc
        if response.status_code == 429:
            raise SmsThrottled(_retry_after(response))
        if response.status_code == 400:
            raise SmsUndeliverable("the provider cannot reach this number")
        if response.status_code not in (200, 202):
            raise SmsUnavailable(f"the SMS provider answered {response.status_code}")
        try:
            message_id = response.json()["messageId"]
        except (ValueError, KeyError, TypeError) as exc:
            raise SmsUnavailable("malformed answer") from exc
        if not isinstance(message_id, str) or not 0 < len(message_id) <= MAX_MESSAGE_ID:
            raise SmsUnavailable("malformed answer")
        return Sent(message_id)


def _retry_after(response: httpx.Response) -> float:
    try:
        value = float(response.json().get("retryAfter", 5))
    except (ValueError, TypeError, AttributeError):
        value = 5.0
    return max(0.5, min(value, 300.0))
