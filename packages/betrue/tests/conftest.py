"""Fixtures of the cross-package tests: a fresh chat database per test; the job queue backends."""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from betrue.postgres import Migrations
from betrue.postgres.testing import TestDatabases
from betrue.server import Application, Group

ROOT = Path(__file__).resolve().parents[3]

PG_DSN = os.environ.get("BETRUE_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
NATS_URL = os.environ.get("BETRUE_TEST_NATS_URL", "nats://127.0.0.1:4222")
BACKENDS = ["memory", "postgres", "jetstream"]


class Backend:
    """One job queue backend: ``backend.app(name, groups, **env)`` builds an app that uses it."""

    def __init__(self, name: str, factory: Any, environ: dict[str, str]) -> None:
        self.name = name
        self.factory = factory
        self.environ = environ
        self.apps: list[Application] = []

    def app(self, name: str, groups: Sequence[Group], **env: str) -> Application:
        app = Application(name, groups=groups, http=False, environ={**self.environ, **env}, env_file=None)
        if self.factory is not None:
            app.replace_service("jobs", self.factory)
        self.apps.append(app)
        return app


async def _pg_ready() -> str | None:
    import asyncpg

    try:
        connection = await asyncpg.connect(PG_DSN, timeout=2)
    except (OSError, asyncpg.PostgresError) as error:
        return f"PostgreSQL at {PG_DSN} does not answer ({error})"
    await connection.close()
    return None


async def _nats_ready() -> str | None:
    import nats

    try:
        connection = await nats.connect(NATS_URL, connect_timeout=2, max_reconnect_attempts=0, allow_reconnect=False)
    except Exception as error:
        return f"NATS at {NATS_URL} does not answer ({error})"
    await connection.close()
    return None


@pytest.fixture(params=BACKENDS)
async def job_backend(request: pytest.FixtureRequest) -> AsyncIterator[Backend]:
    """The backend under test; ``job_backend.app(name, groups, **env)`` builds an app that uses it.

    Each test gets its own PostgreSQL schema or JetStream prefix (dropped afterwards), so tests running
    at the same time against the shared servers never see each other's jobs.
    """
    backend: str = request.param
    suffix = secrets.token_hex(4)
    environ: dict[str, str] = {"LOG_LEVEL": "WARNING", "JOBS_POLL": "0.05"}
    factory: Any = None
    if backend == "postgres":
        reason = await _pg_ready()
        if reason:
            pytest.skip(reason)
        from betrue.postgres.jobs import PostgresJobQueue

        factory = PostgresJobQueue
        environ |= {"JOBS_DATABASE_URL": PG_DSN, "JOBS_PG_SCHEMA": f"t_jobs_{suffix}", "JOBS_REAP_EVERY": "0.05"}
    elif backend == "jetstream":
        reason = await _nats_ready()
        if reason:
            pytest.skip(reason)
        from betrue.nats.jobs import JetStreamJobQueue

        factory = JetStreamJobQueue
        environ |= {"JOBS_NATS_URL": NATS_URL, "JOBS_JS_PREFIX": f"T{suffix}"}
    chosen = Backend(backend, factory, environ)
    yield chosen
    for app in chosen.apps:
        await app.stop()
    if backend == "postgres":
        import asyncpg

        connection = await asyncpg.connect(PG_DSN)
        try:
            await connection.execute(f"DROP SCHEMA IF EXISTS t_jobs_{suffix} CASCADE")
        finally:
            await connection.close()
    elif backend == "jetstream":
        from betrue.nats.jobs import drop_streams

        await drop_streams(NATS_URL, f"T{suffix}")


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
