"""betrue side of ``nats-call-*``: the validated 10-field command served by the NATS adapter.

Production defaults: JSON logs at INFO, one line per call. Run:
``NATS_URL=nats://127.0.0.1:4222 NATS_PREFIX=bench python -m tools.bench.servers.nats_call_betrue``.
"""

from __future__ import annotations

from typing import Any

from betrue.nats import NatsAdapter, NatsConnection
from betrue.server import Application, Context, Group
from tools.bench.servers.payload import SCHEMA

__all__ = ["app"]

bench = Group("bench")


@bench.command("order", input=SCHEMA, description="Accept an order and echo it")
async def order(params: dict[str, Any], ctx: Context) -> dict[str, Any]:
    return params


app = Application("bench", groups=[bench], http=False, env_file=None)
app.add_service(NatsConnection)
app.add_service(NatsAdapter)

if __name__ == "__main__":
    app.run()
