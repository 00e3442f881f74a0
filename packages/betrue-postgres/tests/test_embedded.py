"""Where the database is: DATABASE_URL, the PG* variables, the embedded server, the machine's; and what is said."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest
from loguru import logger

from betrue.postgres import DatabaseConfig, describe_dsn, resolve_dsn
from betrue.postgres.embedded import LOCAL_DSN


@pytest.fixture
def lines() -> Iterator[list[str]]:
    captured: list[str] = []
    sink = logger.add(lambda message: captured.append(str(message)), level="INFO")
    yield captured
    logger.remove(sink)


@pytest.mark.parametrize(
    ("dsn", "shown"),
    [
        ("postgresql://app:s3cret@db.example:6432/shop", "db.example:6432/shop"),
        ("postgresql://app@db.example/shop", "db.example/shop"),
        ("postgresql://postgres:@/postgres?host=/tmp/pg-socket", "/tmp/pg-socket/postgres"),
        ("postgres://u:p%40ss@[::1]:5432/x", "::1:5432/x"),
    ],
)
def test_a_dsn_is_described_without_its_password(dsn: str, shown: str) -> None:
    assert describe_dsn(dsn) == shown
    assert "s3cret" not in describe_dsn(dsn)


async def test_database_url_wins_and_one_line_names_it_without_the_password(lines: list[str]) -> None:
    url = "postgresql://app:s3cret@db.example:5432/shop"
    assert await resolve_dsn(url, "/nowhere", environ={"PGHOST": "elsewhere"}) == url
    assert next(line for line in lines if "database:" in line).endswith(
        "database: db.example:5432/shop (DATABASE_URL)\n"
    )
    assert all("s3cret" not in line for line in lines)


async def test_the_pg_variables_are_left_to_asyncpg(lines: list[str]) -> None:
    assert await resolve_dsn(None, "/nowhere", environ={"PGHOST": "db.example", "PGDATABASE": "shop"}) is None
    assert any("(PG* variables)" in line for line in lines)


async def test_without_the_pgserver_wheel_the_machines_postgres_is_used(
    lines: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pgserver", None)  # as if the wheel were not installed
    assert await resolve_dsn(None, "/nowhere", environ={}) == LOCAL_DSN
    assert any("the pgserver wheel is not installed" in line for line in lines)


def test_the_url_is_a_secret_in_the_config() -> None:
    config = DatabaseConfig.load(environ={"DATABASE_URL": "postgresql://app:s3cret@db/shop", "DB_POOL_MAX": "3"})
    assert config.max_size == 3
    assert config.url is not None
    assert config.url.get_secret_value().endswith("@db/shop")
    assert "s3cret" not in repr(config)
    assert "s3cret" not in str(config.model_dump())
