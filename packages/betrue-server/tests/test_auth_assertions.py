"""The caller's identity through the client: seen by an upstream app over real HTTP, and in-process; not forgeable."""

from __future__ import annotations

import time
from typing import Any

import jwt

from betrue.server import Application, Context, Group, Identity
from betrue.server.auth import IDENTITY_HEADER, IdentityAssertions, JwtAuthenticator, issue_token, use_auth
from betrue.server.testing import http_client

USER_SECRET = "user-token-secret-" + "u" * 20
SERVICE_SECRET = "service-secret-shared-by-front-and-up-" + "s" * 10


def upstream_group() -> Group:
    up = Group("up")

    @up.command("whoami")
    async def whoami(params: Any, ctx: Context) -> dict[str, Any]:
        assert ctx.identity is not None
        return {"subject": ctx.identity.subject, "roles": list(ctx.identity.roles), "adapter": ctx.adapter}

    @up.command("admin", auth=["admin"])
    async def admin(params: Any, ctx: Context) -> dict[str, Any]:
        return {"ok": True}

    return up


def front_group() -> Group:
    front = Group("front")

    @front.command("relay")
    async def relay(params: Any, ctx: Context) -> Any:
        return await ctx.client.call(params.get("code", "up/whoami"))

    @front.command("anon", auth="public")
    async def anon(params: Any, ctx: Context) -> Any:
        return await ctx.client.call("up/whoami")

    return front


def upstream_app() -> Application:
    app = Application("up", groups=[upstream_group()], environ={"AUTH_SERVICE_SECRET": SERVICE_SECRET}, env_file=None)
    use_auth(app)  # no authenticator of its own: it trusts only identities signed with the service key
    return app


def front_app() -> Application:
    environ = {"JWT_SECRET": USER_SECRET, "AUTH_SERVICE_SECRET": SERVICE_SECRET, "CLIENT_FORWARD_HEADERS": ""}
    app = Application("front", groups=[front_group()], environ=environ, env_file=None)
    use_auth(app, JwtAuthenticator)
    return app


def bearer(subject: str, *roles: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(USER_SECRET, subject, roles=roles)}"}


async def test_the_upstream_app_sees_the_callers_identity_over_http() -> None:
    async with http_client(upstream_app()) as up, http_client(front_app()) as front:
        front.app.client.route("up", up.url)
        reply = await front.post("front/relay", headers=bearer("ann", "admin"))
        assert reply.envelope["result"] == {"subject": "ann", "roles": ["admin"], "adapter": "http"}
        allowed = await front.post("front/relay", {"code": "up/admin"}, headers=bearer("ann", "admin"))
        assert allowed.envelope["result"] == {"ok": True}
        denied = await front.post("front/relay", {"code": "up/admin"}, headers=bearer("bob", "member"))
        assert (denied.status, denied.envelope["error"]["details"]) == (403, {"reason": "missing_role"})
        anonymous = await front.post("front/anon")  # a public command of front, a protected one upstream
        assert (anonymous.status, anonymous.envelope["error"]["details"]) == (401, {"reason": "missing"})


async def test_a_header_claiming_an_identity_needs_the_service_key() -> None:
    ours = IdentityAssertions(SERVICE_SECRET.encode())
    theirs = IdentityAssertions(b"an attacker's guess at the key....")
    admin = Identity("ann", roles=("admin",))
    async with http_client(upstream_app()) as up:
        good = await up.post("up/admin", headers={IDENTITY_HEADER: ours.sign(admin, audience="up/admin")})
        assert good.status == 200
        forged = await up.post("up/admin", headers={IDENTITY_HEADER: theirs.sign(admin, audience="up/admin")})
        assert forged.envelope["error"]["details"] == {"reason": "bad_signature"}
        replayed = await up.post("up/admin", headers={IDENTITY_HEADER: ours.sign(admin, audience="up/whoami")})
        assert replayed.envelope["error"]["details"] == {"reason": "wrong_audience"}
        old = ours.sign(admin, audience="up/admin", now=time.time() - 3600)
        assert (await up.post("up/admin", headers={IDENTITY_HEADER: old})).envelope["error"]["details"] == {
            "reason": "expired"
        }


async def test_an_assertion_never_outlives_the_credentials_it_came_from() -> None:
    assertions = IdentityAssertions(b"k" * 32, ttl=60, leeway=0)
    soon = Identity("ann", claims={"exp": time.time() + 5})
    token = assertions.sign(soon, audience="up/whoami")
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["exp"] <= soon.claims["exp"]


async def test_in_one_process_a_local_call_keeps_the_identity_without_any_key_configured() -> None:
    app = Application(
        "monolith", groups=[front_group(), upstream_group()], environ={"JWT_SECRET": USER_SECRET}, env_file=None
    )
    use_auth(app, JwtAuthenticator)
    async with http_client(app) as client:
        reply = await client.post("front/relay", headers=bearer("ann", "admin"))
        assert reply.envelope["result"] == {"subject": "ann", "roles": ["admin"], "adapter": "local"}
        assert (await client.post("front/anon")).status == 401


async def test_without_a_service_key_a_remote_app_verifies_the_forwarded_token_itself() -> None:
    up = Application("up", groups=[upstream_group()], environ={"JWT_SECRET": USER_SECRET}, env_file=None)
    use_auth(up, JwtAuthenticator)
    front = Application("front", groups=[front_group()], environ={"JWT_SECRET": USER_SECRET}, env_file=None)
    use_auth(front, JwtAuthenticator)
    async with http_client(up) as upstream, http_client(front) as client:
        client.app.client.route("up", upstream.url)
        reply = await client.post("front/relay", headers=bearer("ann", "admin"))
    assert reply.envelope["result"] == {"subject": "ann", "roles": ["admin"], "adapter": "http"}
