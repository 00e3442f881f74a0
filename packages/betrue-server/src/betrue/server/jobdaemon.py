"""``betrue worker module:app``: a process that only runs jobs (no HTTP), stopped gracefully by a signal.

It starts the app's services without serving its adapters, then serves the ``jobs`` queue alone with
``--concurrency`` workers (``JOBS_WORKERS`` otherwise). On SIGTERM/SIGINT it stops claiming, gives running
jobs ``--grace`` seconds (``JOBS_GRACE``) to finish and hands the rest back to the queue. Readiness: the
file ``--ready-file`` exists while the worker takes jobs (an exec or file probe can watch it).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from pathlib import Path
from typing import TYPE_CHECKING

from loguru import logger

if TYPE_CHECKING:
    from betrue.server.application import Application
    from betrue.server.jobqueue import JobQueue

__all__ = ["serve_worker"]


async def serve_worker(
    app: Application,
    *,
    concurrency: int | None = None,
    grace: float | None = None,
    ready_file: str | None = None,
    cron: bool | None = None,
) -> None:
    """Run ``app``'s jobs until SIGINT/SIGTERM (see the module docstring).

    Example:
        >>> # asyncio.run(serve_worker(load_app("shop.app:app"), concurrency=8, ready_file="/tmp/ready"))
    """
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    ready = Path(ready_file) if ready_file else None
    try:
        await app.start(serve=False)
        queue: JobQueue = app.service("jobs")
        changes = {"workers": concurrency, "grace": grace, "cron": cron}
        queue.config = queue.config.model_copy(update={k: v for k, v in changes.items() if v is not None})
        if queue.config.workers < 1:
            raise ValueError("betrue worker needs at least one worker (--concurrency or JOBS_WORKERS)")
        await queue.serve(app)
        logger.info(
            "{}: worker taking jobs of queue {!r}, {} at once", app.name, queue.queue_name, queue.config.workers
        )
        if ready is not None:
            ready.write_text("ready\n")
        await stop.wait()
        logger.info("{}: stopping the worker (up to {}s for running jobs)", app.name, queue.config.grace)
    finally:
        if ready is not None:
            with contextlib.suppress(FileNotFoundError):
                ready.unlink()
        await app.stop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
