"""The job record, the ``JobQueue`` interface every backend implements, and its settings (see ``betrue.server.jobs``).

A job is a command run later by a worker: ``await ctx.enqueue("mail/send", params, delay=5, key="m-1")``.
A queue is an Adapter: its workers (``betrue.server.worker``) claim jobs and run them through the same
pipeline (validation, logging, tracing) as HTTP. Delivery is at-least-once with retries and backoff.
Backends: ``MemoryJobQueue`` (embedded default, ``betrue.server.jobmemory``), PostgreSQL
(``betrue.postgres``) and JetStream (``betrue.nats``); they store jobs, the worker logic is shared.
"""

from __future__ import annotations

import os
import random
import time
from abc import abstractmethod
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal, get_args

from betrue.config import Config, env
from betrue.server.adapters.base import Adapter
from betrue.server.errors import ValidationError

if TYPE_CHECKING:
    from betrue.server.application import Application
    from betrue.server.cron import Scheduler
    from betrue.server.worker import JobWorker

__all__ = ["FINISHED", "JOB_STATES", "Job", "JobQueue", "JobState", "JobsConfig"]

JobState = Literal["queued", "running", "done", "failed", "dead", "cancelled"]
"""``failed``: an attempt failed and the job waits for its next try; ``dead``: no try is left."""
JOB_STATES: tuple[JobState, ...] = get_args(JobState)
FINISHED: frozenset[str] = frozenset({"done", "dead", "cancelled"})


@dataclass(slots=True)
class Job:
    """One unit of background work; JSON-able (``to_dict``) so any backend can store it.

    ``attempt`` counts the tries started; it is also the fencing token: only the worker holding the
    current attempt may finish the job.
    """

    code: str
    params: Mapping[str, Any]
    id: str = field(default_factory=lambda: os.urandom(12).hex())
    key: str | None = None
    run_at: float = field(default_factory=time.time)
    attempt: int = 0
    max_attempts: int = 4
    meta: Mapping[str, str] = field(default_factory=dict)
    last_error: str | None = None
    priority: int = 0
    timeout: float | None = None
    state: JobState = "queued"
    result: Any = None
    created_at: float = field(default_factory=time.time)
    finished_at: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """The job as JSON-able data (``_jobs/get`` answers it; backends may store it)."""
        data = asdict(self)
        data["params"], data["meta"] = dict(self.params), dict(self.meta)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Job:
        return cls(**{name: data[name] for name in cls.__dataclass_fields__ if name in data})


class JobsConfig(Config):
    """Settings of the job queue and its workers (every backend reads these)."""

    queue: str = env(
        "JOBS_QUEUE",
        "",
        description="Name of this app's queue in a store shared by several apps (PostgreSQL, JetStream); "
        "empty: the app's name",
    )
    workers: int = env("JOBS_WORKERS", 4, description="Jobs run at once by this process (0: enqueue only)", ge=0)
    retries: int = env(
        "JOBS_RETRIES", 3, description="Retries of a failed job before it is a dead letter (max_attempts - 1)", ge=0
    )
    backoff: float = env("JOBS_BACKOFF", 0.5, description="Seconds before the first retry; doubles each time", ge=0)
    backoff_max: float = env("JOBS_BACKOFF_MAX", 60.0, description="Longest wait between two retries, seconds", ge=0)
    jitter: float = env(
        "JOBS_JITTER", 0.2, description="Random share added to each backoff (0.2: up to 20% longer)", ge=0, le=1
    )
    lease: float = env(
        "JOBS_LEASE",
        30.0,
        description="Seconds a claimed job stays with its worker without a heartbeat; then another worker takes it",
        ge=0.001,
    )
    poll: float = env(
        "JOBS_POLL", 1.0, description="Seconds between two looks for due jobs when no wake-up came", ge=0.001
    )
    results_ttl: float = env(
        "JOBS_RESULTS_TTL", 86400.0, description="Seconds done and cancelled jobs (and their results) are kept", ge=0
    )
    grace: float = env(
        "JOBS_GRACE",
        10.0,
        description="Seconds a stopping worker lets running jobs finish; the rest are handed back to the queue",
        ge=0,
    )
    cron: bool = env("JOBS_CRON", True, description="Run the cron schedules declared in code in this process")


class JobQueue(Adapter):
    """Stores jobs; its workers claim and run them with ``Application.handle(code, params, adapter="job")``.

    A backend implements the storage methods (``add``, ``claim``, ``heartbeat``, ``complete``, ``fail``,
    ``release``, ``get``, ``list``, ``cancel``, ``retry_dead``, ``claim_tick``, ``wait``, ``stats``); the
    retry policy, leases, timeouts and cron are shared (``betrue.server.worker``, ``betrue.server.cron``).

    Example:
        >>> # job_id = await app.service("jobs").enqueue("mail/send", {"to": "ann"}, key="welcome-ann")
        >>> # (await queue.get(job_id)).state  -> 'queued' | 'running' | 'done' | ...
    """

    name = "jobs"
    config_class = JobsConfig
    config: JobsConfig

    def __init__(self, config: JobsConfig | None = None, **deps: Any) -> None:
        super().__init__(config or JobsConfig.from_dict({}), **deps)
        self.worker: JobWorker | None = None
        self.scheduler: Scheduler | None = None
        self.queue_name = self.config.queue
        """This app's queue in a shared store: ``JOBS_QUEUE``, else the app's name (set by ``attach``)."""

    def attach(self, app: Application) -> None:
        """Learn the app this queue serves (its name names the queue when ``JOBS_QUEUE`` is empty)."""
        if not self.queue_name:
            self.queue_name = app.name

    async def enqueue(
        self,
        code: str,
        params: Mapping[str, Any] | None = None,
        *,
        delay: float = 0.0,
        at: float | None = None,
        key: str | None = None,
        priority: int = 0,
        max_attempts: int | None = None,
        timeout: float | None = None,
        retries: int | None = None,
        meta: Mapping[str, str] | None = None,
    ) -> str:
        """Store a job; returns its id. With ``key``, a queued or running job with that key is kept instead.

        ``at`` is a Unix time, ``delay`` seconds from now (the later of both wins); ``priority``: higher
        runs first among due jobs; ``retries`` is the older spelling of ``max_attempts - 1``.
        """
        return await self.add(self.build(code, params, delay, at, key, priority, max_attempts, timeout, retries, meta))

    def build(
        self,
        code: str,
        params: Mapping[str, Any] | None,
        delay: float = 0.0,
        at: float | None = None,
        key: str | None = None,
        priority: int = 0,
        max_attempts: int | None = None,
        timeout: float | None = None,
        retries: int | None = None,
        meta: Mapping[str, str] | None = None,
    ) -> Job:
        """The job ``enqueue`` stores, with its arguments checked (``ValidationError`` for bad ones)."""
        if max_attempts is None:
            max_attempts = (self.config.retries if retries is None else retries) + 1
        problems = []
        if max_attempts < 1:
            problems.append("max_attempts must be at least 1")
        if delay < 0:
            problems.append("delay must not be negative")
        if timeout is not None and timeout <= 0:
            problems.append("timeout must be positive")
        if not -(2**31) < priority < 2**31:
            problems.append("priority must fit in 32 bits")
        if key is not None and not 0 < len(key) <= 512:
            problems.append("key must be 1 to 512 characters")
        if problems:
            raise ValidationError("; ".join(problems), details={"reason": "bad_job"})
        run_at = time.time() + delay
        if at is not None:
            run_at = max(run_at, at)
        return Job(
            code,
            dict(params or {}),
            key=key,
            run_at=run_at,
            max_attempts=max_attempts,
            meta=dict(meta or {}),
            priority=priority,
            timeout=timeout,
        )

    def backoff(self, attempt: int) -> float:
        """Seconds before the retry after ``attempt`` failed: exponential, capped, plus jitter."""
        base = min(self.config.backoff * (2 ** max(attempt - 1, 0)), self.config.backoff_max)
        return float(base * (1 + random.random() * self.config.jitter))

    # -- storage: what a backend implements -----------------------------------------------------------

    @abstractmethod
    async def add(self, job: Job) -> str:
        """Store a queued job; with a key already queued or running, answer that job's id and store nothing."""

    @abstractmethod
    async def claim(self, limit: int) -> list[Job]:
        """Take up to ``limit`` due jobs (highest priority first): running, ``attempt`` + 1, leased for ``lease``.

        Jobs whose lease ran out are due again (their worker died or froze); one whose attempts are used
        up becomes a dead letter instead.
        """

    @abstractmethod
    async def heartbeat(self, job: Job) -> bool:
        """Extend the lease of a running job; False when this attempt lost it (cancelled, taken over)."""

    @abstractmethod
    async def complete(self, job: Job, result: Any) -> bool:
        """Mark this attempt done with its result; False (nothing written) when the attempt is not current."""

    @abstractmethod
    async def fail(self, job: Job, error: str, retry_at: float | None) -> bool:
        """Record a failed attempt: queued again at ``retry_at``, or dead when None; False when fenced off."""

    @abstractmethod
    async def release(self, job: Job) -> None:
        """Hand a running job back unfinished (a worker stopping); the try is not counted against it."""

    @abstractmethod
    async def get(self, job_id: str) -> Job | None:
        """The job, or None when unknown (or finished longer ago than ``JOBS_RESULTS_TTL``)."""

    @abstractmethod
    async def list(self, state: JobState | None = None, limit: int = 100) -> list[Job]:
        """Jobs in ``state`` (all when None), oldest first, at most ``limit``."""

    @abstractmethod
    async def cancel(self, job_id: str) -> bool:
        """Cancel a job not finished yet (a running one is stopped at its next heartbeat); False otherwise."""

    @abstractmethod
    async def retry_dead(self, job_id: str) -> bool:
        """Queue a dead letter again with a fresh budget of ``JOBS_RETRIES`` + 1 tries; False if not dead."""

    @abstractmethod
    async def claim_tick(self, schedule: str, tick: float) -> bool:
        """True for exactly one caller per (schedule, tick) across every instance sharing this queue."""

    @abstractmethod
    async def wait(self, timeout: float) -> None:
        """Return when new work may be due (a wake-up) or after ``timeout`` seconds."""

    @abstractmethod
    async def stats(self) -> dict[str, float]:
        """Jobs by state and ``oldest_queued_age`` (seconds the oldest due job has waited)."""

    # -- the adapter: workers and cron ----------------------------------------------------------------

    async def serve(self, app: Application) -> None:
        """Start ``JOBS_WORKERS`` workers and, with ``JOBS_CRON``, the cron scheduler."""
        from betrue.server.cron import Scheduler
        from betrue.server.worker import JobWorker

        self.attach(app)
        if self.config.workers > 0:
            self.worker = JobWorker(app, self, concurrency=self.config.workers)
            self.worker.start()
        if self.config.cron:
            self.scheduler = Scheduler.of_app(app, self)
            self.scheduler.start()

    async def close_listeners(self) -> None:
        """Stop claiming and scheduling; running jobs get ``JOBS_GRACE`` seconds, then go back to the queue."""
        if self.scheduler is not None:
            await self.scheduler.stop()
            self.scheduler = None
        if self.worker is not None:
            await self.worker.stop(self.config.grace)
            self.worker = None
