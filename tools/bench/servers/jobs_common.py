"""Names and set-up shared by the job benchmarks' workers and load scripts (one bench database, fixed names)."""

from __future__ import annotations

import contextlib
import os
from urllib.parse import urlparse, urlunparse

import asyncpg

PG_DSN = os.environ.get("BETRUE_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
NATS_URL = os.environ.get("BETRUE_TEST_NATS_URL", "nats://127.0.0.1:4222")
DATABASE = "betrue_bench_jobs"
SCHEMA = "betrue_bench"  # betrue's tables; procrastinate's live in public of the same database
QUEUE = "bench"
JS_PREFIX = "bench"
JS_BASELINE_STREAM = "BENCH_RAW_JOBS"
JS_BASELINE_SUBJECT = "bench.rawjobs"
CONCURRENCY = 10  # jobs run at once by each side's one worker process


def bench_dsn() -> str:
    """The DSN of the bench database (same server as the tests, a database of its own)."""
    parsed = urlparse(PG_DSN)
    return urlunparse(parsed._replace(path=f"/{DATABASE}"))


async def ensure_database() -> str:
    """Create the bench database once (several processes may race: the loser finds it made)."""
    connection = await asyncpg.connect(PG_DSN)
    try:
        exists = await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", DATABASE)
        if not exists:
            with contextlib.suppress(asyncpg.DuplicateDatabaseError, asyncpg.UniqueViolationError):
                await connection.execute(f"CREATE DATABASE {DATABASE}")
    finally:
        await connection.close()
    return bench_dsn()
