"""Application is the one façade: its definition methods reach the router, its services the container."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from betrue.server import (
    Application,
    CallNext,
    CommandClass,
    Context,
    DependencyError,
    Gateway,
    Group,
    Response,
)
from betrue.server.testing import TestApp, http_client


class Echo(CommandClass):
    code = "util/echo"

    async def handle(self, params: Any, ctx: Context) -> Any:
        return params


def test_definition_methods_return_what_they_added() -> None:
    app = Application("facade", http=False, env_file=None)
    group = Group("shop")
    assert app.include(group) is group
    command = app.add_command(Echo)
    assert command.code == "util/echo"
    assert app.commands["util/echo"] is command

    async def middleware(ctx: Context, params: Any, call_next: CallNext) -> Response:
        return await call_next(ctx, params)

    assert app.use(middleware) is middleware
    assert app.router.middlewares == [middleware]


async def test_app_on_subscribes_outside_any_group() -> None:
    app = Application("facade", http=False, env_file=None)
    got: list[Any] = []
    done = asyncio.Event()

    @app.on("app.ping")
    async def ping(data: Any, ctx: Context) -> None:
        got.append(data)
        done.set()

    async with TestApp(app):
        await app.emit("app.ping", {"n": 1})
        await asyncio.wait_for(done.wait(), 5)
    assert got == [{"n": 1}]
    assert "_app_events" not in app.groups


async def test_service_names_what_is_missing() -> None:
    app = Application("facade", http=False, env_file=None)
    async with TestApp(app):
        with pytest.raises(DependencyError, match="no started service 'nothing'"):
            app.service("nothing")
        assert app.service("client") is app.client


def test_proxy_adds_one_gateway_service_and_needs_a_transport_for_a_group() -> None:
    app = Application("facade", http=False, env_file=None)
    gateway = app.proxy("game", ["load"], transport="http://127.0.0.1:9")
    assert isinstance(gateway, Gateway)
    assert app.proxy("chat", transport="http://127.0.0.1:9") is gateway
    assert "gateway" in app.container.specs
    assert "game/load" in app.commands
    with pytest.raises(ValueError, match=r"proxy\('score', \.\.\.\) needs transport="):
        app.proxy("score")


async def test_the_gateway_resolver_is_registered_while_running_only() -> None:
    app = Application("facade", http=False, env_file=None)
    app.proxy("game", ["load"], transport="http://127.0.0.1:9")
    assert app.router.resolvers == []
    async with TestApp(app):
        assert len(app.router.resolvers) == 1
    assert app.router.resolvers == []


async def test_app_commands_lists_a_command_added_while_running() -> None:
    app = Application("facade", http=False, env_file=None)
    async with TestApp(app) as running:
        app.add_command(Echo)
        listed = await running.result("_app/commands")
    assert "util/echo" in [command["code"] for command in listed["commands"]]


async def test_enqueue_of_an_unknown_command_is_refused_at_once() -> None:
    shop = Group("shop")

    @shop.command("later")
    async def later(params: Any, ctx: Context) -> str:
        return await ctx.enqueue("shop/nothing")

    app = Application("facade", groups=[shop], http=False, env_file=None)
    async with TestApp(app) as running:
        envelope = await running.call("shop/later")
    assert envelope["status"] == "NotFound"
    assert "cannot enqueue unknown command 'shop/nothing'" in envelope["error"]["message"]


class FakeClient:
    async def start(self) -> FakeClient:
        return self

    async def call(self, code: str, params: Any = None, **options: Any) -> Any:
        return {"from": "fake", "code": code}


async def test_an_overridden_client_is_what_a_call_over_http_reaches() -> None:
    shop = Group("shop")

    @shop.command("relay")
    async def relay(params: Any, ctx: Context) -> Any:
        return await ctx.client.call("stock/count")

    app = Application("facade", groups=[shop], env_file=None)
    async with http_client(app, overrides={"client": FakeClient()}) as client:
        reply = await client.post("shop/relay", {})
    assert reply.status == 200
    assert reply.envelope["result"] == {"from": "fake", "code": "stock/count"}
