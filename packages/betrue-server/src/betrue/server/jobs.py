"""Background jobs: a command run later by a worker, with retries, leases, dedupe, priorities and cron.

``await ctx.enqueue("mail/send", params, delay=5, key="m-1")`` stores a job and returns its id; a queue's
workers run it through the same pipeline as HTTP. This module is the interface: the job record and the
``JobQueue`` every backend implements (``betrue.server.jobqueue``), the embedded ``MemoryJobQueue``
(``betrue.server.jobmemory``); PostgreSQL and JetStream queues live in betrue-postgres and betrue-nats.

Example:
    >>> from betrue.server.jobs import MemoryJobQueue
    >>> MemoryJobQueue().config.retries
    3
"""

from betrue.server.jobmemory import MemoryJobQueue
from betrue.server.jobqueue import FINISHED, JOB_STATES, Job, JobQueue, JobsConfig, JobState

__all__ = ["FINISHED", "JOB_STATES", "Job", "JobQueue", "JobState", "JobsConfig", "MemoryJobQueue"]
