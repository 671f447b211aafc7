"""Helpers for tests that talk to Anju over HTTP, as the apps do."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx

_phones = itertools.count(1)
T = TypeVar("T")


def persisted_text(name: str) -> str:
    """The text of the apps' persisted operation `name` (app/operations/**/<name>.graphql)."""
    from app.schema.persisted import operation_files

    (path,) = [p for p in operation_files() if p.stem == name]
    return path.read_text()


def persisted_id(name: str) -> str:
    """The documentId (`sha256:<hex>`) of the persisted operation `name`."""
    from app.schema.persisted import document_id

    return "sha256:" + document_id(persisted_text(name))


def next_phone() -> str:
    """A fresh, valid mainland mobile number for each account a test makes."""
    return f"139{next(_phones):08d}"


def sim_post(http: httpx.Client, sim_url: str, path: str, body: Any = None) -> Any:
    """A control or protocol call to the simulator, which must succeed; its JSON answer."""
    response = http.post(f"{sim_url}{path}", json=body if body is not None else {})
    response.raise_for_status()
    return response.json()


def label_code(api: Api, device_id: str) -> str:
    """The claim code printed on a device's label (the simulator shows the label), as the
    landlord holding the device reads it."""
    from devstack.sim_labels import claim_code

    return claim_code(api.client, api.sim_url, device_id)


def eventually(check: Callable[[], T], *, within: float = 60.0, every: float = 0.05) -> T:
    """Polls `check` until it returns something truthy (a bounded wait, no timing assumed);
    its last value otherwise, for the caller's assertion to show."""
    deadline = time.monotonic() + within
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(every)


class GraphQLErrors(AssertionError):
    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(errors)
        self.errors = errors

    @property
    def codes(self) -> list[str]:
        return [e.get("extensions", {}).get("code") for e in self.errors]


@dataclass
class Caller:
    """One signed-in (or anonymous) app user."""

    api: Api
    token: str | None = None
    refresh_token: str | None = None
    account: dict[str, Any] = field(default_factory=dict)
    phone: str | None = None
    password: str | None = None

    def post(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        return self.api.post(query, variables, token=self.token)

    def data(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """The `data` of a query that must succeed."""
        body = self.post(query, variables)
        if body.get("errors"):
            raise GraphQLErrors(body["errors"])
        return body["data"]

    def errors(self, query: str, variables: dict[str, Any] | None = None) -> list[str]:
        """The error codes of a query that must fail at the GraphQL level."""
        body = self.post(query, variables)
        assert body.get("errors"), f"expected errors, got {body}"
        return [e.get("extensions", {}).get("code") for e in body["errors"]]

    def codes(self, query: str, variables: dict[str, Any] | None = None) -> list[str]:
        """The error codes of a query, empty when it succeeds (for waits on a change)."""
        body = self.post(query, variables)
        return [e.get("extensions", {}).get("code") for e in body.get("errors") or []]

    def mutate(self, name: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        """A mutation's payload, which must have no userErrors."""
        payload = self.data(query, variables)[name]
        assert payload["userErrors"] == [], payload["userErrors"]
        return payload

    def refused(self, name: str, query: str, variables: dict[str, Any]) -> list[str]:
        """The userErrors codes of a mutation that must be refused."""
        payload = self.data(query, variables)[name]
        assert payload["userErrors"], f"expected userErrors, got {payload}"
        return [e["code"] for e in payload["userErrors"]]


@dataclass
class Api:
    base_url: str
    client: httpx.Client
    admin_phone: str
    admin_password: str
    sim_url: str = ""

    def post(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> dict[str, Any]:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        response = self.client.post(
            f"{self.base_url}/graphql",
            json={"query": query, "variables": variables or {}},
            headers=headers,
        )
        assert response.status_code == 200, (response.status_code, response.text)
        body: dict[str, Any] = response.json()
        return body

    def anonymous(self) -> Caller:
        return Caller(self)

    def move_clock(self, seconds: float) -> None:
        """Moves Anju's clock `seconds` ahead of the real one (ANJU_ENV=test only); every test
        starts with it at the real time."""
        response = self.client.post(f"{self.base_url}/test/clock", json={"offsetSeconds": seconds})
        response.raise_for_status()

    def phone_code(self, phone: str, purpose: str = "SIGN_UP") -> str:
        """A code requested for `phone`, read from the phone (the simulator's SMS inbox)."""
        from app.validation import normalize_phone
        from devstack.sim_sms import messages, newest_code

        number = normalize_phone(phone) or phone
        known = len(messages(self.client, self.sim_url, number))
        Caller(self).mutate(
            "requestPhoneCode", REQUEST_CODE, {"input": {"phone": phone, "purpose": purpose}}
        )
        return newest_code(self.client, self.sim_url, number, after=known)

    def log_in(self, phone: str, password: str) -> Caller:
        """Logs in; an account whose phone is not confirmed yet (an admin made it) confirms
        it on the way, with a code from the phone and the password, as its owner would."""
        given = {"phone": phone, "password": password}
        payload = Caller(self).data(LOG_IN, {"input": given})["logIn"]
        if [e["code"] for e in payload["userErrors"]] == ["PHONE_VERIFICATION_REQUIRED"]:
            code = self.phone_code(phone, "LOG_IN")
            payload = Caller(self).mutate(
                "logInWithCode", LOG_IN_WITH_CODE, {"input": {**given, "phoneCode": code}}
            )
        assert payload["userErrors"] == [], payload["userErrors"]
        return Caller(
            self,
            payload["accessToken"],
            payload["refreshToken"],
            payload["account"],
            phone,
            password,
        )

    _admin: Caller | None = None

    def admin(self) -> Caller:
        if self._admin is None:
            self._admin = self.log_in(self.admin_phone, self.admin_password)
        return self._admin

    def sign_up(self, role: str, name: str = "Test User", phone: str | None = None) -> Caller:
        phone, password = phone or next_phone(), "correct horse battery"
        code = self.phone_code(phone)
        payload = Caller(self).mutate(
            "signUp",
            SIGN_UP,
            {
                "input": {
                    "role": role,
                    "name": name,
                    "phone": phone,
                    "password": password,
                    "phoneCode": code,
                }
            },
        )
        return Caller(
            self,
            payload["accessToken"],
            payload["refreshToken"],
            payload["account"],
            phone,
            password,
        )

    def provisioned(
        self, role: str, scope: dict[str, str] | None = None, name: str = "Officer"
    ) -> Caller:
        phone, password = next_phone(), "provisioned password"
        self.admin().mutate(
            "createAccount",
            CREATE_ACCOUNT,
            {
                "input": {
                    "role": role,
                    "name": name,
                    "phone": phone,
                    "password": password,
                    "scope": scope,
                }
            },
        )
        return self.log_in(phone, password)

    def caller(self, role: str, **kwargs: Any) -> Caller:
        """A signed-in caller of any role (sign-up or provisioning as the role needs)."""
        if role in {"LANDLORD", "TENANT"}:
            return self.sign_up(role, **kwargs)
        if role == "ADMIN" and not kwargs:
            return self.admin()
        return self.provisioned(role, **kwargs)


ACCOUNT_FIELDS = "account { id role name phone }"
SIGN_UP = f"""mutation($input: SignUpInput!) {{ signUp(input: $input) {{
  accessToken refreshToken expiresIn {ACCOUNT_FIELDS} userErrors {{ field message code }} }} }}"""
LOG_IN = f"""mutation($input: LogInInput!) {{ logIn(input: $input) {{
  accessToken refreshToken expiresIn {ACCOUNT_FIELDS} userErrors {{ field message code }} }} }}"""
LOG_IN_WITH_CODE = f"""mutation($input: LogInWithCodeInput!) {{ logInWithCode(input: $input) {{
  accessToken refreshToken expiresIn {ACCOUNT_FIELDS} userErrors {{ field message code }} }} }}"""
REQUEST_CODE = """mutation($input: RequestPhoneCodeInput!) { requestPhoneCode(input: $input) {
  sent retryAfterSeconds userErrors { field message code } } }"""
REFRESH = f"""mutation($input: RefreshSessionInput!) {{ refreshSession(input: $input) {{
  accessToken refreshToken expiresIn {ACCOUNT_FIELDS} userErrors {{ field message code }} }} }}"""
LOG_OUT = """mutation($input: LogOutInput!) { logOut(input: $input) {
  ok userErrors { field message code } } }"""
CREATE_ACCOUNT = f"""mutation($input: CreateAccountInput!) {{ createAccount(input: $input) {{
  {ACCOUNT_FIELDS} userErrors {{ field message code }} }} }}"""
ME = "{ me { id role name phone } }"
ACCEPT_LEASE = """mutation($input: AcceptLeaseInput!) { acceptLease(input: $input) {
  lease { id tenantAcceptedAt } userErrors { field message code } } }"""


def accept_lease(tenant: Caller, lease_id: str) -> dict[str, Any]:
    """The tenant accepts, in the app, the lease sent to their phone."""
    lease: dict[str, Any] = tenant.mutate(
        "acceptLease", ACCEPT_LEASE, {"input": {"leaseId": lease_id}}
    )["lease"]
    return lease


class Subscription:
    """A graphql-transport-ws client for one subscription, run in a background thread so
    that sync tests can subscribe, act, then read what arrived."""

    def __init__(
        self, base_url: str, query: str, token: str | None, *, document_id: str | None = None
    ) -> None:
        import queue
        import threading

        self.url = base_url.replace("http://", "ws://") + "/graphql"
        self.query = query
        self.document_id = document_id
        self.token = token
        self.messages: queue.Queue[dict[str, Any]] = queue.Queue()
        self.closed: dict[str, Any] = {}
        self.ready = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Subscription:
        self._thread.start()
        self.ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        import asyncio

        asyncio.run(self._main())

    async def _main(self) -> None:
        import asyncio
        import json

        import websockets

        try:
            async with websockets.connect(
                self.url, subprotocols=[websockets.Subprotocol("graphql-transport-ws")]
            ) as ws:
                payload = {"authorization": f"Bearer {self.token}"} if self.token else {}
                await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
                ack = json.loads(await asyncio.wait_for(ws.recv(), 5))
                if ack.get("type") != "connection_ack":
                    self.closed = {"message": ack}
                    return
                subscribe = (
                    {"documentId": self.document_id} if self.document_id else {"query": self.query}
                )
                await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": subscribe}))
                # the server starts watching when it handles the subscribe message; give it
                # a moment so that events raised right after entering are not missed
                await asyncio.sleep(0.5)
                self.ready.set()
                while not self._stop.is_set():
                    try:
                        raw = await asyncio.wait_for(ws.recv(), 0.2)
                    except TimeoutError:
                        continue
                    self.messages.put(json.loads(raw))
        except websockets.ConnectionClosed as closed:
            self.closed = {
                "code": closed.rcvd.code if closed.rcvd else None,
                "reason": closed.rcvd.reason if closed.rcvd else None,
            }
        finally:
            self.ready.set()

    def next(self, timeout: float) -> dict[str, Any] | None:
        """The next `next` payload's data within `timeout` seconds, or None."""
        import queue

        try:
            while True:
                message = self.messages.get(timeout=timeout)
                if message.get("type") == "next":
                    payload = message["payload"]
                    data: dict[str, Any] = payload.get("data") or payload
                    return data
                if message.get("type") in {"error", "complete"}:
                    return message
        except queue.Empty:
            return None
