"""``_jobs/*``: operators see and handle jobs through the API, protected by the role jobs-admin."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from betrue.server import Application, Context, Group, ServiceUnavailable
from betrue.server.auth import JwtAuthenticator, issue_token, use_auth
from betrue.server.jobs import MemoryJobQueue

SECRET = "s" * 40
ENV = {"JWT_SECRET": SECRET, "JOBS_BACKOFF": "0.01", "JOBS_RETRIES": "0", "LOG_LEVEL": "WARNING"}


def app_with_jobs(auth: bool = True) -> Application:
    mail = Group("mail")

    @mail.command("send", auth="public")
    async def send(params: Any, ctx: Context) -> None:
        raise ServiceUnavailable("smtp down")

    app = Application("ops", groups=[mail], http=False, environ=ENV, env_file=None)
    if auth:
        use_auth(app, JwtAuthenticator)
    return app


def bearer(*roles: str) -> dict[str, str]:
    return {"authorization": f"Bearer {issue_token(SECRET, 'ann', roles=roles)}"}


async def dead_letter(app: Application) -> str:
    queue: MemoryJobQueue = app.service("jobs")
    job_id = await app.enqueue("mail/send", {})
    for _ in range(500):
        if queue.dead:
            return job_id
        await asyncio.sleep(0.01)
    raise AssertionError("the job did not die")


async def test_an_operator_lists_gets_and_retries_dead_letters() -> None:
    app = app_with_jobs()
    await app.start()
    try:
        job_id = await dead_letter(app)
        listed = await app.handle("_jobs/list", {"state": "dead"}, bearer("jobs-admin"))
        assert [job["id"] for job in listed.result["jobs"]] == [job_id]
        got = await app.handle("_jobs/get", {"id": job_id}, bearer("jobs-admin"))
        assert (got.result["state"], got.result["last_error"]) == ("dead", "ServiceUnavailable: smtp down")
        retried = await app.handle("_jobs/retry", {"id": job_id}, bearer("jobs-admin"))
        assert retried.result == {"id": job_id, "state": "queued"}
        stats = await app.handle("_jobs/stats", {}, bearer("jobs-admin"))
        assert stats.ok
    finally:
        await app.stop()


@pytest.mark.parametrize(
    ("meta", "code"), [({}, 401), (bearer(), 403), (bearer("jobs-admin"), 200)], ids=["anonymous", "user", "admin"]
)
async def test_jobs_commands_need_the_jobs_admin_role(meta: dict[str, str], code: int) -> None:
    app = app_with_jobs()
    await app.start()
    try:
        assert (await app.handle("_jobs/list", {}, meta)).code == code
        assert (await app.handle("_jobs/cancel", {"id": "x"}, meta)).code == (409 if code == 200 else code)
    finally:
        await app.stop()


async def test_without_auth_the_operator_commands_are_closed() -> None:
    app = app_with_jobs(auth=False)
    await app.start()
    try:
        answer = await app.handle("_jobs/list", {})
        assert (answer.code, answer.error.details if answer.error else None) == (401, {"reason": "no_authenticator"})
    finally:
        await app.stop()


@pytest.mark.parametrize(
    ("command", "params", "code"),
    [
        ("_jobs/get", {"id": "nope"}, 404),
        ("_jobs/retry", {"id": "nope"}, 409),
        ("_jobs/list", {"state": "sleeping"}, 400),
        ("_jobs/list", {"limit": 0}, 400),
        ("_jobs/get", {}, 400),
        ("_jobs/enqueue", {"code": "mail/nope"}, 404),
        ("_jobs/enqueue", {"code": "mail/send", "delay": -1}, 400),
        ("_jobs/enqueue", {"code": "mail/send", "params": []}, 400),
    ],
)
async def test_bad_operator_requests_get_clear_errors(command: str, params: dict[str, Any], code: int) -> None:
    app = app_with_jobs()
    await app.start()
    try:
        answer = await app.handle(command, params, bearer("jobs-admin"))
        assert answer.code == code
    finally:
        await app.stop()
