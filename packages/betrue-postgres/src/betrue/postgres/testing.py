"""Test databases on a real server: a template migrated once per session, a fresh clone per test.

``CREATE DATABASE … TEMPLATE`` copies a migrated database in a fraction of a second, so each test starts
from a clean, fully migrated database without running the migrations again. Every name is random;
everything made is dropped at the end.

Example (a pytest ``conftest.py``):
    >>> import asyncio, pytest
    >>> from betrue.postgres import Migrations
    >>> from betrue.postgres.testing import TestDatabases
    >>> @pytest.fixture(scope="session")
    ... def databases():
    ...     dbs = TestDatabases(migrations=[Migrations("migrations")])
    ...     asyncio.run(dbs.setup())
    ...     yield dbs
    ...     asyncio.run(dbs.teardown())
    >>> @pytest.fixture
    ... async def database_url(databases):
    ...     async with databases.database() as url:
    ...         yield url        # TestApp(app, env={"DATABASE_URL": url})
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from betrue.postgres.migrations import Migrations

__all__ = ["DEFAULT_TEST_DSN", "TestDatabases", "database_name", "test_dsn", "with_database"]

DEFAULT_TEST_DSN = "postgresql://postgres@127.0.0.1:5432/test"


def test_dsn() -> str:
    """The server tests use: ``BETRUE_TEST_PG_DSN``, else PostgreSQL on 127.0.0.1:5432 (database ``test``)."""
    return os.environ.get("BETRUE_TEST_PG_DSN") or DEFAULT_TEST_DSN


test_dsn.__test__ = False  # type: ignore[attr-defined]  # not a pytest test, despite its name


def with_database(dsn: str, database: str) -> str:
    """``dsn`` pointing at another database on the same server.

    Example:
        >>> with_database("postgresql://postgres@127.0.0.1:5432/test", "shop")
        'postgresql://postgres@127.0.0.1:5432/shop'
    """
    parts = urlsplit(dsn)
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}", parts.query, parts.fragment))


def database_name(dsn: str) -> str:
    """The database a DSN names (a Unix-socket DSN keeps the socket folder in its query).

    Example:
        >>> database_name("postgresql://postgres:@/shop?host=/tmp/pg")
        'shop'
    """
    return urlsplit(dsn).path.lstrip("/")


class TestDatabases:
    """A migrated template database and fresh clones of it, on the server of ``dsn``.

    ``setup()`` creates the template and applies ``migrations`` to it; ``create()`` clones it under a
    random name and returns the clone's DSN; ``drop(dsn)`` and ``teardown()`` remove them (connections
    still open are cut). Every method opens its own connection, so one instance serves tests running on
    different event loops.
    """

    __test__ = False  # not a pytest test class, despite its name

    def __init__(
        self, dsn: str | None = None, *, migrations: Sequence[Migrations] = (), prefix: str = "betrue_t"
    ) -> None:
        self.dsn = dsn or test_dsn()
        self.migrations = list(migrations)
        self.prefix = f"{prefix}_{secrets.token_hex(4)}"
        self.template = f"{self.prefix}_template"
        self._made: set[str] = set()

    async def setup(self) -> None:
        """Create the template database and apply the migrations to it."""
        await self._admin(f'CREATE DATABASE "{self.template}"')
        connection = await asyncpg.connect(with_database(self.dsn, self.template))
        try:
            for migrations in self.migrations:
                await migrations.apply(connection)
        finally:
            await connection.close()

    async def create(self) -> str:
        """A new database cloned from the template; its DSN."""
        name = f"{self.prefix}_{secrets.token_hex(6)}"
        for attempt in range(20):
            try:
                await self._admin(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
                break
            except asyncpg.ObjectInUseError:  # another clone is being copied from the template right now
                if attempt == 19:
                    raise
                await asyncio.sleep(0.05 * (attempt + 1))
        self._made.add(name)
        return with_database(self.dsn, name)

    async def drop(self, dsn: str) -> None:
        """Drop a database made by ``create()``."""
        name = database_name(dsn)
        await self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self._made.discard(name)

    @asynccontextmanager
    async def database(self) -> AsyncIterator[str]:
        """A fresh clone for the block, dropped after it."""
        dsn = await self.create()
        try:
            yield dsn
        finally:
            await self.drop(dsn)

    async def teardown(self) -> None:
        """Drop every clone still there and the template."""
        for name in [*sorted(self._made), self.template]:
            await self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self._made.clear()

    async def _admin(self, statement: str) -> None:
        connection = await asyncpg.connect(self.dsn)
        try:
            await connection.execute(statement)
        finally:
            await connection.close()
