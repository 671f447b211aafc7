"""The SMS provider (DEVICES.md, version 2): Anju's text messages. It is served on the
simulator's own port because Anju's SMS_URL defaults to `http://127.0.0.1:$SIM_PORT`.

`POST /v1/messages` `{"to","template","params","idempotencyKey"}`, with `Authorization: Bearer
<SMS_TOKEN>` (sim.settings), answers 202 `{"messageId"}`. Where DEVICES.md is silent, the
simulator does what an SMS provider would, checking in this order:

1. the token (401);
2. the body (400): `to` a string, `template` a registered-looking name (lower-case letters,
   digits, `_`; any such name is taken, as Anju's README names the templates), `params` an
   object of string or number values (`{}` if absent), `idempotencyKey` a non-empty string;
3. a key already accepted: its message again (202, the same messageId), whatever the mode and
   the rest of the body say, and nothing is sent twice;
4. mode `throttle`: 429 `{"retryAfter": seconds}` with a `Retry-After` header;
5. a number it cannot reach: 400 `{"error":"unreachable"}`. Reachable is an 11-digit mainland
   mobile number, `1[3-9]` and nine digits, written bare (no +86, spaces or dashes), as
   Anju's own phone validation has it; in mode `fail` no number is;
6. content (400 `{"error":"forbidden_content"}`): a parameter named like a password or an ID
   number, or a value with an 18-character resident ID number in it. DEVICES.md says no
   message carries either; a provider's content review would stop them, and here a test that
   lets one through fails loudly.

A refused message (400, 429) is not kept, nor its key, so the same key can be sent again later.
SMS faults beyond the modes (down, slow, garbage) are not simulated.

Controls: `GET /sim/sms?phone=…` every message accepted for that phone, newest first (all
messages without `phone`); `POST /sim/sms/mode` `{"mode":"deliver"/"fail"/"throttle"}`,
optionally `"retryAfter"` (whole seconds, 1 to 3600; 1 by default) for throttled answers.
`POST /sim/reset` forgets the messages, the mode and the keys."""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sim.common import (
    Refusal,
    bad_request,
    is_mainland_mobile,
    json_object,
    require_bearer,
    sim_of,
)
from sim.state import SMS_MODES

TEMPLATE = re.compile(r"[a-z][a-z0-9_]{0,63}")
ID_NUMBER = re.compile(r"(?<![0-9])[0-9]{17}[0-9Xx](?![0-9A-Za-z])")
FORBIDDEN_NAMES = ("password", "idnumber", "idcard")
MAX_RETRY_AFTER_S = 3600


def _params(raw: object) -> dict[str, object]:
    if raw is None:
        return {}
    if not isinstance(raw, dict) or not all(
        isinstance(v, str | int | float) and not isinstance(v, bool) for v in raw.values()
    ):
        raise bad_request("params must be an object of string or number values")
    return raw


def _forbidden(params: dict[str, object]) -> bool:
    for name, value in params.items():
        folded = re.sub(r"[^a-z]", "", name.lower())
        if any(word in folded for word in FORBIDDEN_NAMES) or ID_NUMBER.search(str(value)):
            return True
    return False


async def send_message(request: Request) -> Response:
    sim = sim_of(request)
    require_bearer(request, sim.sms_token)
    body = await json_object(request)
    to, template, key = body.get("to"), body.get("template"), body.get("idempotencyKey")
    if not isinstance(to, str):
        raise bad_request("to must be a string")
    if not isinstance(template, str) or not TEMPLATE.fullmatch(template):
        raise bad_request("template must be a template name (a-z, 0-9, _)")
    params = _params(body.get("params"))
    if not isinstance(key, str) or not key:
        raise bad_request("idempotencyKey must be a non-empty string")
    sent = sim.state.message_by_key.get(key)
    if sent is None:
        if sim.state.sms_mode == "throttle":
            wait = sim.state.sms_retry_after_s
            raise Refusal(429, {"retryAfter": wait}, headers={"retry-after": str(wait)})
        if sim.state.sms_mode == "fail" or not is_mainland_mobile(to):
            raise Refusal(400, {"error": "unreachable"})
        if _forbidden(params):
            raise Refusal(400, {"error": "forbidden_content"})
        sent = sim.state.send_message(key, to, template, params)
    return JSONResponse({"messageId": sent.message_id}, status_code=202)


async def list_messages(request: Request) -> Response:
    """Newest first; only those to `?phone=` when given."""
    phone = request.query_params.get("phone")
    messages = reversed(sim_of(request).state.messages)
    return JSONResponse([m.public() for m in messages if phone is None or m.to == phone])


async def sms_mode(request: Request) -> Response:
    body = await json_object(request)
    mode, retry_after = body.get("mode"), body.get("retryAfter", 1)
    if mode not in SMS_MODES:
        raise bad_request("mode must be deliver, fail or throttle")
    if (
        not isinstance(retry_after, int)
        or isinstance(retry_after, bool)
        or not 1 <= retry_after <= MAX_RETRY_AFTER_S
    ):
        raise bad_request(f"retryAfter must be whole seconds from 1 to {MAX_RETRY_AFTER_S}")
    state = sim_of(request).state
    state.sms_mode, state.sms_retry_after_s = mode, retry_after
    return JSONResponse({"mode": mode, "retryAfter": retry_after})


routes = [
    Route("/v1/messages", send_message, methods=["POST"]),
    Route("/sim/sms", list_messages, methods=["GET"]),
    Route("/sim/sms/mode", sms_mode, methods=["POST"]),
]
