"""betrue.server.testing: TestApp without ports, overrides, recorded events, env, and http_client."""

from __future__ import annotations

from typing import Any

import pytest

from betrue.config import Config, env
from betrue.server import Application, Context, Group, NotFound, Service
from betrue.server.testing import TestApp, http_client


class Store(Service):
    """The real store: talks to a database nobody has in a unit test."""

    name = "store"

    async def start(self) -> Store:
        raise RuntimeError("no database here")

    async def save(self, text: str) -> int:
        raise NotImplementedError


class FakeStore:
    def __init__(self) -> None:
        self.saved: list[str] = []

    async def save(self, text: str) -> int:
        self.saved.append(text)
        return len(self.saved)


class GreetingConfig(Config):
    """Greeting"""

    word: str = env("GREETING_WORD", "hello", description="The greeting")


class Greeting(Service):
    name = "greeting"
    config_class = GreetingConfig


def make_app() -> Application:
    chat = Group("chat")

    @chat.command("send", input={"type": "object", "required": ["room", "text"]})
    async def send(params: dict[str, Any], ctx: Context) -> dict[str, int]:
        store = await ctx.service("store")
        message_id = await store.save(params["text"])
        await ctx.emit("chat.message", {"id": message_id, "text": params["text"]}, to={"room": params["room"]})
        return {"id": message_id}

    @chat.command("greet")
    async def greet(params: dict[str, Any], ctx: Context) -> str:
        greeting: Greeting = await ctx.service("greeting")
        return str(greeting.config.word)

    @chat.command("find")
    async def find(params: dict[str, Any], ctx: Context) -> None:
        raise NotFound("no such message", details={"id": params.get("id")})

    app = Application("chat", groups=[chat], env_file=None)
    app.add_service(Store)
    app.add_service(Greeting)
    return app


async def test_call_returns_the_envelope_with_a_service_overridden() -> None:
    fake = FakeStore()
    async with TestApp(make_app(), overrides={"store": fake}) as t:
        envelope = await t.call("chat/send", {"room": "r1", "text": "hi"})
        assert envelope["code"] == 200
        assert envelope["result"] == {"id": 1}
        assert t.service("store") is fake
    assert fake.saved == ["hi"]


async def test_events_emitted_during_calls_are_recorded_in_order() -> None:
    async with TestApp(make_app(), overrides={"store": FakeStore()}) as t:
        await t.call("chat/send", {"room": "r1", "text": "one"})
        await t.call("chat/send", {"room": "r2", "text": "two"})
        assert [(e.name, e.data["text"], e.to) for e in t.events] == [
            ("chat.message", "one", {"room": "r1"}),
            ("chat.message", "two", {"room": "r2"}),
        ]
        assert (await t.wait_event("chat.*")).data == {"id": 1, "text": "one"}
        assert t.events[0].meta["x-trace-id"]


async def test_result_raises_error_envelopes_as_their_class() -> None:
    async with TestApp(make_app(), overrides={"store": FakeStore()}) as t:
        with pytest.raises(NotFound) as raised:
            await t.result("chat/find", {"id": 9})
        assert raised.value.details == {"id": 9}
        assert (await t.call("chat/send", {"room": "r1"}))["status"] == "ValidationError"


async def test_env_applies_to_this_run_only() -> None:
    app = make_app()
    async with TestApp(app, overrides={"store": FakeStore()}, env={"GREETING_WORD": "hey"}) as t:
        assert await t.result("chat/greet") == "hey"
    async with TestApp(app, overrides={"store": FakeStore()}) as t:
        assert await t.result("chat/greet") == "hello"


async def test_the_app_is_put_back_as_it_was() -> None:
    app = make_app()
    original = app.container.specs["store"]
    async with TestApp(app, overrides={"store": FakeStore(), "extra": object()}):
        assert app.container.specs["store"] is not original
    assert app.container.specs["store"] is original
    assert "extra" not in app.container.specs
    with pytest.raises(RuntimeError, match="no database here"):
        async with TestApp(app):
            pass


async def test_nothing_listens_without_http() -> None:
    async with TestApp(make_app(), overrides={"store": FakeStore()}) as t:
        assert t.service("http").site is None
        with pytest.raises(RuntimeError, match="http=True"):
            await t.post("chat/greet")


async def test_http_client_serves_on_a_free_port() -> None:
    async with http_client(make_app(), overrides={"store": FakeStore()}) as client:
        assert client.url.startswith("http://127.0.0.1:")
        assert not client.url.endswith(":3000")
        reply = await client.post("chat/send", {"room": "r1", "text": "hi"})
        assert reply.status == 200
        assert reply.envelope["result"] == {"id": 1}
        assert reply.headers["x-trace-id"] == reply.envelope["traceId"]
        assert [event.name for event in client.events] == ["chat.message"]
