"""The baseline of ``ws-fanout-vs-aiohttp``: plain aiohttp, the fastest simple broadcast loop.

For each message, ``await ws.send_str(frame)`` on each connection in turn: no queue, no isolation (one client
that stops reading stalls it for everybody). The frames are byte for byte those betrue-ws sends.
Run: ``python -m tools.bench.servers.ws_fanout_aiohttp --port 3000``.
"""

from __future__ import annotations

import argparse

import orjson
from aiohttp import WSMsgType, web

from tools.bench.comparisons.ws_fanout_load import tick_frame

__all__ = ["make_app"]


def make_app() -> web.Application:
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


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=3000)
    web.run_app(make_app(), host="127.0.0.1", port=parser.parse_args().port, access_log=None, print=None)
