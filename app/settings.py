"""Every setting Anju reads from the environment, in one place.

Development defaults let `make run` work with no set-up. They are used only where ANJU_ENV is
`development` or `test`; any other value, unset included, means production rules:
`load_settings()` then refuses every development secret, every secret shorter than 32 bytes
and any secret used twice, naming each.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Mapping
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


# what ANJU_STORAGE=s3 needs (ANJU_S3_ENDPOINT, ANJU_S3_BUCKET, ...)
S3_REQUIRED = ("endpoint", "bucket", "access_key", "secret_key")
# ANJU_ENV values under which development defaults may be used; anything else is production
DEVELOPMENT_MODES = frozenset({"development", "test"})
MIN_SECRET_BYTES = 32


class SettingsError(RuntimeError):
    """The environment does not describe a runnable Anju."""


def production_mode(environ: Mapping[str, str]) -> bool:
    """Production rules apply unless ANJU_ENV says development or test (unset included)."""
    return environ.get("ANJU_ENV", "") not in DEVELOPMENT_MODES


def check_secrets(environ: Mapping[str, str]) -> None:
    """Production's rules for secrets, each refusal naming the variables at fault: no
    development default, at least 32 bytes (the ID-number key: base64 of exactly 32), and no
    value used for two of them."""
    given = {name: environ.get(name) or "" for name in _DEV_SECRETS}
    defaults = sorted(name for name, value in given.items() if value in ("", _DEV_SECRETS[name]))
    if defaults:
        raise SettingsError(
            "production rules apply (ANJU_ENV is not development or test): Anju refuses "
            "development defaults; set " + ", ".join(defaults)
        )
    short = sorted(
        name
        for name, value in given.items()
        if name != "ANJU_ID_NUMBER_KEY" and len(value.encode()) < MIN_SECRET_BYTES
    )
    try:
        key_bytes = len(base64.b64decode(given["ANJU_ID_NUMBER_KEY"], validate=True))
    except (binascii.Error, ValueError):
        key_bytes = 0
    if key_bytes != 32:
        short.append("ANJU_ID_NUMBER_KEY (base64 of exactly 32 bytes)")
    if short:
        raise SettingsError(
            f"secrets must be at least {MIN_SECRET_BYTES} bytes of random data; too short: "
            + ", ".join(short)
        )
    by_value: dict[str, list[str]] = {}
    for name, value in given.items():
        by_value.setdefault(value, []).append(name)
    reused = [" and ".join(sorted(names)) for names in by_value.values() if len(names) > 1]
    if reused:
        raise SettingsError(
            "each secret must be its own; the same value is used for " + "; ".join(sorted(reused))
        )


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
    # photos: where their bytes live (app/clients/storage.py: "disk" or "s3")
    storage: str = "disk"
    storage_dir: Path = ROOT / ".data" / "files"
    s3_endpoint: str | None = None
    s3_bucket: str | None = None
    s3_access_key: str | None = None
    s3_secret_key: str | None = None
    s3_region: str = "us-east-1"
    s3_virtual_host_style: bool = False
    # an upload's largest size; how long its upload URL and a photo's URLs live
    photo_max_bytes: int = 10 * 1024 * 1024
    upload_url_ttl_s: int = 10 * 60
    photo_url_ttl_s: int = 60 * 60
    # uploads one account may start an hour; photos one worker decodes at once
    uploads_per_hour: int = 200
    photo_decodes_per_worker: int = 2
    # repair requests one tenant may report a day; how long a closed one keeps its photos
    maintenance_reports_per_day: int = 10
    maintenance_photo_retention_days: int = 365
    # the photo janitor's longest sleep (expired uploads, removed photos)
    photo_sweep_interval_s: float = 300.0
    # failed device claims (wrong code, unknown or taken device) per landlord per window
    device_claim_failures: int = 10
    device_claim_window_s: int = 3600
    # visitor passes one account may issue per day (each sends a text message)
    visitor_passes_per_day: int = 20
    # how long a visitor pass (the visitor's name, phone and ID number) is kept after its end
    visitor_pass_retention_days: int = 365
    # the rent worker's pass (RENT_DUE, late fees, autopay charges, reconciliation): every
    # minute in production, every second elsewhere (the tests move the clock and wait)
    rent_worker_interval_s: float = 60.0
    # autopay: tries of one invoice's charge in all, and the wait after a failed one
    autopay_max_attempts: int = 3
    autopay_retry_s: int = 24 * 3600
    # how long a tenant may dispute a deposit settlement
    deposit_dispute_days: int = 14
    # fire safety (app/services/hazards.py, safety_checks.py): the safety worker's pass; how
    # long a smoke detector may be offline before Anju opens a hazard; the deadline of the
    # hazards Anju opens itself; the equipment standard a property's records must meet
    safety_worker_interval_s: float = 60.0
    detector_offline_hazard_hours: int = 24
    auto_hazard_deadline_days: int = 7
    standard_extinguishers_per_floor: int = 1
    standard_smoke_detectors_per_room: int = 1
    standard_escape_windows_per_floor: int = 1
    # hazard exports (CSV): per account an hour, the most rows one may hold, its URL's life
    hazard_exports_per_hour: int = 20
    hazard_export_max_rows: int = 50_000
    hazard_export_url_ttl_s: int = 300
    expose_metrics: bool = True
    # operations (README, "Running Anju"): Prometheus metrics at /metrics, behind a bearer
    # token when one is set (production serves them only so); log lines as text or JSON;
    # GraphiQL (never in production); OpenTelemetry traces to an OTLP collector when named
    metrics_enabled: bool = True
    metrics_token: str | None = None
    log_format: str = "text"
    log_level: str = "INFO"
    graphiql: bool = True
    otlp_endpoint: str | None = None
    bench_routes: bool = False
    # the background workers (outboxes, rent, safety, retention, photos); off makes an API-only
    # instance, for a deployment that runs them on some instances only, and for the benchmark's
    # CPU per request, measured without their bursts
    background_workers: bool = True
    # documents other than the persisted ones of app/operations/ (development, GraphiQL, the
    # test suite and scripts); never in production
    arbitrary_documents: bool = True
    # the most objects one request may ask for, lists multiplied through nesting
    # (app/schema/cost.py)
    cost_limit: int = 60_000
    # totalCount stops counting here (the connection then says totalCountCapped)
    count_cap: int = 10_000
    # anonymous searches per client address a minute (per worker); `near` radius cap
    anonymous_searches_per_minute: int = 100_000
    near_max_radius_km: int = 50
    # police: register results one reason may read, and how long a reason's count is kept
    police_results_per_reason: int = 10_000
    police_reason_window_s: int = 30 * 24 * 3600
    # ALREADY_REGISTERED answers that reveal another landlord's registration, per landlord a day
    registration_probes_per_day: int = 1000
    # retention (days) of what has no expiry of its own, and how often the sweep runs
    retain_access_events_days: int = 180
    retain_door_commands_days: int = 180
    retain_device_events_days: int = 30
    retain_payment_events_days: int = 180
    retain_notifications_days: int = 90
    retain_sessions_days: int = 30
    retain_card_jobs_days: int = 30
    retain_fire_safety_days: int = 1826
    retention_sweep_s: int = 3600
    dev_defaults_used: tuple[str, ...] = field(default_factory=tuple)

    @property
    def production(self) -> bool:
        return self.env not in DEVELOPMENT_MODES

    @property
    def effective_mongodb_uri(self) -> str:
        if self.mongodb_uri:
            return self.mongodb_uri
        return f"mongodb://127.0.0.1:{self.ferretdb_port}/"


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Reads the environment; refuses development secrets in production."""
    env = dict(os.environ if environ is None else environ)
    production = production_mode(env)
    mode = env.get("ANJU_ENV") or "production"
    port = _int(env, "ANJU_PORT", 8000)
    sim_port = _int(env, "SIM_PORT", 8100)

    used_defaults = tuple(
        name for name, value in _DEV_SECRETS.items() if env.get(name) in (None, "", value)
    )
    if production:
        check_secrets(env)
        if _bool(env, "ANJU_ARBITRARY_DOCUMENTS", False):
            raise SettingsError(
                "production rules refuse ANJU_ARBITRARY_DOCUMENTS: only the persisted documents "
                "of app/operations/ are served there"
            )
        if not env.get("MONGODB_URI"):
            raise SettingsError("production needs MONGODB_URI")
        if env.get("ANJU_STORAGE", "disk") == "disk" and not env.get("ANJU_STORAGE_DIR"):
            raise SettingsError("production needs ANJU_STORAGE_DIR (or ANJU_STORAGE=s3)")
        for name in (
            "GATEWAY_URL",
            "PAYMENTS_URL",
            "SMS_URL",
            "ANJU_PUBLIC_URL",
            "ANJU_JWT_KEYS_DIR",
        ):
            if not env.get(name):
                raise SettingsError(f"production needs {name}")

    # strict in production; generous where one machine runs an automated end-to-end pass
    # (dozens of sign-ups, codes and log-ins a minute from one address)
    def limit(name: str, strict: int, generous: int) -> int:
        return _int(env, name, strict if production else generous)

    hash_memory = _int(env, "ANJU_PASSWORD_HASH_MEMORY_KIB", 64 * 1024)
    if production and hash_memory < 64 * 1024:
        raise SettingsError("production needs ANJU_PASSWORD_HASH_MEMORY_KIB >= 65536")
    if hash_memory < 1024:
        raise SettingsError("ANJU_PASSWORD_HASH_MEMORY_KIB must be at least 1024")

    storage = env.get("ANJU_STORAGE") or "disk"
    if storage not in {"disk", "s3"}:
        raise SettingsError(f"ANJU_STORAGE must be disk or s3, got {storage!r}")
    s3 = {name: env.get(f"ANJU_S3_{name.upper()}") or None for name in S3_REQUIRED}
    if storage == "s3" and not all(s3.values()):
        missing = [f"ANJU_S3_{name.upper()}" for name, value in s3.items() if not value]
        raise SettingsError("ANJU_STORAGE=s3 needs " + ", ".join(missing))
    photo_max_bytes = _int(env, "ANJU_PHOTO_MAX_BYTES", 10 * 1024 * 1024)
    if not 1024 <= photo_max_bytes <= 50 * 1024 * 1024:
        raise SettingsError("ANJU_PHOTO_MAX_BYTES must be between 1024 and 52428800")
    upload_url_ttl_s = _int(env, "ANJU_UPLOAD_URL_TTL_S", 10 * 60)
    photo_url_ttl_s = _int(env, "ANJU_PHOTO_URL_TTL_S", 60 * 60)
    # a signed URL lives at most 7 days (S3's limit); a photo's up to twice its setting
    hazard_export_url_ttl_s = _int(env, "ANJU_HAZARD_EXPORT_URL_TTL_S", 300)
    for name, value, most in (
        ("ANJU_UPLOAD_URL_TTL_S", upload_url_ttl_s, 24 * 3600),
        ("ANJU_PHOTO_URL_TTL_S", photo_url_ttl_s, 3 * 24 * 3600),
        ("ANJU_HAZARD_EXPORT_URL_TTL_S", hazard_export_url_ttl_s, 3600),
    ):
        if not 60 <= value <= most:
            raise SettingsError(f"{name} must be between 60 and {most}")

    keys_dir = env.get("ANJU_JWT_KEYS_DIR")
    log_format = env.get("ANJU_LOG_FORMAT") or ("json" if production else "text")
    if log_format not in {"text", "json"}:
        raise SettingsError(f"ANJU_LOG_FORMAT must be text or json, got {log_format!r}")
    metrics_token = env.get("ANJU_METRICS_TOKEN") or None
    metrics_enabled = _bool(env, "ANJU_METRICS", not production or bool(metrics_token))
    if production and metrics_enabled and len(metrics_token or "") < 32:
        raise SettingsError(
            "ANJU_ENV=production serves /metrics only behind ANJU_METRICS_TOKEN "
            "(32 characters or more); or set ANJU_METRICS=off"
        )
    storage_dir = env.get("ANJU_STORAGE_DIR")
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
        storage=storage,
        storage_dir=Path(storage_dir) if storage_dir else ROOT / ".data" / "files",
        s3_endpoint=s3["endpoint"],
        s3_bucket=s3["bucket"],
        s3_access_key=s3["access_key"],
        s3_secret_key=s3["secret_key"],
        s3_region=env.get("ANJU_S3_REGION") or "us-east-1",
        s3_virtual_host_style=_bool(env, "ANJU_S3_VIRTUAL_HOST_STYLE", False),
        photo_max_bytes=photo_max_bytes,
        upload_url_ttl_s=upload_url_ttl_s,
        photo_url_ttl_s=photo_url_ttl_s,
        uploads_per_hour=limit("ANJU_UPLOADS_PER_HOUR", 200, 10_000),
        photo_decodes_per_worker=max(1, _int(env, "ANJU_PHOTO_DECODES_PER_WORKER", 2)),
        maintenance_reports_per_day=limit("ANJU_MAINTENANCE_REPORTS_PER_DAY", 10, 1000),
        maintenance_photo_retention_days=_int(env, "ANJU_MAINTENANCE_PHOTO_RETENTION_DAYS", 365),
        photo_sweep_interval_s=float(env.get("ANJU_PHOTO_SWEEP_INTERVAL_S") or 300),
        device_claim_failures=limit("ANJU_DEVICE_CLAIM_FAILURES", 10, 1000),
        device_claim_window_s=_int(env, "ANJU_DEVICE_CLAIM_WINDOW_S", 3600),
        visitor_passes_per_day=limit("ANJU_VISITOR_PASSES_PER_DAY", 20, 1000),
        visitor_pass_retention_days=_int(env, "ANJU_VISITOR_PASS_RETENTION_DAYS", 365),
        rent_worker_interval_s=float(
            # the tests move the clock and wait for the pass; a demo can wait ten seconds
            env.get("ANJU_RENT_WORKER_INTERVAL_S")
            or (60 if production else 1 if mode == "test" else 10)
        ),
        autopay_max_attempts=max(1, _int(env, "ANJU_AUTOPAY_MAX_ATTEMPTS", 3)),
        autopay_retry_s=max(60, _int(env, "ANJU_AUTOPAY_RETRY_S", 24 * 3600)),
        deposit_dispute_days=max(1, _int(env, "ANJU_DEPOSIT_DISPUTE_DAYS", 14)),
        safety_worker_interval_s=float(
            env.get("ANJU_SAFETY_WORKER_INTERVAL_S") or (60 if production else 1)
        ),
        detector_offline_hazard_hours=max(1, _int(env, "ANJU_DETECTOR_OFFLINE_HAZARD_HOURS", 24)),
        auto_hazard_deadline_days=max(1, _int(env, "ANJU_AUTO_HAZARD_DEADLINE_DAYS", 7)),
        standard_extinguishers_per_floor=max(
            0, _int(env, "ANJU_STANDARD_EXTINGUISHERS_PER_FLOOR", 1)
        ),
        standard_smoke_detectors_per_room=max(
            0, _int(env, "ANJU_STANDARD_SMOKE_DETECTORS_PER_ROOM", 1)
        ),
        standard_escape_windows_per_floor=max(
            0, _int(env, "ANJU_STANDARD_ESCAPE_WINDOWS_PER_FLOOR", 1)
        ),
        hazard_exports_per_hour=limit("ANJU_HAZARD_EXPORTS_PER_HOUR", 20, 1000),
        hazard_export_max_rows=max(1, _int(env, "ANJU_HAZARD_EXPORT_MAX_ROWS", 50_000)),
        hazard_export_url_ttl_s=hazard_export_url_ttl_s,
        expose_metrics=_bool(env, "ANJU_EXPOSE_METRICS", not production),
        metrics_enabled=metrics_enabled,
        metrics_token=metrics_token,
        log_format=log_format,
        log_level=(env.get("ANJU_LOG_LEVEL") or "INFO").upper(),
        graphiql=_bool(env, "ANJU_GRAPHIQL", True) and not production,
        otlp_endpoint=env.get("ANJU_OTLP_ENDPOINT") or None,
        bench_routes=_bool(env, "ANJU_BENCH_ROUTES", False) and not production,
        background_workers=_bool(env, "ANJU_BACKGROUND_WORKERS", True),
        arbitrary_documents=_bool(env, "ANJU_ARBITRARY_DOCUMENTS", not production),
        cost_limit=_int(env, "ANJU_COST_LIMIT", 60_000),
        count_cap=_int(env, "ANJU_COUNT_CAP", 10_000),
        anonymous_searches_per_minute=limit("ANJU_ANONYMOUS_SEARCHES_PER_MINUTE", 60, 100_000),
        near_max_radius_km=limit("ANJU_NEAR_MAX_RADIUS_KM", 10, 50),
        police_results_per_reason=limit("ANJU_POLICE_RESULTS_PER_REASON", 200, 10_000),
        police_reason_window_s=_int(env, "ANJU_POLICE_REASON_WINDOW_S", 30 * 24 * 3600),
        registration_probes_per_day=limit("ANJU_REGISTRATION_PROBES_PER_DAY", 5, 1000),
        retain_access_events_days=_int(env, "ANJU_RETAIN_ACCESS_EVENTS_DAYS", 180),
        retain_door_commands_days=_int(env, "ANJU_RETAIN_DOOR_COMMANDS_DAYS", 180),
        retain_device_events_days=_int(env, "ANJU_RETAIN_DEVICE_EVENTS_DAYS", 30),
        retain_payment_events_days=_int(env, "ANJU_RETAIN_PAYMENT_EVENTS_DAYS", 180),
        retain_notifications_days=_int(env, "ANJU_RETAIN_NOTIFICATIONS_DAYS", 90),
        retain_sessions_days=_int(env, "ANJU_RETAIN_SESSIONS_DAYS", 30),
        retain_card_jobs_days=_int(env, "ANJU_RETAIN_CARD_JOBS_DAYS", 30),
        retain_fire_safety_days=_int(env, "ANJU_RETAIN_FIRE_SAFETY_DAYS", 1826),
        retention_sweep_s=_int(env, "ANJU_RETENTION_SWEEP_S", 3600),
        dev_defaults_used=used_defaults,
    )
