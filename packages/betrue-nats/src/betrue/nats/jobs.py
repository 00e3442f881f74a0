"""The JetStream job queue: a work-queue stream per app, job records in a key-value bucket.

Each job is one message on ``<prefix>.jobs.<queue>`` in the stream ``<PREFIX>_JOBS_<QUEUE>``, published
with a ``Nats-Msg-Id`` fixed before the first try (a publish retried after a timeout stores one job).
Its record (state, attempt, result, last error) lives in the bucket ``<PREFIX>_JOBS_<QUEUE>``; every
change of a record is a compare-and-set on its revision, and the attempt number in it is the fencing
token. Leases are JetStream's AckWait (``JOBS_LEASE``) kept alive with ``in_progress``; a retry or a
delay is a ``nak`` with a delay (scheduled redelivery); a dead letter is copied to the stream
``<PREFIX>_JOBS_<QUEUE>_DEAD`` and ``term``-ed.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import hashlib
import re
import time
from typing import Any

import nats
from nats.js import api
from nats.js.errors import BadRequestError, KeyNotFoundError, KeyWrongLastSequenceError, NoKeysError, NotFoundError

from betrue.config import env
from betrue.server import decode_json, encode_json
from betrue.server.ext import Job, JobQueue, JobsConfig, JobState

__all__ = ["JetStreamJobQueue", "JetStreamJobsConfig", "drop_streams"]

_NAME = re.compile(r"[^A-Za-z0-9_-]")
_CAS_TRIES = 20


class JetStreamJobsConfig(JobsConfig):
    """Settings of the JetStream job queue (and every ``JOBS_*`` setting of the workers)."""

    url: str = env("JOBS_NATS_URL", "nats://127.0.0.1:4222", description="NATS server with JetStream for the jobs")
    prefix: str = env("JOBS_JS_PREFIX", "betrue", description="Prefix of the jobs' subjects, streams and buckets")
    replicas: int = env("JOBS_JS_REPLICAS", 1, description="Replicas of the jobs stream and bucket (cluster)", ge=1)


class JetStreamJobQueue(JobQueue):
    """Jobs on NATS JetStream; see the module docstring for how leases, retries and dead letters map.

    Example:
        >>> from betrue.server import Application
        >>> app = Application("shop", http=False)
        >>> spec = app.replace_service("jobs", JetStreamJobQueue)   # JOBS_NATS_URL=nats://...
    """

    config_class = JetStreamJobsConfig
    config: JetStreamJobsConfig

    def __init__(self, config: JetStreamJobsConfig | None = None, *, connection: Any = None, **deps: Any) -> None:
        super().__init__(config or JetStreamJobsConfig.from_dict({}), **deps)
        self.connection: Any = connection
        self._own_connection = connection is None
        self.js: Any = None
        self.kv: Any = None
        self._pull: Any = None
        self._messages: dict[tuple[str, int], Any] = {}
        """The message of each attempt this process runs, by (job id, attempt)."""
        self._ready = asyncio.Lock()

    async def start(self) -> JetStreamJobQueue:
        if self.connection is None:
            self.connection = await nats.connect(self.config.url, name="betrue-jobs")
        self.js = self.connection.jetstream()
        return self

    async def close(self) -> None:
        if self._pull is not None:
            await _quietly(self._pull.unsubscribe())
            self._pull = None
        if self._own_connection and self.connection is not None:
            await _quietly(self.connection.close())
            self.connection = None

    # -- names and set-up -----------------------------------------------------------------------------------

    def _names(self) -> tuple[str, str, str, str]:
        """(stream, subject, dead-letter stream, bucket) of this queue."""
        queue = _NAME.sub("_", self.queue_name or "default")
        prefix = _NAME.sub("_", self.config.prefix)
        stream = f"{prefix}_JOBS_{queue}".upper()
        return stream, f"{prefix}.jobs.{queue}", f"{stream}_DEAD", stream

    async def _setup(self) -> None:
        """Create the stream, dead-letter stream, bucket and consumer once (idempotent across processes)."""
        if self.kv is not None:
            return
        async with self._ready:
            if self.kv is not None:
                return
            stream, subject, dead, bucket = self._names()
            replicas = self.config.replicas
            await self.js.add_stream(
                name=stream,
                subjects=[subject],
                retention=api.RetentionPolicy.WORK_QUEUE,
                duplicate_window=120.0,
                num_replicas=replicas,
            )
            await self.js.add_stream(name=dead, subjects=[f"{subject}.dead"], num_replicas=replicas)
            self.kv = await self.js.create_key_value(bucket=bucket, history=1, replicas=replicas)

    async def _subscription(self) -> Any:
        if self._pull is None:
            await self._setup()
            stream, subject, _, _ = self._names()
            consumer = api.ConsumerConfig(
                ack_wait=self.config.lease, max_deliver=-1, ack_policy=api.AckPolicy.EXPLICIT, max_ack_pending=-1
            )
            self._pull = await self.js.pull_subscribe(subject, durable="workers", stream=stream, config=consumer)
        return self._pull

    # -- records: compare-and-set on the bucket --------------------------------------------------------------

    async def _read(self, job_id: str) -> tuple[Job, int] | None:
        try:
            entry = await self.kv.get(f"job.{job_id}")
        except KeyNotFoundError:
            return None
        if entry.value is None:
            return None
        return Job.from_dict(decode_json(entry.value)), entry.revision

    async def _write(self, job: Job, revision: int | None) -> bool:
        value = encode_json(job.to_dict())
        try:
            if revision is None:
                await self.kv.create(f"job.{job.id}", value)
            else:
                await self.kv.update(f"job.{job.id}", value, last=revision)
        except KeyWrongLastSequenceError:
            return False
        return True

    async def _change(self, job_id: str, change: Any) -> Job | None:
        """Apply ``change(job) -> bool`` to the stored record with compare-and-set; the new job, or None."""
        for _ in range(_CAS_TRIES):
            found = await self._read(job_id)
            if found is None:
                return None
            job, revision = found
            if not change(job):
                return None
            if await self._write(job, revision):
                return job
        return None

    # -- enqueue and claim ---------------------------------------------------------------------------------

    async def add(self, job: Job) -> str:
        await self._setup()
        if job.key is not None:
            holder_key = f"key.{_digest(job.key)}"
            for _ in range(_CAS_TRIES):
                try:
                    await self.kv.create(holder_key, job.id.encode())
                    break
                except KeyWrongLastSequenceError:
                    pass
                try:
                    entry = await self.kv.get(holder_key)
                except KeyNotFoundError:
                    continue
                holder = entry.value.decode() if entry.value is not None else ""
                current = await self._read(holder) if holder else None
                if current is not None and current[0].state in ("queued", "failed", "running"):
                    return holder
                await _quietly(self.kv.delete(holder_key, last=entry.revision))  # a finished holder: the key is free
        await self._write(job, None)
        await self._publish(job, job.id)
        return job.id

    async def _publish(self, job: Job, message_id: str) -> None:
        _, subject, _, _ = self._names()
        payload = encode_json(job.to_dict())
        for attempt in range(5):  # same Nats-Msg-Id on every try: a retried publish stores one message
            try:
                await self.js.publish(subject, payload, headers={"Nats-Msg-Id": message_id}, timeout=2.0)
                return
            except nats.errors.TimeoutError:
                if attempt == 4:
                    raise
                await asyncio.sleep(0.1 * (attempt + 1))

    async def claim(self, limit: int) -> list[Job]:
        pull = await self._subscription()
        try:
            messages = await pull.fetch(limit, timeout=self.config.poll)
        except nats.errors.TimeoutError:
            return []
        claimed: list[Job] = []
        for message in messages:
            job = await self._take(message)
            if job is not None:
                claimed.append(job)
        return claimed

    async def _take(self, message: Any) -> Job | None:
        job_id = decode_json(message.data)["id"]
        now = time.time()
        outcome: dict[str, str] = {}

        def start(job: Job) -> bool:
            if job.state in ("done", "dead", "cancelled"):
                outcome["drop"] = job.state
                return False
            if job.run_at > now:
                outcome["later"] = str(job.run_at - now)
                return False
            if job.state == "running" and job.attempt >= job.max_attempts:
                job.state, job.last_error, job.finished_at = "dead", "worker lost: lease expired", now
                outcome["dead"] = "1"
                return True
            if job.state == "running":
                job.last_error = "worker lost: lease expired"
            job.state, job.attempt = "running", job.attempt + 1
            return True

        job = await self._change(job_id, start)
        if job is None:
            if "later" in outcome:
                await message.nak(delay=float(outcome["later"]))
            elif "drop" in outcome or await self._read(job_id) is None:
                await message.ack()
            else:
                await message.nak(delay=self.config.poll)
            return None
        if "dead" in outcome:
            await self._bury(job, message)
            return None
        self._messages[job.id, job.attempt] = message
        return job

    async def _bury(self, job: Job, message: Any) -> None:
        _, subject, _, _ = self._names()
        await self.js.publish(f"{subject}.dead", encode_json(job.to_dict()), headers={"Nats-Msg-Id": job.id})
        await message.term()
        await self._free_key(job)

    async def _free_key(self, job: Job) -> None:
        if job.key is not None:
            holder_key = f"key.{_digest(job.key)}"
            try:
                entry = await self.kv.get(holder_key)
            except KeyNotFoundError:
                return
            if entry.value is not None and entry.value.decode() == job.id:
                await _quietly(self.kv.delete(holder_key, last=entry.revision))

    # -- the fenced writes of a running attempt ------------------------------------------------------------

    def _mine(self, job: Job) -> Any:
        def check(stored: Job) -> bool:
            return stored.state == "running" and stored.attempt == job.attempt

        return check

    async def heartbeat(self, job: Job) -> bool:
        message = self._messages.get((job.id, job.attempt))
        found = await self._read(job.id)
        if message is None or found is None or not self._mine(job)(found[0]):
            return False
        await message.in_progress()
        return True

    async def complete(self, job: Job, result: Any) -> bool:
        def done(stored: Job) -> bool:
            if not self._mine(job)(stored):
                return False
            stored.state, stored.result, stored.finished_at = "done", result, time.time()
            return True

        return await self._settle(job, done, "ack")

    async def fail(self, job: Job, error: str, retry_at: float | None) -> bool:
        def failed(stored: Job) -> bool:
            if not self._mine(job)(stored):
                return False
            stored.last_error = error
            if retry_at is None:
                stored.state, stored.finished_at = "dead", time.time()
            else:
                stored.state, stored.run_at = "failed", retry_at
            return True

        return await self._settle(job, failed, "dead" if retry_at is None else "nak")

    async def release(self, job: Job) -> None:
        def handed_back(stored: Job) -> bool:
            if not self._mine(job)(stored):
                return False
            stored.state, stored.max_attempts, stored.run_at = "queued", stored.max_attempts + 1, time.time()
            return True

        await self._settle(job, handed_back, "nak")

    async def _settle(self, job: Job, change: Any, then: str) -> bool:
        message = self._messages.pop((job.id, job.attempt), None)
        stored = await self._change(job.id, change)
        if stored is None:
            return False  # fenced off: the current attempt belongs to another delivery; leave its message alone
        if message is not None:
            if then == "ack":
                await message.ack()
            elif then == "dead":
                await self._bury(stored, message)
                return True
            else:
                await message.nak(delay=max(stored.run_at - time.time(), 0.0))
        if stored.state in ("done", "dead"):
            await self._free_key(stored)
        return True

    # -- reading and operating -----------------------------------------------------------------------------

    async def get(self, job_id: str) -> Job | None:
        await self._setup()
        found = await self._read(job_id)
        if found is None:
            return None
        job = found[0]
        if job.state in ("done", "cancelled") and (job.finished_at or 0) < time.time() - self.config.results_ttl:
            await _quietly(self.kv.delete(f"job.{job_id}"))
            return None
        return job

    async def list(self, state: JobState | None = None, limit: int = 100) -> list[Job]:
        jobs = [job for job in await self._all() if state is None or job.state == state]
        return sorted(jobs, key=lambda job: job.created_at)[:limit]

    async def _all(self) -> builtins.list[Job]:
        await self._setup()
        try:
            keys = await self.kv.keys()
        except NoKeysError:
            return []
        found = [await self.get(key.removeprefix("job.")) for key in keys if key.startswith("job.")]
        return [job for job in found if job is not None]

    async def cancel(self, job_id: str) -> bool:
        await self._setup()

        def cancelled(stored: Job) -> bool:
            if stored.state in ("done", "cancelled"):
                return False
            stored.state, stored.finished_at = "cancelled", time.time()
            return True

        job = await self._change(job_id, cancelled)
        if job is not None:
            await self._free_key(job)
        return job is not None

    async def retry_dead(self, job_id: str) -> bool:
        await self._setup()
        budget = self.config.retries + 1

        def again(stored: Job) -> bool:
            if stored.state != "dead":
                return False
            stored.state, stored.run_at, stored.finished_at = "queued", time.time(), None
            stored.max_attempts = stored.attempt + budget
            return True

        job = await self._change(job_id, again)
        if job is None:
            return False
        await self._publish(job, f"{job.id}.retry.{job.attempt}")
        return True

    async def claim_tick(self, schedule: str, tick: float) -> bool:
        await self._setup()
        try:
            await self.kv.create(f"tick.{_digest(schedule)}.{round(tick)}", b"1")
        except KeyWrongLastSequenceError:
            return False
        return True

    async def wait(self, timeout: float) -> None:
        return None  # claim's fetch already waited up to JOBS_POLL for a message

    async def stats(self) -> dict[str, float]:
        counts: dict[str, float] = dict.fromkeys(("queued", "running", "done", "failed", "dead", "cancelled"), 0)
        now, oldest = time.time(), 0.0
        for job in await self._all():
            counts[job.state] += 1
            if job.state in ("queued", "failed") and job.run_at <= now:
                oldest = max(oldest, now - job.run_at)
        counts["oldest_queued_age"] = oldest
        return counts


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


async def _quietly(step: Any) -> None:
    try:
        await step
    except Exception:  # cleanup: the server may be gone already
        return


async def drop_streams(url: str, prefix: str) -> None:
    """Delete the streams and buckets of every queue under ``prefix`` (tests; tearing a set-up down)."""
    connection = await nats.connect(url)
    try:
        js = connection.jetstream()
        wanted = _NAME.sub("_", prefix).upper() + "_JOBS_"
        for info in await js.streams_info():
            name = info.config.name or ""
            if name.startswith(wanted) or name.startswith(f"KV_{wanted}"):
                with contextlib.suppress(NotFoundError, BadRequestError):
                    await js.delete_stream(name)
    finally:
        await connection.close()
