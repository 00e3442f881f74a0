"""A connection's attributes, identity and bounded queue (without a socket)."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import pytest

from betrue.server import Identity
from betrue.ws import CLOSE_TOO_SLOW, Connection


class FakeSocket:
    """Just enough of aiohttp's WebSocketResponse: frames written and the close asked for."""

    def __init__(self) -> None:
        self.frames: list[bytes] = []
        self.closed_with: tuple[int, bytes] | None = None
        self.paused = asyncio.Event()
        self.paused.set()

    async def send_frame(self, frame: bytes, opcode: Any) -> None:
        await self.paused.wait()
        self.frames.append(frame)

    async def close(self, *, code: int, message: bytes, drain: bool) -> bool:
        self.closed_with = (code, message)
        return True


def _connection(socket: FakeSocket | None = None, **options: Any) -> Connection:
    return Connection(cast(Any, socket), **options)


def test_attributes_are_set_joined_left_and_removed() -> None:
    connection = _connection()
    connection.set(user="ann", team="blue", tags=["a", "b"])
    connection.join("r1", "r2")
    connection.leave("r2")
    connection.set(team=None)
    assert dict(connection.attributes) == {
        "connection": connection.id,
        "user": "ann",
        "tags": frozenset({"a", "b"}),
        "rooms": frozenset({"r1"}),
    }
    assert connection.rooms == frozenset({"r1"})
    assert connection.user == "ann"
    connection.leave("r1")
    assert "rooms" not in connection.attributes


def test_attributes_hold_scalars_and_collections_of_scalars_only() -> None:
    connection = _connection()
    with pytest.raises(TypeError):
        connection.set(user={"name": "ann"})
    with pytest.raises(TypeError):
        connection.set(tags=[["nested"]])
    with pytest.raises(ValueError, match="id"):
        connection.set(connection="other")
    connection.set(rooms="r1")
    assert connection.rooms == frozenset({"r1"})


def test_identify_sets_the_identity_and_the_user_attribute() -> None:
    connection = _connection()
    connection.identify(Identity("ann", roles=("admin",)))
    assert connection.identity is not None
    assert connection.identity.has_role("admin")
    assert connection.user == "ann"
    connection.identify(None)
    assert connection.identity is None
    assert connection.user is None


async def test_frames_are_written_in_order_by_the_connection_writer() -> None:
    socket = FakeSocket()
    connection = _connection(socket)
    connection.start()
    for n in range(5):
        assert connection.send("tick", n)
    await connection.close(1000, "bye")
    assert socket.frames == [b'{"event":"tick","data":%d}' % n for n in range(5)]
    assert socket.closed_with == (1000, b"bye")
    assert connection.state == "closed"
    assert not connection.send("tick", 6)


async def test_a_full_queue_drops_the_connection_instead_of_waiting() -> None:
    socket = FakeSocket()
    socket.paused.clear()  # the client stopped reading: the first write never finishes
    connection = _connection(socket, send_queue=3, close_timeout=0.5)
    connection.start()
    assert connection.push(b"first")
    await asyncio.sleep(0.01)  # the writer took it and waits for the client
    assert connection.queued == 0
    accepted = [connection.push(b"x") for _ in range(5)]
    assert accepted == [True, True, True, False, False]  # three queued, then the connection is dropped
    await connection.close()  # waits for the drop in progress
    assert (connection.close_code, connection.state) == (CLOSE_TOO_SLOW, "closed")
    assert socket.closed_with is not None
    assert socket.closed_with[0] == CLOSE_TOO_SLOW
    assert connection.queued == 0


async def test_a_write_waiting_for_the_client_shows_how_long_it_has_waited() -> None:
    socket = FakeSocket()
    socket.paused.clear()
    connection = _connection(socket)
    connection.start()
    loop = asyncio.get_running_loop()
    assert connection.stalled_for(loop.time()) == 0.0
    connection.push(b"x")
    await asyncio.sleep(0.05)
    assert connection.stalled_for(loop.time()) >= 0.04
    socket.paused.set()
    await asyncio.sleep(0.01)
    assert connection.stalled_for(loop.time()) == 0.0
    await connection.close()
