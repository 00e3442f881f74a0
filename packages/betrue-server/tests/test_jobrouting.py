"""Routed jobs: ``ctx.enqueue`` of a command another app serves lands in that app's queue; its worker runs it."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from betrue.server import Application, Context, Group, NotFound

QUIET = {"LOG_LEVEL": "WARNING", "HTTP_PORT": "0"}


def mail_app(runs: list[tuple[str, str]]) -> Application:
    mail = Group("mail")

    @mail.command("send", input={"type": "object", "required": ["to"]})
    async def send(params: Any, ctx: Context) -> dict[str, bool]:
        runs.append((params["to"], ctx.meta["x-job-id"]))
        return {"sent": True}

    return Application("mail", groups=[mail], environ=QUIET, env_file=None)


def shop_app(mail_url: str) -> Application:
    shop = Group("shop")

    @shop.command("order")
    async def order(params: Any, ctx: Context) -> dict[str, str]:
        return {"job": await ctx.enqueue("mail/send", {"to": params["email"]}, key=f"order-{params['email']}")}

    @shop.command("lost")
    async def lost(params: Any, ctx: Context) -> dict[str, str]:
        return {"job": await ctx.enqueue("stock/recount", {})}

    environ = {**QUIET, "ROUTES": f"mail={mail_url}", "JOBS_WORKERS": "0"}
    return Application("shop", groups=[shop], environ=environ, env_file=None)


async def test_a_job_for_another_apps_command_runs_on_that_apps_worker() -> None:
    runs: list[tuple[str, str]] = []
    mail = mail_app(runs)
    await mail.start()
    shop = shop_app(mail.service("http").url)
    await shop.start()
    try:
        answer = await shop.handle("shop/order", {"email": "ann@example.org"})
        assert answer.ok, answer.error
        job_id = answer.result["job"]
        for _ in range(500):
            if runs:
                break
            await asyncio.sleep(0.01)
        assert runs == [("ann@example.org", job_id)]
        assert (await mail.service("jobs").get(job_id)) is not None  # in the serving app's queue
        assert await shop.service("jobs").get(job_id) is None  # not in the enqueuing app's own queue
    finally:
        await shop.stop()
        await mail.stop()


async def test_a_job_for_a_command_nobody_serves_is_not_found() -> None:
    shop = shop_app("http://127.0.0.1:9")
    await shop.start()
    try:
        answer = await shop.handle("shop/lost", {})
        assert answer.code == 404
        with pytest.raises(NotFound):
            await shop.enqueue("stock/recount", {})
    finally:
        await shop.stop()
