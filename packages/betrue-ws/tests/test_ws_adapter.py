"""The adapter end to end with real clients: push by filter, limits, slow clients, heartbeat, shutdown, origins."""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import time
from collections.abc import Callable, Coroutine, Mapping
from contextlib import AbstractAsyncContextManager
from typing import Any

import aiohttp
import pytest
from yarl import URL

from betrue.server import Application, Event
from betrue.ws import CLOSE_GOING_AWAY, CLOSE_TOO_BIG, CLOSE_TOO_SLOW, Connection, WsAdapter, WsClient

MakeApp = Callable[..., Application]
Serving = Callable[[Application], AbstractAsyncContextManager[str]]
Eventually = Callable[..., Coroutine[Any, Any, None]]


# -- push by filter --------------------------------------------------------------------------------

CLIENTS: dict[str, dict[str, Any]] = {
    "ann-r1": {"set": {"user": "ann"}, "join": ["r1"]},
    "bob-r1-r2": {"set": {"user": "bob"}, "join": ["r1", "r2"]},
    "ann-r2": {"set": {"user": "ann", "team": "blue"}, "join": ["r2"]},
    "anonymous": {},
}
FILTERS: list[tuple[Mapping[str, Any] | None, set[str]]] = [
    ({"user": "ann"}, {"ann-r1", "ann-r2"}),
    ({"room": "r1"}, {"ann-r1", "bob-r1-r2"}),
    ({"rooms": "r2"}, {"bob-r1-r2", "ann-r2"}),
    ({"room": "r2", "user": "ann"}, {"ann-r2"}),
    ({"user": ["ann", "bob"]}, {"ann-r1", "bob-r1-r2", "ann-r2"}),
    ({"room": ["r1", "r2"], "user": "bob"}, {"bob-r1-r2"}),
    ({"team": "blue"}, {"ann-r2"}),
    ({"room": "r3"}, set()),
    ({"user": "carl"}, set()),
    (None, set(CLIENTS)),
]


async def _received_until_marker(client: WsClient, marker: int) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = []
    while True:
        event = await client.next_event(timeout=5)
        if event["event"] == "marker" and event["data"] == marker:
            return got
        got.append(event)


@pytest.mark.parametrize("via", ["send", "emit"])
async def test_a_push_reaches_exactly_the_connections_matching_its_filter(
    make_app: MakeApp, serving: Serving, via: str
) -> None:
    app = make_app()
    async with serving(app) as url:
        clients = {name: await WsClient(url).connect() for name in CLIENTS}
        try:
            for name, attributes in CLIENTS.items():
                await clients[name].call("t/set", attributes)
            ws: WsAdapter = app.service("ws")
            for number, (to, expected) in enumerate(FILTERS):
                if via == "send":
                    assert await ws.send("probe", {"n": number}, to=to) == len(expected)
                    await ws.send("marker", number)
                else:  # through the EventBus: delivered in publish order, after emit returns
                    await app.emit("probe", {"n": number}, to=to)
                    await app.emit("marker", number)
                for name, client in clients.items():
                    got = await _received_until_marker(client, number)
                    wanted = [{"event": "probe", "data": {"n": number}}] if name in expected else []
                    assert got == wanted, f"{name} with filter {to}"
        finally:
            for client in clients.values():
                await client.close()


async def test_events_emitted_by_a_command_are_pushed_and_server_side_events_are_not(
    make_app: MakeApp, serving: Serving, eventually: Eventually
) -> None:
    app = make_app()
    seen: list[Event] = []

    async def record(event: Event) -> None:
        seen.append(event)

    async with serving(app) as url, WsClient(url) as client:
        app.events.subscribe("_ws.>", record)
        await client.call("t/set", {"join": ["r1"]})
        await client.call("t/emit", {"event": "_internal.note", "data": 1})
        await client.call("t/emit", {"event": "room.note", "data": {"x": 1}, "to": {"room": "r1"}})
        assert await client.next_event(timeout=5) == {"event": "room.note", "data": {"x": 1}}
        async with WsClient(url) as other:
            await other.call("t/echo")
        await eventually(lambda: len(seen) >= 2)
    assert client.events.empty()  # `_internal.note` stayed on the server
    connected, disconnected = seen[0], seen[1]
    assert connected.name == "_ws.connected"
    assert disconnected.name == "_ws.disconnected"
    assert disconnected.data["connection"] == connected.data["connection"]


async def test_event_data_that_is_not_json_is_not_pushed_and_breaks_nothing(
    make_app: MakeApp, serving: Serving
) -> None:
    app = make_app()
    async with serving(app) as url, WsClient(url) as client:
        await app.emit("bad", {"value": object()})
        await app.emit("good", 1)
        assert await client.next_event(timeout=5) == {"event": "good", "data": 1}


# -- limits ----------------------------------------------------------------------------------------


async def test_a_frame_over_the_size_limit_closes_the_connection_with_1009(
    make_app: MakeApp, serving: Serving, eventually: Eventually
) -> None:
    app = make_app(WS_MAX_MESSAGE=1024)
    async with serving(app) as url, WsClient(url) as client:
        assert await client.call("t/echo", {"text": "x" * 900}) == {"text": "x" * 900}
        await client.send_raw('{"id": 1, "command": "t/echo", "params": {"text": "' + "x" * 2000 + '"}}')
        assert await client.wait_closed(5) == CLOSE_TOO_BIG
        await eventually(lambda: len(app.service("ws").connections) == 0)


async def _never_reading_client(url: str) -> socket.socket:
    """A WebSocket handshake on a socket with a tiny receive buffer, which then never reads again."""
    parts = URL(url)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    loop = asyncio.get_running_loop()
    await loop.sock_connect(sock, (parts.host, parts.port))
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        f"GET {parts.path} HTTP/1.1\r\nHost: {parts.host}:{parts.port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    await loop.sock_sendall(sock, request.encode())
    head = b""
    while not head.endswith(b"\r\n\r\n"):  # byte by byte: nothing after the handshake is read
        head += await loop.sock_recv(sock, 1)
    assert head.startswith(b"HTTP/1.1 101"), head
    return sock


async def _read_ticks(client: WsClient, count: int) -> list[int]:
    numbers: list[int] = []
    while len(numbers) < count:
        event = await client.next_event("tick", timeout=10)
        numbers.append(event["data"]["n"])
    return numbers


def _shrink_send_buffer(connection: Connection) -> None:
    # Linux grows a socket's send buffer to megabytes; a small one makes the stall show after a few frames.
    transport = connection.transport
    assert transport is not None
    transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)


async def test_a_client_that_never_reads_is_dropped_while_50_others_receive_every_message_in_order(
    make_app: MakeApp, serving: Serving, eventually: Eventually
) -> None:
    app = make_app(WS_SEND_QUEUE=32, WS_SEND_TIMEOUT=1.0)
    messages, pad = 200, "x" * 8_000
    async with serving(app) as url:
        ws: WsAdapter = app.service("ws")
        readers = [await WsClient(url).connect() for _ in range(50)]
        stuck = await _never_reading_client(url)
        try:
            await eventually(lambda: len(ws.connections) == 51)
            _shrink_send_buffer(list(ws.connections)[-1])
            reading = [asyncio.create_task(_read_ticks(reader, messages)) for reader in readers]
            slowest_send, dropped_at = 0.0, None
            for n in range(messages):
                started = time.perf_counter()
                await ws.send("tick", {"n": n, "pad": pad})  # never raises, never waits for a client
                slowest_send = max(slowest_send, time.perf_counter() - started)
                if dropped_at is None and len(ws.connections) == 50:
                    dropped_at = n
                await asyncio.sleep(0.002)  # a steady producer, slower than the readers
            received = await asyncio.wait_for(asyncio.gather(*reading), 30)
        finally:
            stuck.close()
            for reader in readers:
                await reader.close()
    assert dropped_at is not None
    assert dropped_at < messages // 2  # the others went on receiving after the drop
    assert all(numbers == list(range(messages)) for numbers in received)
    assert slowest_send < 0.05


async def test_a_client_that_stops_reading_is_dropped_after_the_send_timeout(
    make_app: MakeApp, serving: Serving, eventually: Eventually
) -> None:
    app = make_app(WS_SEND_QUEUE=100_000, WS_SEND_TIMEOUT=0.3)
    async with serving(app) as url:
        ws: WsAdapter = app.service("ws")
        stuck = await _never_reading_client(url)
        try:
            await eventually(lambda: len(ws.connections) == 1)
            connection = next(iter(ws.connections))
            _shrink_send_buffer(connection)
            started = time.perf_counter()
            for n in range(400):  # about 6 MB: more than the socket buffers hold
                await ws.send("tick", {"n": n, "pad": "x" * 16_000})
                await asyncio.sleep(0)
            await eventually(lambda: len(ws.connections) == 0, timeout=5)
        finally:
            stuck.close()
    assert connection.close_code == CLOSE_TOO_SLOW
    assert "timeout" in connection.close_reason or "waited" in connection.close_reason
    assert time.perf_counter() - started < 4


async def test_the_heartbeat_closes_a_peer_that_does_not_answer_pings(
    make_app: MakeApp, serving: Serving, eventually: Eventually
) -> None:
    app = make_app(WS_HEARTBEAT=0.2)
    async with serving(app) as url, aiohttp.ClientSession() as session, WsClient(url) as alive:
        ws: WsAdapter = app.service("ws")
        async with session.ws_connect(url, autoping=False) as silent:  # never answers a ping
            await eventually(lambda: len(ws.connections) == 2)
            await eventually(lambda: len(ws.connections) == 1, timeout=3)
            assert silent is not None
        assert await alive.call("t/echo", {"still": "here"}) == {"still": "here"}


# -- shutdown --------------------------------------------------------------------------------------


async def test_shutdown_answers_the_call_in_flight_then_closes_with_1001(
    make_app: MakeApp, gate: Any, eventually: Eventually
) -> None:
    app = make_app()
    await app.start()
    url = app.service("http").url + "/ws"
    async with WsClient(url) as client:
        held = asyncio.create_task(client.call("t/hold"))
        await asyncio.wait_for(gate.entered.wait(), 5)
        stopping = asyncio.create_task(app.stop())
        await eventually(lambda: not app.service("ws").accepting)
        refused = await client.call_envelope("t/echo", {})  # new calls are refused while stopping
        assert (refused["code"], refused["status"]) == (503, "ServiceUnavailable")
        gate.release.set()
        assert await held == {"released": True}
        assert await client.wait_closed(5) == CLOSE_GOING_AWAY
        await asyncio.wait_for(stopping, 10)


# -- handshake -------------------------------------------------------------------------------------


async def test_origins_other_than_the_endpoint_own_are_refused_with_403(make_app: MakeApp, serving: Serving) -> None:
    app = make_app(WS_ORIGINS="https://app.example.com")
    async with serving(app) as url, aiohttp.ClientSession() as session:
        own = url.rsplit("/", 1)[0]
        for allowed in (None, own, "https://app.example.com"):
            headers = {"Origin": allowed} if allowed else {}
            async with session.ws_connect(url, headers=headers) as ws:
                await ws.send_json({"id": 1, "command": "t/echo"})
                assert (await ws.receive_json(timeout=5))["code"] == 200
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await session.ws_connect(url, headers={"Origin": "https://evil.example"})
        assert refused.value.status == 403
        async with session.get(url, headers=_UPGRADE | {"Origin": "https://evil.example"}) as response:
            envelope = await response.json()
        assert (envelope["code"], envelope["status"]) == (403, "Forbidden")
        assert envelope["error"]["details"] == {"origin": "https://evil.example"}


async def test_a_plain_get_on_the_endpoint_is_told_to_upgrade(make_app: MakeApp, serving: Serving) -> None:
    async with serving(make_app()) as url, aiohttp.ClientSession() as session, session.get(url) as response:
        assert response.status == 426
        assert response.headers["Upgrade"] == "websocket"
        assert (await response.json())["status"] == "UpgradeRequired"


async def test_handshakes_during_shutdown_are_refused_with_503(make_app: MakeApp, serving: Serving) -> None:
    app = make_app()
    async with serving(app) as url, aiohttp.ClientSession() as session:
        await app.service("ws").close_listeners()
        async with session.get(url, headers=_UPGRADE) as response:
            assert response.status == 503
            assert (await response.json())["status"] == "ServiceUnavailable"


_UPGRADE = {
    "Upgrade": "websocket",
    "Connection": "Upgrade",
    "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
    "Sec-WebSocket-Version": "13",
}
