"""betrue.postgres: PostgreSQL for betrue apps; today the durable job queue (``PostgresJobQueue``).

Example:
    >>> from betrue.server import Application
    >>> from betrue.postgres import PostgresJobQueue
    >>> app = Application("shop", http=False)
    >>> spec = app.replace_service("jobs", PostgresJobQueue)  # JOBS_DATABASE_URL=postgresql://...
"""

from betrue.postgres.jobs import PostgresJobQueue, PostgresJobsConfig
from betrue.postgres.jobschema import migrate_jobs

__all__ = ["PostgresJobQueue", "PostgresJobsConfig", "migrate_jobs"]
