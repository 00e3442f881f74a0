"""The betrue side of ``ws-fanout-vs-aiohttp``: ``bench/broadcast`` emits ``count`` events to every connection.

Each event goes through the EventBus to the WebSocket adapter, which queues it on every connection for that
connection's writer. Run: ``HTTP_PORT=3000 python -m tools.bench.servers.ws_fanout_betrue``.
"""

from __future__ import annotations

from typing import Any

from betrue.server import Application, Context, Group
from betrue.ws import WsAdapter
from tools.bench.comparisons.ws_fanout_load import EVENT, tick_data

__all__ = ["app"]

BROADCAST = {
    "type": "object",
    "properties": {"count": {"type": "integer", "minimum": 1}, "size": {"type": "integer", "minimum": 0}},
    "required": ["count", "size"],
}

bench = Group("bench")


@bench.command("broadcast", input=BROADCAST)
async def broadcast(params: dict[str, Any], ctx: Context) -> dict[str, int]:
    """Emit ``count`` events to every connection (no ``to``)."""
    size = params["size"]
    for seq in range(params["count"]):
        await ctx.emit(EVENT, tick_data(seq, size))
    return {"sent": params["count"]}


app = Application("bench-ws", groups=[bench])
app.add_service(WsAdapter)

if __name__ == "__main__":
    app.run()
