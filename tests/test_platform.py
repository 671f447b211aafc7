"""The platform: health and readiness, the GraphQL endpoint, the body limit, the database
driver against the real server, recovery from a database outage, production settings."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx
import pytest
from pymongo import AsyncMongoClient
from pymongo.errors import DuplicateKeyError

from app.settings import SettingsError, load_settings
from devstack.anju import start_anju, start_simulator, wait_until_ready
from devstack.ferretdb import start_ferretdb
from devstack.procs import free_port, stop
from sim.settings import load_sms_token
from tests.conftest import Stack, _test_env
from tests.support import Api, persisted_id

ROOT = Path(__file__).resolve().parent.parent


def test_healthz_and_readyz(api: Api, http: httpx.Client) -> None:
    assert http.get(f"{api.base_url}/healthz").json() == {"status": "alive"}
    ready = http.get(f"{api.base_url}/readyz")
    assert ready.status_code == 200
    assert ready.json()["database"] == "up"


def test_graphql_over_get_answers_persisted_queries_only(api: Api, http: httpx.Client) -> None:
    # given an anonymous caller
    # when it asks a persisted query over GET, by its documentId
    ok = http.get(f"{api.base_url}/graphql", params={"documentId": persisted_id("Me")})
    # then it is answered, with a request id and the security headers
    assert ok.status_code == 200
    assert ok.json()["data"] == {"me": None}
    assert ok.headers["x-request-id"]
    assert ok.headers["x-content-type-options"] == "nosniff"
    # and any other document over GET is refused (even where arbitrary ones are served)
    other = http.get(f"{api.base_url}/graphql", params={"query": "{ me { id } }"})
    assert other.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_REQUIRED"
    # and a mutation over GET is refused, persisted or not
    bad = http.get(
        f"{api.base_url}/graphql",
        params={
            "documentId": persisted_id("LogOut"),
            "variables": '{"input": {"refreshToken": "x"}}',
        },
    )
    assert bad.status_code in {400, 405}


def test_request_body_over_the_limit_is_refused_with_413(api: Api, http: httpx.Client) -> None:
    # given a body over 64 KiB
    huge = "{ me { id } }" + " " * 70_000
    # when posted
    response = http.post(f"{api.base_url}/graphql", json={"query": huge})
    # then 413 with a coded error, and a normal query still passes
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"
    assert api.anonymous().data("{ me { id } }") == {"me": None}


def test_syntax_errors_carry_a_code(api: Api) -> None:
    codes = api.anonymous().errors("{ me { id }")
    assert codes == ["GRAPHQL_VALIDATION_FAILED"]


def test_node_with_a_malformed_or_unknown_id_is_null(api: Api) -> None:
    caller = api.anonymous()
    query = "query($id: ID!) { node(id: $id) { id } }"
    for bad in ["", "not-base64!", "QWNjb3VudDp4", "x" * 500, '{"$gt": ""}']:
        assert caller.data(query, {"id": bad}) == {"node": None}


async def test_driver_smoke_against_the_real_server(stack: Stack) -> None:
    # given the database server the tests run on (FerretDB, or MONGODB_URI)
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(stack.mongodb_uri)
    try:
        coll = client[stack.db_name]["driver_smoke"]
        await coll.drop()
        await coll.create_index("code", unique=True)
        # when we insert, find, update and aggregate
        await coll.insert_many(
            [
                {"code": "a", "town": "松门", "n": 2},
                {"code": "b", "town": "松门", "n": 3},
                {"code": "c", "town": "箬横", "n": 5},
            ]
        )
        found = await coll.find_one({"code": "b"})
        assert found is not None and found["n"] == 3
        await coll.update_one({"code": "b"}, {"$inc": {"n": 10}})
        with pytest.raises(DuplicateKeyError):
            await coll.insert_one({"code": "a"})
        totals = await (
            await coll.aggregate(
                [{"$group": {"_id": "$town", "total": {"$sum": "$n"}}}, {"$sort": {"_id": 1}}]
            )
        ).to_list(None)
        # then the server behaves as MongoDB does
        assert {t["_id"]: t["total"] for t in totals} == {"松门": 15, "箬横": 5}
        await coll.drop()
    finally:
        await client.close()


@pytest.mark.skipif(
    bool(os.environ.get("MONGODB_URI")),
    reason="stops and restarts the database, which needs our own FerretDB",
)
def test_anju_survives_a_database_outage_without_restarting(http: httpx.Client) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="anju-outage-"))
    fport, aport, sport = free_port(), free_port(), free_port()
    env = _test_env(workdir, f"mongodb://127.0.0.1:{fport}/", "anju_outage", aport, sport)
    ferret = anju = None
    # the admin confirms their phone at the first log-in: the simulator's SMS provider
    sim = start_simulator(sport, f"http://127.0.0.1:{aport}", env, workdir / "sim.log")
    try:
        # given Anju started while the database is down
        anju = start_anju(aport, env, log_path=workdir / "anju.log", wait_ready=False)
        base = f"http://127.0.0.1:{aport}"
        assert http.get(f"{base}/healthz").status_code == 200
        assert http.get(f"{base}/readyz").status_code == 503
        # when the database comes up
        ferret = start_ferretdb(fport, workdir / "db", workdir / "ferret.log")
        wait_until_ready(base)
        api = Api(
            base, http, env["ANJU_ADMIN_PHONE"], env["ANJU_ADMIN_PASSWORD"], env["GATEWAY_URL"]
        )
        assert api.admin().data("{ me { role } }") == {"me": {"role": "ADMIN"}}
        # and goes down again
        stop(ferret)
        assert http.get(f"{base}/readyz").status_code == 503
        body = api.post("{ me { role } }", token=api.admin().token)
        # then a query gets a clean, coded error
        assert body["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
        assert "Traceback" not in str(body)
        # and when it comes back, Anju answers again without a restart
        ferret = start_ferretdb(fport, workdir / "db", workdir / "ferret.log")
        wait_until_ready(base)
        assert api.admin().data("{ me { role } }") == {"me": {"role": "ADMIN"}}
        assert anju.poll() is None
    finally:
        stop(anju)
        stop(ferret)
        stop(sim)


def _create_app(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Anju's start-up (settings, keys, schema) in a process of its own, under `env`."""
    return subprocess.run(
        [sys.executable, "-c", "from app.main import create_app; create_app()"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


# distinct secrets of at least 32 bytes, as production needs them
PRODUCTION_SECRETS = {
    "GATEWAY_TOKEN": "gateway-token-" + "1" * 32,
    "GATEWAY_WEBHOOK_SECRET": "gateway-webhook-secret-" + "2" * 32,
    "PAYMENTS_TOKEN": "payments-token-" + "3" * 32,
    "PAYMENTS_WEBHOOK_SECRET": "payments-webhook-secret-" + "4" * 32,
    "SMS_TOKEN": "sms-token-" + "5" * 32,
    "ANJU_URL_SIGNING_KEY": "url-signing-key-" + "6" * 32,
    "ANJU_ID_NUMBER_KEY": "cHJvZHVjdGlvbi1rZXktMzItYnl0ZXMtbG9uZy0hISE=",
    "ANJU_ADMIN_PASSWORD": "first admin password " + "7" * 32,
}


def test_production_refuses_development_defaults() -> None:
    # given ANJU_ENV=production and no secrets
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("ANJU_", "GATEWAY_", "PAYMENTS_", "MONGODB_"))
    }
    env["ANJU_ENV"] = "production"
    # when Anju starts
    result = _create_app(env)
    # then it refuses, naming what is missing
    assert result.returncode != 0
    assert "refuses development defaults" in result.stderr
    assert "GATEWAY_WEBHOOK_SECRET" in result.stderr


def test_an_unset_anju_env_means_production_rules() -> None:
    # given no ANJU_ENV at all, and the development secrets (none set)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("ANJU_", "GATEWAY_", "PAYMENTS_", "MONGODB_", "SMS_"))
    }
    # when Anju starts, or the simulator reads its SMS token
    result = _create_app(env)
    # then production rules apply: it refuses, naming every development secret in use
    assert result.returncode != 0
    assert "production rules apply" in result.stderr
    for name in ("GATEWAY_WEBHOOK_SECRET", "PAYMENTS_WEBHOOK_SECRET", "ANJU_ID_NUMBER_KEY"):
        assert name in result.stderr
    with pytest.raises(SettingsError, match="SMS_TOKEN"):
        load_sms_token({})
    # and so does any other value than development or test
    with pytest.raises(SettingsError, match="refuses development defaults"):
        load_settings({"ANJU_ENV": "staging"})


def _production(**over: str) -> dict[str, str]:
    return {
        "ANJU_ENV": "production",
        "MONGODB_URI": "mongodb://db.example/",
        "GATEWAY_URL": "https://gw.example",
        "PAYMENTS_URL": "https://pay.example",
        "SMS_URL": "https://sms.example",
        "ANJU_PUBLIC_URL": "https://anju.example",
        "ANJU_JWT_KEYS_DIR": "/etc/anju/keys",
        "ANJU_STORAGE_DIR": "/var/lib/anju/files",
        "ANJU_METRICS": "off",
        **PRODUCTION_SECRETS,
        **over,
    }


def test_production_refuses_short_or_reused_secrets_by_name() -> None:
    # given production settings that are complete and sound
    assert load_settings(_production()).production
    # when a secret is shorter than 32 bytes, or the ID-number key is not 32 bytes
    with pytest.raises(SettingsError) as short:
        load_settings(_production(GATEWAY_WEBHOOK_SECRET="s" * 31, ANJU_ID_NUMBER_KEY="c2hvcnQ="))
    # then it is refused, naming them
    assert "GATEWAY_WEBHOOK_SECRET" in str(short.value)
    assert "ANJU_ID_NUMBER_KEY" in str(short.value)
    assert "PAYMENTS_WEBHOOK_SECRET" not in str(short.value)
    # when one value serves two secrets
    shared = "the-same-secret-for-both-webhooks-0123456789"
    with pytest.raises(SettingsError) as reused:
        load_settings(_production(GATEWAY_WEBHOOK_SECRET=shared, PAYMENTS_WEBHOOK_SECRET=shared))
    # then it is refused, naming both
    assert "GATEWAY_WEBHOOK_SECRET and PAYMENTS_WEBHOOK_SECRET" in str(reused.value)
    # and arbitrary documents cannot be turned on in production
    with pytest.raises(SettingsError, match="ANJU_ARBITRARY_DOCUMENTS"):
        load_settings(_production(ANJU_ARBITRARY_DOCUMENTS="true"))


def test_production_needs_a_signing_key(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANJU_")}
    env.update(
        {
            "ANJU_ENV": "production",
            "MONGODB_URI": "mongodb://127.0.0.1:1/",
            "GATEWAY_URL": "https://gw.example",
            "PAYMENTS_URL": "https://pay.example",
            "ANJU_PUBLIC_URL": "https://anju.example",
            "ANJU_JWT_KEYS_DIR": str(tmp_path),
            **PRODUCTION_SECRETS,
            "SMS_URL": "https://sms.example",
            "ANJU_STORAGE_DIR": f"{tmp_path}-files",
        }
    )
    result = _create_app(env)
    assert result.returncode != 0
    assert "needs an Ed25519 private key" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_cors_only_for_the_apps_origins(api: Api, http: httpx.Client) -> None:
    def preflight(origin: str) -> httpx.Response:
        return http.options(
            f"{api.base_url}/graphql",
            headers={
                "origin": origin,
                "access-control-request-method": "POST",
                "access-control-request-headers": "authorization, content-type",
            },
        )

    allowed = preflight("https://app.anju.example")
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://app.anju.example"
    refused = preflight("https://evil.example")
    assert "access-control-allow-origin" not in refused.headers
    simple = http.post(
        f"{api.base_url}/graphql",
        json={"query": "{ me { id } }"},
        headers={"origin": "https://evil.example"},
    )
    assert "access-control-allow-origin" not in simple.headers


def test_security_headers_on_every_answer(api: Api, http: httpx.Client) -> None:
    for path in ("/healthz", "/readyz", "/graphql?query=%7Bme%7Bid%7D%7D", "/nowhere"):
        response = http.get(f"{api.base_url}{path}")
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "no-referrer"
