"""The baseline of ``ws-idle-memory-vs-aiohttp``: plain aiohttp, the bearer token checked with PyJWT at connect.

Run: ``python -m tools.bench.servers.ws_idle_aiohttp --port 3000``.
"""

from __future__ import annotations

import argparse

import jwt
from aiohttp import web

from tools.bench.comparisons.ws_idle_load import SECRET
from tools.bench.servers.ws_idle_rss import resident_bytes

__all__ = ["make_app"]


def make_app() -> web.Application:
    connections: dict[web.WebSocketResponse, str] = {}

    async def handle(request: web.Request) -> web.StreamResponse:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        try:
            claims = jwt.decode(token, SECRET, algorithms=["HS256"]) if scheme == "Bearer" else None
        except jwt.InvalidTokenError:
            claims = None
        if claims is None:
            raise web.HTTPUnauthorized()
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        connections[ws] = str(claims["sub"])
        try:
            async for _ in ws:
                pass
        finally:
            connections.pop(ws, None)
        return ws

    async def rss(request: web.Request) -> web.Response:
        return web.json_response({"code": 200, "status": "Success", "result": {"rss": resident_bytes()}})

    app = web.Application()
    app.router.add_get("/ws", handle)
    app.router.add_post("/api/bench/rss", rss)
    return app


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=3000)
    web.run_app(make_app(), host="127.0.0.1", port=parser.parse_args().port, print=None, access_log=None)
