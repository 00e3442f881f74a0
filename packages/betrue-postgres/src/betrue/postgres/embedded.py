"""Where the database is: ``DATABASE_URL``, else the ``PG*`` variables, else an embedded PostgreSQL.

The embedded server comes from the ``pgserver`` wheel (PostgreSQL binaries on PyPI, Python ≤ 3.12): its
data folder is kept across restarts (``DB_EMBEDDED_DIR``, ``.betrue/postgres`` by default) and it stops
when the last process using it exits. Where the wheel is not installed, the machine's PostgreSQL on
127.0.0.1:5432 is used. One log line says which.
"""

from __future__ import annotations

import asyncio
import os
import warnings
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

from loguru import logger

__all__ = ["LOCAL_DSN", "describe_dsn", "resolve_dsn", "start_embedded"]

LOCAL_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
"""Used when no DSN is configured and the ``pgserver`` wheel is not installed."""

_PG_VARIABLES = ("PGHOST", "PGPORT", "PGDATABASE", "PGUSER", "PGSERVICE")


def describe_dsn(dsn: str | None) -> str:
    """``host:port/database`` of a DSN, for messages: never the user's password.

    Example:
        >>> describe_dsn("postgresql://app:secret@db.example:6432/shop")
        'db.example:6432/shop'
    """
    if not dsn:
        host = os.environ.get("PGHOST", "localhost")
        return f"{host}:{os.environ.get('PGPORT', '5432')}/{os.environ.get('PGDATABASE', '')}"
    parts = urlsplit(dsn)
    database = parts.path.lstrip("/")
    host = parts.hostname or ""
    if not host and "host=" in parts.query:
        host = parts.query.split("host=", 1)[1].split("&", 1)[0]
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:  # not a number: shown as written
        port = ":" + parts.netloc.rsplit(":", 1)[-1]
    return f"{host or 'localhost'}{port}/{database}"


def start_embedded(folder: str | Path) -> str:
    """Start (or join) the embedded PostgreSQL keeping its data in ``folder``; returns its DSN (blocking).

    Raises ImportError when the ``pgserver`` wheel is not installed.
    """
    with warnings.catch_warnings():  # platformdirs warns at import when XDG_RUNTIME_DIR is unset
        warnings.simplefilter("ignore")
        import pgserver

    path = Path(folder).expanduser().resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(str(path), cleanup_mode="stop")  # type: ignore[attr-defined]
    dsn: str = server.get_uri()
    return dsn


async def resolve_dsn(
    url: str | None, embedded_dir: str | Path, environ: Mapping[str, str] | None = None
) -> str | None:
    """The DSN to connect to; None means "asyncpg reads the ``PG*`` variables". Logs where it points.

    Example:
        >>> asyncio.run(resolve_dsn("postgresql://app@db:5432/app", ".betrue/postgres"))  # doctest: +SKIP
        'postgresql://app@db:5432/app'
    """
    environ = os.environ if environ is None else environ
    if url:
        logger.info("database: {} (DATABASE_URL)", describe_dsn(url))
        return url
    if any(environ.get(name) for name in _PG_VARIABLES):
        logger.info("database: {} (PG* variables)", describe_dsn(None))
        return None
    try:
        dsn = await asyncio.to_thread(start_embedded, embedded_dir)
    except ImportError:
        logger.info("database: {} (no DATABASE_URL; the pgserver wheel is not installed)", describe_dsn(LOCAL_DSN))
        return LOCAL_DSN
    logger.info("database: embedded PostgreSQL, data in {} (no DATABASE_URL)", embedded_dir)
    return dsn
