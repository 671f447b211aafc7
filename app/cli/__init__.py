"""The operator's command line: `anju <command>` (or `python -m app.cli <command>`).

    anju serve            run Anju (uvicorn workers, metrics of every worker counted)
    anju check-config     check a production environment without starting anything
    anju create-admin     add an ADMIN account
    anju rotate-jwt-key   a new signing key; the old ones keep verifying until tokens expire
    anju recount-stats    rebuild the population counters from the collections
    anju print-schema     the GraphQL schema (SDL) this version serves
    anju shard-commands   the mongosh commands that shard a cluster as docs/scaling.md plans
    anju verify-audit     check the audit log's hash chain; name the first broken entry
    anju audit-role       the MongoDB role that lets Anju only insert into the audit log

Each reads the same environment as Anju (README, "Settings"). Commands that touch the
database connect to MONGODB_URI / MONGODB_DB and exit 1 with a plain message when it does
not answer.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import click
from pymongo.errors import PyMongoError

from app import logs
from app.cli.check_config import check, read_env_file
from app.cli.keys import rotate
from app.errors import UserInputError, ValidationErrors
from app.settings import Settings, SettingsError, load_settings
from app.store import Store, open_store

T = TypeVar("T")


def _settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        raise click.ClickException(f"{exc} (`anju check-config` lists every problem)") from exc


def _with_store(settings: Settings, work: Callable[[Store], Awaitable[T]]) -> T:
    from app.store import make_client

    async def run() -> T:
        client = make_client(settings)
        try:
            return await work(await open_store(client[settings.mongodb_db]))
        finally:
            await client.close()

    try:
        return asyncio.run(run())
    except PyMongoError as exc:
        raise click.ClickException(f"the database did not answer: {exc}") from exc


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Anju (安居): the operator's commands."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=int, default=None, help="Port (default ANJU_PORT, 8000).")
@click.option(
    "--workers", type=click.IntRange(1, 64), default=1, show_default=True, help="Processes."
)
def serve(host: str, port: int | None, workers: int) -> None:
    """Runs Anju under uvicorn. With metrics on, every worker writes its figures to
    PROMETHEUS_MULTIPROC_DIR (emptied here at start; a fresh temporary directory when unset
    and more than one worker runs), and /metrics sums them all."""
    settings = _settings()
    logs.configure(settings.log_format, settings.log_level)
    if settings.metrics_enabled:
        _prepare_metrics_dir(workers)
    import uvicorn

    uvicorn.run(
        "app.main:app_factory",
        factory=True,
        host=host,
        port=port or settings.port,
        workers=workers,
        access_log=False,  # Anju writes its own access line (app/observe.py)
        log_config=None,
        proxy_headers=False,  # client addresses: ANJU_TRUSTED_PROXIES (app/http.py)
        server_header=False,
        timeout_graceful_shutdown=10,
    )


def _prepare_metrics_dir(workers: int) -> None:
    raw = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not raw:
        if workers == 1:
            return  # one process: its own registry
        raw = tempfile.mkdtemp(prefix="anju-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = raw
    directory = Path(raw)
    # the files of a previous run would be counted again (the library asks for a wipe)
    if directory.is_dir():
        for stale in directory.glob("*.db"):
            stale.unlink()
    directory.mkdir(parents=True, exist_ok=True)


@main.command("check-config")
@click.option(
    "--env-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Check this file's NAME=value lines instead of the environment.",
)
def check_config(env_file: Path | None) -> None:
    """Checks a production environment and names every problem; starts nothing."""
    try:
        env = read_env_file(env_file) if env_file else dict(os.environ)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    report = check(env)
    for warning in report.warnings:
        click.echo(f"warning: {warning}", err=True)
    if report.problems:
        click.echo(f"{len(report.problems)} problem(s) in this production configuration:", err=True)
        for problem in report.problems:
            click.echo(f"  - {problem}", err=True)
        sys.exit(1)
    click.echo("production configuration: no problem found")


@main.command("create-admin")
@click.option("--phone", required=True, help="The admin's mainland mobile number.")
@click.option("--name", default="Administrator", show_default=True)
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from standard input's first line."
)
def create_admin(phone: str, name: str, password_stdin: bool) -> None:
    """Adds an ADMIN account (its password asked for, never an argument)."""
    from app.passwords import Passwords
    from app.services import accounts

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    settings = _settings()
    passwords = Passwords(settings.password_hash_memory_kib)
    try:
        account = _with_store(
            settings,
            lambda store: accounts.create_admin(
                store, passwords, name=name, phone=phone, password=password
            ),
        )
    except UserInputError as exc:
        errors = exc.errors if isinstance(exc, ValidationErrors) else [exc]
        raise click.ClickException(
            "; ".join(f"{'.'.join(e.field or [])}: {e.message} ({e.code})" for e in errors)
        ) from exc
    click.echo(f"admin account {account['_id']} created")


@main.command("rotate-jwt-key")
@click.option(
    "--keys-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="The key directory (default ANJU_JWT_KEYS_DIR).",
)
@click.option(
    "--prune", is_flag=True, help="Also remove retired keys older than twice the token lifetime."
)
def rotate_jwt_key(keys_dir: Path | None, prune: bool) -> None:
    """Writes a new signing key; the older ones only verify from now on. Restart the
    workers (one at a time) for them to sign with it."""
    settings = _settings()
    directory = keys_dir or settings.jwt_keys_dir
    done = rotate(directory, prune_after_s=2 * settings.access_token_ttl_s if prune else None)
    click.echo(f"new signing key {done.new_key.stem} in {directory}")
    for path in done.retired:
        click.echo(f"retired {path.stem} (verifies until its tokens expire)")
    for path in done.pruned:
        click.echo(f"removed {path.stem}")
    click.echo("restart the workers, one at a time, to sign with the new key")


@main.command("recount-stats")
def recount_stats() -> None:
    """Rebuilds the population counters from properties, rooms and occupants (after a
    bulk load, or to repair drift a crash left between a change and its counter)."""
    from app.services import stats

    started = time.perf_counter()
    count = _with_store(_settings(), stats.recount)
    click.echo(f"{count} counter documents rebuilt in {time.perf_counter() - started:.1f}s")


@main.command("safety-recheck")
def safety_recheck() -> None:
    """Asks the safety worker to look again at every property's own fire-safety hazards
    (after changing an ANJU_STANDARD_* setting or ANJU_DETECTOR_OFFLINE_HAZARD_HOURS, or
    after a bulk load): each property is marked, the running workers do the rest."""
    from app.services import safety_checks

    count = _with_store(_settings(), safety_checks.mark_all)
    click.echo(f"{count} properties marked for the safety worker")


@main.command("print-schema")
def print_schema() -> None:
    """Prints the GraphQL schema (SDL) of this version, as schema.graphql holds it."""
    from app.schema import build_schema

    click.echo(build_schema().as_str().rstrip())


@main.command("shard-commands")
def shard_commands() -> None:
    """Prints the mongosh commands that shard MONGODB_DB's collections as planned
    (app/store/sharding.py, docs/scaling.md); runs nothing."""
    from app.store.sharding import shard_commands as commands

    for line in commands(_settings().mongodb_db):
        click.echo(line)


@main.command("verify-audit")
def verify_audit() -> None:
    """Checks every link of the audit log's hash chain (app/audit_chain.py): exit status 0
    when intact, 1 naming the first entry changed, removed, inserted or cut off. Prints the
    head's hash, to note down and compare with the next run."""
    from app import audit_chain

    report = _with_store(_settings(), lambda store: audit_chain.verify(store.db))
    click.echo(report.summary())
    if report.broken is not None:
        click.echo(f"BROKEN: {report.broken}", err=True)
        sys.exit(1)
    click.echo("the audit chain is intact")


@main.command("audit-role")
@click.option(
    "--db",
    "db_name",
    envvar="MONGODB_DB",
    default="anju",
    show_default=True,
    help="The database (default MONGODB_DB).",
)
def audit_role(db_name: str) -> None:
    """Prints the MongoDB role for Anju's database user: everything it needs, but on
    audit_log only insert and find, so history cannot be rewritten with its credentials.
    Reads no secret: it runs on the operator's machine."""
    from app import audit_chain

    click.echo(audit_chain.role(db_name), nl=False)
