"""Load of the job benchmarks: enqueue as fast as a bounded backlog allows, count jobs done in the window.

``python -m tools.bench.comparisons.jobs_load CASE --seconds N`` with CASE one of pg-betrue,
pg-procrastinate, js-betrue, js-natspy; prints ``BENCH_JSON {...}`` (jobs done per second) last.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

from tools.bench.servers.jobs_common import (
    JS_BASELINE_STREAM,
    JS_BASELINE_SUBJECT,
    JS_PREFIX,
    NATS_URL,
    QUEUE,
    SCHEMA,
    ensure_database,
)

BACKLOG = 2000  # jobs enqueued but not done, at most: the workers never starve, the queue never balloons
PRODUCERS = 16


async def _pg(case: str) -> tuple[Callable[[int], Awaitable[None]], Callable[[], Awaitable[int]], Any]:
    dsn = await ensure_database()
    counter = await asyncpg.connect(dsn)
    if case == "pg-betrue":
        from betrue.postgres import PostgresJobQueue, PostgresJobsConfig

        queue = PostgresJobQueue(
            PostgresJobsConfig.from_dict({"dsn": dsn, "schema_name": SCHEMA, "workers": PRODUCERS})
        )
        queue.queue_name = QUEUE
        await queue.start()
        await counter.execute(f"DELETE FROM {SCHEMA}.betrue_jobs")

        async def enqueue(n: int) -> None:
            await queue.add(queue.build("bench/noop", {"n": n}))

        async def done() -> int:
            return int(await counter.fetchval(f"SELECT count(*) FROM {SCHEMA}.betrue_jobs WHERE state = 'done'"))

        return enqueue, done, queue.close
    from tools.bench.servers.jobs_procrastinate import app as proc
    from tools.bench.servers.jobs_procrastinate import apply_schema, noop

    await proc.open_async()
    await apply_schema(proc)
    await counter.execute("TRUNCATE procrastinate_jobs CASCADE")

    async def defer(n: int) -> None:
        await noop.defer_async(n=n)

    async def succeeded() -> int:
        return int(await counter.fetchval("SELECT count(*) FROM procrastinate_jobs WHERE status = 'succeeded'"))

    return defer, succeeded, proc.close_async


async def _js(case: str) -> tuple[Callable[[int], Awaitable[None]], Callable[[], Awaitable[int]], Any]:
    import nats

    connection = await nats.connect(NATS_URL)
    js = connection.jetstream()
    enqueued = [0]
    if case == "js-betrue":
        from betrue.nats import JetStreamJobQueue, JetStreamJobsConfig

        queue = JetStreamJobQueue(JetStreamJobsConfig.from_dict({"url": NATS_URL, "prefix": JS_PREFIX}))
        queue.queue_name = QUEUE
        await queue.start()
        await queue._setup()
        stream = queue._names()[0]

        async def enqueue(n: int) -> None:
            await queue.add(queue.build("bench/noop", {"n": n}))
            enqueued[0] += 1

        close: Any = queue.close
    else:
        stream = JS_BASELINE_STREAM

        async def enqueue(n: int) -> None:
            await js.publish(
                JS_BASELINE_SUBJECT, json.dumps({"n": n}).encode(), headers={"Nats-Msg-Id": os.urandom(12).hex()}
            )
            enqueued[0] += 1

        close = connection.close
    for _ in range(60):  # the worker creates the stream: wait for it
        try:
            await js.stream_info(stream)
            break
        except Exception:
            await asyncio.sleep(0.5)

    async def done() -> int:
        left = (await js.stream_info(stream)).state.messages
        return enqueued[0] - int(left)

    return enqueue, done, close


async def run(case: str, seconds: float) -> dict[str, Any]:
    enqueue, done, close = await (_pg(case) if case.startswith("pg") else _js(case))
    sent, errors = [0], [0]
    finished = [0]
    stop = asyncio.Event()

    async def produce() -> None:
        while not stop.is_set():
            if sent[0] - finished[0] >= BACKLOG:
                await asyncio.sleep(0.01)
                continue
            sent[0] += 1
            try:
                await enqueue(sent[0])
            except Exception:
                errors[0] += 1

    producers = [asyncio.create_task(produce()) for _ in range(PRODUCERS)]
    start = time.monotonic()
    first = await done()
    while time.monotonic() - start < seconds:
        await asyncio.sleep(0.2)
        finished[0] = await done()
    elapsed = time.monotonic() - start
    count = await done() - first
    stop.set()
    await asyncio.gather(*producers, return_exceptions=True)
    await close()
    return {"value": count / elapsed, "unit": "jobs/s", "errors": errors[0], "count": count}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("case", choices=["pg-betrue", "pg-procrastinate", "js-betrue", "js-natspy"])
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    print("BENCH_JSON " + json.dumps(asyncio.run(run(args.case, args.seconds))), flush=True)


if __name__ == "__main__":
    main()
