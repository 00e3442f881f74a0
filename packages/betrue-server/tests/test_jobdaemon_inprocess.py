"""``serve_worker`` in this process: its overrides, its ready file, and a graceful stop on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from betrue.server import Application, Context, Group
from betrue.server.jobdaemon import serve_worker
from betrue.server.jobmemory import MemoryJobQueue

ENV = {"LOG_LEVEL": "CRITICAL", "JOBS_WORKERS": "2", "JOBS_POLL": "0.05"}


async def until(predicate: Callable[[], bool], seconds: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("not reached in time")
        await asyncio.sleep(0.005)


def daemon_app(done: list[str], gate: asyncio.Event | None = None) -> Application:
    group = Group("jobs_demo")

    @group.command("work")
    async def work(params: Any, ctx: Context) -> None:
        if gate is not None:
            await gate.wait()
        done.append(params["id"])

    return Application("daemon", groups=[group], http=False, environ=ENV, env_file=None)


async def test_the_worker_takes_jobs_with_its_overrides_and_removes_its_ready_file_on_sigterm(tmp_path: Path) -> None:
    done: list[str] = []
    app = daemon_app(done)
    ready = tmp_path / "ready"
    task = asyncio.create_task(serve_worker(app, concurrency=3, grace=1.5, ready_file=str(ready), cron=False))
    try:
        await until(ready.exists)
        assert ready.read_text() == "ready\n"
        queue: MemoryJobQueue = app.service("jobs")
        assert (queue.config.workers, queue.config.grace, queue.config.cron) == (3, 1.5, False)
        assert queue.worker is not None
        assert queue.worker.concurrency == 3
        assert queue.scheduler is None
        await app.enqueue("jobs_demo/work", {"id": "a"})
        await until(lambda: done == ["a"])
        os.kill(os.getpid(), signal.SIGTERM)  # the worker's own handler catches it
        await asyncio.wait_for(task, 10)
    finally:
        if not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    assert not ready.exists()
    assert not app.started


async def test_a_job_running_at_sigterm_finishes_within_the_grace(tmp_path: Path) -> None:
    done: list[str] = []
    gate = asyncio.Event()
    app = daemon_app(done, gate)
    ready = tmp_path / "ready"
    task = asyncio.create_task(serve_worker(app, grace=10, ready_file=str(ready)))
    try:
        await until(ready.exists)
        queue: MemoryJobQueue = app.service("jobs")
        job_id = await app.enqueue("jobs_demo/work", {"id": "slow"})
        await until(lambda: queue.jobs[job_id].state == "running")
        os.kill(os.getpid(), signal.SIGTERM)
        await asyncio.sleep(0.05)
        assert not task.done()  # waiting for the running job
        gate.set()
        await asyncio.wait_for(task, 10)
    finally:
        if not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    assert done == ["slow"]
    assert queue.jobs[job_id].state == "done"


async def test_zero_workers_is_refused_and_the_app_is_stopped_again(tmp_path: Path) -> None:
    app = daemon_app([])
    ready = tmp_path / "ready"
    with pytest.raises(ValueError, match="at least one worker"):
        await asyncio.wait_for(serve_worker(app, concurrency=0, ready_file=str(ready)), 10)
    assert not ready.exists()
    assert not app.started
