"""The baseline of ``pg-jobs-vs-procrastinate``: one procrastinate worker, same database server and concurrency."""

from __future__ import annotations

import asyncio

import procrastinate

from tools.bench.servers.jobs_common import CONCURRENCY, bench_dsn, ensure_database

app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=bench_dsn()))


@app.task(name="noop")
async def noop(n: int) -> None:
    return None


async def apply_schema(proc: procrastinate.App) -> None:
    """procrastinate's schema, once: its tables live in the bench database's public schema."""
    import psycopg

    async with await psycopg.AsyncConnection.connect(bench_dsn(), autocommit=True) as connection:
        cursor = await connection.execute("SELECT to_regclass('public.procrastinate_jobs')")
        row = await cursor.fetchone()
        if row is None or row[0] is None:
            await proc.schema_manager.apply_schema_async()


async def main() -> None:
    await ensure_database()
    async with app.open_async():
        await apply_schema(app)
        await app.run_worker_async(concurrency=CONCURRENCY, wait=True, delete_jobs="never")


if __name__ == "__main__":
    from tools.bench.servers import jobs_procrastinate  # the app of the importable module, not of __main__

    asyncio.run(jobs_procrastinate.main())
