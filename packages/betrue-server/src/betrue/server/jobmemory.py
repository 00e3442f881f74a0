"""The in-process job queue: the embedded default. Jobs live as long as the process does."""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import time
from dataclasses import replace
from typing import Any

from betrue.server.jobqueue import FINISHED, Job, JobQueue, JobsConfig, JobState

__all__ = ["MemoryJobQueue"]


class MemoryJobQueue(JobQueue):
    """Jobs in a dict, due ones in a heap by (priority, run time); one process, so no lease can be lost
    to another worker, but the lease and fencing rules are the same as in the durable backends.

    Example:
        >>> from betrue.server import Application
        >>> app = Application("demo", http=False)   # its service "jobs" is a MemoryJobQueue
    """

    def __init__(self, config: JobsConfig | None = None, **deps: Any) -> None:
        super().__init__(config, **deps)
        self.jobs: dict[str, Job] = {}
        self._later: list[tuple[float, int, str]] = []  # (run_at, seq, id): not due yet
        self._ready: list[tuple[int, float, int, str]] = []  # (-priority, run_at, seq, id): due
        self._order = itertools.count()
        self._keys: dict[str, str] = {}
        self._leases: dict[str, float] = {}
        self._ticks: set[tuple[str, float]] = set()
        self._wakeup = asyncio.Event()

    @property
    def dead(self) -> list[Job]:
        """The dead letters, oldest first (kept until retried or cancelled)."""
        return [job for job in self.jobs.values() if job.state == "dead"]

    @property
    def done(self) -> int:
        return sum(job.state == "done" for job in self.jobs.values())

    def pending(self) -> int:
        """Jobs not finished yet (queued, failed waiting for a retry, or running)."""
        return sum(job.state not in FINISHED for job in self.jobs.values())

    async def add(self, job: Job) -> str:
        if job.key is not None:
            holder = self._keys.get(job.key)
            if holder is not None and self.jobs[holder].state in ("queued", "running", "failed"):
                return holder
            self._keys[job.key] = job.id
        self.jobs[job.id] = job
        self._push(job)
        return job.id

    def _push(self, job: Job) -> None:
        heapq.heappush(self._later, (job.run_at, next(self._order), job.id))
        self._wakeup.set()

    async def claim(self, limit: int) -> list[Job]:
        now = time.time()
        self._reap(now)
        while self._later and self._later[0][0] <= now:
            run_at, seq, job_id = heapq.heappop(self._later)
            job = self.jobs.get(job_id)
            if job is not None:
                heapq.heappush(self._ready, (-job.priority, run_at, seq, job_id))
        claimed: list[Job] = []
        while self._ready and len(claimed) < limit:
            _, run_at, _, job_id = heapq.heappop(self._ready)
            job = self.jobs.get(job_id)
            if job is None or job.state not in ("queued", "failed") or job.run_at != run_at:
                continue  # cancelled, finished, or queued again with a newer entry
            job.state, job.attempt = "running", job.attempt + 1
            self._leases[job.id] = now + self.config.lease
            claimed.append(replace(job))  # the worker's copy keeps its attempt: the fencing token
        return claimed

    def _reap(self, now: float) -> None:
        for job_id, until in list(self._leases.items()):
            if until < now:
                job = self.jobs[job_id]
                del self._leases[job_id]
                self._retry_or_bury(job, "worker lost: lease expired", now)

    def _retry_or_bury(self, job: Job, error: str, now: float) -> None:
        job.last_error = error
        if job.attempt >= job.max_attempts:
            self._finish(job, "dead")
        else:
            job.state, job.run_at = "failed", now
            self._push(job)

    def _current(self, job: Job) -> Job | None:
        stored = self.jobs.get(job.id)
        if stored is None or stored.state != "running" or stored.attempt != job.attempt:
            return None
        return stored

    async def heartbeat(self, job: Job) -> bool:
        if self._current(job) is None:
            return False
        self._leases[job.id] = time.time() + self.config.lease
        return True

    async def complete(self, job: Job, result: Any) -> bool:
        stored = self._current(job)
        if stored is None:
            return False
        stored.result = result
        self._finish(stored, "done")
        return True

    async def fail(self, job: Job, error: str, retry_at: float | None) -> bool:
        stored = self._current(job)
        if stored is None:
            return False
        self._leases.pop(job.id, None)
        stored.last_error = error
        if retry_at is None:
            self._finish(stored, "dead")
        else:
            stored.state, stored.run_at = "failed", retry_at
            self._push(stored)
        return True

    async def release(self, job: Job) -> None:
        stored = self._current(job)
        if stored is not None:
            self._leases.pop(job.id, None)
            stored.state, stored.max_attempts = "queued", stored.max_attempts + 1
            stored.run_at = time.time()
            self._push(stored)

    def _finish(self, job: Job, state: JobState) -> None:
        job.state, job.finished_at = state, time.time()
        self._leases.pop(job.id, None)
        if job.key is not None and self._keys.get(job.key) == job.id:
            del self._keys[job.key]

    async def get(self, job_id: str) -> Job | None:
        self._purge()
        job = self.jobs.get(job_id)
        return replace(job) if job is not None else None

    async def list(self, state: JobState | None = None, limit: int = 100) -> list[Job]:
        self._purge()
        found = [job for job in self.jobs.values() if state is None or job.state == state]
        return [replace(job) for job in sorted(found, key=lambda job: job.created_at)[:limit]]

    def _purge(self) -> None:
        horizon = time.time() - self.config.results_ttl
        for job_id, job in list(self.jobs.items()):
            if job.state in ("done", "cancelled") and job.finished_at is not None and job.finished_at < horizon:
                del self.jobs[job_id]

    async def cancel(self, job_id: str) -> bool:
        job = self.jobs.get(job_id)
        if job is None or job.state in ("done", "cancelled"):
            return False
        self._finish(job, "cancelled")
        return True

    async def retry_dead(self, job_id: str) -> bool:
        job = self.jobs.get(job_id)
        if job is None or job.state != "dead":
            return False
        if job.key is not None:
            if self._keys.get(job.key, job.id) != job.id:
                return False  # another job holds the key now
            self._keys[job.key] = job.id
        job.state, job.run_at, job.finished_at = "queued", time.time(), None
        job.max_attempts = job.attempt + self.config.retries + 1
        self._push(job)
        return True

    async def claim_tick(self, schedule: str, tick: float) -> bool:
        if (schedule, tick) in self._ticks:
            return False
        self._ticks.add((schedule, tick))
        return True

    async def wait(self, timeout: float) -> None:
        self._wakeup.clear()
        if self._ready:
            return
        if self._later:
            timeout = min(timeout, max(self._later[0][0] - time.time(), 0.0))
        if self._leases:
            timeout = min(timeout, max(min(self._leases.values()) - time.time(), 0.0))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wakeup.wait(), timeout)

    async def stats(self) -> dict[str, float]:
        counts: dict[str, float] = dict.fromkeys(("queued", "running", "done", "failed", "dead", "cancelled"), 0)
        now, oldest = time.time(), 0.0
        for job in self.jobs.values():
            counts[job.state] += 1
            if job.state in ("queued", "failed") and job.run_at <= now:
                oldest = max(oldest, now - job.run_at)
        counts["oldest_queued_age"] = oldest
        return counts
