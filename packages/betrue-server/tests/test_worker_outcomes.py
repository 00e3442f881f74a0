"""The job worker with a real app: retries, final failures, timeouts, lost leases, grace, concurrency, metrics."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from betrue.server import Application, Context, Group
from betrue.server.errors import Conflict, NotFound, ServiceUnavailable
from betrue.server.jobmemory import MemoryJobQueue
from betrue.server.jobqueue import Job
from betrue.server.response import Response
from betrue.server.worker import JobWorker, outcome_of

ENV = {"LOG_LEVEL": "CRITICAL", "JOBS_BACKOFF": "0.01", "JOBS_JITTER": "0", "JOBS_POLL": "0.05"}


async def until(predicate: Callable[[], bool], seconds: float = 10.0) -> None:
    """Wait for ``predicate`` with a generous deadline (the machine may be loaded)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("not reached in time")
        await asyncio.sleep(0.005)


class Work:
    """A group whose commands record what they did."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.fail_first = 0
        self.started = asyncio.Event()
        self.release = asyncio.Event()
        self.cancelled = 0
        self.meta: list[dict[str, str]] = []
        self.group = Group("work")
        group = self.group

        @group.command("flaky")
        async def flaky(params: Any, ctx: Context) -> dict[str, int]:
            self.calls.append(("flaky", params))
            if len(self.calls) <= self.fail_first:
                raise ServiceUnavailable("not yet")
            return {"tries": len(self.calls)}

        @group.command("down")
        async def down(params: Any, ctx: Context) -> None:
            self.calls.append(("down", params))
            raise ServiceUnavailable("smtp down")

        @group.command("refused")
        async def refused(params: Any, ctx: Context) -> None:
            self.calls.append(("refused", params))
            raise Conflict("already sent")

        @group.command("crash")
        async def crash(params: Any, ctx: Context) -> None:
            self.calls.append(("crash", params))
            raise RuntimeError("bug")

        @group.command(
            "typed",
            input={"type": "object", "required": ["n"], "properties": {"n": {"type": "integer"}}},
        )
        async def typed(params: Any, ctx: Context) -> int:
            self.calls.append(("typed", params))
            return int(params["n"]) * 2

        @group.command("block")
        async def block(params: Any, ctx: Context) -> str:
            self.calls.append(("block", params))
            self.started.set()
            try:
                await self.release.wait()
            except asyncio.CancelledError:
                self.cancelled += 1
                raise
            return "released"

        @group.command("meta")
        async def meta(params: Any, ctx: Context) -> str:
            self.meta.append(dict(ctx.meta))
            return "ok"


def make_app(work: Work, **env: str) -> Application:
    return Application("workers", groups=[work.group], http=False, environ={**ENV, **env}, env_file=None)


async def job_in(queue: MemoryJobQueue, job_id: str, *states: str) -> Job:
    found: list[Job] = []

    def reached() -> bool:
        job = queue.jobs.get(job_id)
        if job is not None and job.state in states:
            found.append(job)
            return True
        return False

    await until(reached)
    return found[0]


# -- outcome_of ------------------------------------------------------------------------------------


def test_outcome_of_a_client_error_is_final_at_once() -> None:
    job = Job("a/b", {}, attempt=1, max_attempts=5)
    error, final = outcome_of(Response.from_error(Conflict("taken")), job)
    assert final
    assert error == "Conflict: taken"


def test_outcome_of_a_server_error_is_retried_until_the_last_try() -> None:
    answer = Response.from_error(ServiceUnavailable("down"))
    assert outcome_of(answer, Job("a/b", {}, attempt=1, max_attempts=3)) == ("ServiceUnavailable: down", False)
    assert not outcome_of(answer, Job("a/b", {}, attempt=2, max_attempts=3))[1]
    _, last = outcome_of(answer, Job("a/b", {}, attempt=3, max_attempts=3))
    assert last


# -- retries and dead letters ----------------------------------------------------------------------


async def test_a_server_error_is_retried_and_the_result_kept() -> None:
    work = Work()
    work.fail_first = 2
    app = make_app(work)
    await app.start()
    try:
        queue: MemoryJobQueue = app.service("jobs")
        job_id = await app.enqueue("work/flaky", {"n": 1})
        job = await job_in(queue, job_id, "done")
    finally:
        await app.stop()
    assert job.attempt == 3
    assert job.result == {"tries": 3}
    assert job.last_error == "ServiceUnavailable: not yet"  # the last failed try's error stays


async def test_a_client_error_is_a_dead_letter_after_one_try() -> None:
    work = Work()
    app = make_app(work)
    await app.start()
    try:
        queue: MemoryJobQueue = app.service("jobs")
        job_id = await app.enqueue("work/refused", {}, max_attempts=5)
        job = await job_in(queue, job_id, "dead")
    finally:
        await app.stop()
    assert job.attempt == 1
    assert [code for code, _ in work.calls] == ["refused"]
    assert job.last_error is not None
    assert "already sent" in job.last_error


async def test_params_the_command_rejects_fail_for_good_before_the_handler_runs() -> None:
    work = Work()
    app = make_app(work)
    await app.start()
    try:
        queue: MemoryJobQueue = app.service("jobs")
        bad = await app.enqueue("work/typed", {"n": "two"}, max_attempts=3)
        good = await app.enqueue("work/typed", {"n": 21})
        dead = await job_in(queue, bad, "dead")
        done = await job_in(queue, good, "done")
    finally:
        await app.stop()
    assert dead.attempt == 1
    assert done.result == 42
    assert work.calls == [("typed", {"n": 21})]


async def test_an_unexpected_exception_is_retried_like_a_server_error() -> None:
    work = Work()
    app = make_app(work)
    await app.start()
    try:
        queue: MemoryJobQueue = app.service("jobs")
        job_id = await app.enqueue("work/crash", {}, max_attempts=2)
        job = await job_in(queue, job_id, "dead")
    finally:
        await app.stop()
    assert job.attempt == 2
    assert len(work.calls) == 2
    assert job.last_error is not None
    assert job.last_error.startswith("InternalError: ")
    assert "bug" not in job.last_error  # an unexpected exception's text is not exposed


async def test_max_attempts_bounds_the_tries_of_a_failing_job() -> None:
    work = Work()
    app = make_app(work, JOBS_RETRIES="1")
    await app.start()
    try:
        queue: MemoryJobQueue = app.service("jobs")
        by_setting = await app.enqueue("work/down", {"which": "setting"})
        by_argument = await app.enqueue("work/down", {"which": "argument"}, max_attempts=3)
        await job_in(queue, by_setting, "dead")
        await job_in(queue, by_argument, "dead")
    finally:
        await app.stop()
    tries = [params["which"] for _, params in work.calls]
    assert tries.count("setting") == 2
    assert tries.count("argument") == 3


async def test_a_retried_dead_letter_runs_again_and_can_succeed() -> None:
    work = Work()
    work.fail_first = 1
    app = make_app(work)
    await app.start()
    try:
        queue: MemoryJobQueue = app.service("jobs")
        job_id = await app.enqueue("work/flaky", {}, max_attempts=1)
        await job_in(queue, job_id, "dead")
        assert await queue.retry_dead(job_id)
        job = await job_in(queue, job_id, "done")
    finally:
        await app.stop()
    assert job.attempt == 2
    assert job.result == {"tries": 2}


# -- timeouts --------------------------------------------------------------------------------------


async def test_a_job_over_its_timeout_is_stopped_and_retried_then_dead() -> None:
    work = Work()
    app = make_app(work)
    await app.start()
    try:
        queue: MemoryJobQueue = app.service("jobs")
        job_id = await app.enqueue("work/block", {}, timeout=0.05, max_attempts=2)
        job = await job_in(queue, job_id, "dead")
    finally:
        await app.stop()
    assert job.attempt == 2
    assert work.cancelled == 2  # each overrunning handler was cancelled
    assert job.last_error is not None
    assert "GatewayTimeout" in job.last_error
    assert "0.05" in job.last_error


async def test_a_job_within_its_timeout_completes() -> None:
    work = Work()
    work.release.set()
    app = make_app(work)
    await app.start()
    try:
        queue: MemoryJobQueue = app.service("jobs")
        job_id = await app.enqueue("work/block", {}, timeout=30)
        job = await job_in(queue, job_id, "done")
    finally:
        await app.stop()
    assert job.result == "released"


# -- leases and fencing ----------------------------------------------------------------------------


async def test_cancelling_a_running_job_stops_its_handler_at_the_next_heartbeat() -> None:
    work = Work()
    app = make_app(work, JOBS_LEASE="0.06")
    await app.start()
    try:
        queue: MemoryJobQueue = app.service("jobs")
        worker = queue.worker
        assert worker is not None
        job_id = await app.enqueue("work/block", {})
        await asyncio.wait_for(work.started.wait(), 10)
        assert await queue.cancel(job_id)
        await until(lambda: work.cancelled == 1)
        await until(lambda: worker.rejected == 1)
        await until(lambda: not worker.running)
        job = await queue.get(job_id)
    finally:
        await app.stop()
    assert job is not None
    assert job.state == "cancelled"
    assert job.result is None


async def test_an_outcome_from_a_lost_lease_is_rejected_and_not_written() -> None:
    work = Work()
    app = make_app(work, JOBS_WORKERS="0", JOBS_LEASE="30")
    await app.start()
    try:
        queue: MemoryJobQueue = app.service("jobs")
        job_id = await app.enqueue("work/block", {})
        worker = JobWorker(app, queue, concurrency=1)
        worker.start()
        await asyncio.wait_for(work.started.wait(), 10)
        # another worker took the job over meanwhile: the stored attempt moves on
        queue.jobs[job_id].attempt += 1
        work.release.set()
        await until(lambda: worker.rejected == 1)
        await worker.stop(5)
        job = await queue.get(job_id)
    finally:
        await app.stop()
    assert job is not None
    assert job.state == "running"
    assert job.result is None


async def test_a_frozen_worker_loses_its_job_to_another_worker() -> None:
    work = Work()
    app = make_app(work, JOBS_WORKERS="0", JOBS_LEASE="0.05")
    await app.start()
    try:
        queue: MemoryJobQueue = app.service("jobs")
        job_id = await app.enqueue("work/flaky", {})
        frozen = await queue.claim(1)  # claimed by a worker that never reports back
        assert [job.id for job in frozen] == [job_id]
        worker = JobWorker(app, queue, concurrency=1)
        worker.start()
        job = await job_in(queue, job_id, "done")
        assert not await queue.complete(frozen[0], "late")
        await worker.stop(5)
    finally:
        await app.stop()
    assert job.attempt == 2
    assert job.result == {"tries": 1}
    assert job.last_error == "worker lost: lease expired"


# -- stopping, concurrency, meta -------------------------------------------------------------------


async def test_a_job_still_running_after_the_grace_goes_back_to_the_queue() -> None:
    work = Work()
    app = make_app(work, JOBS_WORKERS="0")
    await app.start()
    try:
        queue: MemoryJobQueue = app.service("jobs")
        job_id = await app.enqueue("work/block", {}, max_attempts=1)
        worker = JobWorker(app, queue, concurrency=2)
        worker.start()
        await asyncio.wait_for(work.started.wait(), 10)
        await asyncio.wait_for(worker.stop(0.02), 10)
        job = await queue.get(job_id)
        assert job is not None
        assert job.state == "queued"
        assert job.max_attempts == 2  # the interrupted try is not counted
        assert work.cancelled == 1
        assert not worker.ready
        # a new worker takes the handed-back job and finishes it
        work.release.set()
        again = JobWorker(app, queue, concurrency=1)
        again.start()
        done = await job_in(queue, job_id, "done")
        await again.stop(5)
    finally:
        await app.stop()
    assert done.attempt == 2
    assert done.result == "released"


async def test_no_more_jobs_run_at_once_than_the_concurrency() -> None:
    running = 0
    most = 0
    group = Group("par")

    @group.command("slow")
    async def slow(params: Any, ctx: Context) -> None:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await asyncio.sleep(0.02)
        running -= 1

    app = Application("par", groups=[group], http=False, environ={**ENV, "JOBS_WORKERS": "3"}, env_file=None)
    await app.start()
    try:
        queue: MemoryJobQueue = app.service("jobs")
        for n in range(9):
            await app.enqueue("par/slow", {"n": n})
        await until(lambda: queue.done == 9)
    finally:
        await app.stop()
    assert most == 3


async def test_higher_priority_jobs_run_first_on_a_single_worker() -> None:
    order: list[str] = []
    group = Group("prio")

    @group.command("run")
    async def run(params: Any, ctx: Context) -> None:
        order.append(params["name"])

    app = Application("prio", groups=[group], http=False, environ={**ENV, "JOBS_WORKERS": "0"}, env_file=None)
    await app.start()
    try:
        queue: MemoryJobQueue = app.service("jobs")
        await app.enqueue("prio/run", {"name": "low"}, priority=-1)
        await app.enqueue("prio/run", {"name": "normal"})
        await app.enqueue("prio/run", {"name": "urgent"}, priority=9)
        worker = JobWorker(app, queue, concurrency=1)
        worker.start()
        await until(lambda: queue.done == 3)
        await worker.stop(5)
    finally:
        await app.stop()
    assert order == ["urgent", "normal", "low"]


async def test_a_delayed_job_waits_for_its_time() -> None:
    work = Work()
    app = make_app(work)
    await app.start()
    try:
        queue: MemoryJobQueue = app.service("jobs")
        loop = asyncio.get_running_loop()
        started = loop.time()
        job_id = await app.enqueue("work/flaky", {}, delay=0.15)
        await job_in(queue, job_id, "done")
        waited = loop.time() - started
    finally:
        await app.stop()
    assert waited >= 0.14


async def test_the_handler_sees_the_job_id_and_attempt_in_its_meta() -> None:
    work = Work()
    app = make_app(work)
    await app.start()
    try:
        queue: MemoryJobQueue = app.service("jobs")
        job_id = await app.enqueue("work/meta", {})
        await job_in(queue, job_id, "done")
    finally:
        await app.stop()
    assert work.meta[0]["x-job-id"] == job_id
    assert work.meta[0]["x-job-attempt"] == "1"


async def test_enqueueing_an_unknown_command_is_not_found_and_stores_nothing() -> None:
    work = Work()
    app = make_app(work)
    await app.start()
    try:
        queue: MemoryJobQueue = app.service("jobs")
        try:
            await app.enqueue("nowhere/thing", {})
        except NotFound:
            pass
        else:
            raise AssertionError("an unknown command was enqueued")
        assert queue.jobs == {}
    finally:
        await app.stop()


# -- metrics ---------------------------------------------------------------------------------------


def runs_by_outcome(reader: InMemoryMetricReader) -> dict[tuple[str, str], float]:
    data = reader.get_metrics_data()
    assert data is not None
    counts: dict[tuple[str, str], float] = {}
    for resource in data.resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                if metric.name != "betrue.jobs.runs":
                    continue
                for point in metric.data.data_points:
                    attributes = point.attributes or {}
                    key = (str(attributes["command"]), str(attributes["outcome"]))
                    counts[key] = counts.get(key, 0) + getattr(point, "value", 0)
    return counts


async def test_attempts_are_counted_by_command_and_outcome() -> None:
    work = Work()
    work.fail_first = 1
    reader = InMemoryMetricReader()
    app = make_app(work, JOBS_RETRIES="1")
    app.telemetry.use(meter_provider=MeterProvider(metric_readers=[reader]))
    await app.start()
    try:
        queue: MemoryJobQueue = app.service("jobs")
        flaky = await app.enqueue("work/flaky", {})
        await job_in(queue, flaky, "done")
        down = await app.enqueue("work/down", {})
        await job_in(queue, down, "dead")
        await until(lambda: runs_by_outcome(reader).get(("work/down", "dead"), 0) == 1)
    finally:
        await app.stop()
    counts = runs_by_outcome(reader)
    assert counts[("work/flaky", "retry")] == 1
    assert counts[("work/flaky", "done")] == 1
    assert counts[("work/down", "retry")] == 1
    assert counts[("work/down", "dead")] == 1


async def test_a_client_error_that_buries_the_job_is_counted_dead() -> None:
    work = Work()
    reader = InMemoryMetricReader()
    app = make_app(work)
    app.telemetry.use(meter_provider=MeterProvider(metric_readers=[reader]))
    await app.start()
    try:
        queue: MemoryJobQueue = app.service("jobs")
        refused = await app.enqueue("work/refused", {}, max_attempts=3)
        await job_in(queue, refused, "dead")
        await until(lambda: sum(runs_by_outcome(reader).values()) >= 1)
    finally:
        await app.stop()
    assert runs_by_outcome(reader) == {("work/refused", "dead"): 1}
