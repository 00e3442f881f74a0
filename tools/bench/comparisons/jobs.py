"""Jobs through enqueue → run → done: betrue's durable queues against the tools people use without it.

``pg-jobs-vs-procrastinate``: one worker process each (10 jobs at once), on the same PostgreSQL server
and database, a no-op job; ``js-jobs-vs-nats-py``: betrue's JetStream queue (a record per job in a
key-value bucket, compare-and-set per state change, heartbeats) against raw nats-py publishing to a
work-queue stream and a pull consumer acking what it fetches. A load process keeps a bounded backlog
enqueued and counts the jobs done per second.
"""

from __future__ import annotations

import sys

from tools.bench.harness import Comparison, Measurement, Server, Target, Window, python_module, run_load_script

__all__ = ["JS_JOBS", "PG_JOBS"]

_ENV = {"LOG_LEVEL": "INFO", "LOG_CALLS": "errors"}


def _measure(betrue_case: str, baseline_case: str) -> object:
    def measure(target: Target, window: Window) -> Measurement:
        case = betrue_case if target.side == "betrue" else baseline_case
        argv = [sys.executable, "-m", "tools.bench.comparisons.jobs_load", case, "--seconds", str(window.seconds)]
        return run_load_script(argv, window)

    return measure


PG_JOBS = Comparison(
    "pg-jobs-vs-procrastinate",
    betrue=Server(
        "betrue worker, PostgresJobQueue (SKIP LOCKED claims, leases, NOTIFY), 10 at once, JSON logs, errors only",
        python_module("betrue.server.cli", "worker", "tools.bench.servers.jobs_betrue:app"),
        env={**_ENV, "BENCH_BACKEND": "postgres"},
        ready="none",
    ),
    baseline=Server(
        "procrastinate worker (psycopg), concurrency 10, same database server",
        python_module("tools.bench.servers.jobs_procrastinate"),
        ready="none",
    ),
    measure=_measure("pg-betrue", "pg-procrastinate"),  # type: ignore[arg-type]
    goal=1.0,
    window_setup=3.0,
    description="PostgreSQL jobs/s through enqueue, run and done, against procrastinate.",
)

JS_JOBS = Comparison(
    "js-jobs-vs-nats-py",
    betrue=Server(
        "betrue worker, JetStreamJobQueue (KV record per job, CAS, heartbeats), 10 at once",
        python_module("betrue.server.cli", "worker", "tools.bench.servers.jobs_betrue:app"),
        env={**_ENV, "BENCH_BACKEND": "jetstream"},
        ready="none",
    ),
    baseline=Server(
        "raw nats-py: work-queue stream, pull consumer, fetch 10 + ack",
        python_module("tools.bench.servers.jobs_natspy"),
        ready="none",
    ),
    measure=_measure("js-betrue", "js-natspy"),  # type: ignore[arg-type]
    goal=0.8,
    window_setup=3.0,
    description="JetStream jobs/s through enqueue, run and done, against raw nats-py publish + pull + ack.",
)
