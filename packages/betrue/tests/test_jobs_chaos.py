"""Workers that die: durable queues (PostgreSQL, JetStream) with worker processes killed, frozen, restarted.

Each test has its own PostgreSQL schema (effects and runs, and the PostgreSQL queue's tables) and its own
JetStream prefix. The worker processes are ``betrue worker jobs_chaos_app:app``.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from betrue.server import Application, Group
from betrue.server.jobs import JobQueue

PG_DSN = os.environ.get("BETRUE_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
NATS_URL = os.environ.get("BETRUE_TEST_NATS_URL", "nats://127.0.0.1:4222")
HERE = Path(__file__).parent


class Chaos:
    """One test's world: a schema for the effects, a queue to enqueue into, worker processes."""

    def __init__(self, backend: str, tmp: Path) -> None:
        self.backend = backend
        self.suffix = secrets.token_hex(4)
        self.schema = f"t_chaos_{self.suffix}"
        self.tmp = tmp
        self.env = {
            **os.environ,
            "CHAOS_DSN": PG_DSN,
            "CHAOS_SCHEMA": self.schema,
            "CHAOS_BACKEND": backend,
            "JOBS_QUEUE": "chaos",
            "JOBS_DATABASE_URL": PG_DSN,
            "JOBS_PG_SCHEMA": self.schema,
            "JOBS_NATS_URL": NATS_URL,
            "JOBS_JS_PREFIX": f"C{self.suffix}",
            "JOBS_POLL": "0.2",
            "JOBS_LEASE": "2",
            "JOBS_REAP_EVERY": "0.2",
            "JOBS_RETRIES": "50",
            "JOBS_BACKOFF": "0.05",
            "JOBS_CRON": "false",
            "LOG_LEVEL": "WARNING",
            "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]),
        }
        self.workers: list[subprocess.Popen[bytes]] = []
        self.enqueuer: Application | None = None

    async def setup(self) -> None:
        connection = await asyncpg.connect(PG_DSN)
        try:
            await connection.execute(f"CREATE SCHEMA {self.schema}")
            await connection.execute(f"CREATE TABLE {self.schema}.effects (job_id text PRIMARY KEY, n integer)")
            await connection.execute(f"CREATE TABLE {self.schema}.runs (job_id text, attempt integer, pid integer)")
        finally:
            await connection.close()

    async def queue(self, **env: str) -> JobQueue:
        """A started app that only enqueues (no workers) into the chaos queue."""
        environ = {key: value for key, value in self.env.items() if key.startswith(("JOBS_", "LOG_"))}
        app = Application(
            "chaos", groups=[_chaos_group()], http=False, env_file=None, environ={**environ, "JOBS_WORKERS": "0", **env}
        )
        if self.backend == "postgres":
            from betrue.postgres import PostgresJobQueue

            app.replace_service("jobs", PostgresJobQueue)
        else:
            from betrue.nats import JetStreamJobQueue

            app.replace_service("jobs", JetStreamJobQueue)
        await app.start()
        self.enqueuer = app
        queue: JobQueue = app.service("jobs")
        queue.attach(app)
        return queue

    def spawn(self, index: int, *extra: str, **env: str) -> subprocess.Popen[bytes]:
        with (self.tmp / f"worker-{index}.log").open("ab") as log:  # the child keeps its own descriptor
            process = subprocess.Popen(
                [sys.executable, "-m", "betrue.server.cli", "worker", "jobs_chaos_app:app", *extra],
                cwd=HERE,
                env={**self.env, **env},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.workers.append(process)
        return process

    async def fetch(self, sql: str) -> Any:
        connection = await asyncpg.connect(PG_DSN)
        try:
            return await connection.fetchval(sql.format(schema=self.schema))
        finally:
            await connection.close()

    async def teardown(self) -> None:
        for process in self.workers:
            if process.poll() is None:
                process.kill()
            process.wait(10)
        if self.enqueuer is not None:
            await self.enqueuer.stop()
        connection = await asyncpg.connect(PG_DSN)
        try:
            await connection.execute(f"DROP SCHEMA IF EXISTS {self.schema} CASCADE")
        finally:
            await connection.close()
        if self.backend == "jetstream":
            from betrue.nats.jobs import drop_streams

            await drop_streams(NATS_URL, f"C{self.suffix}")


def _chaos_group() -> Group:
    """The enqueuing app's view of ``chaos/work`` (the workers run the real one)."""
    group = Group("chaos")

    @group.command("work")
    async def work(params: Any, ctx: Any) -> None:
        raise AssertionError("the enqueuing app runs no jobs")

    return group


async def _ready(backend: str) -> None:
    try:
        connection = await asyncpg.connect(PG_DSN, timeout=2)
    except (OSError, asyncpg.PostgresError) as error:
        pytest.skip(f"PostgreSQL at {PG_DSN} does not answer ({error})")
    await connection.close()
    if backend == "jetstream":
        import nats

        try:
            nc = await nats.connect(NATS_URL, connect_timeout=2, allow_reconnect=False)
        except Exception as error:
            pytest.skip(f"NATS at {NATS_URL} does not answer ({error})")
        await nc.close()


@pytest.fixture(params=["postgres", "jetstream"])
async def chaos(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Chaos]:
    await _ready(request.param)
    world = Chaos(request.param, tmp_path)
    await world.setup()
    try:
        yield world
    finally:
        await world.teardown()


async def _until(predicate: Any, seconds: float, every: float = 0.5) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await predicate():
            return
        await asyncio.sleep(every)
    raise AssertionError(f"not reached in {seconds}s")


async def _killed_every_2s(chaos: Chaos, jobs: int, *, sleep: str, concurrency: str, limit: float) -> None:
    queue = await chaos.queue()
    for start in range(0, jobs, 50):
        await asyncio.gather(*(queue.enqueue("chaos/work", {"n": n}) for n in range(start, min(start + 50, jobs))))
    workers = {index: chaos.spawn(index, "--concurrency", concurrency, CHAOS_SLEEP=sleep) for index in range(3)}
    kills, victim, deadline = 0, 0, time.monotonic() + limit

    async def effects() -> int:
        return int(await chaos.fetch("SELECT count(*) FROM {schema}.effects"))

    await _until(lambda: _positive(effects()), limit, every=0.1)  # the workers are up: the killing starts
    next_kill = time.monotonic() + 1
    while await effects() < jobs and time.monotonic() < deadline:
        await asyncio.sleep(0.25)
        if time.monotonic() >= next_kill:
            workers[victim].send_signal(signal.SIGKILL)
            workers[victim].wait(10)
            kills += 1
            workers[victim] = chaos.spawn(victim, "--concurrency", concurrency, CHAOS_SLEEP=sleep)
            victim, next_kill = (victim + 1) % 3, time.monotonic() + 2

    async def all_done() -> bool:
        return (await queue.stats())["done"] == jobs

    await _until(all_done, max(deadline - time.monotonic(), 10))
    runs = int(await chaos.fetch("SELECT count(*) FROM {schema}.runs"))
    distinct = int(await chaos.fetch("SELECT count(DISTINCT job_id) FROM {schema}.runs"))
    print(f"\n{chaos.backend}: {jobs} jobs, {kills} SIGKILLs, {runs} runs, {runs - distinct} duplicate runs")
    stats = await queue.stats()
    assert (stats["done"], stats["dead"], stats["queued"], stats["running"], stats["failed"]) == (jobs, 0, 0, 0, 0)
    assert await effects() == jobs  # 0 lost, each effect applied once
    assert distinct == jobs
    assert kills >= 1


async def _positive(count: Any) -> bool:
    return bool(await count)


async def test_1000_jobs_survive_a_worker_killed_every_2_seconds(chaos: Chaos) -> None:
    await _killed_every_2s(chaos, 1000, sleep="0.1", concurrency="20", limit=50)


@pytest.mark.slow
async def test_10000_jobs_survive_a_worker_killed_every_2_seconds(chaos: Chaos) -> None:
    await _killed_every_2s(chaos, 10_000, sleep="0.05", concurrency="20", limit=600)


async def test_a_frozen_worker_cannot_complete_the_job_taken_over(chaos: Chaos) -> None:
    queue = await chaos.queue()
    job_id = await queue.enqueue("chaos/work", {"n": 1})
    frozen = chaos.spawn(0, CHAOS_SLEEP="2", JOBS_LEASE="1")

    async def running() -> bool:
        job = await queue.get(job_id)
        return job is not None and job.state == "running"

    await _until(running, 30, every=0.1)
    frozen.send_signal(signal.SIGSTOP)
    try:
        chaos.spawn(
            1, CHAOS_SLEEP="0.1", JOBS_LEASE="1"
        )  # it starts long after the 1 s lease of the frozen worker ran out

        async def done() -> bool:
            job = await queue.get(job_id)
            return job is not None and job.state == "done"

        await _until(done, 30, every=0.1)
    finally:
        frozen.send_signal(signal.SIGCONT)
    taken_over = await queue.get(job_id)
    assert taken_over is not None
    assert taken_over.attempt == 2
    assert taken_over.result["pid"] != frozen.pid
    log = chaos.tmp / "worker-0.log"

    async def frozen_one_refused() -> bool:  # it wakes up, its heartbeat or completion is refused
        text = log.read_text()
        return "lease lost" in text or "rejected" in text

    await _until(frozen_one_refused, 15, every=0.1)
    after = await queue.get(job_id)
    assert after is not None
    assert (after.state, after.attempt, after.result) == ("done", 2, taken_over.result)
    assert await chaos.fetch("SELECT count(*) FROM {schema}.effects") == 1
