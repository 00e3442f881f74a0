"""The ``db`` service: an asyncpg pool with errors mapped, queries traced, migrations applied at start.

Handlers reach it with ``db: Database = await ctx.service("db")`` and call ``fetch``, ``fetchrow``,
``fetchval``, ``execute``; ``async with db.transaction() as conn`` runs a block in one transaction and
``await db.transaction(work, retry=3)`` runs ``work(conn)`` again after a serialization failure or a
deadlock. Every asyncpg exception leaves as a catalogue error (see ``betrue.postgres.errors``).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any, Literal, NoReturn, TypeVar, overload

import asyncpg
from loguru import logger

from betrue.postgres.config import DatabaseConfig
from betrue.postgres.embedded import describe_dsn, resolve_dsn
from betrue.postgres.errors import is_database_error, is_retryable, translate
from betrue.postgres.migrations import Migrations
from betrue.postgres.pool import DatabaseUnavailable, open_pool
from betrue.postgres.tracing import QueryTracer
from betrue.postgres.types import Connection, Record
from betrue.server import Service, ServiceUnavailable
from betrue.server.ext import Readiness

__all__ = ["Database", "DatabaseUnavailable", "Isolation"]

T = TypeVar("T")
Isolation = Literal["read_committed", "repeatable_read", "serializable"]


class Database(Service):
    """PostgreSQL through an asyncpg pool (service ``db``).

    Example:
        >>> from betrue.server import Application
        >>> app = Application("shop", env_file=None, environ={"DATABASE_URL": "postgresql://postgres@127.0.0.1/shop"})
        >>> app.add_service(Database)  # doctest: +ELLIPSIS
        ServiceSpec(name='db', ...)
        >>> # in a handler:  db = await ctx.service("db");  row = await db.fetchrow("SELECT $1::int AS n", 1)
    """

    name = "db"
    deps = ("telemetry",)
    config_class = DatabaseConfig

    def __init__(
        self,
        config: DatabaseConfig | None = None,
        telemetry: Any = None,
        *,
        migrations: Sequence[Migrations] = (),
    ) -> None:
        super().__init__(config or DatabaseConfig.from_dict({}))
        self.config: DatabaseConfig = self.config
        self.migrations = list(migrations)
        """Applied at start when ``DB_MIGRATE=auto`` (after the app's own folder, ``DB_MIGRATIONS``)."""
        self.dsn: str | None = None
        self._telemetry = telemetry
        self._pool: asyncpg.Pool[Record] | None = None
        self._tracer = QueryTracer(None, None, slow=self.config.slow_query)
        self._lost_at: float | None = None
        self._probe: asyncio.Task[None] | None = None

    # -- lifecycle --------------------------------------------------------------------------------

    @property
    def pool(self) -> asyncpg.Pool[Record]:
        """The asyncpg pool (for what the helpers do not cover: ``copy_records_to_table``, LISTEN, …)."""
        if self._pool is None:
            raise ServiceUnavailable("The database is not started")
        return self._pool

    async def start(self) -> Database:
        config = self.config
        url = config.url.get_secret_value() if config.url is not None else None
        self.dsn = await resolve_dsn(url, config.embedded_dir)
        tracer = getattr(self._telemetry, "tracer", None)
        self._tracer = QueryTracer(tracer, self.dsn, slow=config.slow_query)
        self._pool = await open_pool(self.dsn, config)
        if config.migrate == "auto":
            try:
                for migrations in self.app_migrations():
                    await migrations.apply(self._pool)
            except BaseException:
                await self.stop()  # the start failed: the container will not call stop()
                raise
        return self

    def app_migrations(self) -> list[Migrations]:
        """The app's folder (``DB_MIGRATIONS``, when it exists) followed by the ones given to the constructor."""
        folder = Path(self.config.migrations)
        own = [Migrations(folder, namespace=self.config.namespace)] if folder.is_dir() else []
        return own + self.migrations

    async def stop(self) -> None:
        if self._probe is not None:
            self._probe.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._probe
        pool, self._pool = self._pool, None
        if pool is not None:
            try:
                await asyncio.wait_for(pool.close(), timeout=10)
            except TimeoutError:
                pool.terminate()

    def readiness(self) -> Readiness:
        """Ready when started and the last call did not lose the connection; detail gives the pool's use.

        While the connection is lost, each question also starts one ``SELECT 1`` in the background (at most one
        at a time), so the service becomes ready again when the database is back even if no call comes in.
        """
        pool = self._pool
        if pool is None:
            return Readiness(False, "not started")
        if self._lost_at is not None:
            self._probe_soon()
            return Readiness(False, f"connection to {describe_dsn(self.dsn)} lost")
        size, idle = pool.get_size(), pool.get_idle_size()
        return Readiness(True, f"{size - idle} of {size} connections in use (max {pool.get_max_size()})")

    def _probe_soon(self) -> None:
        if self._probe is not None and not self._probe.done():
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._probe = loop.create_task(self._reconnect())

    async def _reconnect(self) -> None:
        with contextlib.suppress(Exception):
            await self.fetchval("SELECT 1")  # a success clears the lost state

    # -- queries ----------------------------------------------------------------------------------

    async def fetch(self, query: str, *args: Any) -> list[Record]:
        """Every row of ``query`` (``$1``, ``$2`` … placeholders)."""
        rows: list[Record] = await self._call("fetch", query, args)
        return rows

    async def fetchrow(self, query: str, *args: Any) -> Record | None:
        """The first row of ``query``, or None."""
        row: Record | None = await self._call("fetchrow", query, args)
        return row

    async def fetchval(self, query: str, *args: Any, column: int = 0) -> Any:
        """One value of the first row of ``query``, or None."""
        return await self._call("fetchval", query, args, column=column)

    async def execute(self, query: str, *args: Any) -> str:
        """Run a statement; returns its status (``INSERT 0 1``). Without args, several statements may run."""
        status: str = await self._call("execute", query, args)
        return status

    async def executemany(self, query: str, args: Sequence[Sequence[Any]]) -> None:
        """Run a statement once per argument tuple, in one transaction."""
        await self._call("executemany", query, (args,))

    async def _call(self, method: str, query: str, args: tuple[Any, ...], **options: Any) -> Any:
        """One statement on a pooled connection: traced, timed, its errors mapped (the hot path: no helpers)."""
        pool = self.pool
        tracer = self._tracer
        span = tracer.begin(query)
        started = time.perf_counter()
        try:
            connection = await self._take(pool)
            try:
                result = await getattr(connection, method)(query, *args, **options)
            finally:
                await pool.release(connection)
        except Exception as error:
            tracer.end(span, query, time.perf_counter() - started, error)
            self._reraise(error)
        tracer.end(span, query, time.perf_counter() - started)
        self._lost_at = None
        return result

    async def _take(self, pool: asyncpg.Pool[Record]) -> Connection:
        # asyncio.timeout rather than acquire(timeout=...): that one wraps every acquire in wait_for, a new task
        try:
            async with asyncio.timeout(self.config.acquire_timeout):
                connection: Connection = await pool.acquire()
        except TimeoutError:
            raise self._exhausted() from None
        return connection

    @asynccontextmanager
    async def _acquired(self) -> AsyncIterator[Connection]:
        pool = self.pool
        connection = await self._take(pool)
        try:
            yield connection
        finally:
            await pool.release(connection)

    # -- connections and transactions -------------------------------------------------------------

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Connection]:
        """A connection of the pool for this block (asyncpg's API; its errors leave mapped, its queries traced)."""
        try:
            async with self._lent() as connection:
                yield connection
        except Exception as error:
            self._reraise(error)

    @asynccontextmanager
    async def _lent(self) -> AsyncIterator[Connection]:
        """A pooled connection whose statements are traced while it is lent (asyncpg's query logger)."""
        async with self._acquired() as connection:
            connection.add_query_logger(self._tracer.logged)
            try:
                yield connection
            finally:
                connection.remove_query_logger(self._tracer.logged)

    async def acquire(self) -> Connection:
        """A pooled connection, traced until ``release(connection)``; 503 when none is free in time."""
        try:
            connection = await self._take(self.pool)
        except Exception as error:
            self._reraise(error)
        connection.add_query_logger(self._tracer.logged)
        return connection

    async def release(self, connection: Connection) -> None:
        """Give back a connection from ``acquire()``."""
        connection.remove_query_logger(self._tracer.logged)
        await self.pool.release(connection)

    def _exhausted(self) -> ServiceUnavailable:
        return ServiceUnavailable(
            f"No database connection was free within {self.config.acquire_timeout:g}s",
            details={"reason": "pool_exhausted", "max": self.config.max_size},
        )

    @overload
    def transaction(
        self, *, isolation: Isolation = ..., readonly: bool = ...
    ) -> AbstractAsyncContextManager[Connection]: ...

    @overload
    def transaction(
        self,
        work: Callable[[Connection], Awaitable[T]],
        *,
        retry: int | bool = ...,
        isolation: Isolation = ...,
        readonly: bool = ...,
    ) -> Awaitable[T]: ...

    def transaction(
        self,
        work: Callable[[Connection], Awaitable[T]] | None = None,
        *,
        retry: int | bool = False,
        isolation: Isolation = "read_committed",
        readonly: bool = False,
    ) -> AbstractAsyncContextManager[Connection] | Awaitable[T]:
        """One transaction: ``async with db.transaction() as conn`` or ``await db.transaction(work, retry=3)``.

        With ``work`` (an ``async def work(conn)``), a serialization failure or a deadlock rolls back and
        runs ``work`` again, up to ``retry`` more times (``True``: ``DB_RETRIES``), with a short random
        pause; after that it is a Conflict (409). A with-block cannot run twice, so ``retry`` needs ``work``.

        Example:
            >>> async def move(conn):  # doctest: +SKIP
            ...     await conn.execute("UPDATE account SET cents = cents - 100 WHERE id = $1", 1)
            ...     await conn.execute("UPDATE account SET cents = cents + 100 WHERE id = $1", 2)
            >>> await db.transaction(move, retry=3, isolation="serializable")  # doctest: +SKIP
        """
        if work is None:
            if retry:
                raise TypeError("transaction(retry=...) needs the work as a function: a with-block cannot run again")
            return self._transaction(isolation, readonly)
        attempts = 1 + (self.config.retries if retry is True else int(retry))
        return self._retrying(work, attempts, isolation, readonly)

    @asynccontextmanager
    async def _transaction(self, isolation: Isolation, readonly: bool) -> AsyncIterator[Connection]:
        try:
            async with self._lent() as connection, connection.transaction(isolation=isolation, readonly=readonly):
                yield connection
        except Exception as error:
            self._reraise(error)
        self._lost_at = None

    async def _retrying(
        self, work: Callable[[Connection], Awaitable[T]], attempts: int, isolation: Isolation, readonly: bool
    ) -> T:
        for attempt in range(1, attempts + 1):
            try:
                async with self._lent() as connection, connection.transaction(isolation=isolation, readonly=readonly):
                    result = await work(connection)
                self._lost_at = None
                return result
            except Exception as error:
                if is_retryable(error) and attempt < attempts:
                    logger.debug("transaction retried after {} (attempt {})", getattr(error, "sqlstate", ""), attempt)
                    await asyncio.sleep(random.uniform(0.001, 0.01) * attempt)
                    continue
                self._reraise(error)
        raise AssertionError("unreachable")  # pragma: no cover

    def _reraise(self, error: BaseException) -> NoReturn:
        mapped = self.mapped(error)
        if mapped is error:
            raise error
        raise mapped from error

    def mapped(self, error: BaseException) -> BaseException:
        """The catalogue error for a database error (a lost connection also marks the service not ready).

        Anything else (an app's own exception raised inside ``transaction()``) is given back unchanged.
        """
        if not is_database_error(error):
            return error
        mapped = translate(error)
        if mapped.code == 503:
            self._lost_at = time.monotonic()
        return mapped
