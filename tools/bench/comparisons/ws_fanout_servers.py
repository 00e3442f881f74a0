"""The two servers of ``ws-fanout-vs-aiohttp``, pushing byte-identical frames to every connection.

``python -m tools.bench.comparisons.ws_fanout_servers betrue`` (port from ``HTTP_PORT``) runs a betrue app whose
``bench/broadcast`` command emits ``count`` events through the EventBus; the WebSocket adapter pushes each to
every connection through its per-connection queues and writers.
``python -m tools.bench.comparisons.ws_fanout_servers aiohttp --port N`` runs plain aiohttp doing the fastest
simple thing: for each message, ``await ws.send_str(frame)`` on each connection in turn.
"""

from __future__ import annotations

import argparse
from typing import Any

import orjson
from aiohttp import WSMsgType, web

from betrue.server import Application, Context, Group
from betrue.ws import WsAdapter
from tools.bench.comparisons.ws_fanout_load import EVENT, tick_data, tick_frame

__all__ = ["aiohttp_app", "betrue_app"]

BROADCAST = {
    "type": "object",
    "properties": {"count": {"type": "integer", "minimum": 1}, "size": {"type": "integer", "minimum": 0}},
    "required": ["count", "size"],
}


def betrue_app() -> Application:
    bench = Group("bench")

    @bench.command("broadcast", input=BROADCAST)
    async def broadcast(params: dict[str, Any], ctx: Context) -> dict[str, int]:
        """Emit ``count`` events to every connection (no ``to``): the EventBus hands each to the adapter."""
        size = params["size"]
        for seq in range(params["count"]):
            await ctx.emit(EVENT, tick_data(seq, size))
        return {"sent": params["count"]}

    app = Application("bench-ws", groups=[bench])
    app.add_service(WsAdapter)
    return app


def aiohttp_app() -> web.Application:
    connections: set[web.WebSocketResponse] = set()

    async def handle(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        connections.add(ws)
        try:
            async for message in ws:
                if message.type is not WSMsgType.TEXT:
                    continue
                call = orjson.loads(message.data)
                params = call["params"]
                for seq in range(params["count"]):
                    frame = tick_frame(seq, params["size"]).decode()
                    for peer in list(connections):
                        await peer.send_str(frame)
                answer = {"id": call["id"], "code": 200, "status": "Success", "result": {"sent": params["count"]}}
                await ws.send_str(orjson.dumps(answer).decode())
        finally:
            connections.discard(ws)
        return ws

    app = web.Application()
    app.router.add_get("/ws", handle)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("side", choices=["betrue", "aiohttp"])
    parser.add_argument("--port", type=int, default=3000)
    args = parser.parse_args()
    if args.side == "betrue":
        betrue_app().run()
    else:
        web.run_app(aiohttp_app(), host="127.0.0.1", port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
