"""The load of ``nats-call-*``: calls of the validated command, ``--in-flight`` at a time, for ``--seconds``.

``--side betrue`` calls through betrue's NATS transport (what ``ctx.client.call`` uses for a ``nats://``
route: deadline headers, fail-fast checks, envelope checks); ``--side baseline`` calls with raw nats-py
``request``. Both send the same body to the same subject shape. Prints ``BENCH_JSON {...}``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import nats
import orjson

from betrue.nats import NatsTransport
from tools.bench.servers.payload import BODY, PARAMS

__all__ = ["main"]

Call = Callable[[], Awaitable[Any]]


async def caller(side: str, url: str, prefix: str) -> tuple[Call, Callable[[], Awaitable[None]]]:
    if side == "betrue":
        transport = NatsTransport(f"{url}/bench?prefix={prefix}")

        async def call_betrue() -> Any:
            envelope = await transport.call("bench/order", PARAMS, {"x-trace-id": "t"}, time.time() + 5)
            return envelope

        return call_betrue, transport.close
    client = await nats.connect(url)
    subject = f"{prefix}.cmd.bench.bench.order"

    async def call_raw() -> Any:
        reply = await client.request(subject, BODY, timeout=5, headers={"x-trace-id": "t"})
        return orjson.loads(reply.data)

    return call_raw, client.close


async def run(side: str, url: str, prefix: str, seconds: float, in_flight: int, sequential: bool) -> dict[str, Any]:
    call, close = await caller(side, url, prefix)
    for _ in range(100):  # the server may still be subscribing: wait until it answers (bounded)
        try:
            if (await call()).get("code") == 200:
                break
        except Exception:
            await asyncio.sleep(0.1)
    latencies: list[float] = []
    errors = 0
    ends = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal errors
        while time.perf_counter() < ends:
            began = time.perf_counter()
            try:
                envelope = await call()
                ok = envelope.get("code") == 200 and envelope.get("result") == PARAMS
            except Exception:
                ok = False
            latencies.append(time.perf_counter() - began)
            errors += not ok

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(1 if sequential else in_flight)))
    took = time.perf_counter() - started
    await close()
    latencies.sort()
    count = len(latencies)
    p50 = latencies[count // 2] * 1000 if count else None
    p99 = latencies[min(count - 1, int(count * 0.99))] * 1000 if count else None
    if sequential:
        return {"value": p50, "unit": "ms p50", "p50_ms": p50, "p99_ms": p99, "errors": errors, "count": count}
    return {"value": count / took, "unit": "calls/s", "p50_ms": p50, "p99_ms": p99, "errors": errors, "count": count}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--side", choices=["betrue", "baseline"], required=True)
    parser.add_argument("--nats", required=True)
    parser.add_argument("--prefix", required=True)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--in-flight", type=int, default=50)
    parser.add_argument("--sequential", action="store_true", help="one call at a time; the value is the p50 in ms")
    args = parser.parse_args()
    result = asyncio.run(run(args.side, args.nats, args.prefix, args.seconds, args.in_flight, args.sequential))
    print("BENCH_JSON " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
