"""Fixtures of betrue-postgres's tests: the real PostgreSQL (BETRUE_TEST_PG_DSN, else 127.0.0.1:5432) and
a database of its own for every test (random name, dropped after it)."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator

import asyncpg
import pytest

from betrue.postgres import Database, DatabaseConfig
from betrue.postgres.testing import database_name, test_dsn, with_database


@pytest.fixture(scope="session")
def server_dsn() -> str:
    """The shared server's DSN; the tests are skipped (saying why) when it does not answer."""
    dsn = test_dsn()

    async def probe() -> None:
        connection = await asyncpg.connect(dsn, timeout=5)
        await connection.close()

    try:
        asyncio.run(probe())
    except (TimeoutError, OSError, asyncpg.PostgresError) as error:
        pytest.skip(f"PostgreSQL at {dsn} does not answer ({error}): run `python tools/services.py ensure`")
    return dsn


async def create_database(server: str, prefix: str = "betrue_pg") -> str:
    name = f"{prefix}_{secrets.token_hex(6)}"
    connection = await asyncpg.connect(server)
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return with_database(server, name)


async def drop_database(server: str, dsn: str) -> None:
    name = database_name(dsn)
    connection = await asyncpg.connect(server)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


@pytest.fixture
async def dsn(server_dsn: str) -> AsyncIterator[str]:
    """A new empty database on the shared server for this test only."""
    made = await create_database(server_dsn)
    try:
        yield made
    finally:
        await drop_database(server_dsn, made)


@pytest.fixture
async def db(dsn: str) -> AsyncIterator[Database]:
    """A started ``db`` service on this test's own database (short statement timeout for the 504 case)."""
    database = Database(DatabaseConfig.from_dict({"url": dsn, "statement_timeout": 5.0, "max_size": 4}))
    await database.start()
    try:
        yield database
    finally:
        await database.stop()
