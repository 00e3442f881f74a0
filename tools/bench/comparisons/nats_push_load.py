"""The load of ``nats-push-vs-nats-py``: byte-counting WebSocket clients on both instances, events published on NATS.

Each round publishes ``--count`` events (the JSON of betrue's ``Event``) on ``<prefix>.evt.bench.tick`` with raw
nats-py, and waits until every client on both instances has received all of them. Prints ``BENCH_JSON`` with
deliveries per second.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import Any

import aiohttp
import nats
import orjson

from tools.bench.comparisons.ws_fanout_load import EVENT, connect_counter, tick_data, tick_frame

__all__ = ["main"]


async def run(host: str, port: int, url: str, prefix: str, seconds: float, clients: int, count: int, size: int) -> Any:
    ends = time.perf_counter() + seconds
    async with aiohttp.ClientSession() as session:
        for _ in range(100):  # bounded wait for the servers' second instance
            try:
                async with session.get(f"http://{host}:{port}/peers") as reply:
                    ports = await reply.json()
                if len(ports) == 2:
                    break
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    counters = list(await asyncio.gather(*(connect_counter(host, ports[n % 2]) for n in range(clients))))
    client = await nats.connect(url)
    subject = f"{prefix}.evt.{EVENT}"
    bodies = [
        orjson.dumps({"event": EVENT, "data": tick_data(seq, size), "to": None, "meta": {}}) for seq in range(count)
    ]
    frame_bytes = len(tick_frame(0, size)) + 2
    delivered, busy, errors, rounds = 0, 0.0, 0, 0
    while time.perf_counter() < ends or not rounds:
        rounds += 1
        for counter in counters:
            counter.expect(count * frame_bytes)
        sent = time.perf_counter()
        for body in bodies:
            await client.publish(subject, body)
        await client.flush()
        results = await asyncio.wait_for(asyncio.gather(*(c.done for c in counters), return_exceptions=True), 60)
        busy += time.perf_counter() - sent
        failed = sum(1 for result in results if isinstance(result, BaseException))
        errors += failed
        delivered += (clients - failed) * count
        if failed:
            break
    await client.close()
    return {"value": delivered / busy if busy else 0.0, "unit": "deliveries/s", "errors": errors, "count": delivered}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--nats", required=True)
    parser.add_argument("--prefix", required=True)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--size", type=int, default=64)
    args = parser.parse_args()
    result = asyncio.run(
        run(args.host, args.port, args.nats, args.prefix, args.seconds, args.clients, args.count, args.size)
    )
    print("BENCH_JSON " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
