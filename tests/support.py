"""Helpers for tests that talk to Anju over HTTP, as the apps do."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import httpx

_phones = itertools.count(1)


def next_phone() -> str:
    """A fresh, valid mainland mobile number for each account a test makes."""
    return f"139{next(_phones):08d}"


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

    def log_in(self, phone: str, password: str) -> Caller:
        payload = Caller(self).mutate(
            "logIn", LOG_IN, {"input": {"phone": phone, "password": password}}
        )
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

    def sign_up(self, role: str, name: str = "Test User") -> Caller:
        phone, password = next_phone(), "correct horse battery"
        payload = Caller(self).mutate(
            "signUp",
            SIGN_UP,
            {"input": {"role": role, "name": name, "phone": phone, "password": password}},
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
REFRESH = f"""mutation($input: RefreshSessionInput!) {{ refreshSession(input: $input) {{
  accessToken refreshToken expiresIn {ACCOUNT_FIELDS} userErrors {{ field message code }} }} }}"""
LOG_OUT = """mutation($input: LogOutInput!) { logOut(input: $input) {
  ok userErrors { field message code } } }"""
CREATE_ACCOUNT = f"""mutation($input: CreateAccountInput!) {{ createAccount(input: $input) {{
  {ACCOUNT_FIELDS} userErrors {{ field message code }} }} }}"""
ME = "{ me { id role name phone } }"
