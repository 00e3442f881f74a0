"""The load of ``cluster-push-vs-monolith``: chat users in one room, some sending, all counting what arrives.

Members are spread over the shape's WebSocket URLs (both gateways of the cluster). ``--senders`` of them
send messages back to back for ``--seconds``; every member counts the ``chat.message`` pushes it
receives. Prints ``BENCH_JSON {"value": deliveries per second, ...}``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

import aiohttp

from betrue.ws import WsClient

PASSWORD = "correct horse battery"


async def main(host: str, port: int, seconds: float, members: int, senders: int) -> None:
    async with aiohttp.ClientSession() as http, http.get(f"http://{host}:{port}/urls") as reply:
        urls = await reply.json()
    clients = [WsClient(urls[number % len(urls)], timeout=30) for number in range(members)]
    for number, client in enumerate(clients):
        await client.connect()
        await client.call(
            "user/register", {"name": f"u{number}-{int(time.time() * 1000) % 100000}", "password": PASSWORD}
        )
        await client.call("chat/join", {"room": "general"})
    received = 0
    errors = 0
    expected = -1
    arrived = asyncio.Event()

    async def count(client: WsClient) -> None:
        nonlocal received
        while True:
            await client.next_event("chat.message", timeout=3600)
            received += 1
            if received == expected:
                arrived.set()

    async def send(client: WsClient, until: float) -> int:
        nonlocal errors
        sent = 0
        while time.monotonic() < until:
            try:
                await client.call("chat/send", {"room": "general", "text": f"message {sent}"})
                sent += 1
            except Exception:
                errors += 1
        return sent

    counters = [asyncio.ensure_future(count(client)) for client in clients]
    started = time.monotonic()
    sent = sum(await asyncio.gather(*(send(client, started + seconds) for client in clients[:senders])))
    expected = sent * members
    if received < expected:
        async with asyncio.timeout(30):  # let the last pushes arrive
            await arrived.wait()
    elapsed = time.monotonic() - started
    for counter in counters:
        counter.cancel()
    for client in clients:
        await client.close()
    result = {"value": received / elapsed, "unit": "deliveries/s", "errors": errors, "count": received}
    print("BENCH_JSON " + json.dumps(result), flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--members", type=int, default=20)
    parser.add_argument("--senders", type=int, default=4)
    args = parser.parse_args()
    asyncio.run(main(args.host, args.port, args.seconds, args.members, args.senders))
