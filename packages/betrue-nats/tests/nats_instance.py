"""One instance of the test service, as its own process: ``python nats_instance.py <nats-url> <prefix>``.

Serves svc/sleep over NATS (answers its pid) and prints ``ready`` once it takes calls.
"""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

from betrue.nats import NatsAdapter, NatsConnection
from betrue.server import Application, Context, Group


def build(url: str, prefix: str) -> Application:
    group = Group("svc")

    @group.command("sleep")
    async def sleep(params: dict[str, Any], ctx: Context) -> Any:
        await asyncio.sleep(float(params.get("seconds", 0)))
        return {"n": params.get("n"), "pid": os.getpid()}

    environ = {"NATS_URL": url, "NATS_PREFIX": prefix, "LOG_LEVEL": "WARNING"}
    app = Application("svc", groups=[group], http=False, environ=environ, env_file=None)
    app.add_service(NatsConnection)
    app.add_service(NatsAdapter)
    return app


async def main(url: str, prefix: str) -> None:
    app = build(url, prefix)
    await app.start()
    print("ready", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await app.stop()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
