"""Baseline: a raw aiohttp handler reading one row by key with an asyncpg pool, answering betrue's envelope.

Run: ``python -m tools.bench.servers.aiohttp_pg --port 8080``.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import AsyncIterator

import asyncpg
import orjson
from aiohttp import web

from tools.bench.servers.pg_items import DSN, POOL_SIZE, QUERY, ensure_table

__all__ = ["make_app"]

POOL = web.AppKey("pool", asyncpg.Pool)


def _dumps(value: object) -> str:
    return orjson.dumps(value).decode()


def make_app() -> web.Application:
    """``POST /api/bench/item`` with ``{"id": n}`` answers the row as the envelope's result."""

    async def item(request: web.Request) -> web.Response:
        trace_id = request.headers.get("x-trace-id") or os.urandom(16).hex()
        try:
            params = orjson.loads(await request.read())
            key = params["id"]
            if not isinstance(key, int):
                raise TypeError
        except (orjson.JSONDecodeError, KeyError, TypeError):
            body = {"code": 400, "status": "ValidationError", "error": {"message": "id must be an integer"}}
            return web.json_response({**body, "traceId": trace_id}, status=400, dumps=_dumps)
        row = await request.app[POOL].fetchrow(QUERY, key)
        if row is None:
            body = {"code": 404, "status": "NotFound", "error": {"message": "No such item"}}
            return web.json_response({**body, "traceId": trace_id}, status=404, dumps=_dumps)
        result = {"id": row["id"], "name": row["name"], "price": str(row["price"])}
        envelope = {"code": 200, "status": "Success", "result": result, "traceId": trace_id}
        return web.json_response(envelope, headers={"x-trace-id": trace_id}, dumps=_dumps)

    async def pool(app: web.Application) -> AsyncIterator[None]:
        await ensure_table()
        app[POOL] = await asyncpg.create_pool(DSN, min_size=POOL_SIZE, max_size=POOL_SIZE)
        yield
        await app[POOL].close()

    app = web.Application()
    app.cleanup_ctx.append(pool)
    app.router.add_post("/api/bench/item", item)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    web.run_app(make_app(), host="127.0.0.1", port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
