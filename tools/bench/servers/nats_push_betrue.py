"""betrue side of ``nats-push-vs-nats-py``: two app instances, each with the WebSocket adapter on the NATS event bus.

Every event published on ``<prefix>.evt.bench.tick`` reaches both instances' buses, and each pushes it to its own
WebSocket connections. The first instance listens on ``--port``; ``GET /peers`` on it lists both ports.
Run: ``python -m tools.bench.servers.nats_push_betrue --port 8080 --nats nats://127.0.0.1:4222 --prefix b``.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any, ClassVar

from aiohttp import web

from betrue.nats import NatsConnection, NatsEventBus
from betrue.server import Application, Service
from betrue.ws import WsAdapter


class Peers(Service):
    """``GET /peers``: the ports of both instances, for the load to spread its clients."""

    name = "peers"
    deps = ("http",)
    ports: ClassVar[list[int]] = []

    async def start(self) -> Peers:
        self.services["http"].web.router.add_get("/peers", self.peers)
        return self

    async def peers(self, request: web.Request) -> web.Response:
        return web.json_response(Peers.ports)


def instance(name: str, port: int, url: str, prefix: str) -> Application:
    environ = {
        "HTTP_HOST": "127.0.0.1",
        "HTTP_PORT": str(port),
        "NATS_URL": url,
        "NATS_PREFIX": prefix,
        "WS_HEARTBEAT": "0",
        "LOG_LEVEL": "INFO",
        "LOG_PRETTY": "false",
    }
    app = Application(name, environ=environ, env_file=None)
    app.add_service(NatsConnection)
    app.replace_service("events", NatsEventBus)
    app.add_service(WsAdapter)
    return app


async def serve(port: int, url: str, prefix: str) -> None:
    second = instance("push-2", 0, url, prefix)
    await second.start()
    first = instance("push-1", port, url, prefix)
    first.add_service(Peers)
    Peers.ports = [port, second.service("http").port]
    await first.start()
    try:
        await asyncio.Event().wait()
    finally:
        await first.stop()
        await second.stop()


def main(argv: Any = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--nats", required=True)
    parser.add_argument("--prefix", required=True)
    args = parser.parse_args(argv)
    asyncio.run(serve(args.port, args.nats, args.prefix))


if __name__ == "__main__":
    main()
