"""The app the chaos tests run in worker processes (``betrue worker jobs_chaos_app:app``).

``chaos/work`` records every run in ``<schema>.runs`` and applies its effect once per job in
``<schema>.effects`` (keyed by the job id: a job run twice, at-least-once, still has one effect).
Settings come from the environment: CHAOS_DSN, CHAOS_SCHEMA, CHAOS_BACKEND, CHAOS_SLEEP.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

import asyncpg

from betrue.server import Application, Context, Group

chaos = Group("chaos")


class Effects:
    """An asyncpg pool to the table of effects (a service: started with the app)."""

    name = "effects"

    async def start(self) -> Effects:
        self.schema = os.environ["CHAOS_SCHEMA"]
        self.pool = await asyncpg.create_pool(os.environ["CHAOS_DSN"], min_size=1, max_size=4)
        return self

    async def stop(self) -> None:
        await self.pool.close()


@chaos.command("work", input={"type": "object", "required": ["n"]})
async def work(params: Any, ctx: Context) -> dict[str, Any]:
    effects: Effects = await ctx.service("effects")
    job_id, attempt = ctx.meta["x-job-id"], int(ctx.meta["x-job-attempt"])
    await asyncio.sleep(float(os.environ.get("CHAOS_SLEEP", "0.05")))
    async with effects.pool.acquire() as connection:
        await connection.execute(
            f"INSERT INTO {effects.schema}.runs (job_id, attempt, pid) VALUES ($1, $2, $3)",
            job_id,
            attempt,
            os.getpid(),
        )
        await connection.execute(
            f"INSERT INTO {effects.schema}.effects (job_id, n) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            job_id,
            params["n"],
        )
    return {"pid": os.getpid(), "attempt": attempt}


def build() -> Application:
    app = Application("chaos", groups=[chaos], http=False, env_file=None)
    app.add_service(Effects)
    backend = os.environ.get("CHAOS_BACKEND", "postgres")
    if backend == "postgres":
        from betrue.postgres import PostgresJobQueue

        app.replace_service("jobs", PostgresJobQueue)
    else:
        from betrue.nats import JetStreamJobQueue

        app.replace_service("jobs", JetStreamJobQueue)
    return app


app = build()
