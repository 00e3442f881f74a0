"""FaultProxy: each fault does what it says to the bytes between a client and an echo server."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from betrue.server.testing import FaultProxy


async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


@pytest.fixture
async def proxy() -> AsyncIterator[FaultProxy]:
    server = await asyncio.start_server(_echo, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with FaultProxy("127.0.0.1", port) as faulty:
        yield faulty
    server.close()
    await server.wait_closed()


async def roundtrip(proxy: FaultProxy, data: bytes = b"ping", timeout: float = 3.0) -> bytes:
    reader, writer = await asyncio.open_connection(proxy.host, proxy.port)
    try:
        writer.write(data)
        async with asyncio.timeout(timeout):
            return await reader.readexactly(len(data))
    finally:
        writer.close()


async def test_it_forwards_faithfully_without_faults(proxy: FaultProxy) -> None:
    assert await roundtrip(proxy, b"x" * 100_000) == b"x" * 100_000
    assert proxy.connections == 1


async def test_latency_delays_each_direction(proxy: FaultProxy) -> None:
    proxy.latency = 0.2
    started = time.monotonic()
    assert await roundtrip(proxy) == b"ping"
    assert time.monotonic() - started >= 0.4


async def test_a_black_hole_swallows_bytes_and_answers_nothing(proxy: FaultProxy) -> None:
    proxy.blackhole = True
    with pytest.raises(TimeoutError):
        await roundtrip(proxy, timeout=0.5)
    proxy.clear()
    assert await roundtrip(proxy) == b"ping"


async def test_reset_all_aborts_open_connections(proxy: FaultProxy) -> None:
    reader, writer = await asyncio.open_connection(proxy.host, proxy.port)
    writer.write(b"a")
    assert await reader.readexactly(1) == b"a"
    proxy.reset_all()
    with pytest.raises((ConnectionError, asyncio.IncompleteReadError)):
        await asyncio.wait_for(reader.readexactly(1), 3)
    writer.close()


async def test_refused_and_dropped_connections_get_no_bytes_through(proxy: FaultProxy) -> None:
    for fault in ("refuse", "drop"):
        setattr(proxy, fault, 1.0 if fault == "drop" else True)
        with pytest.raises((ConnectionError, asyncio.IncompleteReadError)):
            await roundtrip(proxy)
        proxy.clear()


async def test_bandwidth_limits_the_throughput(proxy: FaultProxy) -> None:
    proxy.bandwidth = 200_000
    started = time.monotonic()
    assert await roundtrip(proxy, b"y" * 100_000, timeout=10) == b"y" * 100_000
    assert time.monotonic() - started >= 0.5  # 100 kB each way at 200 kB/s
