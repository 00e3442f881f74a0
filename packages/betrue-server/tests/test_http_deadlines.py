"""Slow clients over raw sockets: dribbled headers and bodies are cut within their deadlines (408).

Finding pinned by ``test_aiohttp_alone_keeps_a_header_dribbler``: aiohttp cuts a client that never finishes
its headers only when the keep-alive timer fires, 3630 s after the connection opened under an ``AppRunner``
(75 s under ``web.run_app``), and it has no body deadline at all. The adapter's clocks close both gaps.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from betrue.server import Application, Context, Group
from betrue.server.testing import TestApp, http_client

HEADER_TIMEOUT = 0.5
BODY_TIMEOUT = 0.5
KEEPALIVE = 1.5


def make_app() -> Application:
    demo = Group("demo")

    @demo.command("echo")
    async def echo(params: dict[str, Any], ctx: Context) -> dict[str, Any]:
        return params

    environ = {
        "HTTP_HEADER_TIMEOUT": str(HEADER_TIMEOUT),
        "HTTP_BODY_TIMEOUT": str(BODY_TIMEOUT),
        "HTTP_KEEPALIVE_TIMEOUT": str(KEEPALIVE),
    }
    return Application("deadlines", groups=[demo], environ=environ, env_file=None)


@pytest.fixture
async def server() -> AsyncIterator[TestApp]:
    async with http_client(make_app()) as running:
        yield running


async def connect(url: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    host, port = url.removeprefix("http://").rsplit(":", 1)
    return await asyncio.open_connection(host, int(port))


async def read_until_closed(reader: asyncio.StreamReader, limit: float) -> tuple[bytes, float]:
    """Everything the server sends until it closes the connection, and when it closed (seconds from now)."""
    started = time.monotonic()
    data = b""
    async with asyncio.timeout(limit):
        while chunk := await reader.read(65536):
            data += chunk
    return data, time.monotonic() - started


def parse(raw: bytes) -> tuple[int, dict[str, str], dict[str, Any]]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), {k.lower(): v for k, v in headers.items()}, json.loads(body)


async def dribble(writer: asyncio.StreamWriter, data: bytes, every: float, stop: asyncio.Event) -> None:
    for byte in data:
        if stop.is_set() or writer.is_closing():
            return
        writer.write(bytes([byte]))
        try:
            await writer.drain()
        except ConnectionError:
            return
        await asyncio.sleep(every)


async def test_a_client_dribbling_headers_is_cut_with_408(server: TestApp) -> None:
    reader, writer = await connect(server.url)
    stop = asyncio.Event()
    request = b"POST /api/demo/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-Slow: " + b"a" * 200
    sender = asyncio.create_task(dribble(writer, request, 0.05, stop))
    try:
        raw, elapsed = await read_until_closed(reader, HEADER_TIMEOUT + 3)
    finally:
        stop.set()
        await sender
        writer.close()
    status, headers, envelope = parse(raw)
    assert status == 408
    assert headers["connection"] == "close"
    assert envelope["status"] == "RequestTimeout"
    assert envelope["traceId"] == headers["x-trace-id"]
    assert elapsed < HEADER_TIMEOUT + 1.0


async def test_a_client_dribbling_its_body_is_cut_with_408(server: TestApp) -> None:
    reader, writer = await connect(server.url)
    body = b'{"text": "' + b"x" * 100 + b'"}'
    head = (
        b"POST /api/demo/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n"
    )
    writer.write(head)
    stop = asyncio.Event()
    sender = asyncio.create_task(dribble(writer, body, 0.05, stop))
    try:
        raw, elapsed = await read_until_closed(reader, BODY_TIMEOUT + 3)
    finally:
        stop.set()
        await sender
        writer.close()
    status, headers, envelope = parse(raw)
    assert status == 408
    assert envelope["status"] == "RequestTimeout"
    assert headers["connection"] == "close"
    assert elapsed < BODY_TIMEOUT + 1.0


async def test_a_chunked_body_dribbled_forever_is_cut_too(server: TestApp) -> None:
    reader, writer = await connect(server.url)
    writer.write(
        b"POST /api/demo/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
    )
    stop = asyncio.Event()
    sender = asyncio.create_task(dribble(writer, b"1\r\n \r\n" * 100, 0.02, stop))
    try:
        raw, elapsed = await read_until_closed(reader, BODY_TIMEOUT + 3)
    finally:
        stop.set()
        await sender
        writer.close()
    assert parse(raw)[0] == 408
    assert elapsed < BODY_TIMEOUT + 1.0


async def test_a_slow_but_timely_request_is_served(server: TestApp) -> None:
    reader, writer = await connect(server.url)
    body = b'{"a": 1}'
    request = (
        b"POST /api/demo/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nConnection: close\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )
    for part in (request[:20], request[20:60], request[60:]):
        writer.write(part)
        await asyncio.sleep(HEADER_TIMEOUT / 5)
    raw, _ = await read_until_closed(reader, 3)
    writer.close()
    status, _, envelope = parse(raw)
    assert status == 200
    assert envelope["result"] == {"a": 1}


async def test_an_idle_keep_alive_connection_outlives_the_header_deadline(server: TestApp) -> None:
    reader, writer = await connect(server.url)
    request = (
        b"POST /api/demo/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
    )
    writer.write(request)
    first = await reader.readuntil(b'"traceId"')
    assert first.startswith(b"HTTP/1.1 200")
    await reader.readuntil(b"}")
    await asyncio.sleep(HEADER_TIMEOUT * 1.6)  # idle past the header deadline, within the keep-alive one
    writer.write(request)
    second = await reader.readuntil(b'"traceId"')
    assert second.startswith(b"HTTP/1.1 200")
    await reader.readuntil(b"}")
    rest, elapsed = await read_until_closed(reader, KEEPALIVE + 2)  # then keep-alive closes it, silently
    writer.close()
    assert rest == b""
    assert elapsed < KEEPALIVE + 1.0


async def test_aiohttp_alone_keeps_a_header_dribbler() -> None:
    """What the adapter fixes: a plain AppRunner leaves a slow-headers client connected."""

    async def ok(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    plain = web.Application()
    plain.router.add_post("/", ok)
    runner = web.AppRunner(plain)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", site.port)
        stop = asyncio.Event()
        sender = asyncio.create_task(
            dribble(writer, b"POST / HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100, 0.05, stop)
        )
        with pytest.raises(TimeoutError):
            await read_until_closed(reader, HEADER_TIMEOUT * 3)  # still connected long past our deadline
        stop.set()
        await sender
        writer.close()
    finally:
        await runner.cleanup()
