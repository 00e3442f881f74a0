"""Cron: schedules declared on groups, each tick enqueued once across instances, missed ticks coalesced."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from betrue.server import Application, Context, Group
from betrue.server.cron import Schedule, Scheduler
from betrue.server.jobs import MemoryJobQueue


class Clock:
    """Time driven by the test: ``sleep`` jumps the clock instead of waiting."""

    def __init__(self, now: float) -> None:
        self.now = now
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


def test_next_tick_follows_the_expression_in_its_time_zone() -> None:
    paris = Schedule("reports/daily", "0 6 * * *", tz="Europe/Paris")
    # 2026-01-01 00:00 UTC is 01:00 in Paris: the next 06:00 Paris is 05:00 UTC
    assert paris.next_after(1767225600.0) == 1767225600.0 + 5 * 3600
    seconds = Schedule("reports/often", "* * * * * */10")
    assert seconds.next_after(100.0) == 110.0


@pytest.mark.parametrize(
    ("expression", "tz", "message"),
    [("61 * * * *", "UTC", "not a valid cron expression"), ("* * * * *", "Mars/Olympus", "unknown time zone")],
)
def test_a_bad_schedule_fails_at_definition_naming_the_command(expression: str, tz: str, message: str) -> None:
    group = Group("reports")
    with pytest.raises(ValueError, match=rf"reports/daily.*{message}"):

        @group.cron(expression, tz=tz)
        async def daily(params: Any, ctx: Context) -> None:
            return None


def test_group_cron_registers_a_hidden_command_and_its_schedule() -> None:
    group = Group("reports")

    @group.cron("*/5 * * * *", tz="UTC", params={"kind": "short"})
    async def digest(params: Any, ctx: Context) -> None:
        return None

    [command] = group.commands
    assert (command.code, command.hidden) == ("reports/digest", True)
    assert (group.schedules[0].code, group.schedules[0].params) == ("reports/digest", {"kind": "short"})


async def test_each_tick_is_enqueued_once_across_instances() -> None:
    queue = MemoryJobQueue()
    schedule = Schedule("reports/often", "* * * * * *")
    clocks = [Clock(1000.0), Clock(1000.0), Clock(1000.0)]
    schedulers = [Scheduler([schedule], queue, clock=c, sleep=c.sleep) for c in clocks]
    tasks = [asyncio.create_task(s.run()) for s in schedulers]
    for _ in range(10_000):
        if len({tick for s in schedulers for _, tick in s.fired}) >= 3:
            break
        await asyncio.sleep(0)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    fired = sorted(tick for s in schedulers for _, tick in s.fired)
    assert fired[:3] == [1001.0, 1002.0, 1003.0]
    assert len(fired) == len(set(fired))
    keys = sorted(job.key or "" for job in queue.jobs.values())
    assert keys[:3] == ["cron:reports/often:1001", "cron:reports/often:1002", "cron:reports/often:1003"]


async def test_missed_ticks_are_coalesced_into_the_latest() -> None:
    queue = MemoryJobQueue()
    schedule = Schedule("reports/often", "* * * * * *")
    clock = Clock(1000.0)

    async def paused_sleep(seconds: float) -> None:
        clock.now += seconds + (10 if not clock.slept else 0)  # the first wait overruns by 10 s
        clock.slept.append(seconds)
        await asyncio.sleep(0)

    scheduler = Scheduler([schedule], queue, clock=clock, sleep=paused_sleep)
    task = asyncio.create_task(scheduler.run())
    for _ in range(10_000):
        if len(scheduler.fired) >= 3:
            break
        await asyncio.sleep(0)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert [tick for _, tick in scheduler.fired][:3] == [1011.0, 1012.0, 1013.0]


async def test_an_app_runs_its_cron_jobs_on_its_workers() -> None:
    runs: list[str] = []
    group = Group("beat")

    @group.cron("* * * * * *")
    async def tick(params: Any, ctx: Context) -> None:
        runs.append(ctx.meta["x-cron-tick"])

    app = Application("cron-app", groups=[group], http=False, environ={"LOG_LEVEL": "WARNING"}, env_file=None)
    await app.start()
    try:
        for _ in range(400):
            if runs:
                break
            await asyncio.sleep(0.01)
        assert runs
        assert runs[0].endswith("+00:00")
    finally:
        await app.stop()
