"""``betrue db migrate | status | new NAME | check``: the migrations of an app from the command line.

Registered through the ``betrue.cli`` entry-point group. The folder, namespace and database come from
``--app module:app`` (its ``db`` service's config, so ``.env`` and the app's own settings count), else
from the options and the environment (``DATABASE_URL``, ``DB_MIGRATIONS``, ``DB_MIGRATIONS_NAMESPACE``).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

import asyncpg
from pydantic import SecretStr

from betrue.postgres.config import DatabaseConfig
from betrue.postgres.database import Database
from betrue.postgres.embedded import describe_dsn, resolve_dsn
from betrue.postgres.migrations import MigrationError, Migrations, MigrationStatus

__all__ = ["register"]


def register(subparsers: Any) -> None:
    """Add ``db`` and its subcommands to the ``betrue`` parser."""
    db = subparsers.add_parser("db", help="apply, list, create and check SQL migrations")
    commands = db.add_subparsers(dest="db_command", metavar="{migrate,status,new,check}", required=True)
    for name, text, handler in (
        ("migrate", "apply the pending migrations (safe to run from many processes at once)", _migrate),
        ("status", "list every migration with its state", _status),
        ("check", "exit 1 when a migration is pending, changed after it was applied, or missing", _check),
        ("new", "create the next NNNN_name.sql file", _new),
    ):
        command = commands.add_parser(name, help=text, description=text)
        if name == "new":
            command.add_argument("name", help="what the migration does, e.g. add_users")
        command.add_argument("--app", help="module:attribute of an Application with a db service")
        command.add_argument("--dir", help="the migrations folder (default: DB_MIGRATIONS, else ./migrations)")
        command.add_argument("--namespace", help="history namespace (default: DB_MIGRATIONS_NAMESPACE, else app)")
        command.add_argument("--dsn", help="database URL (default: DATABASE_URL, the PG* variables, or embedded)")
        command.set_defaults(handler=handler)


def _database(args: argparse.Namespace) -> Database:
    if args.app:
        from betrue.server.ext import load_app

        app = load_app(args.app)
        spec = app.container.specs.get("db")
        if spec is None or spec.factory is None:
            raise SystemExit(f"betrue: {args.app} has no db service")
        config = app.loader.load_all([spec])["db"]
        built = spec.factory(config=config, **dict.fromkeys(spec.deps))
        if not isinstance(built, Database):
            raise SystemExit(f"betrue: the db service of {args.app} is not a betrue.postgres.Database")
        database = built
    else:
        database = Database(DatabaseConfig.load())
    overrides: dict[str, Any] = {}
    if args.dir:
        overrides["migrations"] = args.dir
    if args.namespace:
        overrides["namespace"] = args.namespace
    if args.dsn:
        overrides["url"] = SecretStr(args.dsn)
    if overrides:
        database.config = database.config.model_copy(update=overrides)
    return database


def _sets(database: Database) -> list[Migrations]:
    own = Migrations(database.config.migrations, namespace=database.config.namespace)
    return [own, *database.migrations]


async def _connect(database: Database) -> asyncpg.Connection[asyncpg.Record]:
    url = database.config.url.get_secret_value() if database.config.url is not None else None
    dsn = await resolve_dsn(url, database.config.embedded_dir)
    try:
        connection: asyncpg.Connection[asyncpg.Record] = await asyncpg.connect(
            dsn, timeout=database.config.connect_timeout
        )
    except (TimeoutError, OSError, asyncpg.PostgresError) as error:
        raise MigrationError(f"cannot connect to PostgreSQL at {describe_dsn(dsn)}: {error}") from None
    return connection


def _run(coroutine: Any) -> int:
    try:
        result: int = asyncio.run(coroutine)
    except MigrationError as error:
        print(f"betrue db: {error}", file=sys.stderr)
        return 1
    return result


def _migrate(args: argparse.Namespace) -> int:
    async def migrate() -> int:
        database = _database(args)
        connection = await _connect(database)
        try:
            for migrations in _sets(database):
                applied = await migrations.apply(connection)
                names = ", ".join(m.filename for m in applied) or "nothing to apply"
                print(f"{migrations.namespace}: {names}")
        finally:
            await connection.close()
        return 0

    return _run(migrate())


def _line(state: MigrationStatus) -> str:
    when = f"  {state.applied_at:%Y-%m-%d %H:%M:%S}" if state.applied_at else ""
    return f"  {state.version:04d}_{state.name}.sql  {state.state}{when}"


async def _states(args: argparse.Namespace) -> list[tuple[Migrations, list[MigrationStatus]]]:
    database = _database(args)
    connection = await _connect(database)
    try:
        return [(migrations, await migrations.status(connection)) for migrations in _sets(database)]
    finally:
        await connection.close()


def _status(args: argparse.Namespace) -> int:
    async def status() -> int:
        for migrations, states in await _states(args):
            print(f"{migrations.namespace} ({migrations.folder}):")
            print("\n".join(_line(state) for state in states) or "  no migrations")
        return 0

    return _run(status())


def _check(args: argparse.Namespace) -> int:
    async def check() -> int:
        bad = [
            (migrations, state)
            for migrations, states in await _states(args)
            for state in states
            if state.state != "applied"
        ]
        for migrations, state in bad:
            print(f"{migrations.namespace}:{_line(state)}", file=sys.stderr)
        if not bad:
            print("migrations: every one applied, none changed")
        return 1 if bad else 0

    return _run(check())


def _new(args: argparse.Namespace) -> int:
    database = _database(args)
    try:
        path = Migrations(database.config.migrations, namespace=database.config.namespace).new(args.name)
    except MigrationError as error:
        print(f"betrue db: {error}", file=sys.stderr)
        return 1
    print(path)
    return 0
