"""WebSocket abuse over raw frames: protocol violations close with their code, bad calls get error
frames, floods get 429s; the connection is never left hanging and the server keeps serving others."""

from __future__ import annotations

import asyncio
import base64
import os
import struct

import aiohttp
import pytest

from .attack import TALLY
from .conftest import PASSWORD, Served

FAMILY = "WebSocket abuse"


def frame(opcode: int, payload: bytes, *, fin: bool = True, masked: bool = True, rsv: int = 0) -> bytes:
    first = (0x80 if fin else 0) | rsv << 4 | opcode
    size = len(payload)
    if size < 126:
        head = bytes([first, (0x80 if masked else 0) | size])
    elif size < 65536:
        head = bytes([first, (0x80 if masked else 0) | 126]) + struct.pack("!H", size)
    else:
        head = bytes([first, (0x80 if masked else 0) | 127]) + struct.pack("!Q", size)
    if not masked:
        return head + payload
    key = os.urandom(4)
    return head + key + bytes(byte ^ key[index % 4] for index, byte in enumerate(payload))


VIOLATIONS: list[tuple[str, bytes, set[int]]] = [
    ("unmasked", frame(1, b'{"id":1,"command":"chat/rooms"}', masked=False), {1002}),
    ("invalid utf-8", frame(1, b"\xff\xfe\xfd"), {1007}),
    ("reserved bits", frame(1, b"{}", rsv=4), {1002}),
    ("unknown opcode", frame(3, b"x"), {1002}),
    ("fragmented ping", frame(9, b"x", fin=False), {1002}),
    ("control frame too long", frame(9, b"x" * 200), {1002}),
    ("continuation first", frame(0, b"x"), {1002}),
    ("too big", frame(1, b"x" * (1024 * 1024 + 10)), {1009}),
    ("close with bad code", frame(8, struct.pack("!H", 999)), {1002}),
]


async def open_raw(served: Served, version: str = "13") -> tuple[asyncio.StreamReader, asyncio.StreamWriter, bytes]:
    reader, writer = await asyncio.open_connection(served.host, served.port)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write(
        f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{served.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: {version}\r\n\r\n".encode()
    )
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    return reader, writer, head


async def close_code(reader: asyncio.StreamReader) -> int | None:
    """The close code in the frames the server sends before it closes (None: closed without one)."""
    data = b""
    try:
        async with asyncio.timeout(10):
            while chunk := await reader.read(65536):
                data += chunk
    except (TimeoutError, ConnectionError):
        pass
    position = 0
    while position + 2 <= len(data):
        opcode, size = data[position] & 0x0F, data[position + 1] & 0x7F
        start = position + 2
        if size == 126:
            size, start = struct.unpack_from("!H", data, start)[0], start + 2
        elif size == 127:
            size, start = struct.unpack_from("!Q", data, start)[0], start + 8
        if opcode == 8 and size >= 2:
            return int(struct.unpack_from("!H", data, start)[0])
        position = start + size
    return None


async def test_protocol_violations_close_with_their_code(chat: Served) -> None:
    for name, bad, expected in VIOLATIONS:
        reader, writer, head = await open_raw(chat)
        assert head.startswith(b"HTTP/1.1 101"), name
        writer.write(bad)
        code = await close_code(reader)
        writer.close()
        TALLY.record(FAMILY, "chat", "closed" if code is not None else "hung")
        assert code in expected, (name, code)


async def test_old_versions_and_foreign_origins_are_refused_at_the_handshake(chat: Served) -> None:
    for version in ("8", "0", "banana"):
        _, writer, head = await open_raw(chat, version)
        writer.close()
        TALLY.record(FAMILY, "chat", "4xx" if head.startswith(b"HTTP/1.1 4") else "2xx")
        assert head.startswith(b"HTTP/1.1 426"), version
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await session.ws_connect(chat.url + "/ws", origin="http://evil.example")
        TALLY.record(FAMILY, "chat", "4xx")
        assert refused.value.status == 403


async def test_bad_calls_get_error_frames_and_a_flood_gets_429s(chat: Served) -> None:
    bad_frames = [
        b"not json",
        b"[]",
        b'{"id": 1}',
        b'{"id": {"x": 1}, "command": "chat/rooms"}',
        b'{"id": 2, "command": "nope/nope"}',
        b'{"id": 3, "command": "chat/rooms", "params": []}',
        b'{"id": 4, "command": "chat/rooms", "meta": {"x-timeout-ms": "0"}}',
        b'{"id": 5, "command": "chat/upload"}',
        b'{"id": 6, "command": "chat/send", "params": {"room": "general", "text": "\\u0000"}}',
        b'{"id": 7, "command": "chat/history", "params": {"room": "general", "limit": 5.0}}',
    ]
    async with aiohttp.ClientSession() as session, session.ws_connect(chat.url + "/ws") as ws:
        await ws.send_json({"id": 0, "command": "user/login", "params": {"name": "ann", "password": PASSWORD}})
        assert (await ws.receive_json(timeout=10))["code"] == 200
        for raw in bad_frames:
            await ws.send_str(raw.decode())
            answer = await ws.receive_json(timeout=10)
            TALLY.record(FAMILY, "chat", "2xx" if answer["code"] < 300 else "4xx" if answer["code"] < 500 else "5xx")
            assert answer["code"] < 500, (raw, answer)
        await ws.send_bytes(b"\x00\x01")
        assert (await ws.receive_json(timeout=10))["code"] == 415
        for n in range(400):
            await ws.send_json({"id": 100 + n, "command": "chat/history", "params": {"room": "general"}})
        codes = [(await ws.receive_json(timeout=20))["code"] for _ in range(400)]
        for code in codes:
            TALLY.record(FAMILY, "chat", "2xx" if code < 300 else "4xx" if code < 500 else "5xx")
        assert set(codes) <= {200, 429}
    async with aiohttp.ClientSession() as session, session.ws_connect(chat.url + "/ws") as ws:
        await ws.send_json({"id": 1, "command": "chat/rooms"})
        assert (await ws.receive_json(timeout=10))["code"] == 401  # a new connection is served, and anonymous


async def test_connections_opened_and_dropped_in_a_hurry_leave_nothing_behind(chat: Served) -> None:
    for _ in range(100):
        _reader, writer, _head = await open_raw(chat)
        writer.transport.abort()
        TALLY.record(FAMILY, "chat", "closed")
    ws_adapter = chat.app.service("ws")
    async with asyncio.timeout(10):
        while len(ws_adapter.connections):  # noqa: ASYNC110 - the registry has no event to wait on
            await asyncio.sleep(0.05)
