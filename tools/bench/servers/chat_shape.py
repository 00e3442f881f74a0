"""The chat in one shape for ``cluster-push-vs-monolith``: ``python -m tools.bench.servers.chat_shape``.

``monolith``: examples.chat.app in this process. ``cluster``: 2 gateways and 2 chat instances in this
process, over NATS (``BETRUE_TEST_NATS_URL``, a random subject prefix) and PostgreSQL. Each run gets a
fresh database (dropped at exit). Port P answers ``GET /urls`` with the WebSocket URLs to connect to.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import signal
import sys
from pathlib import Path

import asyncpg
from aiohttp import web

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT))

from examples.chat.shapes import environment, running  # noqa: E402

PG_DSN = os.environ.get("BETRUE_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
NATS_URL = os.environ.get("BETRUE_TEST_NATS_URL", "nats://127.0.0.1:4222")


async def main(shape: str, port: int) -> None:
    name = f"bench_chat_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(PG_DSN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    dsn = PG_DSN.rsplit("/", 1)[0] + f"/{name}"
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    try:
        environ = environment(dsn, NATS_URL, LOG_LEVEL="WARNING", WS_HEARTBEAT="0", CHAT_LOGIN_BURST="100000")
        async with running(shape, environ) as started:
            urls = [url.replace("http", "ws", 1) + "/ws" for url in started.urls]

            async def answer(request: web.Request) -> web.Response:
                return web.json_response(urls)

            web_app = web.Application()
            web_app.router.add_get("/urls", answer)
            runner = web.AppRunner(web_app)
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", port).start()
            await stop.wait()
            await runner.cleanup()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--shape", choices=["monolith", "cluster"], required=True)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    asyncio.run(main(args.shape, args.port))
