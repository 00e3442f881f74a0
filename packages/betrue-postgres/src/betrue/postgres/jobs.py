"""The PostgreSQL job queue: jobs survive restarts; any number of workers in any number of processes.

Claims take due rows with ``FOR UPDATE SKIP LOCKED`` (workers never wait on each other), mark them
running with a lease (``lease_until``, the database's clock) and count the attempt, which is the fencing
token: completing, failing, extending or handing back a job checks ``attempt``, so a worker that froze
past its lease cannot touch a job another worker took over. ``NOTIFY`` wakes idle workers at once when a
job is enqueued; polling every ``JOBS_POLL`` seconds is the fallback (and finds delayed jobs).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import asyncpg

from betrue.config import env
from betrue.postgres.jobschema import SCHEMA_NAME, migrate_jobs
from betrue.server import decode_json, encode_json
from betrue.server.ext import Job, JobQueue, JobsConfig, JobState

__all__ = ["PostgresJobQueue", "PostgresJobsConfig"]

_ACTIVE = "('queued', 'failed', 'running')"
_COLUMNS = (
    "id, code, params::text AS params, meta::text AS meta, key, priority, state, attempt, max_attempts, timeout, "
    "last_error, result::text AS result, extract(epoch FROM run_at)::float8 AS run_at, "
    "extract(epoch FROM created_at)::float8 AS created_at, extract(epoch FROM finished_at)::float8 AS finished_at"
)


class PostgresJobsConfig(JobsConfig):
    """Settings of the PostgreSQL job queue (and every ``JOBS_*`` setting of the workers)."""

    dsn: str = env(
        "JOBS_DATABASE_URL",
        "postgresql://postgres@127.0.0.1:5432/postgres",
        description="PostgreSQL the jobs are kept in (ignored when the queue is given a pool)",
    )
    schema_name: str = env("JOBS_PG_SCHEMA", "betrue", description="Schema of the jobs tables")
    reap_every: float = env(
        "JOBS_REAP_EVERY", 0.5, description="Seconds between two looks for leases that ran out", ge=0.01
    )


class PostgresJobQueue(JobQueue):
    """Jobs in the table ``<schema>.betrue_jobs``, created by its own migrations at start.

    Example:
        >>> from betrue.server import Application
        >>> app = Application("shop", http=False)
        >>> spec = app.replace_service("jobs", PostgresJobQueue)   # JOBS_DATABASE_URL=postgresql://...
    """

    config_class = PostgresJobsConfig
    config: PostgresJobsConfig

    def __init__(self, config: PostgresJobsConfig | None = None, *, pool: Any = None, **deps: Any) -> None:
        super().__init__(config or PostgresJobsConfig.from_dict({}), **deps)
        if not SCHEMA_NAME.match(self.config.schema_name):
            raise ValueError(f"JOBS_PG_SCHEMA={self.config.schema_name!r}: lower-case letters, digits and _ only")
        self.pool: Any = pool
        self._own_pool = pool is None
        self._table = f"{self.config.schema_name}.betrue_jobs"
        self._channel = f"betrue_jobs_{self.config.schema_name}"
        self._wakeup = asyncio.Event()
        self._listener: Any = None
        self._reaped_at = 0.0

    async def start(self) -> PostgresJobQueue:
        if self.pool is None:
            self.pool = await asyncpg.create_pool(self.config.dsn, min_size=1, max_size=self.config.workers + 4)
        async with self.pool.acquire() as connection:
            await migrate_jobs(connection, self.config.schema_name)
        return self

    async def close(self) -> None:
        await self._unlisten()
        if self._own_pool and self.pool is not None:
            await self.pool.close()
            self.pool = None

    # -- enqueue and claim ------------------------------------------------------------------------------

    async def add(self, job: Job) -> str:
        queue = self._queue()
        insert = (
            f"WITH added AS (INSERT INTO {self._table} (id, queue, code, params, meta, key, priority, run_at, "
            "max_attempts, timeout) VALUES ($1, $2, $3, $4::jsonb, $5::jsonb, $6, $7, to_timestamp($8), $9, $10) "
            f"ON CONFLICT (queue, key) WHERE key IS NOT NULL AND state IN {_ACTIVE} DO NOTHING RETURNING id) "
            "SELECT id, pg_notify($11, $2) FROM added"
        )
        holder = f"SELECT id FROM {self._table} WHERE queue = $1 AND key = $2 AND state IN {_ACTIVE}"
        for _ in range(10):  # the holder of a key may finish between our insert and our look-up: try again
            async with self.pool.acquire() as connection:
                added = await connection.fetchval(
                    insert,
                    job.id,
                    queue,
                    job.code,
                    encode_json(job.params).decode(),
                    encode_json(job.meta).decode(),
                    job.key,
                    job.priority,
                    job.run_at,
                    job.max_attempts,
                    job.timeout,
                    self._channel,
                )
                if added is not None:
                    return str(added)
                existing = await connection.fetchval(holder, queue, job.key)
                if existing is not None:
                    return str(existing)
        raise RuntimeError(f"job key {job.key!r}: could not store or find its job")

    async def claim(self, limit: int) -> list[Job]:
        if time.monotonic() - self._reaped_at >= self.config.reap_every:
            self._reaped_at = time.monotonic()
            await self._reap()
        rows = await self.pool.fetch(
            f"WITH due AS (SELECT id FROM {self._table} WHERE queue = $1 AND state IN ('queued', 'failed') "
            "AND run_at <= now() ORDER BY priority DESC, run_at LIMIT $2 FOR UPDATE SKIP LOCKED) "
            f"UPDATE {self._table} AS j SET state = 'running', attempt = j.attempt + 1, "
            "lease_until = now() + make_interval(secs => $3) FROM due WHERE j.id = due.id "
            f"RETURNING {_COLUMNS.replace('id, code', 'j.id, j.code', 1)}",
            self._queue(),
            limit,
            self.config.lease,
        )
        return [_job(row) for row in rows]

    async def _reap(self) -> None:
        """Jobs whose lease ran out: their worker died or froze. Tried again, or dead when no try is left."""
        await self.pool.execute(
            f"UPDATE {self._table} SET lease_until = NULL, last_error = 'worker lost: lease expired', "
            "state = CASE WHEN attempt >= max_attempts THEN 'dead' ELSE 'failed' END, run_at = now(), "
            "finished_at = CASE WHEN attempt >= max_attempts THEN now() END "
            f"WHERE id IN (SELECT id FROM {self._table} WHERE queue = $1 AND state = 'running' "
            "AND lease_until < now() FOR UPDATE SKIP LOCKED)",
            self._queue(),
        )
        await self.pool.execute(
            f"DELETE FROM {self._table} WHERE queue = $1 AND state IN ('done', 'cancelled') "
            "AND finished_at < now() - make_interval(secs => $2)",
            self._queue(),
            self.config.results_ttl,
        )

    # -- the fenced writes of a running attempt ----------------------------------------------------------

    async def _fenced(self, sql: str, job: Job, *args: Any) -> bool:
        status: str = await self.pool.execute(
            f"UPDATE {self._table} SET {sql} WHERE id = $1 AND attempt = $2 AND state = 'running'",
            job.id,
            job.attempt,
            *args,
        )
        return status.endswith(" 1")

    async def heartbeat(self, job: Job) -> bool:
        return await self._fenced("lease_until = now() + make_interval(secs => $3)", job, self.config.lease)

    async def complete(self, job: Job, result: Any) -> bool:
        encoded = encode_json(result).decode()
        return await self._fenced(
            "state = 'done', result = $3::jsonb, finished_at = now(), lease_until = NULL", job, encoded
        )

    async def fail(self, job: Job, error: str, retry_at: float | None) -> bool:
        if retry_at is None:
            return await self._fenced(
                "state = 'dead', last_error = $3, finished_at = now(), lease_until = NULL", job, error
            )
        return await self._fenced(
            "state = 'failed', last_error = $3, run_at = to_timestamp($4), lease_until = NULL", job, error, retry_at
        )

    async def release(self, job: Job) -> None:
        if await self._fenced(
            "state = 'queued', run_at = now(), lease_until = NULL, max_attempts = max_attempts + 1", job
        ):
            await self.pool.execute("SELECT pg_notify($1, $2)", self._channel, self._queue())

    # -- reading and operating ----------------------------------------------------------------------------

    async def get(self, job_id: str) -> Job | None:
        row = await self.pool.fetchrow(
            f"SELECT {_COLUMNS} FROM {self._table} WHERE id = $1 AND queue = $2 AND NOT (state IN ('done', "
            "'cancelled') AND finished_at < now() - make_interval(secs => $3))",
            job_id,
            self._queue(),
            self.config.results_ttl,
        )
        return _job(row) if row is not None else None

    async def list(self, state: JobState | None = None, limit: int = 100) -> list[Job]:
        rows = await self.pool.fetch(
            f"SELECT {_COLUMNS} FROM {self._table} WHERE queue = $1 AND ($2::text IS NULL OR state = $2) "
            "ORDER BY created_at LIMIT $3",
            self._queue(),
            state,
            limit,
        )
        return [_job(row) for row in rows]

    async def cancel(self, job_id: str) -> bool:
        status: str = await self.pool.execute(
            f"UPDATE {self._table} SET state = 'cancelled', finished_at = now(), lease_until = NULL "
            "WHERE id = $1 AND queue = $2 AND state IN ('queued', 'failed', 'running', 'dead')",
            job_id,
            self._queue(),
        )
        return status.endswith(" 1")

    async def retry_dead(self, job_id: str) -> bool:
        try:
            status: str = await self.pool.execute(
                f"UPDATE {self._table} SET state = 'queued', run_at = now(), finished_at = NULL, "
                "max_attempts = attempt + $3 WHERE id = $1 AND queue = $2 AND state = 'dead'",
                job_id,
                self._queue(),
                self.config.retries + 1,
            )
        except asyncpg.UniqueViolationError:
            return False  # another job holds its key now
        if status.endswith(" 1"):
            await self.pool.execute("SELECT pg_notify($1, $2)", self._channel, self._queue())
            return True
        return False

    async def claim_tick(self, schedule: str, tick: float) -> bool:
        taken = await self.pool.fetchval(
            f"INSERT INTO {self.config.schema_name}.betrue_job_ticks (queue, schedule, tick) VALUES ($1, $2, $3) "
            "ON CONFLICT DO NOTHING RETURNING true",
            self._queue(),
            schedule,
            round(tick),
        )
        return bool(taken)

    async def stats(self) -> dict[str, float]:
        counts: dict[str, float] = dict.fromkeys(("queued", "running", "done", "failed", "dead", "cancelled"), 0)
        rows = await self.pool.fetch(
            "SELECT state, count(*) AS n, coalesce(extract(epoch FROM now() - min(run_at) FILTER (WHERE state IN "
            f"('queued', 'failed') AND run_at <= now()))::float8, 0) AS age FROM {self._table} WHERE queue = $1 "
            "GROUP BY state",
            self._queue(),
        )
        oldest = 0.0
        for row in rows:
            counts[row["state"]] = row["n"]
            oldest = max(oldest, row["age"])
        counts["oldest_queued_age"] = oldest
        return counts

    # -- wake-ups ------------------------------------------------------------------------------------------

    async def wait(self, timeout: float) -> None:
        if self._listener is None:
            await self._listen()  # on failure: plain polling until the next try
        self._wakeup.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wakeup.wait(), timeout)

    async def _listen(self) -> None:
        """Hold one connection of the pool for LISTEN; without it the workers just poll."""
        try:
            connection = await self.pool.acquire()
        except (OSError, asyncpg.PostgresError):
            return
        try:
            await connection.add_listener(self._channel, self._notified)
        except (OSError, asyncpg.PostgresError):
            await self.pool.release(connection)
            return
        connection.add_termination_listener(self._lost)
        self._listener = connection

    def _notified(self, connection: Any, pid: int, channel: str, payload: str) -> None:
        if payload == self._queue():
            self._wakeup.set()

    def _lost(self, connection: Any) -> None:
        self._listener = None

    async def _unlisten(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(Exception):
                await listener.remove_listener(self._channel, self._notified)
            with contextlib.suppress(Exception):
                await self.pool.release(listener)

    def _queue(self) -> str:
        return self.queue_name or "default"


def _job(row: Any) -> Job:
    result = row["result"]
    return Job(
        code=row["code"],
        params=decode_json(row["params"]),
        id=row["id"],
        key=row["key"],
        run_at=row["run_at"],
        attempt=row["attempt"],
        max_attempts=row["max_attempts"],
        meta=decode_json(row["meta"]),
        last_error=row["last_error"],
        priority=row["priority"],
        timeout=row["timeout"],
        state=row["state"],
        result=decode_json(result) if result is not None else None,
        created_at=row["created_at"],
        finished_at=row["finished_at"],
    )
