"""The ``_jobs/*`` API, local enqueue routing, the cron scheduler driven by hand, and the job gauges."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from opentelemetry import metrics
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from betrue.server import Application, Context, Group
from betrue.server.auth import JwtAuthenticator, issue_token, use_auth
from betrue.server.cron import Schedule, Scheduler
from betrue.server.jobmemory import MemoryJobQueue
from betrue.server.jobmetrics import JobMetrics
from betrue.server.jobrouting import enqueue_routed

SECRET = "k" * 40
ENV = {"JWT_SECRET": SECRET, "JOBS_WORKERS": "0", "JOBS_CRON": "false", "LOG_LEVEL": "CRITICAL"}


def bearer(*roles: str) -> dict[str, str]:
    return {"authorization": f"Bearer {issue_token(SECRET, 'op', roles=roles)}"}


ADMIN = bearer("jobs-admin")
USER = bearer()  # _jobs/enqueue follows the default rule: any signed-in caller


def ops_app() -> Application:
    """An app whose workers are off: jobs stay where the test puts them."""
    group = Group("mail")

    @group.command("send", auth="public")
    async def send(params: Any, ctx: Context) -> None:
        return None

    @group.command("batch", auth="public")
    async def batch(params: Any, ctx: Context) -> dict[str, str]:
        return {"id": await ctx.enqueue("mail/send", {"to": params["to"]}, key=params.get("key"))}

    app = Application("ops", groups=[group], http=False, environ=ENV, env_file=None)
    use_auth(app, JwtAuthenticator)
    return app


async def until(predicate: Callable[[], bool], seconds: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("not reached in time")
        await asyncio.sleep(0.005)


# -- _jobs/* ---------------------------------------------------------------------------------------


async def test_jobs_enqueue_stores_every_option_given() -> None:
    app = ops_app()
    await app.start()
    try:
        queue: MemoryJobQueue = app.service("jobs")
        answer = await app.handle(
            "_jobs/enqueue",
            {
                "code": "mail/send",
                "params": {"to": "ann"},
                "delay": 60,
                "key": "welcome-ann",
                "priority": 7,
                "maxAttempts": 2,
                "timeout": 1.5,
                "meta": {"x-origin": "shop"},
            },
            USER,
        )
        assert answer.error is None, answer.error
        job = await queue.get(answer.result["id"])
    finally:
        await app.stop()
    assert job is not None
    assert (job.code, dict(job.params), job.key, job.priority) == ("mail/send", {"to": "ann"}, "welcome-ann", 7)
    assert (job.max_attempts, job.timeout, dict(job.meta)) == (2, 1.5, {"x-origin": "shop"})
    assert job.run_at >= time.time() + 55


async def test_jobs_enqueue_with_a_held_key_answers_the_first_id() -> None:
    app = ops_app()
    await app.start()
    try:
        first = await app.handle("_jobs/enqueue", {"code": "mail/send", "key": "k1"}, USER)
        second = await app.handle("_jobs/enqueue", {"code": "mail/send", "key": "k1", "params": {"x": 1}}, USER)
    finally:
        await app.stop()
    assert first.result["id"] == second.result["id"]


async def test_jobs_enqueue_needs_a_signed_in_caller_by_default() -> None:
    app = ops_app()
    await app.start()
    try:
        queue: MemoryJobQueue = app.service("jobs")
        answer = await app.handle("_jobs/enqueue", {"code": "mail/send"})
        assert queue.jobs == {}
    finally:
        await app.stop()
    assert answer.code == 401


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"code": "mail/unknown"}, 404),
        ({"code": "mail/send", "delay": -1}, 400),
        ({"code": "mail/send", "timeout": 0}, 400),
        ({"code": "mail/send", "maxAttempts": 0}, 400),
        ({"code": "mail/send", "priority": 2**31}, 400),
        ({"code": "mail/send", "key": ""}, 400),
        ({"code": "mail/send", "surprise": True}, 400),
        ({"code": "ab"}, 400),
        ({}, 400),
    ],
)
async def test_jobs_enqueue_refuses_bad_requests_and_stores_nothing(params: dict[str, Any], code: int) -> None:
    app = ops_app()
    await app.start()
    try:
        queue: MemoryJobQueue = app.service("jobs")
        answer = await app.handle("_jobs/enqueue", params, USER)
        assert queue.jobs == {}
    finally:
        await app.stop()
    assert answer.code == code


@pytest.mark.parametrize("command", ["_jobs/list", "_jobs/get", "_jobs/retry", "_jobs/cancel", "_jobs/stats"])
async def test_the_operator_commands_need_the_jobs_admin_role(command: str) -> None:
    app = ops_app()
    await app.start()
    try:
        params = {} if command in ("_jobs/list", "_jobs/stats") else {"id": "x"}
        anonymous = await app.handle(command, params)
        other_role = await app.handle(command, params, bearer("support"))
    finally:
        await app.stop()
    assert anonymous.code == 401
    assert other_role.code == 403


async def test_get_cancel_and_list_through_the_api() -> None:
    app = ops_app()
    await app.start()
    try:
        one = (await app.handle("_jobs/enqueue", {"code": "mail/send", "params": {"n": 1}}, USER)).result["id"]
        two = (await app.handle("_jobs/enqueue", {"code": "mail/send", "params": {"n": 2}}, USER)).result["id"]
        got = await app.handle("_jobs/get", {"id": one}, ADMIN)
        cancelled = await app.handle("_jobs/cancel", {"id": two}, ADMIN)
        again = await app.handle("_jobs/cancel", {"id": two}, ADMIN)
        queued = await app.handle("_jobs/list", {"state": "queued"}, ADMIN)
        everything = await app.handle("_jobs/list", {}, ADMIN)
        limited = await app.handle("_jobs/list", {"limit": 1}, ADMIN)
        missing = await app.handle("_jobs/get", {"id": "nope"}, ADMIN)
        bad_state = await app.handle("_jobs/list", {"state": "sleeping"}, ADMIN)
        stats = await app.handle("_jobs/stats", {}, ADMIN)
    finally:
        await app.stop()
    assert got.result["id"] == one
    assert got.result["state"] == "queued"
    assert got.result["params"] == {"n": 1}
    assert cancelled.result == {"id": two, "state": "cancelled"}
    assert again.code == 409
    assert again.error is not None
    assert again.error.details == {"reason": "finished"}
    assert [job["id"] for job in queued.result["jobs"]] == [one]
    assert [job["id"] for job in everything.result["jobs"]] == [one, two]
    assert [job["id"] for job in limited.result["jobs"]] == [one]
    assert missing.code == 404
    assert bad_state.code == 400
    assert stats.result["queued"] == 1
    assert stats.result["cancelled"] == 1


async def test_retry_through_the_api_only_for_dead_letters() -> None:
    app = ops_app()
    await app.start()
    try:
        queue: MemoryJobQueue = app.service("jobs")
        job_id = await app.enqueue("mail/send", {}, max_attempts=1)
        refused = await app.handle("_jobs/retry", {"id": job_id}, ADMIN)
        [claimed] = await queue.claim(1)
        assert await queue.fail(claimed, "boom", None)
        retried = await app.handle("_jobs/retry", {"id": job_id}, ADMIN)
        job = await queue.get(job_id)
    finally:
        await app.stop()
    assert refused.code == 409
    assert refused.error is not None
    assert refused.error.details == {"reason": "not_dead"}
    assert retried.result == {"id": job_id, "state": "queued"}
    assert job is not None
    assert job.state == "queued"


# -- enqueue routing (local) -----------------------------------------------------------------------


async def test_a_command_enqueues_a_job_of_its_own_app_with_its_trace_id() -> None:
    app = ops_app()
    await app.start()
    try:
        queue: MemoryJobQueue = app.service("jobs")
        answer = await app.handle("mail/batch", {"to": "bob", "key": "b1"}, {"x-trace-id": "trace-123"})
        again = await app.handle("mail/batch", {"to": "bob", "key": "b1"})
        job = await queue.get(answer.result["id"])
    finally:
        await app.stop()
    assert job is not None
    assert dict(job.params) == {"to": "bob"}
    assert job.meta["x-trace-id"] == answer.trace_id
    assert again.result["id"] == answer.result["id"]


async def test_enqueue_routed_maps_retries_to_max_attempts() -> None:
    app = ops_app()
    await app.start()
    try:
        queue: MemoryJobQueue = app.service("jobs")
        by_retries = await enqueue_routed(app, "mail/send", {}, retries=0)
        both = await enqueue_routed(app, "mail/send", {}, retries=0, max_attempts=5)
        retries_job, both_job = await queue.get(by_retries), await queue.get(both)
    finally:
        await app.stop()
    assert retries_job is not None
    assert both_job is not None
    assert retries_job.max_attempts == 1
    assert both_job.max_attempts == 5


# -- cron, driven by hand ---------------------------------------------------------------------------


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_a_schedule_follows_its_time_zone_across_a_dst_change() -> None:
    schedule = Schedule("reports/daily", "0 6 * * *", tz="Europe/Paris")
    before = datetime(2026, 3, 27, 12, tzinfo=UTC).timestamp()  # Paris switches to summer time on the 29th
    first = schedule.next_after(before)
    second = schedule.next_after(first)
    assert datetime.fromtimestamp(first, UTC).hour == 5  # 06:00 CET
    assert datetime.fromtimestamp(second, UTC).hour == 4  # 06:00 CEST
    assert second - first == 23 * 3600


def test_latest_until_coalesces_and_keeps_a_tick_not_passed() -> None:
    schedule = Schedule("a/b", "*/5 * * * *")
    assert schedule.latest_until(0.0, 3599.0) == 3300.0
    assert schedule.latest_until(300.0, 310.0) == 300.0


async def test_fire_enqueues_once_with_the_tick_key_params_and_stamp() -> None:
    queue = MemoryJobQueue()
    schedule = Schedule("reports/daily", "0 6 * * *", params={"kind": "sales"}, max_attempts=2)
    first, second = Scheduler([schedule], queue), Scheduler([schedule], queue)
    tick = 21600.0
    assert await first.fire(schedule, tick)
    assert not await second.fire(schedule, tick)
    [job] = await queue.list()
    assert job.code == "reports/daily"
    assert dict(job.params) == {"kind": "sales"}
    assert job.key == "cron:reports/daily:21600"
    assert job.max_attempts == 2
    assert job.meta["x-cron-tick"] == "1970-01-01T06:00:00+00:00"
    assert first.fired == [("reports/daily", tick)]
    assert second.fired == []


async def test_the_scheduler_fires_each_schedule_at_its_own_ticks() -> None:
    queue = MemoryJobQueue()
    clock = Clock(1000.5)
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.now += seconds
        await asyncio.sleep(0)

    often = Schedule("a/often", "* * * * * */2")
    rare = Schedule("a/rare", "* * * * * */5")
    scheduler = Scheduler([often, rare], queue, clock=clock, sleep=sleep)
    task = asyncio.create_task(scheduler.run())
    try:
        await until(lambda: clock.now >= 1010.0)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    fired = [(code, tick) for code, tick in scheduler.fired if tick <= 1010.0]
    assert [tick for code, tick in fired if code == "a/often"] == [1002.0, 1004.0, 1006.0, 1008.0, 1010.0]
    assert [tick for code, tick in fired if code == "a/rare"] == [1005.0, 1010.0]
    assert all(seconds >= 0 for seconds in slept)


async def test_a_failing_enqueue_does_not_stop_the_scheduler() -> None:
    class Flaky(MemoryJobQueue):
        calls = 0

        async def claim_tick(self, schedule: str, tick: float) -> bool:
            self.calls += 1
            if self.calls == 1:
                raise ConnectionError("store down")
            return await super().claim_tick(schedule, tick)

    queue = Flaky()
    clock = Clock(100.0)

    async def sleep(seconds: float) -> None:
        clock.now += seconds
        await asyncio.sleep(0)

    scheduler = Scheduler([Schedule("a/b", "* * * * * *")], queue, clock=clock, sleep=sleep)
    task = asyncio.create_task(scheduler.run())
    try:
        await until(lambda: len(scheduler.fired) >= 2)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert scheduler.fired[:2] == [("a/b", 102.0), ("a/b", 103.0)]  # the tick 101 was lost, not the schedule


async def test_a_scheduler_without_schedules_starts_nothing_and_stops_cleanly() -> None:
    scheduler = Scheduler([], MemoryJobQueue())
    scheduler.start()
    assert scheduler._task is None
    await scheduler.stop()


async def test_stop_cancels_a_waiting_scheduler() -> None:
    scheduler = Scheduler([Schedule("a/b", "0 0 1 1 *")], MemoryJobQueue())
    scheduler.start()
    await asyncio.sleep(0)
    await asyncio.wait_for(scheduler.stop(), 10)
    assert scheduler._task is None
    assert scheduler.fired == []


# -- job gauges ------------------------------------------------------------------------------------


def gauges(reader: InMemoryMetricReader) -> dict[str, dict[str, float]]:
    data = reader.get_metrics_data()
    found: dict[str, dict[str, float]] = {}
    if data is None:
        return found
    for resource in data.resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                for point in metric.data.data_points:
                    label = str((point.attributes or {}).get("state", ""))
                    found.setdefault(metric.name, {})[label] = float(getattr(point, "value", 0))
    return found


async def test_refresh_reads_the_queue_counts_into_the_gauges_at_most_every_few_seconds() -> None:
    reader = InMemoryMetricReader()
    queue = MemoryJobQueue()
    instruments = JobMetrics(MeterProvider(metric_readers=[reader]).get_meter("t"), queue)
    assert not instruments.idle()
    await queue.enqueue("a/b")
    await queue.enqueue("a/b", delay=60)
    await instruments.refresh()
    seen = gauges(reader)
    assert seen["betrue.jobs.count"]["queued"] == 2
    assert seen["betrue.jobs.count"]["dead"] == 0
    assert "oldest_queued_age" not in seen["betrue.jobs.count"]
    assert "betrue.jobs.oldest_age" in seen
    await queue.enqueue("a/b")
    await instruments.refresh()  # read again too soon: the counts stay
    assert gauges(reader)["betrue.jobs.count"]["queued"] == 2


async def test_without_a_meter_provider_the_queue_is_never_read() -> None:
    class Counting(MemoryJobQueue):
        reads = 0

        async def stats(self) -> dict[str, float]:
            self.reads += 1
            return await super().stats()

    queue = Counting()
    instruments = JobMetrics(metrics.NoOpMeterProvider().get_meter("t"), queue)
    assert instruments.idle()
    await instruments.refresh()
    instruments.ran("a/b", "done", 0.1)
    assert queue.reads == 0
    assert instruments.counts == {}
