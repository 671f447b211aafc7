"""`anju check-config`: is this a production environment Anju can run in, and safely?

Reads the environment (or an env file), starts nothing and opens no connection, and names
every problem it finds, not only the first: a missing or development secret, a weak one, a
URL that is not https, a signing key directory that is missing, empty or readable by others,
settings that production refuses. Exit status 0 when there is none, 1 otherwise.
"""

from __future__ import annotations

import base64
import binascii
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from pymongo.errors import ConfigurationError, InvalidURI
from pymongo.uri_parser import parse_uri

from app.settings import _DEV_SECRETS, SettingsError, load_settings
from app.validation import normalize_phone

MIN_SECRET_CHARS = 32
MIN_ADMIN_PASSWORD_CHARS = 16
MIN_DISTINCT_CHARS = 10
# secrets checked for presence, development defaults and strength (the ID number key has a
# shape of its own: 32 random bytes in base64)
SECRETS = (
    "GATEWAY_TOKEN",
    "GATEWAY_WEBHOOK_SECRET",
    "PAYMENTS_TOKEN",
    "PAYMENTS_WEBHOOK_SECRET",
    "SMS_TOKEN",
    "ANJU_URL_SIGNING_KEY",
)
URLS = ("ANJU_PUBLIC_URL", "GATEWAY_URL", "PAYMENTS_URL", "SMS_URL")
# production refuses these on (or leaves them off whatever they say)
MUST_BE_OFF = ("ANJU_BENCH_ROUTES", "ANJU_INTROSPECTION", "ANJU_GRAPHIQL")
PLACEHOLDER_MARKS = ("<", ">", "change-me", "changeme", "example")


@dataclass
class Report:
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def problem(self, text: str) -> None:
        self.problems.append(text)

    def warn(self, text: str) -> None:
        self.warnings.append(text)


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines (as systemd's EnvironmentFile and docker's --env-file take them);
    blank lines and # comments skipped, one level of matching quotes removed."""
    env: dict[str, str] = {}
    for number, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.removeprefix("export ").partition("=")
        if not sep or not name.strip():
            raise ValueError(f"{path}:{number}: not a NAME=value line")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        env[name.strip()] = value
    return env


def _weak(value: str, min_chars: int) -> str | None:
    if len(value) < min_chars:
        return f"is too short ({len(value)} characters; at least {min_chars})"
    if len(set(value)) < MIN_DISTINCT_CHARS:
        return "is too repetitive to be random"
    return None


def _placeholder(value: str) -> bool:
    lowered = value.lower()
    return any(mark in lowered for mark in PLACEHOLDER_MARKS)


def _check_secret(report: Report, env: dict[str, str], name: str, min_chars: int) -> None:
    value = env.get(name, "")
    if not value:
        report.problem(f"{name} is not set")
    elif value == _DEV_SECRETS.get(name):
        report.problem(f"{name} is the development default")
    elif _placeholder(value):
        report.problem(f"{name} is still a placeholder from the example")
    elif weakness := _weak(value, min_chars):
        report.problem(f"{name} {weakness}")


def _check_id_number_key(report: Report, env: dict[str, str]) -> None:
    name = "ANJU_ID_NUMBER_KEY"
    value = env.get(name, "")
    if not value:
        report.problem(f"{name} is not set")
        return
    if value == _DEV_SECRETS[name]:
        report.problem(f"{name} is the development default")
        return
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        report.problem(f"{name} is not base64 (32 random bytes, e.g. `openssl rand -base64 32`)")
        return
    if len(raw) != 32:
        report.problem(f"{name} must decode to 32 bytes, not {len(raw)}")
    elif len(set(raw)) < 16:
        report.problem(f"{name} is too repetitive to be random")


def _check_urls(report: Report, env: dict[str, str]) -> None:
    for name in URLS:
        value = env.get(name, "")
        if not value:
            report.problem(f"{name} is not set")
            continue
        parts = urlsplit(value)
        if parts.scheme != "https" or not parts.hostname:
            report.problem(f"{name} must be an https:// URL, got {value!r}")
    for origin in filter(None, (o.strip() for o in env.get("ANJU_CORS_ORIGINS", "").split(","))):
        if urlsplit(origin).scheme != "https":
            report.problem(f"ANJU_CORS_ORIGINS: {origin!r} is not an https:// origin")


def _check_database(report: Report, env: dict[str, str]) -> None:
    uri = env.get("MONGODB_URI", "")
    if not uri:
        report.problem("MONGODB_URI is not set")
        return
    try:
        parsed = parse_uri(uri)
    except (InvalidURI, ConfigurationError, ValueError) as exc:
        report.problem(f"MONGODB_URI is not a valid MongoDB URI ({exc})")
        return
    options = {k.lower(): v for k, v in parsed.get("options", {}).items()}
    if not parsed.get("username") and "authmechanism" not in options:
        report.warn("MONGODB_URI has no credentials: only Anju may then reach the database")
    hosts = [host for host, _ in parsed.get("nodelist", [])]
    local = all(host in {"127.0.0.1", "localhost", "::1"} for host in hosts)
    tls = options.get("tls") or options.get("ssl") or uri.startswith("mongodb+srv")
    if not local and not tls:
        report.warn("MONGODB_URI does not ask for TLS (tls=true) to a database on another host")


def _check_keys(report: Report, env: dict[str, str]) -> None:
    raw = env.get("ANJU_JWT_KEYS_DIR", "")
    if not raw:
        report.problem("ANJU_JWT_KEYS_DIR is not set")
        return
    directory = Path(raw)
    if not directory.is_dir():
        report.problem(f"ANJU_JWT_KEYS_DIR {raw} is not a directory (`anju rotate-jwt-key`)")
        return
    private = [p for p in sorted(directory.glob("*.pem")) if b"PRIVATE KEY" in p.read_bytes()]
    if not private:
        report.problem(f"ANJU_JWT_KEYS_DIR {raw} holds no private key (`anju rotate-jwt-key`)")
    for path in private:
        if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            report.problem(f"ANJU_JWT_KEYS_DIR: {path.name} is readable by others (chmod 600)")


def _check_switches(report: Report, env: dict[str, str]) -> None:
    if env.get("ANJU_ENV") != "production":
        report.problem(f"ANJU_ENV is {env.get('ANJU_ENV')!r}, not 'production'")
    for name in MUST_BE_OFF:
        if env.get(name, "").lower() in {"1", "true", "yes", "on"}:
            report.problem(f"{name} must be off in production")
    metrics_on = env.get("ANJU_METRICS", "").lower()
    token = env.get("ANJU_METRICS_TOKEN", "")
    if metrics_on not in {"0", "false", "no", "off"}:
        if token:
            _check_secret(report, env, "ANJU_METRICS_TOKEN", MIN_SECRET_CHARS)
        elif metrics_on:
            report.problem("ANJU_METRICS is on without ANJU_METRICS_TOKEN")
        else:
            report.warn("ANJU_METRICS_TOKEN is not set: /metrics is off")
    if env.get("ANJU_LOG_FORMAT", "json") != "json":
        report.warn("ANJU_LOG_FORMAT is not json: log collectors read one JSON object a line")
    memory = env.get("ANJU_PASSWORD_HASH_MEMORY_KIB", "65536")
    if not memory.isdigit() or int(memory) < 65536:
        report.problem("ANJU_PASSWORD_HASH_MEMORY_KIB must be at least 65536 in production")
    multiproc = env.get("PROMETHEUS_MULTIPROC_DIR")
    if multiproc and not os.access(Path(multiproc).parent, os.W_OK):
        report.problem(f"PROMETHEUS_MULTIPROC_DIR {multiproc}: its parent is not writable")


def check(env: dict[str, str]) -> Report:
    """Every problem of a production environment, each named."""
    report = Report()
    _check_switches(report, env)
    for name in SECRETS:
        _check_secret(report, env, name, MIN_SECRET_CHARS)
    _check_id_number_key(report, env)
    if not env.get("ANJU_ADMIN_PHONE"):
        report.problem("ANJU_ADMIN_PHONE is not set")
    elif normalize_phone(env["ANJU_ADMIN_PHONE"]) is None:
        report.problem("ANJU_ADMIN_PHONE is not a mainland mobile number")
    _check_secret(report, env, "ANJU_ADMIN_PASSWORD", MIN_ADMIN_PASSWORD_CHARS)
    _check_urls(report, env)
    _check_database(report, env)
    _check_keys(report, env)
    try:  # whatever else the application itself refuses (numbers, limits)
        load_settings(env)
    except SettingsError as exc:
        text = str(exc)
        if not any(name in text for name in _named(report)):
            report.problem(text)
    return report


def _named(report: Report) -> set[str]:
    return {problem.split(" ", 1)[0].rstrip(":") for problem in report.problems}
