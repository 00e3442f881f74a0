"""A command reading one row by key through the ``db`` service, against raw aiohttp + asyncpg doing the same.

Both servers use an asyncpg pool of 10 connections to the same PostgreSQL and the same query on the same
table (``tools/bench/servers/pg_items.py``); betrue adds validation, the envelope, tracing hooks, error
mapping and one JSON log line per call.
"""

from __future__ import annotations

import orjson

from tools.bench.harness import Comparison, HttpRequest, Server, python_module
from tools.bench.servers.pg_items import BODY

__all__ = ["VS_ASYNCPG"]


def _row(body: bytes) -> str | None:
    envelope = orjson.loads(body)
    if envelope.get("code") != 200 or envelope.get("result") != {"id": 421, "name": "item 421", "price": "631.50"}:
        return f"not the row 421 in a success envelope: {body[:200]!r}"
    return None


ITEM = HttpRequest("POST", "/api/bench/item", BODY, {"Content-Type": "application/json"}, check=_row)

VS_ASYNCPG = Comparison(
    "pg-command-vs-asyncpg",
    betrue=Server(
        "betrue db service (asyncpg pool 10, JSON logs at INFO)",
        python_module("tools.bench.servers.betrue_pg"),
        env={
            "HTTP_HOST": "127.0.0.1",
            "HTTP_PORT": "{port}",
            "LOG_LEVEL": "INFO",
            "LOG_PRETTY": "false",
            "LOG_CALLS": "all",
            "DB_SLOW_QUERY": "0.5",
        },
    ),
    baseline=Server(
        "aiohttp + asyncpg pool 10 + orjson",
        python_module("tools.bench.servers.aiohttp_pg", "--port", "{port}"),
    ),
    request=ITEM,
    goal=0.8,
    description="The framework's overhead over a raw aiohttp + asyncpg handler reading one row by key.",
)
