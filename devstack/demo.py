"""Demo data for `make run`, loaded through the public GraphQL API (as an app would), and
idempotently: running it twice leaves one copy of everything."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from app.settings import Settings

DEMO_PASSWORD = "anju-demo-2026"


@dataclass(frozen=True)
class DemoAccount:
    role: str
    name: str
    phone: str
    scope: dict[str, str] | None = None


DEMO_ACCOUNTS = [
    DemoAccount("LANDLORD", "王建国 (demo landlord)", "13900000001"),
    DemoAccount("LANDLORD", "李秀英 (second demo landlord)", "13900000002"),
    DemoAccount("TENANT", "张伟 (demo tenant)", "13900000011"),
    DemoAccount("TENANT", "刘芳 (second demo tenant)", "13900000012"),
    DemoAccount("POLICE", "陈警官 (demo police)", "13900000021"),
    DemoAccount(
        "RESPONDER",
        "赵队长 (demo responder)",
        "13900000031",
        {"town": "松门镇", "community": "松门村"},
    ),
]


class DemoClient:
    def __init__(self, base_url: str) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=30)

    def gql(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> dict[str, Any]:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        body = self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        ).json()
        if body.get("errors"):
            raise RuntimeError(f"demo data: {body['errors']}")
        data: dict[str, Any] = body["data"]
        return data

    def log_in(self, phone: str, password: str) -> str | None:
        payload = self.gql(
            "mutation($i: LogInInput!) { logIn(input: $i) { accessToken userErrors { code } } }",
            {"i": {"phone": phone, "password": password}},
        )["logIn"]
        token: str | None = payload["accessToken"]
        return token


def _ensure_accounts(client: DemoClient, settings: Settings) -> dict[str, str]:
    tokens: dict[str, str] = {}
    admin = client.log_in(settings.admin_phone or "", settings.admin_password or "")
    if admin is None:
        raise RuntimeError("cannot log in as the first admin (ANJU_ADMIN_PHONE/PASSWORD)")
    tokens["ADMIN"] = admin
    for acc in DEMO_ACCOUNTS:
        token = client.log_in(acc.phone, DEMO_PASSWORD)
        if token is None:
            if acc.role in {"LANDLORD", "TENANT"}:
                client.gql(
                    "mutation($i: SignUpInput!) { signUp(input: $i) { userErrors { code } } }",
                    {
                        "i": {
                            "role": acc.role,
                            "name": acc.name,
                            "phone": acc.phone,
                            "password": DEMO_PASSWORD,
                        }
                    },
                )
            else:
                client.gql(
                    "mutation($i: CreateAccountInput!) { createAccount(input: $i) "
                    "{ userErrors { code } } }",
                    {
                        "i": {
                            "role": acc.role,
                            "name": acc.name,
                            "phone": acc.phone,
                            "password": DEMO_PASSWORD,
                            "scope": acc.scope,
                        }
                    },
                    token=admin,
                )
            token = client.log_in(acc.phone, DEMO_PASSWORD)
        tokens.setdefault(acc.role, token or "")
        tokens[acc.phone] = token or ""
    return tokens


def load_demo(base_url: str, settings: Settings) -> str:
    """Loads the demo data; returns a summary to print."""
    client = DemoClient(base_url)
    _wait_ready(client)
    _ensure_accounts(client, settings)
    lines = [
        "Demo accounts (development passwords):",
        f"  ADMIN      {settings.admin_phone}  {settings.admin_password}",
    ]
    lines += [f"  {a.role:<10} {a.phone}  {DEMO_PASSWORD}  {a.name}" for a in DEMO_ACCOUNTS]
    return "\n".join(lines)


def _wait_ready(client: DemoClient, timeout: float = 60) -> None:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if client.http.get("/readyz").status_code == 200:
            return
        time.sleep(0.3)
    raise RuntimeError("Anju did not become ready")
