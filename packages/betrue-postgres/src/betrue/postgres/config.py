"""``DatabaseConfig``: where the database is, how large the pool is, and what to do at start."""

from __future__ import annotations

from typing import Literal

from pydantic import SecretStr

from betrue.config import Config, env

__all__ = ["DatabaseConfig"]


class DatabaseConfig(Config):
    """PostgreSQL (the db service)"""

    url: SecretStr | None = env(
        "DATABASE_URL",
        None,
        description="postgresql://user:password@host:port/database; empty: the PG* variables, else embedded",
        example="postgresql://app:secret@127.0.0.1:5432/app",
    )
    min_size: int = env("DB_POOL_MIN", 1, description="Connections the pool keeps open", ge=0)
    max_size: int = env("DB_POOL_MAX", 10, description="Most connections the pool opens at once", ge=1)
    statement_timeout: float = env(
        "DB_STATEMENT_TIMEOUT", 30.0, description="Seconds a statement may run before it is cancelled (504)", ge=0
    )
    acquire_timeout: float = env(
        "DB_ACQUIRE_TIMEOUT", 10.0, description="Seconds a call waits for a free connection (then 503)", ge=0.01
    )
    connect_timeout: float = env(
        "DB_CONNECT_TIMEOUT", 30.0, description="Seconds the start waits for the database to answer", ge=0.1
    )
    application_name: str = env(
        "DB_APPLICATION_NAME", "betrue", description="application_name seen in pg_stat_activity"
    )
    slow_query: float = env("DB_SLOW_QUERY", 0.5, description="Queries slower than this many seconds are logged", ge=0)
    migrate: Literal["auto", "off"] = env(
        "DB_MIGRATE",
        "off",
        description="auto: apply pending migrations at start; off: leave them to `betrue db migrate`",
    )
    migrations: str = env("DB_MIGRATIONS", "migrations", description="Folder of the app's NNNN_name.sql migrations")
    namespace: str = env(
        "DB_MIGRATIONS_NAMESPACE", "app", description="Name under which the app's migrations are recorded"
    )
    embedded_dir: str = env(
        "DB_EMBEDDED_DIR", ".betrue/postgres", description="Data folder of the embedded PostgreSQL (no DATABASE_URL)"
    )
    retries: int = env(
        "DB_RETRIES", 3, description="Retries of a transaction(retry=True) on serialization failure", ge=0
    )
