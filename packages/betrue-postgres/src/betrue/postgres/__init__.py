"""betrue.postgres: PostgreSQL for betrue apps — the ``db`` pool service, SQL migrations, test databases,
and the durable job queue ``PostgresJobQueue``.

Example:
    >>> from betrue.server import Application
    >>> from betrue.postgres import Database
    >>> app = Application("shop", env_file=None, environ={"DATABASE_URL": "postgresql://postgres@127.0.0.1/shop"})
    >>> _ = app.add_service(Database)  # handlers: db = await ctx.service("db"); await db.fetchrow(...)
"""

from betrue.postgres.config import DatabaseConfig
from betrue.postgres.connection import DbConnection
from betrue.postgres.database import Database, DatabaseUnavailable, Isolation
from betrue.postgres.embedded import describe_dsn, resolve_dsn
from betrue.postgres.errors import is_connection_loss, is_retryable, translate
from betrue.postgres.jobs import PostgresJobQueue, PostgresJobsConfig
from betrue.postgres.jobschema import migrate_jobs
from betrue.postgres.migrations import HISTORY_TABLE, Migration, MigrationError, Migrations, MigrationStatus
from betrue.postgres.types import Connection, Record

__all__ = [
    "HISTORY_TABLE",
    "Connection",
    "Database",
    "DatabaseConfig",
    "DatabaseUnavailable",
    "DbConnection",
    "Isolation",
    "Migration",
    "MigrationError",
    "MigrationStatus",
    "Migrations",
    "PostgresJobQueue",
    "PostgresJobsConfig",
    "Record",
    "describe_dsn",
    "is_connection_loss",
    "is_retryable",
    "migrate_jobs",
    "resolve_dsn",
    "translate",
]
