"""``_jobs/*``: see and handle the jobs of an app's queue through the API, and take jobs from other apps.

``_jobs/list``, ``_jobs/get``, ``_jobs/retry``, ``_jobs/cancel`` and ``_jobs/stats`` need the role
``jobs-admin`` (``JOBS_ADMIN_ROLE`` names it in code: ``jobs_group(role=...)``); without an auth service
they refuse every call. ``_jobs/enqueue`` is how another app enqueues a job for a command this app
serves (``ctx.enqueue`` routes it here by the routing table); it follows the app's default rule.
"""

from __future__ import annotations

from typing import Any

from betrue.server.commands import Group
from betrue.server.context import Context
from betrue.server.errors import Conflict, NotFound
from betrue.server.jobqueue import JOB_STATES, JobQueue

__all__ = ["JOBS_ADMIN_ROLE", "jobs_group"]

JOBS_ADMIN_ROLE = "jobs-admin"

_ID = {"type": "object", "required": ["id"], "properties": {"id": {"type": "string", "minLength": 1, "maxLength": 64}}}
_LIST = {
    "type": "object",
    "properties": {
        "state": {"enum": list(JOB_STATES)},
        "limit": {"type": "integer", "minimum": 1, "maximum": 1000},
    },
    "additionalProperties": False,
}
_ENQUEUE = {
    "type": "object",
    "required": ["code"],
    "properties": {
        "code": {"type": "string", "minLength": 3, "maxLength": 256},
        "params": {"type": "object"},
        "delay": {"type": "number", "minimum": 0},
        "at": {"type": ["number", "null"]},
        "key": {"type": ["string", "null"], "minLength": 1, "maxLength": 512},
        "priority": {"type": "integer", "minimum": -(2**31) + 1, "maximum": 2**31 - 1},
        "maxAttempts": {"type": ["integer", "null"], "minimum": 1},
        "timeout": {"type": ["number", "null"], "exclusiveMinimum": 0},
        "meta": {"type": "object", "additionalProperties": {"type": "string"}},
    },
    "additionalProperties": False,
}


def jobs_group(role: str = JOBS_ADMIN_ROLE) -> Group:
    """The ``_jobs`` commands every application serves (``Application`` includes them).

    Example:
        >>> sorted(c.code for c in jobs_group().commands)[:2]
        ['_jobs/cancel', '_jobs/enqueue']
    """
    group = Group("_jobs", description="Background jobs of this application")
    admin = [role]

    def queue_of(ctx: Context) -> JobQueue:
        queue: JobQueue = ctx.app.service("jobs")
        return queue

    @group.command("list", input=_LIST, auth=admin, description="Jobs by state, oldest first")
    async def list_jobs(params: Any, ctx: Context) -> dict[str, Any]:
        jobs = await queue_of(ctx).list(params.get("state"), params.get("limit", 100))
        return {"jobs": [job.to_dict() for job in jobs]}

    @group.command(
        "get", input=_ID, auth=admin, description="One job: state, attempts, last error, result", errors=[NotFound]
    )
    async def get_job(params: Any, ctx: Context) -> dict[str, Any]:
        job = await queue_of(ctx).get(params["id"])
        if job is None:
            raise NotFound("no such job (or finished longer ago than JOBS_RESULTS_TTL)")
        return job.to_dict()

    @group.command("retry", input=_ID, auth=admin, description="Queue a dead letter again", errors=[Conflict])
    async def retry(params: Any, ctx: Context) -> dict[str, Any]:
        if not await queue_of(ctx).retry_dead(params["id"]):
            raise Conflict("only a dead job can be retried", details={"reason": "not_dead"})
        return {"id": params["id"], "state": "queued"}

    @group.command("cancel", input=_ID, auth=admin, description="Cancel a job that has not finished", errors=[Conflict])
    async def cancel(params: Any, ctx: Context) -> dict[str, Any]:
        if not await queue_of(ctx).cancel(params["id"]):
            raise Conflict("the job is finished or unknown", details={"reason": "finished"})
        return {"id": params["id"], "state": "cancelled"}

    @group.command("stats", auth=admin, description="Jobs by state and the wait of the oldest due job")
    async def stats(params: Any, ctx: Context) -> dict[str, float]:
        return await queue_of(ctx).stats()

    @group.command("enqueue", input=_ENQUEUE, description="Enqueue a job of this app")
    async def enqueue(params: Any, ctx: Context) -> dict[str, str]:
        code = params["code"]
        if code not in ctx.app.commands:
            raise NotFound(f"cannot enqueue unknown command {code!r}")
        job_id = await queue_of(ctx).enqueue(
            code,
            params.get("params"),
            delay=params.get("delay", 0.0),
            at=params.get("at"),
            key=params.get("key"),
            priority=params.get("priority", 0),
            max_attempts=params.get("maxAttempts"),
            timeout=params.get("timeout"),
            meta=params.get("meta"),
        )
        return {"id": job_id}

    return group
