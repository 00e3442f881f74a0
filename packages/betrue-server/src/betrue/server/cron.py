"""Cron: schedules declared in code enqueue a command at each tick, once across every instance.

``@group.cron("*/5 * * * *", tz="Europe/Paris")`` on ``async def handler(params, ctx)`` registers the
handler as the hidden command ``<group>/<function name>`` and a schedule. Every instance running a
scheduler (``JOBS_CRON``) wakes at each tick; the queue's ``claim_tick`` lets exactly one of them enqueue
the tick's job (key ``cron:<code>:<tick>``). Expressions are croniter's: five fields, or six with seconds
last (``* * * * * */10``: every ten seconds).

Missed ticks: ticks that fall while no instance runs are not caught up. A scheduler that wakes late
(a busy loop, a paused machine) runs only the latest tick it passed, once, and goes on from there.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter
from loguru import logger

if TYPE_CHECKING:
    from betrue.server.application import Application
    from betrue.server.jobqueue import JobQueue

__all__ = ["Schedule", "Scheduler"]

_CATCH_UP_LIMIT = 10_000


@dataclass(frozen=True, slots=True, eq=False)
class Schedule:
    """Enqueue ``code`` with ``params`` at every tick of ``expression`` in time zone ``tz``.

    Example:
        >>> s = Schedule("reports/daily", "0 6 * * *", tz="UTC")
        >>> s.next_after(0.0)  # 1970-01-01 06:00 UTC
        21600.0
    """

    code: str
    expression: str
    tz: str = "UTC"
    params: Mapping[str, Any] = field(default_factory=dict)
    max_attempts: int | None = None

    def __post_init__(self) -> None:
        if not croniter.is_valid(self.expression):
            raise ValueError(f"cron {self.code!r}: {self.expression!r} is not a valid cron expression")
        try:
            ZoneInfo(self.tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"cron {self.code!r}: unknown time zone {self.tz!r}") from None

    def next_after(self, moment: float) -> float:
        """The first tick strictly after the Unix time ``moment``."""
        start = datetime.fromtimestamp(moment, ZoneInfo(self.tz))
        following: datetime = croniter(self.expression, start).get_next(datetime)
        return following.timestamp()

    def latest_until(self, tick: float, now: float) -> float:
        """The last tick at or before ``now``, starting from the passed ``tick`` (the missed-ticks rule)."""
        for _ in range(_CATCH_UP_LIMIT):
            following = self.next_after(tick)
            if following > now:
                break
            tick = following
        return tick


class Scheduler:
    """Wakes at each tick of each schedule and enqueues the tick's job if no other instance did.

    ``clock`` and ``sleep`` can be replaced (tests drive time by hand).

    Example:
        >>> # Scheduler([Schedule("reports/daily", "0 6 * * *")], queue).start()
    """

    def __init__(
        self,
        schedules: list[Schedule],
        queue: JobQueue,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.schedules = schedules
        self.queue = queue
        self.clock = clock
        self.sleep = sleep
        self.fired: list[tuple[str, float]] = []
        """The ticks this instance enqueued (schedule code, tick)."""
        self._task: asyncio.Task[None] | None = None

    @classmethod
    def of_app(cls, app: Application, queue: JobQueue) -> Scheduler:
        """A scheduler for every schedule the app's groups declare."""
        schedules = [schedule for group in app.groups.values() for schedule in getattr(group, "schedules", ())]
        return cls(schedules, queue)

    def start(self) -> None:
        if self.schedules:
            self._task = asyncio.create_task(self.run(), name="betrue-cron")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def run(self) -> None:
        start = self.clock()
        planned = {schedule: schedule.next_after(start) for schedule in self.schedules}
        while True:
            await self.sleep(max(min(planned.values()) - self.clock(), 0.0))
            now = self.clock()
            for schedule, tick in planned.items():
                if tick > now:
                    continue
                latest = schedule.latest_until(tick, now)
                try:
                    await self.fire(schedule, latest)
                except Exception:
                    logger.opt(exception=True).error("cron {}: enqueueing the tick {} failed", schedule.code, latest)
                planned[schedule] = schedule.next_after(latest)

    async def fire(self, schedule: Schedule, tick: float) -> bool:
        """Enqueue the job of ``tick`` unless another instance did; True when this one did."""
        if not await self.queue.claim_tick(schedule.code, tick):
            return False
        stamp = datetime.fromtimestamp(tick, ZoneInfo(schedule.tz)).isoformat()
        await self.queue.enqueue(
            schedule.code,
            schedule.params,
            key=f"cron:{schedule.code}:{tick:.0f}",
            max_attempts=schedule.max_attempts,
            meta={"x-cron-tick": stamp},
        )
        self.fired.append((schedule.code, tick))
        return True
