"""Baseline of ``nats-push-vs-nats-py``: two raw aiohttp WebSocket servers, each on its own raw nats-py subscription.

For each message on ``<prefix>.evt.>`` each server decodes the event (orjson) and loops
``await ws.send_str(frame)`` over its connections: the plain form, without per-connection queues or isolation.
``GET /peers`` on ``--port`` lists both ports. Run:
``python -m tools.bench.servers.nats_push_nats_py --port 8080 --nats nats://127.0.0.1:4222 --prefix r``.
"""

from __future__ import annotations

import argparse
import asyncio
import socket

import nats
import orjson
from aiohttp import web
from nats.aio.msg import Msg


async def instance(port: int, url: str, prefix: str, peers: list[int]) -> tuple[web.AppRunner, int]:
    sockets: set[web.WebSocketResponse] = set()

    async def ws_handler(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        sockets.add(ws)
        try:
            async for _ in ws:
                pass
        finally:
            sockets.discard(ws)
        return ws

    async def peers_handler(request: web.Request) -> web.Response:
        return web.json_response(peers)

    async def on_event(msg: Msg) -> None:
        event = orjson.loads(msg.data)
        frame = orjson.dumps({"event": event["event"], "data": event["data"]}).decode()
        for ws in list(sockets):
            await ws.send_str(frame)

    client = await nats.connect(url)
    await client.subscribe(f"{prefix}.evt.>", cb=on_event)
    await client.flush()
    app = web.Application()
    app.router.add_get("/ws", ws_handler)
    app.router.add_get("/peers", peers_handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, port


async def serve(port: int, url: str, prefix: str) -> None:
    peers: list[int] = []
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
    _, second = await instance(free, url, prefix, peers)
    await instance(port, url, prefix, peers)
    peers.extend([port, second])
    await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--nats", required=True)
    parser.add_argument("--prefix", required=True)
    args = parser.parse_args()
    asyncio.run(serve(args.port, args.nats, args.prefix))


if __name__ == "__main__":
    main()
