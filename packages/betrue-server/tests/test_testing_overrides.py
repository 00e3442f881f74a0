"""TestApp: overrides and settings last one run, the app is put back even when start fails, events wait."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from betrue.server import Application, Context, Group, Service
from betrue.server.testing import TestApp, http_client


class Store(Service):
    name = "store"

    def kind(self) -> str:
        return "real"


class FakeStore:
    def kind(self) -> str:
        return "fake"


class Exploding(Service):
    name = "store"

    async def start(self) -> None:
        raise RuntimeError("cannot start")


def _app() -> Application:
    shop = Group("shop")

    @shop.command("kind")
    async def kind(params: Any, ctx: Context) -> str:
        store = await ctx.service("store")
        result: str = store.kind()
        return result

    @shop.command("env")
    async def env(params: Any, ctx: Context) -> str:
        return ctx.app.config.output_validation

    @shop.command("announce")
    async def announce(params: Any, ctx: Context) -> None:
        await asyncio.sleep(0.05)
        await ctx.emit("shop.announced", {"n": params["n"]})

    app = Application("overrides", groups=[shop], http=False, env_file=None)
    app.add_service(Store)
    return app


async def test_an_override_lasts_one_run() -> None:
    app = _app()
    async with TestApp(app, overrides={"store": FakeStore()}) as running:
        assert await running.result("shop/kind") == "fake"
        assert isinstance(running.service("store"), FakeStore)
    async with TestApp(app) as running:
        assert await running.result("shop/kind") == "real"


async def test_an_override_of_a_service_the_app_lacks_is_removed_after() -> None:
    app = _app()
    async with TestApp(app, overrides={"extra": FakeStore()}) as running:
        assert isinstance(running.service("extra"), FakeStore)
    assert "extra" not in app.container.specs


async def test_the_app_is_put_back_when_start_fails() -> None:
    app = _app()
    with pytest.raises(RuntimeError, match="cannot start"):
        async with TestApp(app, overrides={"store": Exploding}, env={"OUTPUT_VALIDATION": "warn"}):
            pass  # pragma: no cover - start fails before the body
    assert app.container.specs["store"].factory is Store
    assert app.loader.environ is None
    async with TestApp(app) as running:
        assert await running.result("shop/kind") == "real"


async def test_env_reaches_the_configs_of_this_run_only() -> None:
    app = _app()
    async with TestApp(app, env={"OUTPUT_VALIDATION": "warn"}) as running:
        assert await running.result("shop/env") == "warn"
    async with TestApp(app, env={"OUTPUT_VALIDATION": "off"}) as running:
        assert await running.result("shop/env") == "off"
    async with TestApp(app) as running:
        assert await running.result("shop/env") == "error"


async def test_wait_event_waits_for_an_event_published_later_and_matches_wildcards() -> None:
    app = _app()
    async with TestApp(app) as running:
        call = asyncio.create_task(running.call("shop/announce", {"n": 1}))
        event = await running.wait_event("shop.*")
        await call
    assert event.name == "shop.announced"
    assert event.data == {"n": 1}


async def test_wait_event_gives_up_after_its_timeout() -> None:
    app = _app()
    async with TestApp(app) as running:
        with pytest.raises(TimeoutError):
            await running.wait_event("never.happens", timeout=0.05)


async def test_post_without_http_says_what_is_needed() -> None:
    async with TestApp(_app()) as running:
        with pytest.raises(RuntimeError, match=r"TestApp\(app, http=True\)"):
            await running.post("shop/kind")


class Pages(Service):
    name = "pages"
    deps = ("http",)

    async def start(self) -> None:
        http = self.services["http"]
        http.add_route("GET", "/hello", self.hello)
        http.add_route("PUT", "/items", self.put)

    async def hello(self, request: web.Request) -> web.Response:
        return web.Response(text="hello")

    async def put(self, request: web.Request) -> web.Response:
        return web.Response(text=f"put {len(await request.read())}")


async def test_a_service_adds_routes_through_the_http_adapter() -> None:
    app = Application("pages", http=True, env_file=None)
    app.add_service(Pages)
    async with http_client(app) as client, aiohttp.ClientSession() as session:
        async with session.get(f"{client.url}/hello") as reply:
            assert (reply.status, await reply.text()) == (200, "hello")
        async with session.head(f"{client.url}/hello") as reply:
            assert reply.status == 200  # GET answers HEAD too
        async with session.put(f"{client.url}/items", data=b"abc") as reply:
            assert await reply.text() == "put 3"
        async with session.post(f"{client.url}/hello") as reply:
            assert reply.status == 405
