"""The ``db`` service inside an app: start and its failures, readiness, spans, slow queries, connections."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from loguru import logger
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from betrue.postgres import Connection, Database, DatabaseConfig, DatabaseUnavailable, DbConnection, MigrationError
from betrue.postgres.testing import database_name, with_database
from betrue.server import Application, Context, Group
from betrue.server.testing import TestApp


def shop_app(dsn: str, **settings: str) -> Application:
    shop = Group("shop")

    @shop.command("item")
    async def item(params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        db: Database = await ctx.service("db")
        row = await db.fetchrow("SELECT $1::int AS id, 'lamp' AS name", params["id"])
        assert row is not None
        return dict(row)

    @shop.command("pids")
    async def pids(params: dict[str, Any], ctx: Context) -> list[int]:
        conn: Connection = await ctx.service("db_connection")
        return [await conn.fetchval("SELECT pg_backend_pid()") for _ in range(3)]

    @shop.command("fail")
    async def fail(params: dict[str, Any], ctx: Context) -> None:
        db: Database = await ctx.service("db")
        await db.execute("SELECT 1 / 0")

    environ = {"DATABASE_URL": dsn, "LOG_LEVEL": "WARNING", **settings}
    app = Application("shop", groups=[shop], env_file=None, environ=environ)
    app.add_service(Database)
    app.add_service(DbConnection)
    return app


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def test_a_command_reads_through_the_db_service_and_errors_reach_the_envelope(dsn: str) -> None:
    async with TestApp(shop_app(dsn)) as app:
        assert await app.result("shop/item", {"id": 7}) == {"id": 7, "name": "lamp"}
        failed = await app.call("shop/fail")
    assert failed["code"] == 400
    assert failed["status"] == "ValidationError"
    assert failed["error"]["details"] == {"sqlstate": "22012"}


async def test_a_request_scoped_connection_is_one_connection_for_the_call_and_released_after(dsn: str) -> None:
    async with TestApp(shop_app(dsn, DB_POOL_MAX="2")) as app:
        for _ in range(5):  # with only 2 connections, a leak would hang here
            pids = await app.result("shop/pids")
            assert len(set(pids)) == 1
        db: Database = app.service("db")
        assert db.pool.get_idle_size() == db.pool.get_size()


async def test_start_fails_after_a_bounded_wait_naming_the_host_and_never_the_password() -> None:
    port = free_port()
    db = Database(
        DatabaseConfig.from_dict(
            {"url": f"postgresql://shop:hunter2secret@127.0.0.1:{port}/shop", "connect_timeout": 0.5}
        )
    )
    with pytest.raises(DatabaseUnavailable) as caught:
        await db.start()
    message = str(caught.value)
    assert f"127.0.0.1:{port}/shop" in message
    assert "DB_CONNECT_TIMEOUT" in message
    assert "hunter2secret" not in message


async def test_readiness_reports_the_pool(dsn: str) -> None:
    db = Database(DatabaseConfig.from_dict({"url": dsn, "min_size": 2, "max_size": 5}))
    assert db.readiness().ready is False
    await db.start()
    try:
        ready = db.readiness()
        assert ready.ready is True
        assert "of 2 connections in use (max 5)" in ready.detail
    finally:
        await db.stop()
    assert db.readiness().ready is False


async def test_each_query_is_a_client_span_under_the_command_with_db_conventions(dsn: str) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "shop"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    app = shop_app(dsn)
    app.telemetry.use(tracer_provider=provider)
    async with TestApp(app) as running:
        await running.result("shop/item", {"id": 424242})
        await running.call("shop/fail")
    spans = exporter.get_finished_spans()
    command = next(s for s in spans if s.name == "shop/item")
    select = next(s for s in spans if s.name == "SELECT" and "$1" in str((s.attributes or {}).get("db.query.text")))
    assert select.kind == SpanKind.CLIENT
    assert select.parent is not None
    assert command.context is not None
    assert select.parent.span_id == command.context.span_id
    attributes = dict(select.attributes or {})
    assert attributes["db.system.name"] == "postgresql"
    assert attributes["db.query.text"] == "SELECT $1::int AS id, 'lamp' AS name"
    assert attributes["db.operation.name"] == "SELECT"
    assert attributes["db.namespace"] == database_name(dsn)
    assert attributes["server.address"] == (urlsplit(dsn).hostname or parse_qs(urlsplit(dsn).query)["host"][0])
    assert "424242" not in str(attributes)  # parameters never go into spans
    failed = next(s for s in spans if (s.attributes or {}).get("db.query.text") == "SELECT 1 / 0")
    assert failed.status.status_code == StatusCode.ERROR
    assert (failed.attributes or {})["db.response.status_code"] == "22012"


async def test_a_slow_query_is_logged_with_its_statement(db: Database) -> None:
    lines: list[str] = []
    sink = logger.add(lambda message: lines.append(str(message)), level="WARNING")
    try:
        db._tracer.slow = 0.05
        await db.fetchval("SELECT pg_sleep(0.1)")
        await db.fetchval("SELECT 1")
    finally:
        logger.remove(sink)
    slow = [line for line in lines if "slow query" in line]
    assert len(slow) == 1
    assert "SELECT pg_sleep(0.1)" in slow[0]


async def test_db_migrate_auto_applies_at_start_and_refuses_a_changed_file(dsn: str, tmp_path: Path) -> None:
    first = tmp_path / "0001_items.sql"
    first.write_text("CREATE TABLE items (id int PRIMARY KEY);")
    settings = {"DB_MIGRATE": "auto", "DB_MIGRATIONS": str(tmp_path)}
    async with TestApp(shop_app(dsn, **settings)) as app:
        assert await app.service("db").fetchval("SELECT to_regclass('items') IS NOT NULL") is True
    first.write_text("CREATE TABLE items (id bigint PRIMARY KEY);")
    with pytest.raises(MigrationError, match=r"0001_items\.sql changed after it was applied"):
        async with TestApp(shop_app(dsn, **settings)):
            pass


async def test_the_request_connection_is_released_when_the_handler_fails(dsn: str) -> None:
    async with TestApp(shop_app(dsn, DB_POOL_MAX="1")) as app:
        for _ in range(3):
            assert (await app.call("shop/fail"))["code"] == 400
            assert (await app.call("shop/pids"))["code"] == 200


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("postgresql://shop:hunter2secret@127.0.0.1:notaport/shop", "the database URL is not usable"),
        ("mysql://shop:hunter2secret@127.0.0.1/shop", "the database URL is not usable"),
    ],
)
async def test_a_bad_url_fails_at_once_without_the_password(url: str, said: str) -> None:
    db = Database(DatabaseConfig.from_dict({"url": url, "connect_timeout": 30}))
    with pytest.raises(DatabaseUnavailable, match=said) as caught:
        await asyncio.wait_for(db.start(), timeout=5)  # not after DB_CONNECT_TIMEOUT: waiting would not help
    assert "hunter2secret" not in str(caught.value)


async def test_a_missing_database_is_refused_at_once_naming_it(server_dsn: str) -> None:
    url = with_database(server_dsn, "betrue_no_such_database")
    db = Database(DatabaseConfig.from_dict({"url": url, "connect_timeout": 30}))
    with pytest.raises(DatabaseUnavailable, match=r'refused: database "betrue_no_such_database" does not exist'):
        await asyncio.wait_for(db.start(), timeout=10)
