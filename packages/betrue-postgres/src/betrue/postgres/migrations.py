"""SQL migrations: ``NNNN_name.sql`` files applied in order, once each, with a sha256 checksum recorded.

Each file runs in its own transaction under ``pg_advisory_xact_lock``, so any number of processes
migrating at once apply every file exactly once: the others wait for the lock, see the file recorded and
skip it. An applied file that changed (its checksum differs) or disappeared stops everything with an error
naming it. Several sets of migrations share one database and one history table, each under its own
``namespace`` (an app's tables, a job queue's tables).
"""

from __future__ import annotations

import datetime
import hashlib
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import asyncpg
from loguru import logger

from betrue.postgres.types import Connection, Target
from betrue.server import DependencyError

__all__ = ["HISTORY_TABLE", "Migration", "MigrationError", "MigrationStatus", "Migrations"]

HISTORY_TABLE = "betrue_migrations"
_LOCK_KEY = int.from_bytes(hashlib.sha256(HISTORY_TABLE.encode()).digest()[:8], "big", signed=True)
_FILE = re.compile(r"^(\d{4,})_([A-Za-z0-9_\-]+)\.sql$")
_CREATE_HISTORY = f"""
CREATE TABLE IF NOT EXISTS {HISTORY_TABLE} (
    namespace text NOT NULL,
    version integer NOT NULL,
    name text NOT NULL,
    checksum text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (namespace, version)
)"""


class MigrationError(DependencyError):
    """A migration cannot be applied, or the applied history does not match the files (names the file).

    A ``DependencyError``: a start refused by it is printed by ``betrue run`` on one line, exit code 1.
    """


@dataclass(frozen=True, slots=True)
class Migration:
    """One ``NNNN_name.sql`` file."""

    version: int
    name: str
    path: Path
    sql: str
    checksum: str

    @property
    def filename(self) -> str:
        return self.path.name


@dataclass(frozen=True, slots=True)
class MigrationStatus:
    """Where one migration stands: ``applied``, ``pending``, ``changed`` (edited after it was applied) or
    ``missing`` (applied, but its file is gone)."""

    version: int
    name: str
    state: Literal["applied", "pending", "changed", "missing"]
    applied_at: datetime.datetime | None = None


@dataclass(frozen=True, slots=True)
class _Applied:
    version: int
    name: str
    checksum: str
    applied_at: datetime.datetime


@asynccontextmanager
async def _connection(target: Target) -> AsyncIterator[Connection | asyncpg.Connection[asyncpg.Record]]:
    if isinstance(target, asyncpg.Pool):
        async with target.acquire() as connection:
            yield connection
    else:
        yield target


class Migrations:
    """The migrations of one folder, recorded under ``namespace``.

    Example:
        >>> import pathlib, tempfile
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> migrations = Migrations(folder, namespace="shop")
        >>> migrations.new("create users").name
        '0001_create_users.sql'
        >>> [m.filename for m in migrations.files()]
        ['0001_create_users.sql']
        >>> # applied = await migrations.apply(db.pool)   # -> the Migration objects applied now
    """

    def __init__(self, folder: str | Path, *, namespace: str = "app") -> None:
        self.folder = Path(folder)
        self.namespace = namespace

    def files(self) -> list[Migration]:
        """Every migration file in version order; a badly named ``.sql`` file or a repeated number is an error."""
        if not self.folder.is_dir():
            raise MigrationError(f"the migrations folder {str(self.folder)!r} does not exist")
        found: dict[int, Migration] = {}
        for path in sorted(self.folder.glob("*.sql")):
            match = _FILE.match(path.name)
            if match is None:
                raise MigrationError(f"{path.name}: a migration is named NNNN_name.sql (e.g. 0001_create_users.sql)")
            version = int(match.group(1))
            if version in found:
                raise MigrationError(f"{path.name} and {found[version].filename} have the same number {version}")
            data = path.read_bytes()
            found[version] = Migration(
                version, match.group(2), path, data.decode("utf-8"), hashlib.sha256(data).hexdigest()
            )
        return [found[version] for version in sorted(found)]

    def new(self, name: str) -> Path:
        """Create the next ``NNNN_name.sql`` (empty but for a comment) and return its path."""
        slug = re.sub(r"[^A-Za-z0-9_]+", "_", name.strip()).strip("_").lower()
        if not slug:
            raise MigrationError(f"{name!r} is not a usable migration name (letters, digits, _)")
        self.folder.mkdir(parents=True, exist_ok=True)
        files = self.files()
        version = (files[-1].version + 1) if files else 1
        path = self.folder / f"{version:04d}_{slug}.sql"
        path.write_text(f"-- {path.name}: runs once, in one transaction, in the namespace {self.namespace!r}\n")
        return path

    async def status(self, target: Target) -> list[MigrationStatus]:
        """Each migration's state, in version order (applied ones first where files are missing)."""
        files = {m.version: m for m in self.files()}
        async with _connection(target) as connection:
            applied = await self._applied(connection)
        states: list[MigrationStatus] = []
        for version in sorted(files.keys() | applied.keys()):
            migration, record = files.get(version), applied.get(version)
            if migration is None:
                assert record is not None
                states.append(MigrationStatus(version, record.name, "missing", record.applied_at))
            elif record is None:
                states.append(MigrationStatus(version, migration.name, "pending"))
            else:
                state: Literal["applied", "changed"] = "applied" if record.checksum == migration.checksum else "changed"
                states.append(MigrationStatus(version, migration.name, state, record.applied_at))
        return states

    async def apply(self, target: Target) -> list[Migration]:
        """Apply every pending migration in order, each in one transaction; returns those applied here.

        Raises MigrationError (nothing more is applied) when an applied file changed or is missing, or
        when a migration fails (its transaction is rolled back; the earlier ones stay).
        """
        files = self.files()
        applied_now: list[Migration] = []
        async with _connection(target) as connection:
            async with connection.transaction():
                await self._lock(connection)
                applied = await self._applied(connection)
            self._verify(files, applied)
            for migration in files:
                if migration.version in applied:
                    continue
                async with connection.transaction():
                    await self._lock(connection)
                    if await self._recorded(connection, migration):
                        continue  # another process applied it while this one waited for the lock
                    try:
                        await connection.execute(migration.sql)
                    except asyncpg.PostgresError as error:
                        raise MigrationError(f"{migration.filename} failed: {error}") from error
                    await connection.execute(
                        f"INSERT INTO {HISTORY_TABLE} (namespace, version, name, checksum) VALUES ($1, $2, $3, $4)",
                        self.namespace,
                        migration.version,
                        migration.name,
                        migration.checksum,
                    )
                logger.info("migration {} applied ({})", migration.filename, self.namespace)
                applied_now.append(migration)
        return applied_now

    async def verify(self, target: Target) -> None:
        """Raise MigrationError naming each applied file that changed or is missing."""
        async with _connection(target) as connection:
            self._verify(self.files(), await self._applied(connection))

    def _verify(self, files: list[Migration], applied: dict[int, _Applied]) -> None:
        by_version = {m.version: m for m in files}
        problems: list[str] = []
        for version, record in sorted(applied.items()):
            migration = by_version.get(version)
            if migration is None:
                problems.append(f"{version:04d}_{record.name}.sql was applied but is no longer in {self.folder}")
            elif migration.checksum != record.checksum:
                problems.append(
                    f"{migration.filename} changed after it was applied (sha256 {record.checksum[:12]}… "
                    f"recorded, {migration.checksum[:12]}… now): add a new migration instead"
                )
        if problems:
            raise MigrationError(f"migrations of {self.namespace!r}: " + "; ".join(problems))

    async def _lock(self, connection: Connection | asyncpg.Connection[asyncpg.Record]) -> None:
        # A migration may run long, and so may the wait for another instance's: the pool's statement
        # timeout (DB_STATEMENT_TIMEOUT) is for calls, not for these; SET LOCAL ends with the transaction.
        await connection.execute("SET LOCAL statement_timeout = 0")
        await connection.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_KEY)
        await connection.execute(_CREATE_HISTORY)

    async def _applied(self, connection: Connection | asyncpg.Connection[asyncpg.Record]) -> dict[int, _Applied]:
        exists = await connection.fetchval("SELECT to_regclass($1) IS NOT NULL", HISTORY_TABLE)
        if not exists:
            return {}
        rows = await connection.fetch(
            f"SELECT version, name, checksum, applied_at FROM {HISTORY_TABLE} WHERE namespace = $1", self.namespace
        )
        return {row["version"]: _Applied(*row.values()) for row in rows}

    async def _recorded(
        self, connection: Connection | asyncpg.Connection[asyncpg.Record], migration: Migration
    ) -> bool:
        checksum = await connection.fetchval(
            f"SELECT checksum FROM {HISTORY_TABLE} WHERE namespace = $1 AND version = $2",
            self.namespace,
            migration.version,
        )
        if checksum is not None and checksum != migration.checksum:
            raise MigrationError(f"{migration.filename} was applied by another process with different contents")
        return checksum is not None
