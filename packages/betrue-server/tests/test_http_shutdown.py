"""Graceful shutdown over real HTTP, in process: listeners close, idle connections go, calls in flight finish."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest

from betrue.server import Application, Context, Group
from betrue.server.testing import http_client


async def test_stop_closes_listeners_and_idle_connections_and_finishes_calls_in_flight() -> None:
    entered, release = asyncio.Event(), asyncio.Event()
    slow = Group("slow")

    @slow.command("wait")
    async def wait(params: dict[str, Any], ctx: Context) -> str:
        entered.set()
        await release.wait()
        return "done"

    async with http_client(Application("shutdown", groups=[slow], env_file=None)) as client:
        host, port = client.url.removeprefix("http://").rsplit(":", 1)
        idle_reader, idle_writer = await asyncio.open_connection(host, int(port))
        idle_writer.write(b"POST /api/_app/health HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
        head = await idle_reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200")
        length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
        await idle_reader.readexactly(length)  # the connection now idles, kept alive

        async with aiohttp.ClientSession() as session:
            in_flight = asyncio.create_task(session.post(f"{client.url}/api/slow/wait", json={}))
            await entered.wait()
            stopping = asyncio.create_task(client.app.stop(timeout=10))
            async with asyncio.timeout(5):
                while True:  # the listener closes first...
                    try:
                        _, probe = await asyncio.open_connection(host, int(port))
                    except ConnectionRefusedError:
                        break
                    probe.close()
                    await asyncio.sleep(0.01)
            assert await asyncio.wait_for(idle_reader.read(), 5) == b""  # ...idle keep-alive connections go
            assert not stopping.done()  # ...and the app waits for the call in flight
            release.set()
            async with await in_flight as reply:
                assert reply.status == 200
                assert (await reply.json())["result"] == "done"
                assert reply.headers["Connection"] == "close"
            await asyncio.wait_for(stopping, 5)
        idle_writer.close()


async def test_a_port_in_use_fails_start_and_leaves_nothing_running() -> None:
    async with http_client(Application("first", env_file=None)) as first:
        taken = first.url.rsplit(":", 1)[1]
        second = Application("second", env_file=None, environ={"HTTP_PORT": taken})
        with pytest.raises(OSError, match="address already in use"):
            await second.start()
        assert not second.started
