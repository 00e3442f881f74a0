"""The betrue side of ``ws-idle-memory-vs-aiohttp``: WebSocket with JWT auth at connect, and ``bench/rss``.

Run: ``HTTP_PORT=3000 JWT_SECRET=... python -m tools.bench.servers.ws_idle_betrue``.
"""

from __future__ import annotations

import os
from typing import Any

from betrue.server import Application, Context, Group, JwtAuthenticator, use_auth
from betrue.ws import WsAdapter
from tools.bench.comparisons.ws_idle_load import SECRET
from tools.bench.servers.ws_idle_rss import resident_bytes

__all__ = ["app"]

bench = Group("bench")


@bench.command("rss", input={"type": "object"}, auth="public")
async def rss(params: dict[str, Any], ctx: Context) -> dict[str, int]:
    """This process's resident memory in bytes, after a garbage collection."""
    return {"rss": resident_bytes()}


app = Application("bench-ws-idle", groups=[bench], environ={**os.environ, "JWT_SECRET": SECRET})
use_auth(app, JwtAuthenticator)
app.add_service(WsAdapter)

if __name__ == "__main__":
    app.run()
