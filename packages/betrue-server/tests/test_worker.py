"""The job worker: spans linked to the enqueuing call, metrics, graceful stop, and the ``betrue worker`` daemon."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from betrue.server import Application, Context, Group
from betrue.server.jobs import MemoryJobQueue

ENV = {"LOG_LEVEL": "WARNING", "JOBS_BACKOFF": "0.01"}


def shop(runs: list[str], sleep: float = 0.0) -> Group:
    group = Group("shop")

    @group.command("order")
    async def order(params: Any, ctx: Context) -> dict[str, str]:
        return {"job": await ctx.enqueue("shop/ship", {"id": params["id"]})}

    @group.command("ship")
    async def ship(params: Any, ctx: Context) -> dict[str, str]:
        await asyncio.sleep(sleep)
        runs.append(params["id"])
        return {"shipped": params["id"]}

    return group


async def settle(predicate: Any, seconds: float = 5.0) -> None:
    for _ in range(int(seconds / 0.01)):
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("not reached in time")


async def test_the_job_span_is_a_child_of_the_enqueuing_commands_span() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    reader = InMemoryMetricReader()
    runs: list[str] = []
    app = Application("traced", groups=[shop(runs)], http=False, environ=ENV, env_file=None)
    app.telemetry.use(tracer_provider=provider, meter_provider=MeterProvider(metric_readers=[reader]))
    await app.start()
    try:
        answer = await app.handle("shop/order", {"id": "o1"})
        await settle(lambda: len(exporter.get_finished_spans()) >= 3)
    finally:
        await app.stop()
    spans = {span.name: span for span in exporter.get_finished_spans()}
    order, job, ship = spans["shop/order"], spans["job shop/ship"], spans["shop/ship"]
    assert job.parent is not None
    assert job.parent.span_id == order.context.span_id
    assert ship.parent is not None
    assert ship.parent.span_id == job.context.span_id
    assert job.context.trace_id == order.context.trace_id
    assert job.attributes is not None
    assert job.attributes["betrue.job.id"] == answer.result["job"]
    metrics = reader.get_metrics_data()
    assert metrics is not None
    names = {m.name for rm in metrics.resource_metrics for sm in rm.scope_metrics for m in sm.metrics}
    assert {"betrue.jobs.runs", "betrue.jobs.duration"} <= names


async def test_a_stopping_app_lets_running_jobs_finish_within_the_grace() -> None:
    runs: list[str] = []
    app = Application("graceful", groups=[shop(runs, sleep=0.3)], http=False, environ=ENV, env_file=None)
    await app.start()
    queue: MemoryJobQueue = app.service("jobs")
    job_id = await app.enqueue("shop/ship", {"id": "o2"})
    await settle(lambda: queue.jobs[job_id].state == "running")
    await app.stop()
    assert runs == ["o2"]
    assert queue.jobs[job_id].state == "done"


def _worker(tmp_path: Path, *args: str) -> subprocess.Popen[bytes]:
    app_file = tmp_path / "workerapp.py"
    app_file.write_text(
        "from betrue.server import Application, Group\n"
        "g = Group('w')\n"
        "@g.command('noop')\n"
        "async def noop(params, ctx):\n"
        "    return None\n"
        "app = Application('w', groups=[g], env_file=None)\n"
    )
    env = {**os.environ, "LOG_LEVEL": "WARNING", "HTTP_PORT": "1"}  # port 1: the worker must not listen
    command = [sys.executable, "-m", "betrue.server.cli", "worker", "workerapp:app", *args]
    return subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def test_the_worker_daemon_is_ready_then_stops_on_sigterm(tmp_path: Path) -> None:
    ready = tmp_path / "ready"
    process = _worker(tmp_path, "--concurrency", "2", "--ready-file", str(ready))
    try:
        deadline = time.monotonic() + 60
        while not ready.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert ready.read_text() == "ready\n"
        process.send_signal(signal.SIGTERM)
        assert process.wait(30) == 0
        assert not ready.exists()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
        if process.stdout is not None:
            process.stdout.close()


def test_the_worker_daemon_refuses_zero_workers(tmp_path: Path) -> None:
    process = _worker(tmp_path, "--concurrency", "0")
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 1
    assert b"at least one worker" in output
