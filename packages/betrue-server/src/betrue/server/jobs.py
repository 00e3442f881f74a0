"""Background jobs: the JobQueue interface and its in-process implementation (the embedded default).

A job is a command run later by a worker: ``await ctx.enqueue("mail/send", params, delay=5, key="m-1")``.
A queue is an Adapter: its workers serve commands taken from the queue, through the same pipeline
(validation, logging, tracing) as HTTP. Delivery is at-least-once with retries and backoff; the memory
queue keeps jobs only while the process lives (PostgreSQL and JetStream queues keep them across restarts).
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import os
import time
from abc import abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from loguru import logger

from betrue.config import Config, env
from betrue.server.adapters.base import Adapter

if TYPE_CHECKING:
    from betrue.server.application import Application

__all__ = ["Job", "JobQueue", "JobsConfig", "MemoryJobQueue"]


@dataclass(slots=True)
class Job:
    """One unit of background work; JSON-able so any backend can store it."""

    code: str
    params: Mapping[str, Any]
    id: str = field(default_factory=lambda: os.urandom(12).hex())
    key: str | None = None
    run_at: float = field(default_factory=time.time)
    attempt: int = 0
    max_attempts: int = 4
    meta: Mapping[str, str] = field(default_factory=dict)
    last_error: str | None = None


class JobsConfig(Config):
    """Settings of the in-process job queue and its workers."""

    workers: int = env("JOBS_WORKERS", 4, description="Jobs run at once by this process (0: enqueue only)")
    retries: int = env("JOBS_RETRIES", 3, description="Retries of a failed job before it is a dead letter")
    backoff: float = env("JOBS_BACKOFF", 0.5, description="Seconds before the first retry; doubles each time")
    backoff_max: float = env("JOBS_BACKOFF_MAX", 60.0, description="Longest wait between two retries, seconds")


class JobQueue(Adapter):
    """Stores jobs and runs them with ``Application.handle(code, params, adapter="job")``.

    A failed attempt (5xx or an exception) is retried with exponential backoff; a 4xx answer is final
    (the input will not get better). Jobs that used up their attempts are kept as dead letters.
    """

    config: JobsConfig

    @abstractmethod
    async def enqueue(
        self,
        code: str,
        params: Mapping[str, Any] | None = None,
        *,
        delay: float = 0.0,
        key: str | None = None,
        retries: int | None = None,
        meta: Mapping[str, str] | None = None,
    ) -> str:
        """Store a job; returns its id. With ``key``, a job with the same key still pending is kept instead."""

    def backoff(self, attempt: int) -> float:
        return float(min(self.config.backoff * (2 ** max(attempt - 1, 0)), self.config.backoff_max))


class MemoryJobQueue(JobQueue):
    """The embedded default: a heap ordered by run time, worked by ``JOBS_WORKERS`` tasks."""

    name = "jobs"
    config_class = JobsConfig

    def __init__(self, config: JobsConfig | None = None, **deps: Any) -> None:
        super().__init__(config or JobsConfig.from_dict({}), **deps)
        self._heap: list[tuple[float, int, Job]] = []
        self._order = itertools.count()
        self._keys: dict[str, str] = {}
        self._wakeup = asyncio.Event()
        self._workers: list[asyncio.Task[None]] = []
        self._running: set[str] = set()
        self._app: Application | None = None
        self.dead: list[Job] = []
        self.done = 0

    async def enqueue(
        self,
        code: str,
        params: Mapping[str, Any] | None = None,
        *,
        delay: float = 0.0,
        key: str | None = None,
        retries: int | None = None,
        meta: Mapping[str, str] | None = None,
    ) -> str:
        if key is not None and key in self._keys:
            return self._keys[key]
        attempts = (self.config.retries if retries is None else retries) + 1
        job = Job(code, dict(params or {}), key=key, run_at=time.time() + delay, max_attempts=attempts)
        job.meta = dict(meta or {})
        if key is not None:
            self._keys[key] = job.id
        self._push(job)
        return job.id

    def pending(self) -> int:
        return len(self._heap) + len(self._running)

    def _push(self, job: Job) -> None:
        heapq.heappush(self._heap, (job.run_at, next(self._order), job))
        self._wakeup.set()

    async def serve(self, app: Application) -> None:
        self._app = app
        self._workers = [asyncio.create_task(self._work()) for _ in range(self.config.workers)]

    async def close_listeners(self) -> None:
        for worker in self._workers:
            worker.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        self._workers.clear()

    async def _next(self) -> Job:
        while True:
            if self._heap:
                wait = self._heap[0][0] - time.time()
                if wait <= 0:
                    return heapq.heappop(self._heap)[2]
            else:
                wait = None
            self._wakeup.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), wait)

    async def _work(self) -> None:
        assert self._app is not None
        while True:
            job = await self._next()
            self._running.add(job.id)
            try:
                await self._attempt(self._app, job)
            finally:
                self._running.discard(job.id)

    async def _attempt(self, app: Application, job: Job) -> None:
        job.attempt += 1
        meta = {**job.meta, "x-job-id": job.id, "x-job-attempt": str(job.attempt)}
        try:
            response = await app.handle(job.code, job.params, meta, adapter="job")
        except asyncio.CancelledError:
            job.attempt -= 1  # not this job's fault: run it again later
            self._push(job)
            raise
        if response.error is None:
            self.done += 1
            self._forget(job)
            return
        job.last_error = f"{response.status}: {response.error.message}"
        if response.code < 500 or job.attempt >= job.max_attempts:
            logger.error(
                "job {} ({}) failed for good after {} attempts: {}", job.id, job.code, job.attempt, job.last_error
            )
            self.dead.append(job)
            self._forget(job)
            return
        job.run_at = time.time() + self.backoff(job.attempt)
        self._push(job)

    def _forget(self, job: Job) -> None:
        if job.key is not None and self._keys.get(job.key) == job.id:
            del self._keys[job.key]
