"""Command rules: secure by default, public lists, roles, apps without auth, trusted entry points, docs."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from betrue.server import Application, Context, Group, Identity
from betrue.server.auth import (
    ApiKeyAuthenticator,
    JwtAuthenticator,
    Rule,
    describe_auth,
    issue_token,
    security_schemes,
    use_auth,
)
from betrue.server.testing import TestApp, http_client

SECRET = "rules-secret-" + "r" * 30


def groups() -> list[Group]:
    shop = Group("shop")

    @shop.command("list")
    async def list_items(params: Any, ctx: Context) -> dict[str, Any]:
        return {"subject": ctx.identity.subject if ctx.identity else None}

    @shop.command("catalog", auth="public")
    async def catalog(params: Any, ctx: Context) -> dict[str, Any]:
        return {"subject": ctx.identity.subject if ctx.identity else None}

    admin = Group("admin", auth=["admin", "ops"])

    @admin.command("purge")
    async def purge(params: Any, ctx: Context) -> dict[str, Any]:
        return {"purged": True}

    return [shop, admin]


def make_app(environ: dict[str, str] | None = None, *, auth: bool = True) -> Application:
    app = Application("rules", groups=groups(), environ={"JWT_SECRET": SECRET, **(environ or {})}, env_file=None)
    if auth:
        use_auth(app, JwtAuthenticator)
    return app


def bearer(subject: str = "ann", roles: tuple[str, ...] = ()) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(SECRET, subject, roles=roles)}"}


async def test_commands_without_a_rule_need_a_caller_by_default() -> None:
    async with http_client(make_app()) as client:
        assert (await client.post("shop/list")).status == 401
        assert (await client.post("shop/list", headers=bearer())).envelope["result"] == {"subject": "ann"}
        assert (await client.post("shop/catalog")).envelope["result"] == {"subject": None}
        assert (await client.post("_app/health")).status == 200
        assert (await client.post("_app/commands")).status == 200


async def test_public_commands_still_know_a_valid_caller_and_ignore_a_bad_one() -> None:
    async with http_client(make_app()) as client:
        assert (await client.post("shop/catalog", headers=bearer("bob"))).envelope["result"] == {"subject": "bob"}
        broken = {"Authorization": "Bearer broken"}
        assert (await client.post("shop/catalog", headers=broken)).envelope["result"] == {"subject": None}


async def test_the_default_and_the_public_list_come_from_config() -> None:
    async with http_client(make_app({"AUTH_DEFAULT": "public"})) as client:
        assert (await client.post("shop/list")).status == 200
        assert (await client.post("admin/purge")).status == 401  # a declared rule is kept
    async with http_client(make_app({"AUTH_PUBLIC": "shop/*"})) as client:
        assert (await client.post("shop/list")).status == 200
        assert (await client.post("_app/health")).status == 401  # no longer listed: the default applies


async def test_a_roles_rule_needs_any_one_of_its_roles() -> None:
    async with http_client(make_app()) as client:
        assert (await client.post("admin/purge", headers=bearer(roles=("member",)))).status == 403
        assert (await client.post("admin/purge", headers=bearer(roles=("ops",)))).status == 200


async def test_an_app_without_auth_stays_open_but_refuses_declared_rules() -> None:
    async with http_client(make_app(auth=False)) as client:
        assert (await client.post("shop/list")).envelope["result"] == {"subject": None}
        refused = await client.post("admin/purge", headers=bearer(roles=("admin",)))
        assert (refused.status, refused.envelope["error"]["details"]) == (401, {"reason": "no_authenticator"})


async def test_jobs_the_app_enqueued_run_without_a_caller_but_other_entry_points_do_not() -> None:
    app = make_app()
    async with TestApp(app):
        assert (await app.handle("shop/list", {}, adapter="job")).code == 200
        assert (await app.handle("shop/list", {}, adapter="local")).code == 401
        assert (await app.handle("shop/list", {}, adapter="test")).code == 401


async def test_an_identity_kept_by_an_adapter_is_checked_for_expiry() -> None:
    app = make_app()
    fresh = Identity("ann", claims={"exp": time.time() + 60})
    stale = Identity("ann", claims={"exp": time.time() - 3600})
    async with TestApp(app) as client:
        assert (await client.call("shop/list", identity=fresh))["result"] == {"subject": "ann"}
        expired = await client.call("shop/list", identity=stale)
        assert (expired["code"], expired["error"]["details"]) == (401, {"reason": "expired"})
        assert (await client.call("shop/catalog", identity=stale))["result"] == {"subject": None}


def test_an_unknown_rule_word_fails_at_start() -> None:
    typo = Group("typo")

    @typo.command("x", auth="authenticted")
    async def x(params: Any, ctx: Context) -> None:
        return None

    app = Application("rules", groups=[typo], http=False, environ={"JWT_SECRET": SECRET}, env_file=None)
    use_auth(app, JwtAuthenticator)
    with pytest.raises(ValueError, match="authenticted"):
        asyncio.run(app.start(serve=False))


def test_rules_describe_themselves() -> None:
    assert Rule.of("public").describe() == {"rule": "public"}
    assert Rule.of(["b", "a"]).describe() == {"rule": "roles", "roles": ["a", "b"]}
    with pytest.raises(ValueError, match="at least one role"):
        Rule.of([])


async def test_docs_learn_each_rule_and_the_security_schemes() -> None:
    app = make_app()
    commands = app.commands
    assert describe_auth(app, commands["shop/list"]) == {"rule": "authenticated"}  # before start: defaults
    assert describe_auth(app, commands["_app/health"]) == {"rule": "public"}
    assert describe_auth(make_app(auth=False), commands["shop/list"]) is None
    async with TestApp(app):
        assert describe_auth(app, commands["admin/purge"]) == {"rule": "roles", "roles": ["admin", "ops"]}
        assert security_schemes(app) == {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}
    both = Application("docs", http=False, environ={}, env_file=None)
    use_auth(both, JwtAuthenticator, ApiKeyAuthenticator)
    assert set(security_schemes(both)) == {"bearerAuth", "apiKeyAuth"}
