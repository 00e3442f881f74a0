"""NatsEventBus: every instance receives every event; WebSocket push reaches clients on every instance."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from betrue.nats import NatsEventBus
from betrue.server import Application, Context, Event, Group
from betrue.ws import WsAdapter, WsClient

AppFactory = Callable[..., Awaitable[Application]]


def chat_group() -> Group:
    chat = Group("chat")

    @chat.command("join")
    async def join(params: dict[str, Any], ctx: Context) -> Any:
        assert ctx.connection is not None  # called over WebSocket
        ctx.connection.join(params["room"])
        return {"room": params["room"]}

    @chat.command("send")
    async def send(params: dict[str, Any], ctx: Context) -> Any:
        await ctx.emit("chat.message", {"text": params["text"]}, to={"room": params["room"]})
        return {"sent": True}

    return chat


async def test_every_instance_receives_every_event(make_app: AppFactory) -> None:
    one, two = await make_app("a", adapter=False), await make_app("b", adapter=False)
    got: dict[str, list[Event]] = {"a": [], "b": []}
    done = asyncio.Event()

    def recorder(name: str) -> Callable[[Event], Awaitable[None]]:
        async def record(event: Event) -> None:
            got[name].append(event)
            if all(len(events) == 3 for events in got.values()):
                done.set()

        return record

    one.events.subscribe("order.*", recorder("a"))
    two.events.subscribe("order.>", recorder("b"))
    one.events.subscribe("other", recorder("a"))
    for n in range(3):
        await one.emit("order.paid", {"n": n}, to={"user": "ann"})
    await asyncio.wait_for(done.wait(), 10)
    assert [event.data for event in got["b"]] == [{"n": 0}, {"n": 1}, {"n": 2}]
    assert got["a"][0].to == {"user": "ann"}
    bus = one.events
    assert isinstance(bus, NatsEventBus)
    assert (bus.published, bus.dropped) == (3, 0)


async def test_a_push_to_a_room_reaches_websocket_clients_on_both_servers(make_app: AppFactory) -> None:
    servers = []
    for name in ("ws1", "ws2"):
        app = await make_app(name, adapter=False, groups=[chat_group()], http=True, services=[WsAdapter])
        servers.append(app.service("http").url + "/ws")
    async with WsClient(servers[0]) as ann, WsClient(servers[1]) as bob, WsClient(servers[1]) as eve:
        await ann.call("chat/join", {"room": "r1"})
        await bob.call("chat/join", {"room": "r1"})
        await eve.call("chat/join", {"room": "r2"})
        await ann.call("chat/send", {"room": "r1", "text": "hi all"})
        for client in (ann, bob):
            assert await client.next_event("chat.message", timeout=10) == {
                "event": "chat.message",
                "data": {"text": "hi all"},
            }
        with pytest.raises(TimeoutError):
            await eve.next_event("chat.message", timeout=0.5)


async def test_events_published_while_disconnected_are_dropped_and_counted(make_app: AppFactory, own_nats: Any) -> None:
    app = await make_app("a", url=own_nats.url, adapter=False)
    bus = app.events
    assert isinstance(bus, NatsEventBus)
    own_nats.kill()
    for _ in range(50):
        if not bus.nats.connected:
            break
        await asyncio.sleep(0.05)
    await app.emit("x.y", {"lost": True})
    assert bus.dropped == 1


async def test_the_asyncapi_document_lists_the_nats_server_and_event_channels(
    make_app: AppFactory, prefix: str, shared_nats: str
) -> None:
    from betrue.server import asyncapi_document, declare_event

    chat = chat_group()
    declare_event(chat, "chat.message", schema={"type": "object", "properties": {"text": {"type": "string"}}})
    app = await make_app("docs", adapter=False, groups=[chat])
    document = asyncapi_document(app)
    assert document["servers"]["nats"] == {
        "host": shared_nats.split("://", 1)[1],
        "protocol": "nats",
        "description": "NATS: events for every instance (at most once), commands in queue groups",
    }
    channel = document["channels"]["nats.evt.chat.message"]
    assert channel["address"] == f"{prefix}.evt.chat.message"
    message = document["components"]["messages"]["nats.chat.message"]
    assert message["payload"]["properties"]["data"]["properties"] == {"text": {"type": "string"}}
    assert document["operations"]["nats.publish.chat.message"]["action"] == "send"
    schema_file = Path(__file__).parents[2] / "betrue-server" / "tests" / "data" / "asyncapi-3.0.0.schema.json"
    validator = jsonschema.Draft7Validator(json.loads(schema_file.read_text()))
    assert [error.message for error in validator.iter_errors(json.loads(json.dumps(document)))] == []
