"""The shared part of the PostgreSQL comparison: where the database is, the table both servers read, the request.

Both servers read one row by primary key from ``betrue_bench_items`` (1,000 rows), made on first use under an
advisory lock so the two servers starting at once do not race. ``BENCH_PG_DSN`` picks the database
(default: ``BETRUE_TEST_PG_DSN``, else PostgreSQL on 127.0.0.1:5432, database ``test``).
"""

from __future__ import annotations

import os

import asyncpg

__all__ = ["BODY", "DSN", "POOL_SIZE", "QUERY", "ensure_table"]

DSN = (
    os.environ.get("BENCH_PG_DSN")
    or os.environ.get("BETRUE_TEST_PG_DSN")
    or "postgresql://postgres@127.0.0.1:5432/test"
)
POOL_SIZE = 10
QUERY = "SELECT id, name, price FROM betrue_bench_items WHERE id = $1"
BODY = b'{"id": 421}'

_SETUP = """
SELECT pg_advisory_xact_lock(4242424242);
CREATE TABLE IF NOT EXISTS betrue_bench_items (id int PRIMARY KEY, name text NOT NULL, price numeric(10, 2) NOT NULL);
INSERT INTO betrue_bench_items SELECT n, 'item ' || n, n * 1.5 FROM generate_series(1, 1000) AS n
ON CONFLICT DO NOTHING;
"""


async def ensure_table(dsn: str = DSN) -> None:
    """Create and fill the table once (idempotent, safe from several processes at once)."""
    connection = await asyncpg.connect(dsn)
    try:
        async with connection.transaction():
            await connection.execute(_SETUP)
    finally:
        await connection.close()
