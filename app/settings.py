"""Every setting Anju reads from the environment, in one place.

Development defaults let `make run` work with no set-up. Each is marked as such, and
`load_settings()` refuses to start with any of them when ANJU_ENV=production.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Development-only secrets: clearly named so that nobody mistakes them for real ones.
DEV_GATEWAY_TOKEN = "dev-only-gateway-token"
DEV_GATEWAY_WEBHOOK_SECRET = "dev-only-gateway-webhook-secret"
DEV_PAYMENTS_TOKEN = "dev-only-payments-token"
DEV_PAYMENTS_WEBHOOK_SECRET = "dev-only-payments-webhook-secret"
DEV_SMS_TOKEN = "dev-only-sms-token"
DEV_ID_NUMBER_KEY = "ZGV2LW9ubHktaWQtbnVtYmVyLWtleS0zMi1ieXRlcyE="  # 32 bytes, base64
DEV_URL_SIGNING_KEY = "dev-only-url-signing-key"
DEV_ADMIN_PHONE = "13800000000"
DEV_ADMIN_PASSWORD = "dev-admin-password"

_DEV_SECRETS = {
    "GATEWAY_TOKEN": DEV_GATEWAY_TOKEN,
    "GATEWAY_WEBHOOK_SECRET": DEV_GATEWAY_WEBHOOK_SECRET,
    "PAYMENTS_TOKEN": DEV_PAYMENTS_TOKEN,
    "PAYMENTS_WEBHOOK_SECRET": DEV_PAYMENTS_WEBHOOK_SECRET,
    "SMS_TOKEN": DEV_SMS_TOKEN,
    "ANJU_ID_NUMBER_KEY": DEV_ID_NUMBER_KEY,
    "ANJU_URL_SIGNING_KEY": DEV_URL_SIGNING_KEY,
    "ANJU_ADMIN_PASSWORD": DEV_ADMIN_PASSWORD,
}


class SettingsError(RuntimeError):
    """The environment does not describe a runnable Anju."""


def _int(env: dict[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from exc


def _bool(env: dict[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in {"1", "true", "yes", "on"}:
        return True
    if raw.lower() in {"0", "false", "no", "off"}:
        return False
    raise SettingsError(f"{name} must be true or false, got {raw!r}")


def _list(env: dict[str, str], name: str, default: tuple[str, ...]) -> tuple[str, ...]:
    raw = env.get(name)
    if raw is None:
        return default
    return tuple(part.strip() for part in raw.split(",") if part.strip())


@dataclass(frozen=True)
class Settings:
    env: str = "development"
    port: int = 8000
    mongodb_uri: str | None = None
    mongodb_db: str = "anju"
    # longest wait for one database answer before the request fails as "database unavailable"
    mongodb_socket_timeout_ms: int = 20000
    ferretdb_port: int = 27018
    sim_port: int = 8100
    public_url: str = "http://127.0.0.1:8000"
    gateway_url: str = "http://127.0.0.1:8100"
    gateway_token: str = DEV_GATEWAY_TOKEN
    gateway_webhook_secret: str = DEV_GATEWAY_WEBHOOK_SECRET
    gateway_timeout_s: float = 3.0
    payments_url: str = "http://127.0.0.1:8100"
    payments_token: str = DEV_PAYMENTS_TOKEN
    payments_webhook_secret: str = DEV_PAYMENTS_WEBHOOK_SECRET
    sms_url: str = "http://127.0.0.1:8100"
    sms_token: str = DEV_SMS_TOKEN
    # JSON Web Keys: a directory of Ed25519 PEM keys; the newest signs, all verify.
    jwt_keys_dir: Path = ROOT / ".dev-keys"
    jwt_issuer: str = "https://anju.local"
    jwt_audience: str = "anju-api"
    access_token_ttl_s: int = 15 * 60
    refresh_token_ttl_s: int = 30 * 24 * 3600
    id_number_key: str = DEV_ID_NUMBER_KEY
    url_signing_key: str = DEV_URL_SIGNING_KEY
    admin_phone: str | None = DEV_ADMIN_PHONE
    admin_password: str | None = DEV_ADMIN_PASSWORD
    introspection: bool = True
    cors_origins: tuple[str, ...] = ()
    max_body_bytes: int = 64 * 1024
    request_timeout_s: float = 30.0
    login_max_failures: int = 5
    login_lockout_s: int = 15 * 60
    door_rate_limit: int = 10
    door_rate_window_s: int = 60
    # argon2id memory cost; lower only outside production (the test suite's accounts)
    password_hash_memory_kib: int = 64 * 1024
    # password checks one worker runs at once; more are refused (RATE_LIMITED), never queued
    password_checks_per_worker: int = 4
    # sessions: an absolute lifetime from log-in, whatever the refreshes; how long a worker
    # trusts its last look at a session (a revoked one's tokens stop within this)
    session_max_age_s: int = 30 * 24 * 3600
    access_check_cache_s: float = 20.0
    # how many proxies in front of Anju append to X-Forwarded-For (0: the socket's peer is
    # the client)
    trusted_proxies: int = 0
    # phone codes: a new one for the same phone and purpose after this long; at most this
    # many per phone an hour
    phone_code_cooldown_s: int = 60
    phone_codes_per_hour: int = 5
    # log-in, sign-up, code and reset attempts per window: per phone, per client address,
    # and for the whole service
    auth_window_s: int = 15 * 60
    auth_attempts_per_phone: int = 20
    auth_attempts_per_address: int = 50
    auth_attempts_overall: int = 20_000
    # how long a tenant has to accept a lease sent to their phone
    lease_invitation_ttl_s: int = 14 * 24 * 3600
    # the rent worker's pass (RENT_DUE, late fees, autopay charges, reconciliation): every
    # minute in production, every second elsewhere (the tests move the clock and wait)
    rent_worker_interval_s: float = 60.0
    # autopay: tries of one invoice's charge in all, and the wait after a failed one
    autopay_max_attempts: int = 3
    autopay_retry_s: int = 24 * 3600
    # how long a tenant may dispute a deposit settlement
    deposit_dispute_days: int = 14
    expose_metrics: bool = True
    bench_routes: bool = False
    dev_defaults_used: tuple[str, ...] = field(default_factory=tuple)

    @property
    def production(self) -> bool:
        return self.env == "production"

    @property
    def effective_mongodb_uri(self) -> str:
        if self.mongodb_uri:
            return self.mongodb_uri
        return f"mongodb://127.0.0.1:{self.ferretdb_port}/"


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Reads the environment; refuses development secrets in production."""
    env = dict(os.environ if environ is None else environ)
    mode = env.get("ANJU_ENV", "development")
    if mode not in {"development", "test", "production"}:
        raise SettingsError(f"ANJU_ENV must be development, test or production, got {mode!r}")
    production = mode == "production"
    port = _int(env, "ANJU_PORT", 8000)
    sim_port = _int(env, "SIM_PORT", 8100)

    used_defaults = tuple(
        name for name, value in _DEV_SECRETS.items() if env.get(name) in (None, "", value)
    )
    if production:
        if used_defaults:
            raise SettingsError(
                "ANJU_ENV=production refuses development defaults; set "
                + ", ".join(sorted(used_defaults))
            )
        if not env.get("MONGODB_URI"):
            raise SettingsError("ANJU_ENV=production needs MONGODB_URI")
        for name in (
            "GATEWAY_URL",
            "PAYMENTS_URL",
            "SMS_URL",
            "ANJU_PUBLIC_URL",
            "ANJU_JWT_KEYS_DIR",
        ):
            if not env.get(name):
                raise SettingsError(f"ANJU_ENV=production needs {name}")

    # strict in production; generous where one machine runs an automated end-to-end pass
    # (dozens of sign-ups, codes and log-ins a minute from one address)
    def limit(name: str, strict: int, generous: int) -> int:
        return _int(env, name, strict if production else generous)

    hash_memory = _int(env, "ANJU_PASSWORD_HASH_MEMORY_KIB", 64 * 1024)
    if production and hash_memory < 64 * 1024:
        raise SettingsError("ANJU_ENV=production needs ANJU_PASSWORD_HASH_MEMORY_KIB >= 65536")
    if hash_memory < 1024:
        raise SettingsError("ANJU_PASSWORD_HASH_MEMORY_KIB must be at least 1024")

    keys_dir = env.get("ANJU_JWT_KEYS_DIR")
    return Settings(
        env=mode,
        port=port,
        mongodb_uri=env.get("MONGODB_URI") or None,
        mongodb_db=env.get("MONGODB_DB", "anju"),
        mongodb_socket_timeout_ms=_int(env, "MONGODB_SOCKET_TIMEOUT_MS", 20000),
        ferretdb_port=_int(env, "FERRETDB_PORT", 27018),
        sim_port=sim_port,
        public_url=env.get("ANJU_PUBLIC_URL", f"http://127.0.0.1:{port}").rstrip("/"),
        gateway_url=env.get("GATEWAY_URL", f"http://127.0.0.1:{sim_port}").rstrip("/"),
        gateway_token=env.get("GATEWAY_TOKEN") or DEV_GATEWAY_TOKEN,
        gateway_webhook_secret=env.get("GATEWAY_WEBHOOK_SECRET") or DEV_GATEWAY_WEBHOOK_SECRET,
        gateway_timeout_s=float(env.get("GATEWAY_TIMEOUT_S", "3")),
        payments_url=env.get("PAYMENTS_URL", f"http://127.0.0.1:{sim_port}").rstrip("/"),
        payments_token=env.get("PAYMENTS_TOKEN") or DEV_PAYMENTS_TOKEN,
        payments_webhook_secret=env.get("PAYMENTS_WEBHOOK_SECRET") or DEV_PAYMENTS_WEBHOOK_SECRET,
        sms_url=env.get("SMS_URL", f"http://127.0.0.1:{sim_port}").rstrip("/"),
        sms_token=env.get("SMS_TOKEN") or DEV_SMS_TOKEN,
        jwt_keys_dir=Path(keys_dir) if keys_dir else ROOT / ".dev-keys",
        jwt_issuer=env.get("ANJU_JWT_ISSUER", "https://anju.local"),
        jwt_audience=env.get("ANJU_JWT_AUDIENCE", "anju-api"),
        id_number_key=env.get("ANJU_ID_NUMBER_KEY") or DEV_ID_NUMBER_KEY,
        url_signing_key=env.get("ANJU_URL_SIGNING_KEY") or DEV_URL_SIGNING_KEY,
        admin_phone=env.get("ANJU_ADMIN_PHONE") or (None if production else DEV_ADMIN_PHONE),
        admin_password=env.get("ANJU_ADMIN_PASSWORD")
        or (None if production else DEV_ADMIN_PASSWORD),
        introspection=_bool(env, "ANJU_INTROSPECTION", not production),
        cors_origins=_list(env, "ANJU_CORS_ORIGINS", ()),
        max_body_bytes=_int(env, "ANJU_MAX_BODY_BYTES", 64 * 1024),
        request_timeout_s=float(env.get("ANJU_REQUEST_TIMEOUT_S") or 30),
        login_max_failures=_int(env, "ANJU_LOGIN_MAX_FAILURES", 5),
        login_lockout_s=_int(env, "ANJU_LOGIN_LOCKOUT_S", 15 * 60),
        door_rate_limit=_int(env, "ANJU_DOOR_RATE_LIMIT", 10),
        door_rate_window_s=_int(env, "ANJU_DOOR_RATE_WINDOW_S", 60),
        password_hash_memory_kib=hash_memory,
        password_checks_per_worker=_int(env, "ANJU_PASSWORD_CHECKS_PER_WORKER", 4),
        session_max_age_s=_int(env, "ANJU_SESSION_MAX_AGE_S", 30 * 24 * 3600),
        access_check_cache_s=float(env.get("ANJU_ACCESS_CHECK_CACHE_S") or 20),
        trusted_proxies=_int(env, "ANJU_TRUSTED_PROXIES", 0),
        phone_code_cooldown_s=limit("ANJU_PHONE_CODE_COOLDOWN_S", 60, 0),
        phone_codes_per_hour=limit("ANJU_PHONE_CODES_PER_HOUR", 5, 1000),
        auth_window_s=_int(env, "ANJU_AUTH_WINDOW_S", 15 * 60),
        auth_attempts_per_phone=limit("ANJU_AUTH_ATTEMPTS_PER_PHONE", 20, 1000),
        auth_attempts_per_address=limit("ANJU_AUTH_ATTEMPTS_PER_ADDRESS", 50, 100_000),
        auth_attempts_overall=limit("ANJU_AUTH_ATTEMPTS_OVERALL", 20_000, 1_000_000),
        lease_invitation_ttl_s=_int(env, "ANJU_LEASE_INVITATION_TTL_S", 14 * 24 * 3600),
        rent_worker_interval_s=float(
            env.get("ANJU_RENT_WORKER_INTERVAL_S") or (60 if production else 1)
        ),
        autopay_max_attempts=max(1, _int(env, "ANJU_AUTOPAY_MAX_ATTEMPTS", 3)),
        autopay_retry_s=max(60, _int(env, "ANJU_AUTOPAY_RETRY_S", 24 * 3600)),
        deposit_dispute_days=max(1, _int(env, "ANJU_DEPOSIT_DISPUTE_DAYS", 14)),
        expose_metrics=_bool(env, "ANJU_EXPOSE_METRICS", not production),
        bench_routes=_bool(env, "ANJU_BENCH_ROUTES", False) and not production,
        dev_defaults_used=used_defaults,
    )
