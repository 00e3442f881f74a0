"""Authorization over WebSocket: credentials at the handshake or in a first ``_auth/identify`` call; expiry."""

from __future__ import annotations

import time
from typing import Any

import pytest

from betrue.server import Application, Context, Group
from betrue.server.auth import JwtAuthenticator, issue_token, use_auth
from betrue.server.testing import TestApp
from betrue.ws import WsAdapter, WsClient

SECRET = "ws-auth-secret-" + "w" * 30
AUDIENCE = "chat"


def make_app() -> Application:
    shop = Group("shop")

    @shop.command("purge", auth=["admin"])
    async def purge(params: Any, ctx: Context) -> dict[str, Any]:
        assert ctx.identity is not None
        return {"by": ctx.identity.subject}

    environ = {"JWT_SECRET": SECRET, "JWT_AUDIENCE": AUDIENCE, "JWT_LEEWAY": "0", "AUTH_CLOCK_SKEW": "0"}
    app = Application("ws-auth", groups=[shop], environ=environ, env_file=None)
    app.add_service(WsAdapter)
    use_auth(app, JwtAuthenticator)
    return app


def token(subject: str = "ann", *roles: str, **options: Any) -> str:
    return issue_token(SECRET, subject, roles=roles, audience=options.pop("audience", AUDIENCE), **options)


OUTCOMES: list[tuple[str, str | None, int, str | None]] = [
    ("none", None, 401, "missing"),
    ("malformed", "not-a-token", 401, "malformed"),
    ("expired", token("ann", "admin", ttl=60, now=time.time() - 3600), 401, "expired"),
    ("wrong signature", issue_token("other-secret-" + "o" * 20, "ann", roles=["admin"], audience=AUDIENCE), 401,
     "bad_signature"),
    ("wrong audience", token("ann", "admin", audience="billing"), 401, "wrong_audience"),
    ("good but wrong role", token("ann", "member"), 403, "missing_role"),
    ("good", token("ann", "admin"), 200, None),
]  # fmt: skip


def ws_url(client: TestApp) -> str:
    return client.url + "/ws"


@pytest.mark.parametrize(("name", "credentials", "code", "reason"), OUTCOMES, ids=[o[0] for o in OUTCOMES])
async def test_each_outcome_with_the_token_at_the_handshake(
    name: str, credentials: str | None, code: int, reason: str | None
) -> None:
    headers = {"Authorization": f"Bearer {credentials}"} if credentials else {}
    async with TestApp(make_app(), http=True) as client, WsClient(ws_url(client), headers=headers) as ws:
        envelope = await ws.call_envelope("shop/purge")
    assert envelope["code"] == code
    if reason is not None:
        assert envelope["error"]["details"] == {"reason": reason}
    else:
        assert envelope["result"] == {"by": "ann"}


@pytest.mark.parametrize(("name", "credentials", "code", "reason"), OUTCOMES, ids=[o[0] for o in OUTCOMES])
async def test_each_outcome_with_the_token_in_a_first_message(
    name: str, credentials: str | None, code: int, reason: str | None
) -> None:
    async with TestApp(make_app(), http=True) as client, WsClient(ws_url(client)) as ws:
        if credentials is not None:
            identified = await ws.call_envelope("_auth/identify", {"token": credentials})
            assert identified["code"] == (401 if code == 401 else 200)
        envelope = await ws.call_envelope("shop/purge")
        again = await ws.call_envelope("shop/purge")  # the identity stays with the connection
    assert envelope["code"] == again["code"] == code
    if reason is not None:
        expected = "missing" if code == 401 else reason  # a refused token leaves the connection anonymous
        assert envelope["error"]["details"] == {"reason": expected}


async def test_an_expired_connection_identity_is_refused_then_renewed() -> None:
    async with TestApp(make_app(), http=True) as client, WsClient(ws_url(client)) as ws:
        short = token("ann", "admin", ttl=1)
        identified = await ws.call("_auth/identify", {"token": short})
        assert identified["subject"] == "ann"
        assert (await ws.call_envelope("shop/purge"))["code"] == 200
        pushed = await ws.next_event("auth.expired", timeout=5)  # the server says so when it happens
        assert pushed["data"] == {"subject": "ann"}
        expired = await ws.call_envelope("shop/purge")
        assert (expired["code"], expired["error"]["details"]) == (401, {"reason": "expired"})
        await ws.call("_auth/identify", {"token": token("ann", "admin")})  # the client re-asks
        assert (await ws.call_envelope("shop/purge"))["result"] == {"by": "ann"}
        await ws.call("_auth/forget")
        assert (await ws.call_envelope("shop/purge"))["code"] == 401
