"""betrue.nats: NATS for betrue apps; today the JetStream job queue (``JetStreamJobQueue``).

Example:
    >>> from betrue.server import Application
    >>> from betrue.nats import JetStreamJobQueue
    >>> app = Application("shop", http=False)
    >>> spec = app.replace_service("jobs", JetStreamJobQueue)  # JOBS_NATS_URL=nats://...
"""

from betrue.nats.jobs import JetStreamJobQueue, JetStreamJobsConfig

__all__ = ["JetStreamJobQueue", "JetStreamJobsConfig"]
