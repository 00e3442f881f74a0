"""API keys over real HTTP: stored as hashes, compared in constant time against every entry."""

from __future__ import annotations

import asyncio
import hmac
from typing import Any

import pytest

from betrue.config import ConfigError
from betrue.server import Application, Context, Group
from betrue.server.auth import ApiKeyAuthenticator, JwtAuthenticator, hash_api_key, issue_token, new_api_key, use_auth
from betrue.server.testing import http_client

DEPLOY_KEY = new_api_key()
BOT_KEY = new_api_key()
SECRET = "keys-secret-" + "k" * 30


def make_app(keys: str | None = None) -> Application:
    ops = Group("ops")

    @ops.command("deploy", auth=["deploy"])
    async def deploy(params: Any, ctx: Context) -> dict[str, Any]:
        assert ctx.identity is not None
        return {"by": ctx.identity.subject, "roles": list(ctx.identity.roles)}

    entries = f"ci:{hash_api_key(DEPLOY_KEY)}:deploy|read,bot:{hash_api_key(BOT_KEY)}"
    environ = {"API_KEYS": entries if keys is None else keys, "JWT_SECRET": SECRET}
    app = Application("ops", groups=[ops], environ=environ, env_file=None)
    use_auth(app, JwtAuthenticator, ApiKeyAuthenticator)
    return app


async def test_a_configured_key_is_its_subject_with_its_roles() -> None:
    async with http_client(make_app()) as client:
        reply = await client.post("ops/deploy", headers={"X-Api-Key": DEPLOY_KEY})
        assert reply.envelope["result"] == {"by": "ci", "roles": ["deploy", "read"]}
        assert (await client.post("ops/deploy", headers={"X-Api-Key": BOT_KEY})).status == 403
        unknown = await client.post("ops/deploy", headers={"X-Api-Key": DEPLOY_KEY[:-1] + "x"})
        assert (unknown.status, unknown.envelope["error"]["details"]) == (401, {"reason": "unknown_key"})
        token = issue_token(SECRET, "ann", roles=["deploy"])  # bearer tokens still work beside keys
        assert (await client.post("ops/deploy", headers={"Authorization": f"Bearer {token}"})).status == 200


async def test_every_entry_is_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    compared: list[tuple[bytes, bytes]] = []
    constant_time = hmac.compare_digest

    def counting(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return constant_time(a, b)

    monkeypatch.setattr(hmac, "compare_digest", counting)  # the function the module calls, looked up per call
    async with http_client(make_app()) as client:
        assert (await client.post("ops/deploy", headers={"X-Api-Key": DEPLOY_KEY})).status == 200
        assert len(compared) == 2  # the first entry matched, and the second was still compared
        assert (await client.post("ops/deploy", headers={"X-Api-Key": "guess"})).status == 401
        assert len(compared) == 4
    assert all(len(a) == len(b) == 32 for a, b in compared)  # digests, never the key itself


def test_a_malformed_entry_fails_at_start_without_echoing_it() -> None:
    secret_looking = f"ci:{DEPLOY_KEY}"
    app = make_app(secret_looking)
    with pytest.raises(ConfigError) as caught:
        asyncio.run(app.start(serve=False))
    assert "API_KEYS" in str(caught.value)
    assert DEPLOY_KEY not in str(caught.value)
