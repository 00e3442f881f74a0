"""betrue: one command reading a row by key through the ``db`` service, with production defaults.

Run: ``HTTP_PORT=8080 python -m tools.bench.servers.betrue_pg``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from betrue.postgres import Database
from betrue.server import Application, Context, Group, NotFound
from tools.bench.servers.pg_items import DSN, POOL_SIZE, QUERY, ensure_table

__all__ = ["app"]

bench = Group("bench")
ITEM = {
    "type": "object",
    "properties": {"id": {"type": "integer"}},
    "required": ["id"],
    "additionalProperties": False,
}


@bench.command("item", input=ITEM, errors=[NotFound], description="One item by its id")
async def item(params: dict[str, Any], ctx: Context) -> dict[str, Any]:
    db: Database = await ctx.service("db")
    row = await db.fetchrow(QUERY, params["id"])
    if row is None:
        raise NotFound("No such item", details={"id": params["id"]})
    return {"id": row["id"], "name": row["name"], "price": str(row["price"])}


app = Application("bench", groups=[bench], env_file=None)
app.add_service(Database, config={"url": DSN, "min_size": POOL_SIZE, "max_size": POOL_SIZE})

if __name__ == "__main__":
    asyncio.run(ensure_table())
    app.run()
