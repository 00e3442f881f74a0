"""Where ``ctx.enqueue`` puts a job: this app's queue, or the queue of the app that serves the command.

A command this app serves goes to its own ``jobs`` service. Any other goes, by the client's routing
table (``ROUTES``), to the app serving its group, as a call to that app's ``_jobs/enqueue``: its queue
stores the job and its workers run it. A command neither served here nor routed elsewhere is NotFound.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from opentelemetry import propagate

from betrue.server.errors import NotFound

if TYPE_CHECKING:
    from betrue.server.application import Application
    from betrue.server.context import Context
    from betrue.server.jobqueue import JobQueue

__all__ = ["enqueue_routed"]


async def enqueue_routed(
    app: Application,
    code: str,
    params: Mapping[str, Any] | None,
    *,
    ctx: Context | None = None,
    delay: float = 0.0,
    at: float | None = None,
    key: str | None = None,
    priority: int = 0,
    max_attempts: int | None = None,
    timeout: float | None = None,
    retries: int | None = None,
) -> str:
    """Enqueue ``code`` where it is served; returns the job id (see ``Application.enqueue``)."""
    meta: dict[str, str] = {}
    if ctx is not None:
        meta["x-trace-id"] = ctx.trace_id
        propagate.inject(meta)  # the current span (the enqueuing command's) becomes the job span's parent
    if max_attempts is None and retries is not None:
        max_attempts = retries + 1
    if code in app.commands:
        queue: JobQueue = app.service("jobs")
        queue.attach(app)
        return await queue.enqueue(
            code,
            params,
            delay=delay,
            at=at,
            key=key,
            priority=priority,
            max_attempts=max_attempts,
            timeout=timeout,
            meta=meta,
        )
    transport = app.client.transport_for(code)
    if transport is app.client.local:
        raise NotFound(f"cannot enqueue unknown command {code!r}")
    request = {
        "code": code,
        "params": dict(params or {}),
        "delay": delay,
        "at": at,
        "key": key,
        "priority": priority,
        "maxAttempts": max_attempts,
        "timeout": timeout,
        "meta": meta,
    }
    answer = await app.client.call("_jobs/enqueue", request, transport=transport, ctx=ctx)
    return str(answer["id"])
