"""No secret in any log line: a whole run at DEBUG with tokens, API keys, passwords and keys, its output grepped."""

from __future__ import annotations

from typing import Any

import pytest
from loguru import logger

from betrue.server import Application, Context, Group, Unauthorized
from betrue.server.auth import ApiKeyAuthenticator, JwtAuthenticator, hash_api_key, issue_token, use_auth
from betrue.server.testing import http_client

JWT_SECRET = "jwt-secret-that-must-never-be-logged-0001"
SERVICE_SECRET = "service-secret-that-must-never-be-logged-0002"
API_KEY = "api-key-that-must-never-be-logged-0003"
PASSWORD = "password-that-must-never-be-logged-0004"


def make_app() -> Application:
    user = Group("user")

    @user.command("login", auth="public")
    async def login(params: Any, ctx: Context) -> dict[str, Any]:
        if params.get("password") != PASSWORD:
            raise Unauthorized("Wrong user name or password", details={"reason": "bad_password"})
        jwt_auth: JwtAuthenticator = await ctx.service("jwt")
        return {"token": jwt_auth.issue(params["name"], roles=["member"])}

    @user.command("me")
    async def me(params: Any, ctx: Context) -> Any:
        return await ctx.client.call("user/echo", {"secret_note": PASSWORD})

    @user.command("echo")
    async def echo(params: Any, ctx: Context) -> dict[str, Any]:
        ctx.logger.info("echo for {}", ctx.identity.subject if ctx.identity else None)
        return {"ok": True}

    environ = {
        "LOG_LEVEL": "DEBUG",
        "JWT_SECRET": JWT_SECRET,
        "AUTH_SERVICE_SECRET": SERVICE_SECRET,
        "API_KEYS": f"ci:{hash_api_key(API_KEY)}:deploy",
    }
    app = Application("logs", groups=[user], environ=environ, env_file=None)
    use_auth(app, JwtAuthenticator, ApiKeyAuthenticator)
    return app


async def test_no_secret_reaches_the_logs(capfd: pytest.CaptureFixture[str]) -> None:
    lines: list[str] = []
    sink = logger.add(lines.append, level="TRACE", format="{message} {extra}")
    tokens: list[str] = []
    try:
        async with http_client(make_app()) as client:
            good = await client.post("user/login", {"name": "ann", "password": PASSWORD})
            tokens.append(good.envelope["result"]["token"])
            await client.post("user/login", {"name": "ann", "password": PASSWORD + "-wrong"})
            await client.post("user/me", headers={"Authorization": f"Bearer {tokens[0]}"})
            await client.post("user/me", headers={"X-Api-Key": API_KEY})
            await client.post("user/me", headers={"X-Api-Key": API_KEY + "-guess"})
            forged = issue_token("not-the-secret-" + "n" * 20, "ann")
            tokens.append(forged)
            await client.post("user/me", headers={"Authorization": f"Bearer {forged}"})
            await client.post("user/me", headers={"Authorization": f"Bearer {tokens[0][:-4]}"})
    finally:
        logger.remove(sink)
    captured = capfd.readouterr()
    output = "\n".join([captured.out, captured.err, *lines])
    assert "user/me" in output
    assert "Unauthorized" in output
    secrets = [JWT_SECRET, SERVICE_SECRET, API_KEY, PASSWORD, hash_api_key(API_KEY), *tokens, tokens[0][:-4]]
    leaked = [secret[:12] + "…" for secret in secrets if secret in output]
    assert leaked == []
