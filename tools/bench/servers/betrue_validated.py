"""betrue: one command whose input is the 10-field schema, served with production defaults.

Production defaults: the HTTP adapter as configured by the environment (``HTTP_HOST``/``HTTP_PORT``), logging
on at ``LOG_LEVEL=INFO`` as JSON lines to stderr with one line per call. Run:
``HTTP_PORT=8080 python -m tools.bench.servers.betrue_validated``.
"""

from __future__ import annotations

from typing import Any

from betrue.server import Application, Context, Group
from tools.bench.servers.payload import SCHEMA

__all__ = ["app"]

bench = Group("bench")


@bench.command("order", input=SCHEMA, description="Accept an order and echo it")
async def order(params: dict[str, Any], ctx: Context) -> dict[str, Any]:
    return params


app = Application("bench", groups=[bench], env_file=None)

if __name__ == "__main__":
    app.run()
