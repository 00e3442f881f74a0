"""The load of ``ws-fanout-vs-aiohttp``: clients that only count bytes, and one that asks for broadcasts.

Counting bytes instead of parsing frames keeps the clients far cheaper than the server, so the figure is the
server's. Every frame has the same known length (``tick_frame``), so a client has received a
round of ``count`` messages when it holds ``count`` × (frame + 2-byte header) bytes.

The frame both servers push is defined here (``tick_frame``). Prints
``BENCH_JSON {"value": deliveries per second, ...}`` for ``run_load_script``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import time

import aiohttp
import orjson

__all__ = ["EVENT", "Counter", "main", "tick_data", "tick_frame"]

EVENT = "bench.tick"


def tick_data(seq: int, size: int) -> dict[str, str]:
    """The data of message ``seq``: fixed length for a given ``size``, so clients can count bytes."""
    return {"seq": f"{seq:08d}", "pad": "x" * size}


def tick_frame(seq: int, size: int) -> bytes:
    """The push both servers send, ``{"event": "bench.tick", "data": ...}``, exactly as betrue-ws encodes it."""
    return orjson.dumps({"event": EVENT, "data": tick_data(seq, size)})


class Counter(asyncio.Protocol):
    """A WebSocket client that does the handshake, then only counts the bytes the server pushes."""

    def __init__(self) -> None:
        self.upgraded: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.head = b""
        self.received = 0
        self.expected = 0

    def expect(self, total: int) -> None:
        self.received, self.expected = 0, total
        self.done = asyncio.get_running_loop().create_future()

    def data_received(self, data: bytes) -> None:
        if not self.upgraded.done():
            self.head += data
            if b"\r\n\r\n" not in self.head:
                return
            head, _, data = self.head.partition(b"\r\n\r\n")
            if not head.startswith(b"HTTP/1.1 101"):
                self.upgraded.set_exception(ConnectionError(head.decode(errors="replace")))
                return
            self.upgraded.set_result(None)
        self.received += len(data)
        if self.expected and self.received >= self.expected and not self.done.done():
            self.done.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        for future in (self.upgraded, self.done):
            if not future.done():
                future.set_exception(ConnectionError("connection lost"))


async def connect_counter(host: str, port: int) -> Counter:
    loop = asyncio.get_running_loop()
    transport, counter = await loop.create_connection(Counter, host, port)
    key = base64.b64encode(os.urandom(16)).decode()
    transport.write(
        f"GET /ws HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    await asyncio.wait_for(counter.upgraded, 10)
    return counter


async def run(host: str, port: int, seconds: float, clients: int, count: int, size: int) -> dict[str, object]:
    # The window counts from here, connecting included, so a run takes `seconds` as the harness budgets.
    ends = time.perf_counter() + seconds
    counters = list(await asyncio.gather(*(connect_counter(host, port) for _ in range(clients))))
    frame_bytes = len(tick_frame(0, size)) + 2  # payloads under 126 bytes have a 2-byte header, unmasked
    async with aiohttp.ClientSession() as session, session.ws_connect(f"http://{host}:{port}/ws") as control:
        # The control connection gets the broadcasts too; it reads them so it never holds the server up.
        draining = asyncio.create_task(_drain(control))
        delivered, busy, errors, call_id = 0, 0.0, 0, 0
        while time.perf_counter() < ends or not call_id:  # at least one round
            call_id += 1
            for counter in counters:
                counter.expect(count * frame_bytes)
            sent = time.perf_counter()
            call = {"id": call_id, "command": "bench/broadcast", "params": {"count": count, "size": size}}
            await control.send_str(json.dumps(call))
            results = await asyncio.wait_for(asyncio.gather(*(c.done for c in counters), return_exceptions=True), 60)
            busy += time.perf_counter() - sent
            failed = sum(1 for result in results if isinstance(result, BaseException))
            errors += failed
            delivered += (clients - failed) * count
            if failed:
                break
        draining.cancel()
    return {"value": delivered / busy if busy else 0.0, "unit": "deliveries/s", "errors": errors, "count": delivered}


async def _drain(ws: aiohttp.ClientWebSocketResponse) -> None:
    async for _ in ws:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--count", type=int, default=500, help="messages per broadcast round")
    parser.add_argument("--size", type=int, default=64, help="padding characters per message")
    args = parser.parse_args()
    result = asyncio.run(run(args.host, args.port, args.seconds, args.clients, args.count, args.size))
    print("BENCH_JSON " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
