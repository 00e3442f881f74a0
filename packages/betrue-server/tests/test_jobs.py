"""The in-process job queue: commands run later, retried with backoff, de-duplicated, dead-lettered."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from betrue.server import Application, Context, Group, NotFound, ServiceUnavailable
from betrue.server.jobs import MemoryJobQueue

ENV = {"JOBS_BACKOFF": "0.01", "JOBS_RETRIES": "2", "LOG_LEVEL": "WARNING"}


def make_app(log: list[Any], fail_times: int = 0) -> Application:
    mail = Group("mail")
    failures = {"left": fail_times}

    @mail.command("send", input={"type": "object", "required": ["to"], "properties": {"to": {"type": "string"}}})
    async def send(params: Any, ctx: Context) -> dict[str, Any]:
        if failures["left"] > 0:
            failures["left"] -= 1
            raise ServiceUnavailable("smtp down")
        log.append((params["to"], ctx.meta.get("x-job-attempt"), ctx.adapter))
        return {"sent": True}

    @mail.command("signup")
    async def signup(params: Any, ctx: Context) -> dict[str, str]:
        job = await ctx.enqueue("mail/send", {"to": params["email"]}, key=f"welcome-{params['email']}")
        return {"job": job}

    return Application("jobs-test", groups=[mail], http=False, environ=ENV, env_file=None)


async def wait_for(predicate: Any, seconds: float = 5.0) -> None:
    """Poll ``predicate`` (jobs run on worker tasks we cannot await from here), bounded."""
    for _ in range(int(seconds / 0.01)):
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not reached in time")


async def test_an_enqueued_job_runs_the_command_on_a_worker() -> None:
    log: list[Any] = []
    app = make_app(log)
    await app.start()
    try:
        answer = await app.handle("mail/signup", {"email": "ann@example.org"})
        assert answer.ok
        await wait_for(lambda: log)
        assert log == [("ann@example.org", "1", "job")]
    finally:
        await app.stop()


async def test_a_failing_job_is_retried_with_backoff_until_it_succeeds() -> None:
    log: list[Any] = []
    app = make_app(log, fail_times=2)
    await app.start()
    try:
        await app.enqueue("mail/send", {"to": "bob"})
        await wait_for(lambda: log)
        assert log == [("bob", "3", "job")]
    finally:
        await app.stop()


async def test_a_job_that_keeps_failing_becomes_a_dead_letter() -> None:
    log: list[Any] = []
    app = make_app(log, fail_times=10)
    await app.start()
    queue: MemoryJobQueue = app.service("jobs")
    try:
        await app.enqueue("mail/send", {"to": "carl"})
        await wait_for(lambda: queue.dead)
        assert queue.dead[0].attempt == 3
        assert queue.dead[0].last_error == "ServiceUnavailable: smtp down"
        assert log == []
    finally:
        await app.stop()


async def test_invalid_params_fail_for_good_without_retries() -> None:
    app = make_app([])
    await app.start()
    queue: MemoryJobQueue = app.service("jobs")
    try:
        await app.enqueue("mail/send", {"to": 42})
        await wait_for(lambda: queue.dead)
        assert queue.dead[0].attempt == 1
        assert queue.dead[0].last_error is not None
        assert queue.dead[0].last_error.startswith("ValidationError")
    finally:
        await app.stop()


async def test_a_key_deduplicates_pending_jobs_and_delay_postpones() -> None:
    log: list[Any] = []
    app = make_app(log)
    await app.start()
    try:
        first = await app.enqueue("mail/send", {"to": "dan"}, key="k", delay=0.2)
        second = await app.enqueue("mail/send", {"to": "dan"}, key="k", delay=0.2)
        assert first == second
        await asyncio.sleep(0.05)
        assert log == []
        await wait_for(lambda: log)
        await asyncio.sleep(0.05)
        assert log == [("dan", "1", "job")]
    finally:
        await app.stop()


async def test_enqueueing_an_unknown_command_is_refused_at_once() -> None:
    app = make_app([])
    await app.start()
    try:
        with pytest.raises(NotFound, match="mail/nope"):
            await app.enqueue("mail/nope", {})
    finally:
        await app.stop()
