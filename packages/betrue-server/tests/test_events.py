"""Events: the filter, the in-process bus, and subscribers run by the application with their own context."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from loguru import logger

from betrue.server import Application, Context, Event, Group, Identity, MemoryEventBus, matches
from betrue.server.events import name_matches


@pytest.mark.parametrize(
    ("pattern", "name", "expected"),
    [
        ("chat.message", "chat.message", True),
        ("chat.message", "chat.messages", False),
        ("chat.*", "chat.message", True),
        ("chat.*", "chat.message.edited", False),
        ("chat.>", "chat.message.edited", True),
        ("chat.>", "chat", False),
        (">", "_ws.connected", True),
        ("*.message", "chat.message", True),
    ],
)
def test_names_match_patterns_like_nats_subjects(pattern: str, name: str, expected: bool) -> None:
    assert name_matches(pattern, name) is expected


def test_a_filter_matches_when_every_key_does() -> None:
    ann = {"connection": "c1", "user": "ann", "rooms": {"r1", "r2"}}
    assert matches(None, ann)
    assert matches({}, ann)
    assert matches({"room": "r1"}, ann)  # `room` reads `rooms`
    assert matches({"rooms": ["r3", "r2"]}, ann)  # any overlap
    assert matches({"user": "ann", "room": "r2"}, ann)
    assert not matches({"user": "ann", "room": "r3"}, ann)
    assert not matches({"team": "blue"}, ann)  # a key the receiver lacks


async def test_the_bus_isolates_subscribers_from_the_publisher_and_from_each_other() -> None:
    bus = MemoryEventBus(drain_timeout=0.05)
    got: list[str] = []
    slow_started, recorded = asyncio.Event(), asyncio.Event()

    async def failing(event: Event) -> None:
        raise RuntimeError("subscriber bug")

    async def slow(event: Event) -> None:
        slow_started.set()
        await asyncio.sleep(3600)

    async def recording(event: Event) -> None:
        got.append(event.name)
        recorded.set()

    bus.subscribe("chat.*", failing)
    bus.subscribe("chat.*", slow)
    bus.subscribe("chat.*", recording)
    unsubscribed = bus.subscribe(">", recording)
    unsubscribed.unsubscribe()
    async with asyncio.timeout(1):  # the slow subscriber holds up nobody
        await bus.publish(Event("chat.message", {"text": "hi"}))
        await bus.publish(Event("game.move", {}))
        await slow_started.wait()
        await recorded.wait()
    assert got == ["chat.message"]
    async with asyncio.timeout(1):
        await bus.stop()  # waits for deliveries in flight, but not forever: the slow one is cancelled


async def test_deliveries_to_a_subscriber_start_in_publish_order() -> None:
    bus = MemoryEventBus()
    seen: list[int] = []

    async def record(event: Event) -> None:
        seen.append(event.data)

    bus.subscribe("n", record)
    for n in range(50):
        await bus.publish(Event("n", n))
    await bus.stop()
    assert seen == list(range(50))


@pytest.mark.parametrize("name", ["", "chat.*", "chat.>", "chat..message", ".chat", "chat message", "chat/send"])
def test_a_published_name_has_no_wildcards_or_empty_tokens(name: str) -> None:
    with pytest.raises(ValueError, match="event name"):
        Event(name)


def test_events_round_trip_through_a_dict_for_buses_that_serialise() -> None:
    event = Event("chat.message", {"text": "hi"}, {"room": "r1"}, {"x-trace-id": "t1"})
    assert Event.from_dict(event.to_dict()) == event


async def test_a_command_emits_and_subscribers_run_with_their_own_context_and_its_trace_id() -> None:
    chat = Group("chat")
    seen: dict[str, Any] = {}
    done = asyncio.Event()
    logged: list[dict[str, Any]] = []

    @chat.command("send")
    async def send(params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        await ctx.emit("chat.message", {"text": params["text"]}, to={"room": "r1"})
        return {"sent": True}

    @chat.on("chat.message")
    async def broken(data: Any, ctx: Context) -> None:
        raise RuntimeError("this subscriber is broken")

    @chat.on("chat.*")
    async def remember(data: Any, ctx: Context) -> None:
        seen.update(data=data, trace_id=ctx.trace_id, adapter=ctx.adapter, subject=ctx.meta.get("x-subject"))
        done.set()

    app = Application("events", groups=[chat], http=False, environ={"LOG_LEVEL": "ERROR"}, env_file=None)
    await app.start()
    sink = logger.add(lambda message: logged.append(dict(message.record["extra"])), level="ERROR")
    try:
        response = await app.handle("chat/send", {"text": "hi"}, {"x-trace-id": "trace-42"}, identity=Identity("ann"))
        await asyncio.wait_for(done.wait(), 5)
        await asyncio.sleep(0.01)  # let the failing subscriber's log line land
    finally:
        logger.remove(sink)
        await app.stop()
    assert response.result == {"sent": True}  # the broken subscriber did not reach the command
    assert seen == {"data": {"text": "hi"}, "trace_id": "trace-42", "adapter": "event", "subject": "ann"}
    assert {"trace_id": "trace-42", "event": "chat.message"}.items() <= logged[0].items()


async def test_app_emit_reaches_subscribers_outside_any_call() -> None:
    app = Application("events", http=False, environ={"LOG_LEVEL": "ERROR"}, env_file=None)
    got: list[Any] = []

    @app.on("clock.tick")
    async def tick(data: Any, ctx: Context) -> None:
        got.append(data)

    await app.start()
    try:
        await app.emit("clock.tick", 1)
        await app.events.stop()  # drains deliveries in flight
    finally:
        await app.stop()
    assert got == [1]
