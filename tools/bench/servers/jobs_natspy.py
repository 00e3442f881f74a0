"""The baseline of ``js-jobs-vs-nats-py``: raw nats-py, a work-queue stream, one pull consumer, fetch + ack."""

from __future__ import annotations

import asyncio
import contextlib
import signal

import nats
from nats.js import api

from tools.bench.servers.jobs_common import CONCURRENCY, JS_BASELINE_STREAM, JS_BASELINE_SUBJECT, NATS_URL


async def main() -> None:
    connection = await nats.connect(NATS_URL)
    js = connection.jetstream()
    await js.add_stream(
        name=JS_BASELINE_STREAM, subjects=[JS_BASELINE_SUBJECT], retention=api.RetentionPolicy.WORK_QUEUE
    )
    pull = await js.pull_subscribe(JS_BASELINE_SUBJECT, durable="raw", stream=JS_BASELINE_STREAM)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    while not stop.is_set():
        try:
            messages = await pull.fetch(CONCURRENCY, timeout=1)
        except (nats.errors.TimeoutError, TimeoutError):
            continue
        await asyncio.gather(*(message.ack() for message in messages))
    with contextlib.suppress(Exception):
        await connection.close()


if __name__ == "__main__":
    asyncio.run(main())
