"""``ctx.connection``: what an adapter with connections passes to ``handle``, typed by the Connection protocol."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from betrue.server import Application, Context, Group, Identity
from betrue.server.auth.ratelimit import client_address
from betrue.server.testing import TestApp
from betrue.server.types import Connection


class Socket:
    """A push target as an adapter other than WebSocket would hold one (a NATS inbox, an SSE stream)."""

    def __init__(self, remote: str | None = "10.0.0.7") -> None:
        self.id = "socket-1"
        self.identity: Identity | None = None
        self.remote = remote
        self._attributes: dict[str, Any] = {}
        self._rooms: set[str] = set()
        self.sent: list[tuple[str, Any]] = []

    @property
    def attributes(self) -> Mapping[str, Any]:
        return self._attributes

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
        self.sent.append((event, data))
        return True


def _app() -> Application:
    room = Group("room")

    @room.command("enter")
    async def enter(params: Any, ctx: Context) -> dict[str, Any]:
        connection = ctx.connection
        if connection is None:
            return {"connected": False}
        connection.join(params["room"])
        connection.set(user=params["user"])
        connection.identify(Identity(params["user"]))
        connection.send("room.welcome", {"room": params["room"]})
        return {"connected": True, "id": connection.id, "rooms": sorted(connection.rooms)}

    return Application("rooms", groups=[room], http=False, env_file=None)


async def test_a_command_reaches_the_connection_it_was_called_over() -> None:
    app = _app()
    socket = Socket()
    target: Connection = socket  # the protocol is structural: no base class needed
    async with TestApp(app) as running:
        response = await app.handle("room/enter", {"room": "r1", "user": "ann"}, connection=target)
        without = await running.result("room/enter", {"room": "r1", "user": "ann"})
    assert response.result == {"connected": True, "id": "socket-1", "rooms": ["r1"]}
    assert socket.attributes == {"user": "ann"}
    assert socket.identity is not None
    assert socket.identity.subject == "ann"
    assert socket.sent == [("room.welcome", {"room": "r1"})]
    assert without == {"connected": False}


async def test_the_rate_limiter_keys_a_connection_by_its_remote_address() -> None:
    seen: list[str | None] = []
    probe = Group("probe")

    @probe.command("who")
    async def who(params: Any, ctx: Context) -> None:
        seen.append(client_address(ctx))

    app = Application("limits", groups=[probe], http=False, env_file=None)
    async with TestApp(app):
        await app.handle("probe/who", {}, connection=Socket("10.0.0.7"))
    assert seen == ["10.0.0.7"]
