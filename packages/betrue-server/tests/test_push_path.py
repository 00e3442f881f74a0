"""The event path an adapter with connections builds on: ctx.emit → the bus → the connections ``to`` selects."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, ClassVar

from betrue.server import Application, Context, Group, Identity
from betrue.server.ext import Adapter, Connection, Event, Subscription, matches


class Peer:
    """A connection that records what is pushed to it."""

    def __init__(self, peer_id: str) -> None:
        self.id = peer_id
        self.identity: Identity | None = None
        self.remote: str | None = None
        self._attributes: dict[str, Any] = {"connection": peer_id}
        self._rooms: set[str] = set()
        self.received: list[tuple[str, Any]] = []

    @property
    def attributes(self) -> Mapping[str, Any]:
        return {**self._attributes, "rooms": frozenset(self._rooms)}

    @property
    def rooms(self) -> frozenset[str]:
        return frozenset(self._rooms)

    def set(self, **values: Any) -> None:
        self._attributes.update(values)

    def join(self, *rooms: str) -> None:
        self._rooms.update(rooms)

    def leave(self, *rooms: str) -> None:
        self._rooms.difference_update(rooms)

    def identify(self, identity: Identity | None) -> None:
        self.identity = identity

    def send(self, event: str, data: Any = None) -> bool:
        self.received.append((event, data))
        return True


class Pusher(Adapter):
    """Holds connections; pushes every event to those its ``to`` selects (what betrue-ws does over WebSocket)."""

    name = "pusher"
    delivered: ClassVar[asyncio.Event]

    def __init__(self, config: Any = None, **deps: Any) -> None:
        super().__init__(config, **deps)
        self.peers: list[Connection] = []
        self.subscription: Subscription | None = None

    async def serve(self, app: Application) -> None:
        self.app = app
        self.subscription = app.events.subscribe(">", self.push)

    async def push(self, event: Event) -> None:
        for peer in self.peers:
            if matches(event.to, peer.attributes):
                peer.send(event.name, event.data)
        Pusher.delivered.set()

    async def close(self) -> None:
        if self.subscription is not None:
            self.subscription.unsubscribe()

    async def call(self, peer: Connection, code: str, params: Any) -> Any:
        return (await self.app.handle(code, params, adapter="pusher", connection=peer)).result


def _app() -> Application:
    room = Group("room")

    @room.command("join")
    async def join(params: Any, ctx: Context) -> None:
        assert ctx.connection is not None
        ctx.connection.join(params["room"])
        ctx.connection.set(user=params["user"])

    @room.command("say")
    async def say(params: Any, ctx: Context) -> None:
        await ctx.emit("room.said", {"text": params["text"]}, to={"room": params["room"]})

    app = Application("push", groups=[room], http=False, env_file=None)
    app.add_service(Pusher)
    return app


async def test_an_event_reaches_only_the_connections_its_to_selects() -> None:
    app = _app()
    Pusher.delivered = asyncio.Event()
    await app.start()  # serving: the pusher subscribes to the bus
    try:
        pusher: Pusher = app.service("pusher")
        ann, bob, cid = Peer("ann"), Peer("bob"), Peer("cid")
        pusher.peers += [ann, bob, cid]
        await pusher.call(ann, "room/join", {"room": "r1", "user": "ann"})
        await pusher.call(bob, "room/join", {"room": "r2", "user": "bob"})
        await pusher.call(cid, "room/join", {"room": "r1", "user": "cid"})
        await pusher.call(ann, "room/say", {"room": "r1", "text": "hi"})
        await asyncio.wait_for(Pusher.delivered.wait(), 5)
    finally:
        await app.stop()
    assert ann.received == [("room.said", {"text": "hi"})]
    assert cid.received == [("room.said", {"text": "hi"})]
    assert bob.received == []


async def test_after_stop_the_pusher_no_longer_listens() -> None:
    app = _app()
    Pusher.delivered = asyncio.Event()
    await app.start()
    bus = app.events
    await bus.publish(Event("room.said", {"text": "while serving"}, {"room": "r1"}, {}))
    await asyncio.wait_for(Pusher.delivered.wait(), 5)
    await app.stop()
    Pusher.delivered.clear()
    await bus.publish(Event("room.said", {"text": "late"}, {"room": "r1"}, {}))
    await asyncio.sleep(0.05)
    assert not Pusher.delivered.is_set()


async def test_an_event_without_to_reaches_every_connection() -> None:
    app = _app()
    Pusher.delivered = asyncio.Event()
    await app.start()
    try:
        pusher: Pusher = app.service("pusher")
        first, second = Peer("first"), Peer("second")
        pusher.peers += [first, second]
        await app.emit("app.notice", {"text": "maintenance"})
        await asyncio.wait_for(Pusher.delivered.wait(), 5)
    finally:
        await app.stop()
    assert first.received == second.received == [("app.notice", {"text": "maintenance"})]
