"""The load of ``ws-idle-memory-vs-aiohttp``: thousands of authenticated WebSocket clients that stay idle.

Each client does the handshake with its own bearer token (``Authorization`` at connect) and then sends
nothing. The server's resident memory (``bench/rss``, after a garbage collection) is read before and after
the clients connect; the figure is the growth per connection, in bytes. The clients are raw asyncio
protocols so that this process stays small and quick to fill. Prints ``BENCH_JSON {...}``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import time

import aiohttp
import jwt

__all__ = ["SECRET", "main", "token_for"]

SECRET = "bench-idle-secret-0123456789abcdef0123"
"""The HS256 key both servers verify the clients' tokens with."""
BATCH = 250
"""Handshakes in flight at once: a burst of thousands overflows the listen backlog on either server."""


def token_for(index: int) -> str:
    now = int(time.time())
    return jwt.encode({"sub": f"user-{index}", "iat": now, "exp": now + 3600}, SECRET, algorithm="HS256")


class Idle(asyncio.Protocol):
    """A WebSocket client that completes the handshake, then holds the connection without a word."""

    def __init__(self) -> None:
        self.upgraded: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.head = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        if self.upgraded.done():
            return  # pings or pushes: an idle client ignores them (the benchmark turns heartbeats off)
        self.head += data
        if b"\r\n\r\n" in self.head:
            status = self.head.split(b"\r\n", 1)[0]
            if status.startswith(b"HTTP/1.1 101"):
                self.upgraded.set_result(None)
            else:
                self.upgraded.set_exception(ConnectionError(status.decode(errors="replace")))

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.upgraded.done():
            self.upgraded.set_exception(ConnectionError("connection lost before the upgrade"))


async def connect(host: str, port: int, index: int) -> Idle:
    loop = asyncio.get_running_loop()
    _, client = await loop.create_connection(Idle, host, port)
    assert client.transport is not None
    key = base64.b64encode(os.urandom(16)).decode()
    client.transport.write(
        f"GET /ws HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
        f"Authorization: Bearer {token_for(index)}\r\n\r\n".encode()
    )
    await asyncio.wait_for(client.upgraded, 30)
    return client


async def rss(session: aiohttp.ClientSession, url: str) -> int:
    async with session.post(f"{url}/api/bench/rss", json={}) as response:
        body = await response.json()
        return int(body["result"]["rss"])


async def run(host: str, port: int, clients: int, hold: float) -> dict[str, object]:
    url = f"http://{host}:{port}"
    held: list[Idle] = []
    errors = 0
    async with aiohttp.ClientSession() as session:
        before = await rss(session, url)
        for start in range(0, clients, BATCH):
            batch = range(start, min(start + BATCH, clients))
            results = await asyncio.gather(*(connect(host, port, index) for index in batch), return_exceptions=True)
            for result in results:
                if isinstance(result, Idle):
                    held.append(result)
                else:
                    errors += 1
        await asyncio.sleep(hold)  # idle: whatever the server does per connection over time shows here
        after = await rss(session, url)
    for client in held:
        if client.transport is not None:
            client.transport.close()
    per_connection = (after - before) / len(held) if held else 0.0
    return {"value": per_connection, "unit": "B/conn", "errors": errors, "count": len(held)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--clients", type=int, default=5000)
    parser.add_argument("--hold", type=float, default=1.0, help="seconds the clients stay idle before the reading")
    args = parser.parse_args()
    result = asyncio.run(run(args.host, args.port, args.clients, args.hold))
    print("BENCH_JSON " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
