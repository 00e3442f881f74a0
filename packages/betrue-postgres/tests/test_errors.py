"""Every SQLSTATE mapping, triggered by a real statement on a real PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import asyncpg
import pytest

from betrue.postgres import Connection, Database, DatabaseConfig, translate
from betrue.server import BetrueError, Conflict, GatewayTimeout, InternalError, ServiceUnavailable, ValidationError

SCHEMA = """
CREATE TABLE users (
    id int PRIMARY KEY,
    email text NOT NULL CONSTRAINT users_email_key UNIQUE,
    code varchar(3),
    age int CONSTRAINT users_age_check CHECK (age >= 0)
);
CREATE TABLE posts (id int PRIMARY KEY, user_id int NOT NULL CONSTRAINT posts_user_fkey REFERENCES users(id));
INSERT INTO users (id, email) VALUES (1, 'ann@example.com'), (2, 'bob@example.com');
"""


async def raised(db: Database, statement: str, *args: object) -> BetrueError:
    with pytest.raises(BetrueError) as caught:
        await db.execute(statement, *args)
    assert isinstance(caught.value.__cause__, asyncpg.PostgresError | OSError)  # the raw error is kept as the cause
    return caught.value


@pytest.fixture
async def shop(db: Database) -> Database:
    await db.execute(SCHEMA)
    return db


async def test_unique_violation_is_a_conflict_naming_the_constraint_not_the_value(shop: Database) -> None:
    error = await raised(shop, "INSERT INTO users (id, email) VALUES (3, $1)", "ann@example.com")
    assert isinstance(error, Conflict)
    assert error.code == 409
    assert error.details == {"sqlstate": "23505", "constraint": "users_email_key", "table": "users", "schema": "public"}
    assert "ann@example.com" not in f"{error.message} {error.details}"


async def test_foreign_key_violations_are_conflicts(shop: Database) -> None:
    missing = await raised(shop, "INSERT INTO posts VALUES (1, 99)")
    assert isinstance(missing, Conflict)
    assert missing.details["constraint"] == "posts_user_fkey"
    assert missing.details["sqlstate"] == "23503"
    await shop.execute("INSERT INTO posts VALUES (1, 1)")
    referenced = await raised(shop, "DELETE FROM users WHERE id = 1")
    assert isinstance(referenced, Conflict)
    assert referenced.details["constraint"] == "posts_user_fkey"


@pytest.mark.parametrize(
    ("statement", "sqlstate", "named"),
    [
        ("INSERT INTO users (id, email) VALUES (5, NULL)", "23502", {"column": "email"}),
        ("INSERT INTO users (id, email, age) VALUES (5, 'x@y', -1)", "23514", {"constraint": "users_age_check"}),
        ("INSERT INTO users (id, email, code) VALUES (5, 'x@y', 'toolong')", "22001", {}),
        ("SELECT 2147483647::int + 1", "22003", {}),
        ("SELECT 'twelve'::int", "22P02", {}),
        ("SELECT 1 / 0", "22012", {}),
        ("SELECT '2024-13-45'::date", "22008", {}),
    ],
)
async def test_bad_values_are_validation_errors(
    shop: Database, statement: str, sqlstate: str, named: dict[str, str]
) -> None:
    error = await raised(shop, statement)
    assert isinstance(error, ValidationError)
    assert error.code == 400
    assert error.details["sqlstate"] == sqlstate
    assert named.items() <= error.details.items()
    assert "twelve" not in error.message
    assert "toolong" not in error.message


async def test_a_statement_over_the_timeout_is_cancelled_as_504(dsn: str) -> None:
    db = Database(DatabaseConfig.from_dict({"url": dsn, "statement_timeout": 0.2}))
    await db.start()
    try:
        error = await raised(db, "SELECT pg_sleep(5)")
        assert await db.fetchval("SELECT 1") == 1  # the connection is fine afterwards
    finally:
        await db.stop()
    assert isinstance(error, GatewayTimeout)
    assert error.code == 504
    assert error.details == {"sqlstate": "57014"}


async def test_a_locked_row_with_nowait_is_a_conflict(shop: Database) -> None:
    async with shop.transaction() as holder:
        await holder.execute("SELECT * FROM users WHERE id = 1 FOR UPDATE")
        error = await raised(shop, "SELECT * FROM users WHERE id = 1 FOR UPDATE NOWAIT")
    assert isinstance(error, Conflict)
    assert error.details["sqlstate"] == "55P03"


async def test_a_serialization_failure_is_retried_and_then_succeeds(shop: Database) -> None:
    await shop.execute("CREATE TABLE counter (id int PRIMARY KEY, n int NOT NULL); INSERT INTO counter VALUES (1, 0)")
    attempts = 0

    async def increment(conn: Connection) -> int:
        nonlocal attempts
        attempts += 1
        n: int = await conn.fetchval("SELECT n FROM counter WHERE id = 1")
        if attempts == 1:  # someone else changes the row after this transaction read it
            await shop.execute("UPDATE counter SET n = n + 10 WHERE id = 1")
        await conn.execute("UPDATE counter SET n = $1 WHERE id = 1", n + 1)
        return n + 1

    assert await shop.transaction(increment, retry=3, isolation="serializable") == 11
    assert attempts == 2
    assert await shop.fetchval("SELECT n FROM counter WHERE id = 1") == 11


async def test_without_retries_a_serialization_failure_is_a_conflict(shop: Database) -> None:
    await shop.execute("CREATE TABLE counter (id int PRIMARY KEY, n int NOT NULL); INSERT INTO counter VALUES (1, 0)")

    async def increment(conn: Connection) -> None:
        n = await conn.fetchval("SELECT n FROM counter WHERE id = 1")
        await shop.execute("UPDATE counter SET n = n + 10 WHERE id = 1")
        await conn.execute("UPDATE counter SET n = $1 WHERE id = 1", n + 1)

    with pytest.raises(Conflict) as caught:
        await shop.transaction(increment, isolation="serializable")
    assert caught.value.details == {"sqlstate": "40001"}
    assert await shop.fetchval("SELECT n FROM counter WHERE id = 1") == 10  # the loser's write is gone


async def test_a_deadlock_is_retried_so_both_transactions_complete(shop: Database) -> None:
    both_locked = asyncio.Barrier(2)
    attempts: list[str] = []

    def crossing(first: int, second: int, name: str) -> Callable[[Connection], Awaitable[None]]:
        async def work(conn: Connection) -> None:
            attempts.append(name)
            await conn.execute("UPDATE users SET age = 1 WHERE id = $1", first)
            if attempts.count(name) == 1:
                await both_locked.wait()
            await conn.execute("UPDATE users SET age = 2 WHERE id = $1", second)

        return work

    results = await asyncio.wait_for(
        asyncio.gather(
            shop.transaction(crossing(1, 2, "a"), retry=2),
            shop.transaction(crossing(2, 1, "b"), retry=2),
            return_exceptions=True,
        ),
        timeout=30,
    )
    assert list(results) == [None, None]
    assert len(attempts) == 3  # PostgreSQL chose one victim, which ran again
    ages = [row["age"] for row in await shop.fetch("SELECT age FROM users ORDER BY id")]
    assert sorted(ages) == [1, 2]  # the retried one ran whole after the winner committed


def test_retry_needs_the_work_as_a_function() -> None:
    with pytest.raises(TypeError, match="a with-block cannot run again"):
        Database().transaction(retry=3)  # type: ignore[call-overload]


async def test_a_lost_connection_is_503_and_the_pool_reconnects_by_itself(db: Database) -> None:
    pid = await db.fetchval("SELECT pg_backend_pid()")
    killer = await asyncpg.connect(db.dsn)
    try:
        waiting = asyncio.ensure_future(db.fetchval("SELECT pg_sleep(5)"))
        await asyncio.sleep(0.3)
        await killer.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid = $1", pid)
        with pytest.raises(ServiceUnavailable) as caught:
            await asyncio.wait_for(waiting, timeout=10)
    finally:
        await killer.close()
    assert caught.value.code == 503
    assert db.readiness().ready is False
    for _ in range(100):  # nobody calls: asking for readiness is enough to find the database back
        await asyncio.sleep(0.05)
        if db.readiness().ready:
            break
    assert db.readiness().ready is True
    assert await db.fetchval("SELECT 1") == 1  # a new connection, with no help


def test_anything_else_is_an_internal_error_that_leaks_nothing() -> None:
    error = translate(asyncpg.exceptions.UndefinedTableError('relation "secret_table" does not exist'))
    assert isinstance(error, InternalError)
    assert "secret_table" not in f"{error.message} {error.details}"
    assert isinstance(translate(ConnectionRefusedError()), ServiceUnavailable)
