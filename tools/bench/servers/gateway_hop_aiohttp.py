"""Baseline of the gateway hop: a raw aiohttp handler forwarding the body to a raw aiohttp app and back.

The upstream is ``aiohttp_validated`` in a child process; the hop reads the request, posts its body upstream
on one pooled keep-alive ``ClientSession`` and answers the upstream's status and body: the least a proxy does.
Run: ``python -m tools.bench.servers.gateway_hop_aiohttp --port 8080``.
"""

from __future__ import annotations

import argparse
import os

import aiohttp
from aiohttp import web

from tools.bench.servers.gateway_hop import start_upstream
from tools.bench.servers.payload import BODY

__all__ = ["make_app"]


def make_app(upstream: str) -> web.Application:
    """The hop: ``POST /api/{code}`` forwarded to ``upstream`` with the trace id, answered as it came back."""
    sessions: list[aiohttp.ClientSession] = []

    async def open_session(app: web.Application) -> None:
        sessions.append(aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=100)))

    async def close_session(app: web.Application) -> None:
        await sessions[0].close()

    async def hop(request: web.Request) -> web.Response:
        headers = {
            "Content-Type": "application/json",
            "x-trace-id": request.headers.get("x-trace-id") or os.urandom(16).hex(),
        }
        async with sessions[0].post(f"{upstream}{request.path}", data=await request.read(), headers=headers) as reply:
            body = await reply.read()
            return web.Response(body=body, status=reply.status, content_type="application/json")

    app = web.Application()
    app.on_startup.append(open_session)
    app.on_cleanup.append(close_session)
    app.router.add_post("/api/{code:.+}", hop)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    upstream, port = start_upstream(
        ["-m", "tools.bench.servers.aiohttp_validated", "--port", "{port}"], {}, "/api/bench/order", BODY
    )
    try:
        web.run_app(make_app(f"http://127.0.0.1:{port}"), host="127.0.0.1", port=args.port, access_log=None, print=None)
    finally:
        upstream.terminate()
        upstream.wait(5)


if __name__ == "__main__":
    main()
