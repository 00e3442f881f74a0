"""Transactions and lent connections: rollback, the app's own exceptions, pool exhaustion, spans inside them."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from betrue.postgres import Connection, Database, DatabaseConfig, DbConnection, Migrations
from betrue.server import Application, Context, Group, NotFound, ServiceUnavailable, ValidationError
from betrue.server.testing import TestApp


@pytest.fixture
async def notes(db: Database) -> Database:
    await db.execute("CREATE TABLE notes (id serial PRIMARY KEY, text text NOT NULL, data jsonb)")
    return db


async def write_then_fail(db: Database, error: Exception) -> None:
    async with db.transaction() as conn:
        await conn.execute("INSERT INTO notes (text) VALUES ('half done')")
        raise error


async def test_a_failing_block_rolls_back_and_the_apps_own_error_comes_out_unchanged(notes: Database) -> None:
    with pytest.raises(NotFound, match="no such room"):
        await write_then_fail(notes, NotFound("no such room"))
    with pytest.raises(ValueError, match="a bug of the app"):
        await write_then_fail(notes, ValueError("a bug of the app"))
    assert await notes.fetchval("SELECT count(*) FROM notes") == 0


async def test_json_goes_in_and_comes_out_as_python_values(notes: Database) -> None:
    data = {"tags": ["a", "b"], "score": 1.5, "nested": {"ok": True}}
    await notes.execute("INSERT INTO notes (text, data) VALUES ($1, $2)", "with data", data)
    assert await notes.fetchval("SELECT data FROM notes") == data
    await notes.executemany("INSERT INTO notes (text) VALUES ($1)", [("one",), ("two",)])
    assert [row["text"] for row in await notes.fetch("SELECT text FROM notes ORDER BY id")] == [
        "with data",
        "one",
        "two",
    ]


async def test_an_argument_that_does_not_fit_is_a_400_not_a_500_or_a_503(notes: Database) -> None:
    for value in ("not a number", 10**30):  # as a caller's params could hold, past a loose schema
        with pytest.raises(ValidationError) as caught:
            await notes.fetchrow("SELECT * FROM notes WHERE id = $1", value)
        assert caught.value.details == {"sqlstate": "22000"}
        assert str(value) not in caught.value.message
    assert notes.readiness().ready is True


async def test_no_free_connection_within_the_acquire_timeout_is_a_503(dsn: str) -> None:
    db = Database(DatabaseConfig.from_dict({"url": dsn, "max_size": 1, "acquire_timeout": 0.2}))
    await db.start()
    try:
        async with db.transaction():  # holds the only connection
            with pytest.raises(ServiceUnavailable) as caught:
                await asyncio.wait_for(db.fetchval("SELECT 1"), timeout=10)
            assert caught.value.details == {"reason": "pool_exhausted", "max": 1}
        assert await db.fetchval("SELECT 1") == 1
    finally:
        await db.stop()


async def test_statements_on_lent_connections_are_spans_under_the_command(dsn: str) -> None:
    shop = Group("shop")

    @shop.command("move")
    async def move(params: dict[str, Any], ctx: Context) -> int:
        db: Database = await ctx.service("db")

        async def work(conn: Connection) -> int:
            value: int = await conn.fetchval("SELECT $1::int + 1", params["n"])
            return value

        conn: Connection = await ctx.service("db_connection")
        await conn.fetchval("SELECT 'on the call''s connection'")
        return await db.transaction(work, retry=1)

    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "shop"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    app = Application("shop", groups=[shop], env_file=None, environ={"DATABASE_URL": dsn, "LOG_LEVEL": "WARNING"})
    app.add_service(Database)
    app.add_service(DbConnection)
    app.telemetry.use(tracer_provider=provider)
    async with TestApp(app) as running:
        assert await running.result("shop/move", {"n": 41}) == 42
        await asyncio.sleep(0.05)  # asyncpg reports each statement with call_soon
    spans = exporter.get_finished_spans()
    command = next(s for s in spans if s.name == "shop/move")
    assert command.context is not None
    children = {
        str((s.attributes or {}).get("db.query.text"))
        for s in spans
        if s.parent is not None and s.parent.span_id == command.context.span_id
    }
    assert "SELECT $1::int + 1" in children
    assert "SELECT 'on the call''s connection'" in children
    assert any(text.startswith("BEGIN") for text in children)
    assert all("41" not in text for text in children)


async def test_acquire_lends_a_connection_until_release_and_readiness_counts_it(dsn: str) -> None:
    db = Database(DatabaseConfig.from_dict({"url": dsn, "min_size": 2, "max_size": 2}))
    await db.start()
    try:
        conn = await db.acquire()
        try:
            assert await conn.fetchval("SELECT 7") == 7
            assert db.readiness().detail.startswith("1 of 2 connections in use")
        finally:
            await db.release(conn)
        assert db.readiness().detail.startswith("0 of 2 connections in use")
    finally:
        await db.stop()


async def test_extra_migration_sets_are_applied_at_start_after_the_apps_own(dsn: str, tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "0001_users.sql").write_text("CREATE TABLE users (id int PRIMARY KEY);")
    (tmp_path / "queue").mkdir()  # needs the app's table: only works when applied after it
    (tmp_path / "queue" / "0001_queue.sql").write_text("CREATE TABLE queue (user_id int REFERENCES users(id));")
    config = DatabaseConfig.from_dict({"url": dsn, "migrate": "auto", "migrations": str(tmp_path / "app")})
    db = Database(config, migrations=[Migrations(tmp_path / "queue", namespace="queue")])
    await db.start()
    try:
        rows = await db.fetch("SELECT namespace, name FROM betrue_migrations ORDER BY applied_at, namespace")
    finally:
        await db.stop()
    assert [(row["namespace"], row["name"]) for row in rows] == [("app", "users"), ("queue", "queue")]
