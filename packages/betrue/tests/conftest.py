"""Fixtures of the cross-package tests: a fresh, migrated chat database per test on the real PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from betrue.postgres import Migrations
from betrue.postgres.testing import TestDatabases

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="session")
def chat_databases() -> Iterator[TestDatabases]:
    """A template database with the chat's migrations, made once; each test clones it in milliseconds."""
    databases = TestDatabases(migrations=[Migrations(ROOT / "examples" / "chat" / "migrations", namespace="chat")])
    try:
        asyncio.run(databases.setup())
    except (TimeoutError, OSError, asyncpg.PostgresError) as error:
        pytest.skip(f"PostgreSQL at {databases.dsn} does not answer ({error}): run `python tools/services.py ensure`")
    yield databases
    asyncio.run(databases.teardown())


@pytest.fixture
async def chat_database(chat_databases: TestDatabases) -> AsyncIterator[str]:
    """The DSN of a fresh chat database of this test's own (dropped after it)."""
    async with chat_databases.database() as dsn:
        yield dsn
