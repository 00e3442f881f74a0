"""Baseline: a raw aiohttp handler doing what betrue does for a validated command, by hand.

Read the body, decode it with orjson (betrue's decoder, so the JSON library is not what is compared),
validate it with jsonschema-rs against the same schema, answer the same envelope with ``web.json_response``.
Run: ``python -m tools.bench.servers.aiohttp_validated --port 8080``.
"""

from __future__ import annotations

import argparse
import os

import jsonschema_rs
import orjson
from aiohttp import web

from tools.bench.servers.payload import SCHEMA

__all__ = ["make_app"]


def _dumps(value: object) -> str:
    return orjson.dumps(value).decode()


def make_app() -> web.Application:
    """The baseline app: ``POST /api/bench/order`` validates and echoes the order in an envelope."""
    validator = jsonschema_rs.validator_for(SCHEMA)

    async def order(request: web.Request) -> web.Response:
        trace_id = request.headers.get("x-trace-id") or os.urandom(16).hex()
        try:
            params = orjson.loads(await request.read())
        except orjson.JSONDecodeError:
            body = {"code": 400, "status": "ValidationError", "error": {"message": "Malformed JSON"}}
            return web.json_response({**body, "traceId": trace_id}, status=400, dumps=_dumps)
        errors = [{"path": error.instance_path, "message": error.message} for error in validator.iter_errors(params)]
        if errors:
            body = {"code": 400, "status": "ValidationError", "error": {"message": "Invalid params", "details": errors}}
            return web.json_response({**body, "traceId": trace_id}, status=400, dumps=_dumps)
        envelope = {"code": 200, "status": "Success", "result": params, "traceId": trace_id}
        return web.json_response(envelope, headers={"x-trace-id": trace_id}, dumps=_dumps)

    app = web.Application()
    app.router.add_post("/api/bench/order", order)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    web.run_app(make_app(), host="127.0.0.1", port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
