"""The betrue side of the job benchmarks: ``betrue worker tools.bench.servers.jobs_betrue:app``.

``BENCH_BACKEND=postgres`` (PostgresJobQueue in the bench database) or ``jetstream`` (JetStreamJobQueue);
the job is ``bench/noop``, a command that does nothing, so the figure is the queue's own cost.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from betrue.server import Application, Context, Group
from tools.bench.servers.jobs_common import CONCURRENCY, JS_PREFIX, NATS_URL, QUEUE, SCHEMA, bench_dsn, ensure_database

bench = Group("bench")


@bench.command("noop")
async def noop(params: Any, ctx: Context) -> None:
    return None


def build() -> Application:
    backend = os.environ.get("BENCH_BACKEND", "postgres")
    environ = {
        **os.environ,
        "JOBS_QUEUE": QUEUE,
        "JOBS_WORKERS": str(CONCURRENCY),
        "JOBS_POLL": "1",
        "JOBS_CRON": "false",
        "LOG_LEVEL": os.environ.get("LOG_LEVEL", "INFO"),
        "LOG_CALLS": os.environ.get("LOG_CALLS", "errors"),
    }
    if backend == "postgres":
        from betrue.postgres import PostgresJobQueue

        asyncio.run(ensure_database())
        environ |= {"JOBS_DATABASE_URL": bench_dsn(), "JOBS_PG_SCHEMA": SCHEMA}
        app = Application("bench", groups=[bench], http=False, environ=environ, env_file=None)
        app.replace_service("jobs", PostgresJobQueue)
    else:
        from betrue.nats import JetStreamJobQueue

        environ |= {"JOBS_NATS_URL": NATS_URL, "JOBS_JS_PREFIX": JS_PREFIX}
        app = Application("bench", groups=[bench], http=False, environ=environ, env_file=None)
        app.replace_service("jobs", JetStreamJobQueue)
    return app


app = build()
