"""The job worker: claims jobs from a queue, runs them through the app's pipeline, keeps their leases alive.

The same worker serves every backend. Per job it runs ``app.handle(code, params, adapter="job")`` with
the job's timeout, sends a heartbeat every third of ``JOBS_LEASE``, and writes the outcome with the
attempt number as fencing token: a worker that lost its lease (it froze, the job was cancelled or taken
over) has its completion rejected, and stops the handler at its next heartbeat.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from loguru import logger
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind, StatusCode

from betrue.server.jobmetrics import JobMetrics
from betrue.server.observability._tracing import noop
from betrue.server.response import Response

if TYPE_CHECKING:
    from betrue.server.application import Application
    from betrue.server.jobqueue import Job, JobQueue

__all__ = ["JobWorker", "outcome_of"]


def outcome_of(response: Response, job: Job) -> tuple[str, bool]:
    """(error text, final?) of a failed answer: a 4xx cannot get better by retrying; nor can a last try."""
    error = f"{response.status}: {response.error.message if response.error is not None else ''}"
    return error, response.code < 500 or job.attempt >= job.max_attempts


class JobWorker:
    """Runs up to ``concurrency`` jobs of ``queue`` at once until stopped.

    Example:
        >>> # worker = JobWorker(app, app.service("jobs"), concurrency=8); worker.start(); ...
        >>> # await worker.stop(grace=10)   # running jobs finish or go back to the queue
    """

    def __init__(self, app: Application, queue: JobQueue, *, concurrency: int) -> None:
        self.app = app
        self.queue = queue
        self.concurrency = concurrency
        self.running: dict[asyncio.Task[None], Job] = {}
        self.metrics = JobMetrics.of(app.telemetry, queue)
        self.rejected = 0
        """Outcomes refused because this attempt had lost its lease (fenced off)."""
        self._tracer = app.telemetry.tracer
        self._loop: asyncio.Task[None] | None = None
        self._slot = asyncio.Event()
        self._stopping = False
        self.ready = False

    def start(self) -> None:
        self._loop = asyncio.create_task(self._claim_loop(), name="betrue-jobs-worker")

    async def _claim_loop(self) -> None:
        poll = self.queue.config.poll
        self.ready = True
        while not self._stopping:
            free = self.concurrency - len(self.running)
            if free <= 0:
                self._slot.clear()
                await self._slot.wait()
                continue
            try:
                await self.metrics.refresh()  # at most every few seconds, and only while a meter records
                jobs = await self.queue.claim(free)
            except Exception:
                logger.opt(exception=True).error("claiming jobs failed; trying again in {}s", poll)
                await asyncio.sleep(poll)
                continue
            for job in jobs:
                task = asyncio.create_task(self._run(job), name=f"betrue-job-{job.id}")
                self.running[task] = job
                task.add_done_callback(self._finished)
            if not jobs:
                try:
                    await self.queue.wait(poll)
                except Exception:
                    await asyncio.sleep(poll)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self.running.pop(task, None)
        self._slot.set()

    async def _run(self, job: Job) -> None:
        try:
            await self._traced(job)
        except Exception:  # the queue's store failed (connection lost...): the lease runs out, the job runs again
            logger.opt(exception=True).error("job {} attempt {}: could not be run or recorded", job.id, job.attempt)

    async def _traced(self, job: Job) -> None:
        meta = {**job.meta, "x-job-id": job.id, "x-job-attempt": str(job.attempt)}
        started = time.perf_counter()
        span = None
        if not noop(self._tracer):
            parent = propagate.extract(job.meta)
            span = self._tracer.start_span(f"job {job.code}", context=parent, kind=SpanKind.CONSUMER)
            span.set_attribute("betrue.job.id", job.id)
            span.set_attribute("betrue.job.attempt", job.attempt)
        with trace.use_span(span, end_on_exit=True) if span is not None else contextlib.nullcontext():
            if span is not None:
                propagate.inject(meta)  # the command's span is a child of the job's, itself the enqueuer's
            outcome = await self._attempt(job, meta)
            if span is not None and outcome != "done":
                span.set_status(StatusCode.ERROR, outcome)
        self.metrics.ran(job.code, outcome, time.perf_counter() - started)

    async def _attempt(self, job: Job, meta: Mapping[str, str]) -> str:
        handling = asyncio.create_task(self.app.handle(job.code, job.params, meta, adapter="job"))
        beating = asyncio.create_task(self._heartbeats(job, handling))
        try:
            response = await asyncio.wait_for(asyncio.shield(handling), job.timeout)
        except TimeoutError:
            handling.cancel()
            with contextlib.suppress(BaseException):
                await handling
            response = None
        except asyncio.CancelledError:
            handling.cancel()
            with contextlib.suppress(BaseException):
                await handling
            if beating.done() and not beating.cancelled() and beating.result() is False:
                self.rejected += 1
                return "lost"
            raise  # the worker is stopping: it hands the job back
        finally:
            beating.cancel()
        if response is None:
            error = f"GatewayTimeout: the job ran longer than its timeout of {job.timeout}s"
            final = job.attempt >= job.max_attempts
            outcome = "dead" if final else "retry"
            return await self._record(job, self.queue.fail(job, error, None if final else self._retry_at(job)), outcome)
        if response.error is None:
            return await self._record(job, self.queue.complete(job, response.result), "done")
        error, final = outcome_of(response, job)
        if final:
            logger.error("job {} ({}) failed for good after {} attempts: {}", job.id, job.code, job.attempt, error)
        outcome = "dead" if final else "retry"  # a 4xx is final at once, whatever attempts are left
        return await self._record(job, self.queue.fail(job, error, None if final else self._retry_at(job)), outcome)

    def _retry_at(self, job: Job) -> float:
        return time.time() + self.queue.backoff(job.attempt)

    async def _record(self, job: Job, write: Any, outcome: str) -> str:
        accepted = await write
        if not accepted:
            self.rejected += 1
            logger.warning("job {} attempt {}: its outcome was rejected (lease lost)", job.id, job.attempt)
            return "rejected"
        return outcome

    async def _heartbeats(self, job: Job, handling: asyncio.Task[Response]) -> bool:
        """Keep the lease; when it is lost, stop the handler (its outcome would be rejected anyway)."""
        every = self.queue.config.lease / 3
        while True:
            await asyncio.sleep(every)
            try:
                kept = await self.queue.heartbeat(job)
            except Exception:
                logger.opt(exception=True).warning("job {}: heartbeat failed", job.id)
                continue
            if not kept:
                logger.warning("job {} attempt {}: lease lost (cancelled/taken over); stopping it", job.id, job.attempt)
                handling.cancel()
                return False

    async def stop(self, grace: float) -> None:
        """Stop claiming; wait up to ``grace`` seconds for running jobs, then hand the rest back."""
        self._stopping = True
        self._slot.set()
        if self._loop is not None:
            self._loop.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop
        if self.running:
            await asyncio.wait(list(self.running), timeout=grace)
        left = dict(self.running)
        for task in left:
            task.cancel()
        await asyncio.gather(*left, return_exceptions=True)
        for job in left.values():
            with contextlib.suppress(Exception):
                await self.queue.release(job)
        self.ready = False
