"""Migrations on a real PostgreSQL: order, one transaction each, checksums, namespaces, concurrent runners."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import asyncpg
import pytest

from betrue.postgres import HISTORY_TABLE, MigrationError, Migrations

USERS = "CREATE TABLE users (id serial PRIMARY KEY, name text NOT NULL UNIQUE);"
POSTS = "CREATE TABLE posts (id serial PRIMARY KEY, user_id int REFERENCES users(id), body text);"


def write(folder: Path, name: str, sql: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(sql)
    return path


async def tables(dsn: str) -> set[str]:
    connection = await asyncpg.connect(dsn)
    try:
        rows = await connection.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    finally:
        await connection.close()
    return {row["tablename"] for row in rows}


async def test_files_are_applied_in_order_once_and_recorded_with_their_checksum(tmp_path: Path, dsn: str) -> None:
    write(tmp_path, "0002_posts.sql", POSTS)  # needs users: only works when 0001 ran first
    write(tmp_path, "0001_users.sql", USERS)
    migrations = Migrations(tmp_path, namespace="blog")
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=2)
    try:
        assert [m.filename for m in await migrations.apply(pool)] == ["0001_users.sql", "0002_posts.sql"]
        assert await migrations.apply(pool) == []
        states = await migrations.status(pool)
        rows = await pool.fetch(f"SELECT version, checksum FROM {HISTORY_TABLE} WHERE namespace = 'blog'")
    finally:
        await pool.close()
    assert [(s.version, s.state) for s in states] == [(1, "applied"), (2, "applied")]
    assert {r["version"]: r["checksum"] for r in rows} == {m.version: m.checksum for m in migrations.files()}
    assert {"users", "posts", HISTORY_TABLE} <= await tables(dsn)


async def test_a_failing_migration_is_rolled_back_whole_and_named(tmp_path: Path, dsn: str) -> None:
    write(tmp_path, "0001_users.sql", USERS)
    write(tmp_path, "0002_broken.sql", "CREATE TABLE half (id int);\nSELECT * FROM no_such_table;")
    connection = await asyncpg.connect(dsn)
    try:
        with pytest.raises(MigrationError, match=r"0002_broken\.sql failed: .*no_such_table"):
            await Migrations(tmp_path).apply(connection)
        states = await Migrations(tmp_path).status(connection)
    finally:
        await connection.close()
    assert [(s.version, s.state) for s in states] == [(1, "applied"), (2, "pending")]
    assert "half" not in await tables(dsn)  # the statement before the failing one went too


async def test_a_changed_applied_file_stops_everything_naming_the_file(tmp_path: Path, dsn: str) -> None:
    first = write(tmp_path, "0001_users.sql", USERS)
    connection = await asyncpg.connect(dsn)
    try:
        await Migrations(tmp_path).apply(connection)
        first.write_text(USERS + "\n-- edited")
        write(tmp_path, "0002_posts.sql", POSTS)
        with pytest.raises(MigrationError, match=r"0001_users\.sql changed after it was applied"):
            await Migrations(tmp_path).apply(connection)
        states = await Migrations(tmp_path).status(connection)
    finally:
        await connection.close()
    assert [(s.version, s.state) for s in states] == [(1, "changed"), (2, "pending")]
    assert "posts" not in await tables(dsn)


async def test_a_deleted_applied_file_is_reported_missing(tmp_path: Path, dsn: str) -> None:
    first = write(tmp_path, "0001_users.sql", USERS)
    connection = await asyncpg.connect(dsn)
    try:
        await Migrations(tmp_path).apply(connection)
        first.unlink()
        with pytest.raises(MigrationError, match=r"0001_users\.sql was applied but is no longer"):
            await Migrations(tmp_path).verify(connection)
        assert [s.state for s in await Migrations(tmp_path).status(connection)] == ["missing"]
    finally:
        await connection.close()


async def test_namespaces_keep_separate_histories_in_one_database(tmp_path: Path, dsn: str) -> None:
    write(tmp_path / "app", "0001_users.sql", USERS)
    write(tmp_path / "jobs", "0001_jobs.sql", "CREATE TABLE jobs (id bigserial PRIMARY KEY);")
    connection = await asyncpg.connect(dsn)
    try:
        assert len(await Migrations(tmp_path / "app", namespace="app").apply(connection)) == 1
        assert len(await Migrations(tmp_path / "jobs", namespace="betrue_jobs").apply(connection)) == 1
        assert await Migrations(tmp_path / "app", namespace="app").apply(connection) == []
    finally:
        await connection.close()
    assert {"users", "jobs"} <= await tables(dsn)


def test_bad_file_names_and_repeated_numbers_are_refused(tmp_path: Path) -> None:
    write(tmp_path, "1_users.sql", USERS)
    with pytest.raises(MigrationError, match=r"1_users\.sql: a migration is named NNNN_name\.sql"):
        Migrations(tmp_path).files()
    (tmp_path / "1_users.sql").unlink()
    write(tmp_path, "0001_users.sql", USERS)
    write(tmp_path, "0001_other.sql", POSTS)
    with pytest.raises(MigrationError, match="same number 1"):
        Migrations(tmp_path).files()
    with pytest.raises(MigrationError, match="does not exist"):
        Migrations(tmp_path / "nowhere").files()


def test_new_numbers_the_next_file(tmp_path: Path) -> None:
    migrations = Migrations(tmp_path / "migrations")
    assert migrations.new("Create users!").name == "0001_create_users.sql"
    assert migrations.new("add posts").name == "0002_add_posts.sql"
    with pytest.raises(MigrationError, match="not a usable migration name"):
        migrations.new("!!!")


async def test_eight_processes_migrating_at_once_apply_each_file_exactly_once(tmp_path: Path, dsn: str) -> None:
    folder = tmp_path / "migrations"
    for number in range(1, 11):  # each file fails if run twice (CREATE TABLE without IF NOT EXISTS)
        write(
            folder, f"{number:04d}_t{number}.sql", f"CREATE TABLE t{number} (id int); INSERT INTO t{number} VALUES (1);"
        )
    environ = {**os.environ, "DATABASE_URL": dsn, "DB_MIGRATIONS": str(folder), "LOG_LEVEL": "WARNING"}
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "betrue.server.cli",
            "db",
            "migrate",
            env=environ,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for _ in range(8)
    ]
    results = await asyncio.wait_for(asyncio.gather(*(p.communicate() for p in processes)), timeout=90)
    codes = [p.returncode for p in processes]
    assert codes == [0] * 8, [err.decode()[-500:] for _, err in results]
    applied_lines = [line for out, _ in results for line in out.decode().splitlines() if "0001" in line or "_t" in line]
    assert applied_lines  # someone applied them
    connection = await asyncpg.connect(dsn)
    try:
        recorded = await connection.fetchval(f"SELECT count(*) FROM {HISTORY_TABLE} WHERE namespace = 'app'")
        rows = [await connection.fetchval(f"SELECT count(*) FROM t{n}") for n in range(1, 11)]
    finally:
        await connection.close()
    assert recorded == 10
    assert rows == [1] * 10


async def test_a_migration_longer_than_the_statement_timeout_still_runs_at_start(tmp_path: Path, dsn: str) -> None:
    from betrue.postgres import Database, DatabaseConfig
    from betrue.server import GatewayTimeout

    write(tmp_path, "0001_slow.sql", "SELECT pg_sleep(0.6); CREATE TABLE slow (id int);")
    config = {"url": dsn, "statement_timeout": 0.2, "migrate": "auto", "migrations": str(tmp_path)}
    db = Database(DatabaseConfig.from_dict(config))
    await db.start()
    try:
        assert await db.fetchval("SELECT to_regclass('slow') IS NOT NULL") is True
        with pytest.raises(GatewayTimeout):
            await db.execute("SELECT pg_sleep(0.6)")  # calls still have the timeout
    finally:
        await db.stop()
