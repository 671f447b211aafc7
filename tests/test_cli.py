"""The operator's command line (`anju ...`, `python -m app.cli ...`): each command as an
operator runs it, against the test stack's database where it needs one."""

from __future__ import annotations

import base64
import os
import re
import secrets
import subprocess
import sys
import time
from pathlib import Path

import jwt
import pytest
from click.testing import CliRunner
from pymongo import MongoClient

from app.cli import main
from app.settings import DEV_GATEWAY_TOKEN, ROOT, load_settings
from app.store import Doc
from app.tokens import KeySet
from tests.conftest import Stack
from tests.support import Api, next_phone
from tests.test_police_stats import STATS
from tests.test_properties import add_room, create_property

README = ROOT / "README.md"
SECRETS = [
    "GATEWAY_TOKEN",
    "GATEWAY_WEBHOOK_SECRET",
    "PAYMENTS_TOKEN",
    "PAYMENTS_WEBHOOK_SECRET",
    "SMS_TOKEN",
    "ANJU_URL_SIGNING_KEY",
    "ANJU_ID_NUMBER_KEY",
    "ANJU_ADMIN_PASSWORD",
    "ANJU_METRICS_TOKEN",
]


def readme_example() -> dict[str, str]:
    """The production example of README, as written (placeholders and all)."""
    text = README.read_text()
    block = text.split("<!-- production-example -->", 1)[1].split("```sh\n", 1)[1]
    lines = block.split("```", 1)[0].strip().splitlines()
    return dict(line.split("=", 1) for line in lines)


def filled(example: dict[str, str], keys_dir: Path) -> dict[str, str]:
    """The example with each placeholder filled as its comment says."""
    env = {}
    for name, value in example.items():
        if name == "ANJU_ID_NUMBER_KEY":
            value = base64.b64encode(secrets.token_bytes(32)).decode()
        elif name == "ANJU_ADMIN_PHONE":
            value = next_phone()
        elif name == "ANJU_JWT_KEYS_DIR":
            value = str(keys_dir)
        elif name == "PROMETHEUS_MULTIPROC_DIR":
            value = str(keys_dir.parent / "metrics")
        else:
            value = re.sub(r"<[^>]*>", lambda _: secrets.token_urlsafe(32), value)
        env[name] = value
    return env


def write_env(path: Path, env: dict[str, str]) -> Path:
    path.write_text("".join(f"{name}={value}\n" for name, value in env.items()))
    return path


def check(runner: CliRunner, path: Path) -> tuple[int, str]:
    result = runner.invoke(main, ["check-config", "--env-file", str(path)])
    return result.exit_code, result.output


@pytest.fixture
def keys_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "jwt-keys"
    result = CliRunner().invoke(main, ["rotate-jwt-key", "--keys-dir", str(directory)])
    assert result.exit_code == 0, result.output
    return directory


def test_check_config_passes_the_readmes_example_once_filled(
    tmp_path: Path, keys_dir: Path
) -> None:
    # given README's production example with its placeholders filled
    path = write_env(tmp_path / "anju.env", filled(readme_example(), keys_dir))
    # when the operator checks it (as a separate process, the way they would run it)
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "check-config", "--env-file", str(path)],
        capture_output=True,
        text=True,
        env={k: v for k, v in os.environ.items() if not k.startswith(("ANJU_", "MONGODB_"))},
        check=False,
    )
    # then no problem is found
    assert done.returncode == 0, done.stderr
    assert "no problem found" in done.stdout


def test_check_config_names_every_placeholder_left_in(tmp_path: Path, keys_dir: Path) -> None:
    # given the example copied as it is
    example = {**readme_example(), "ANJU_JWT_KEYS_DIR": str(keys_dir)}
    # when it is checked
    code, output = check(CliRunner(), write_env(tmp_path / "anju.env", example))
    # then each secret still holding its placeholder is named
    assert code == 1
    for name in SECRETS:
        assert re.search(rf"^  - {name} ", output, re.M), (name, output)
    assert "ANJU_ADMIN_PHONE is not a mainland mobile number" in output


@pytest.mark.parametrize("name", SECRETS)
def test_check_config_names_a_missing_default_or_weak_secret(
    tmp_path: Path, keys_dir: Path, name: str
) -> None:
    runner = CliRunner()
    good = filled(readme_example(), keys_dir)
    default = DEV_GATEWAY_TOKEN if name == "GATEWAY_TOKEN" else None
    cases = {
        "missing": ({k: v for k, v in good.items() if k != name}, f"{name} is not set"),
        "placeholder": ({**good, name: "<paste it here>"}, name),
        "weak": ({**good, name: "short-secret"}, name),
        "repetitive": ({**good, name: "ab" * 20}, name),
    }
    if default:
        cases["default"] = ({**good, name: default}, f"{name} is the development default")
    if name == "ANJU_METRICS_TOKEN":  # without it production serves no metrics: a warning
        env = cases.pop("missing")[0]
        code, output = check(runner, write_env(tmp_path / "no-metrics.env", env))
        assert code == 0 and "ANJU_METRICS_TOKEN is not set: /metrics is off" in output
    for case, (env, expected) in cases.items():
        # when the secret is missing, weak, repetitive (or the development default)
        code, output = check(runner, write_env(tmp_path / f"{case}.env", env))
        # then the check fails, naming it
        assert code == 1, (case, output)
        problems = [line for line in output.splitlines() if line.startswith("  - ")]
        assert any(expected in line for line in problems), (case, output)
        assert all(name in line for line in problems), (case, output)


def test_check_config_names_each_other_problem(tmp_path: Path, keys_dir: Path) -> None:
    # given an environment with several mistakes at once
    good = filled(readme_example(), keys_dir)
    (keys_dir / next(iter(p.name for p in keys_dir.glob("*.pem")))).chmod(0o644)
    env = {
        **good,
        "GATEWAY_URL": "http://gateway.city.example",
        "ANJU_INTROSPECTION": "on",
        "ANJU_CORS_ORIGINS": "http://app.city.example",
        "ANJU_PASSWORD_HASH_MEMORY_KIB": "4096",
    }
    del env["MONGODB_URI"]
    # when it is checked
    code, output = check(CliRunner(), write_env(tmp_path / "anju.env", env))
    # then every problem is named, not only the first
    assert code == 1
    for expected in (
        "GATEWAY_URL must be an https:// URL",
        "ANJU_INTROSPECTION must be off in production",
        "ANJU_CORS_ORIGINS: 'http://app.city.example' is not an https:// origin",
        "MONGODB_URI is not set",
        "is readable by others",
        "ANJU_PASSWORD_HASH_MEMORY_KIB must be at least 65536",
    ):
        assert expected in output, (expected, output)


def test_rotate_jwt_key_keeps_old_tokens_valid_and_signs_with_the_new(
    tmp_path: Path, keys_dir: Path
) -> None:
    # given a token signed with the current key
    settings = load_settings({"ANJU_ENV": "test", "ANJU_JWT_KEYS_DIR": str(keys_dir)})
    token = KeySet.load(settings).issue(
        account_id="65f000000000000000000000", role="TENANT", scope={}, session_id="s" * 24
    )
    (old,) = keys_dir.glob("*.pem")
    # when the operator rotates the key
    result = CliRunner().invoke(main, ["rotate-jwt-key", "--keys-dir", str(keys_dir)])
    assert result.exit_code == 0, result.output
    # then the old key only verifies (its file holds the public half), the new one signs
    assert b"PRIVATE KEY" not in old.read_bytes()
    rotated = KeySet.load(settings)
    assert rotated.verify(token)["role"] == "TENANT"
    fresh = rotated.issue(
        account_id="65f000000000000000000000", role="TENANT", scope={}, session_id="s" * 24
    )
    assert jwt.get_unverified_header(fresh)["kid"] != old.stem and rotated.verify(fresh)
    assert f"retired {old.stem}" in result.output
    # and once its tokens have long expired, --prune removes it
    long_ago = time.time() - 3 * settings.access_token_ttl_s
    os.utime(old, (long_ago, long_ago))
    pruned = CliRunner().invoke(main, ["rotate-jwt-key", "--keys-dir", str(keys_dir), "--prune"])
    assert pruned.exit_code == 0 and not old.exists(), pruned.output
    assert len([p for p in keys_dir.glob("*.pem") if b"PRIVATE" in p.read_bytes()]) == 1


def test_create_admin_makes_an_admin_who_can_log_in(api: Api, stack: Stack) -> None:
    # given an operator with a phone and a password for a new admin
    phone, password = next_phone(), f"admin {secrets.token_hex(8)}"
    runner = CliRunner()
    # when they create the admin (the password read from standard input)
    result = runner.invoke(
        main,
        ["create-admin", "--phone", phone, "--name", "值班管理员", "--password-stdin"],
        input=f"{password}\n",
        env=stack.env,
    )
    assert result.exit_code == 0, result.output
    # then that admin logs in (confirming the phone with a code, as provisioned accounts do)
    admin = api.log_in(phone, password)
    assert admin.data("{ me { role name } }")["me"] == {"role": "ADMIN", "name": "值班管理员"}
    # and a second one with that phone, or a weak password, is refused with the reason
    again = runner.invoke(
        main,
        ["create-admin", "--phone", phone, "--password-stdin"],
        input=f"{password}\n",
        env=stack.env,
    )
    weak = runner.invoke(
        main,
        ["create-admin", "--phone", next_phone(), "--password-stdin"],
        input="short\n",
        env=stack.env,
    )
    assert again.exit_code == 1 and "PHONE_TAKEN" in again.output
    assert weak.exit_code == 1 and "WEAK_PASSWORD" in weak.output


def test_recount_stats_repairs_drifted_counters(
    api: Api, stack: Stack, mongo: MongoClient[Doc]
) -> None:
    # given a landlord's property with two rooms, counted
    landlord = api.caller("LANDLORD")
    prop = create_property(landlord)
    for number in ("101", "102"):
        add_room(landlord, prop["id"], number)
    officer = api.caller("POLICE")
    counted = officer.data(STATS)["populationStats"]
    assert (counted["properties"], counted["rooms"]) == (1, 2)
    # and the counters lost (as a crash between a change and its counter would leave them)
    mongo[stack.db_name]["stats_counters"].delete_many({})
    assert officer.data(STATS)["populationStats"]["rooms"] == 0
    # when the operator recounts
    result = CliRunner().invoke(main, ["recount-stats"], env=stack.env)
    # then the figures are right again
    assert result.exit_code == 0, result.output
    assert "counter documents rebuilt" in result.output
    assert officer.data(STATS)["populationStats"] == counted


def test_print_schema_is_the_committed_schema() -> None:
    # when the operator prints the schema of the version they run
    result = CliRunner().invoke(main, ["print-schema"])
    # then it is the schema the repository publishes
    assert result.exit_code == 0
    assert result.output == (ROOT / "schema.graphql").read_text()


def test_audit_role_lets_anju_only_insert_and_read_the_audit_log() -> None:
    # when the operator prints the role for Anju's database user
    result = CliRunner().invoke(main, ["audit-role"], env={"MONGODB_DB": "anju_city"})
    assert result.exit_code == 0, result.output
    # then every collection may be written, but audit_log only read and appended to
    assert "db.createRole(" in result.output and '"anju_city"' in result.output
    audit = result.output[result.output.index('"audit_log"') :]
    actions = audit[audit.index("[") : audit.index("]") + 1]
    assert "insert" in actions and "find" in actions
    assert "update" not in actions and "remove" not in actions
    assert '"occupants"' in result.output
