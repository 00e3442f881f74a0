"""The Python load generator used when wrk is missing: N keep-alive connections, one request in flight each.

A bare asyncio Protocol that resends prebuilt request bytes and only finds where each response ends
(Content-Length, or the last chunk), so that on its one core it outpaces the server it measures (a full HTTP
client such as aiohttp's spends about as much per request as the server does). Prints one ``BENCH_JSON`` line.
Run: ``python -m tools.bench.harness.loadgen --port 8080 --seconds 3 --connections 50 --raw <base64 request>``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import time

__all__ = ["Stats", "main", "run"]


class Stats:
    """Latencies (seconds) of the responses completed in the window, and the errors seen."""

    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.errors = 0


class _Connection(asyncio.Protocol):
    def __init__(self, raw: bytes, stats: Stats, stop_at: float, closed: asyncio.Future[None]) -> None:
        self.raw = raw
        self.stats = stats
        self.stop_at = stop_at
        self.closed = closed
        self.buffer = bytearray()
        self.needed: int | None = None
        self.chunked = False
        self.sent_at = 0.0
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self._send()

    def _send(self) -> None:
        assert self.transport is not None
        self.sent_at = time.perf_counter()
        self.transport.write(self.raw)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if self.needed is None and not self.chunked:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buffer[:end]).lower()
            if not head[9:10].startswith(b"2"):
                self.stats.errors += 1
            self.chunked = b"transfer-encoding: chunked" in head
            if not self.chunked:
                self.needed = end + 4 + _content_length(head)
        complete = self.buffer.endswith(b"0\r\n\r\n") if self.chunked else len(self.buffer) >= (self.needed or 0)
        if not complete:
            return
        now = time.perf_counter()
        self.stats.latencies.append(now - self.sent_at)
        self.buffer.clear()
        self.needed, self.chunked = None, False
        if now < self.stop_at:
            self._send()
        elif self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if time.perf_counter() < self.stop_at:
            self.stats.errors += 1
        if not self.closed.done():
            self.closed.set_result(None)


async def run(host: str, port: int, raw: bytes, seconds: float, connections: int) -> dict[str, object]:
    """Load ``host:port`` for ``seconds``; the BENCH_JSON fields (value in requests per second)."""
    loop = asyncio.get_running_loop()
    stats = Stats()
    started = time.perf_counter()
    stop_at = started + seconds
    closed: list[asyncio.Future[None]] = []
    for _ in range(connections):
        done: asyncio.Future[None] = loop.create_future()
        closed.append(done)
        await loop.create_connection(lambda done=done: _Connection(raw, stats, stop_at, done), host, port)  # type: ignore[misc]
    await asyncio.wait_for(asyncio.gather(*closed), seconds + 10)
    elapsed = time.perf_counter() - started
    ordered = sorted(stats.latencies)
    return {
        "value": len(ordered) / elapsed,
        "unit": "req/s",
        "p50_ms": _percentile(ordered, 0.50) * 1000,
        "p99_ms": _percentile(ordered, 0.99) * 1000,
        "errors": stats.errors,
        "count": len(ordered),
    }


def _content_length(head: bytes) -> int:
    start = head.find(b"content-length:")
    if start < 0:
        return 0
    line_end = head.find(b"\r\n", start)
    return int(head[start + 15 : line_end if line_end >= 0 else None])


def _percentile(ordered: list[float], fraction: float) -> float:
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))] if ordered else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--raw", required=True, help="the request bytes, base64")
    args = parser.parse_args()
    result = asyncio.run(run(args.host, args.port, base64.b64decode(args.raw), args.seconds, args.connections))
    print("BENCH_JSON " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
