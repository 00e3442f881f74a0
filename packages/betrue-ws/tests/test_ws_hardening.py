"""Issue 17, the WebSocket points: unmasked frames, old protocol versions, Host rebinding, the connection cap
and what a stalled client is told; each test failed before the fix."""

from __future__ import annotations

import asyncio
import base64
import os
import socket
from collections.abc import Callable, Coroutine
from contextlib import AbstractAsyncContextManager
from typing import Any

import aiohttp
from yarl import URL

from betrue.server import Application, Event
from betrue.ws import CLOSE_TOO_SLOW, WsAdapter

MakeApp = Callable[..., Application]
Serving = Callable[[Application], AbstractAsyncContextManager[str]]
Eventually = Callable[..., Coroutine[Any, Any, None]]


def handshake(parts: URL, *, version: str = "13", host: str | None = None, origin: str | None = None) -> bytes:
    key = base64.b64encode(os.urandom(16)).decode()
    extra = f"Origin: {origin}\r\n" if origin else ""
    return (
        f"GET {parts.path} HTTP/1.1\r\nHost: {host or f'{parts.host}:{parts.port}'}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: {version}\r\n{extra}\r\n"
    ).encode()


async def read_all(reader: asyncio.StreamReader, timeout: float) -> bytes:
    received = b""
    try:
        async with asyncio.timeout(timeout):
            while chunk := await reader.read(65536):
                received += chunk
    except (TimeoutError, ConnectionError):
        pass
    return received


async def test_an_unmasked_client_frame_closes_the_connection_with_1002_and_is_not_run(
    make_app: MakeApp, serving: Serving
) -> None:
    app = make_app()
    async with serving(app) as url:
        parts = URL(url)
        reader, writer = await asyncio.open_connection(parts.host, parts.port)
        writer.write(handshake(parts))
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101")
        payload = b'{"id": 1, "command": "t/echo", "params": {"ran": true}}'
        writer.write(bytes([0x81, len(payload)]) + payload)  # FIN + text, mask bit clear
        received = await read_all(reader, 5)
        writer.close()
    assert received.startswith(b"\x88")
    assert int.from_bytes(received[2:4], "big") == 1002
    assert b'"ran"' not in received


async def test_a_handshake_for_a_version_other_than_13_is_refused_with_426(make_app: MakeApp, serving: Serving) -> None:
    app = make_app()
    async with serving(app) as url:
        parts = URL(url)
        for version in ("8", "7", "12"):
            reader, writer = await asyncio.open_connection(parts.host, parts.port)
            writer.write(handshake(parts, version=version))
            head = await reader.readuntil(b"\r\n\r\n")
            writer.close()
            assert head.startswith(b"HTTP/1.1 426"), head
            assert b"Sec-WebSocket-Version: 13" in head


async def test_a_rebound_host_cannot_open_a_websocket_even_as_its_own_origin(
    make_app: MakeApp, serving: Serving
) -> None:
    app = make_app()
    async with serving(app) as url:
        parts = URL(url)
        reader, writer = await asyncio.open_connection(parts.host, parts.port)
        host = f"attacker.example:{parts.port}"
        writer.write(handshake(parts, host=host, origin=f"http://{host}"))
        head = await reader.readuntil(b"\r\n\r\n")
        writer.close()
    assert head.startswith(b"HTTP/1.1 400"), head


async def test_past_ws_max_connections_a_new_connection_is_closed_with_1013(
    make_app: MakeApp, serving: Serving
) -> None:
    app = make_app(WS_MAX_CONNECTIONS=2)
    async with serving(app) as url, aiohttp.ClientSession() as session:
        first = await session.ws_connect(url)
        second = await session.ws_connect(url)
        third = await session.ws_connect(url)
        message = await third.receive(timeout=5)
        assert message.type is aiohttp.WSMsgType.CLOSE
        assert message.data == 1013
        await first.send_json({"id": 1, "command": "t/echo", "params": {}})
        assert (await first.receive_json(timeout=5))["code"] == 200
        for ws in (first, second, third):
            await ws.close()


async def test_a_client_that_stopped_reading_is_told_1008_when_it_reads_again(
    make_app: MakeApp, serving: Serving, eventually: Eventually
) -> None:
    app = make_app(WS_SEND_QUEUE=8, WS_SEND_TIMEOUT=0.5, WS_CLOSE_TIMEOUT=20)
    async with serving(app) as url:
        parts = URL(url)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        reader, writer = await asyncio.open_connection(sock=_connected(sock, parts))
        writer.write(handshake(parts))
        assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 101")
        ws: WsAdapter = app.service("ws")
        await eventually(lambda: len(ws.connections) == 1)
        for connection in ws.connections:
            transport: Any = connection.transport
            transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        for n in range(400):
            await app.events.publish(Event("tick", {"n": n, "pad": "x" * 4000}))
            await asyncio.sleep(0)
        await eventually(lambda: len(ws.connections) == 0, timeout=10)  # dropped
        received = await read_all(reader, 15)  # reading again: the backlog, then the close frame
        writer.close()
    close = received.rfind(b"\x88")
    assert close > 0
    assert int.from_bytes(received[close + 2 : close + 4], "big") == CLOSE_TOO_SLOW


def _connected(sock: socket.socket, parts: URL) -> socket.socket:
    sock.connect((parts.host or "127.0.0.1", parts.port or 0))
    sock.setblocking(False)
    return sock
