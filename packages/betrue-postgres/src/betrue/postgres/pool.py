"""Opening the asyncpg pool at start: server settings, JSON codecs, a bounded wait, clear failures."""

from __future__ import annotations

import asyncio
import json
import time

import asyncpg

from betrue.postgres.config import DatabaseConfig
from betrue.postgres.embedded import describe_dsn
from betrue.postgres.errors import is_connection_loss
from betrue.postgres.types import Record
from betrue.server import DependencyError

__all__ = ["DatabaseUnavailable", "open_pool"]


class DatabaseUnavailable(DependencyError):
    """The database refused, or did not answer within ``DB_CONNECT_TIMEOUT``, at start (names the host, never the
    password).

    A ``DependencyError``: ``betrue run`` prints it on one line and exits with code 1.
    """


async def _init_connection(connection: asyncpg.Connection[Record]) -> None:
    for kind in ("json", "jsonb"):
        await connection.set_type_codec(kind, encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def open_pool(dsn: str | None, config: DatabaseConfig) -> asyncpg.Pool[Record]:
    """The pool for ``dsn`` (None: the ``PG*`` variables), retried while the database cannot be reached.

    A refused login or a missing database fails at once (waiting would not help); an unreachable one is
    retried with backoff for ``DB_CONNECT_TIMEOUT`` seconds. Both raise ``DatabaseUnavailable``.
    """
    settings = {"application_name": config.application_name}
    if config.statement_timeout > 0:
        settings["statement_timeout"] = str(int(config.statement_timeout * 1000))
    deadline = time.monotonic() + config.connect_timeout
    delay = 0.1
    while True:
        try:
            pool: asyncpg.Pool[Record] = await asyncpg.create_pool(
                dsn,
                min_size=min(config.min_size, config.max_size),
                max_size=config.max_size,
                server_settings=settings,
                init=_init_connection,
                timeout=max(0.5, min(10.0, deadline - time.monotonic())),
            )
            return pool
        except ValueError as error:  # asyncpg's ClientConfigurationError is one too
            raise DatabaseUnavailable(f"the database URL is not usable: {error}") from None
        except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
            if not is_connection_loss(error):  # a wrong password, a missing database: waiting will not help
                raise DatabaseUnavailable(f"PostgreSQL at {describe_dsn(dsn)} refused: {error}") from None
            if time.monotonic() + delay > deadline:
                reason = f"{type(error).__name__}: {error}".rstrip(": ")
                raise DatabaseUnavailable(
                    f"PostgreSQL at {describe_dsn(dsn)} did not answer within "
                    f"{config.connect_timeout:g}s (DB_CONNECT_TIMEOUT): {reason}"
                ) from None
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)
