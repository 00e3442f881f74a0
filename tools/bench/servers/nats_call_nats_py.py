"""Baseline of ``nats-call-*``: raw nats-py request/reply doing by hand what betrue does for a validated command.

Subscribes ``<prefix>.cmd.bench.bench.order`` in a queue group, decodes with orjson, validates with
jsonschema-rs against the same schema, answers the same envelope. Run:
``python -m tools.bench.servers.nats_call_nats_py --nats nats://127.0.0.1:4222 --prefix bench``.
"""

from __future__ import annotations

import argparse
import asyncio
import os

import jsonschema_rs
import nats
import orjson
from nats.aio.msg import Msg

from tools.bench.servers.payload import SCHEMA


async def serve(url: str, prefix: str) -> None:
    validator = jsonschema_rs.validator_for(SCHEMA)
    client = await nats.connect(url)

    async def order(msg: Msg) -> None:
        trace_id = (msg.headers or {}).get("x-trace-id") or os.urandom(16).hex()
        try:
            params = orjson.loads(msg.data)
        except orjson.JSONDecodeError:
            envelope = {"code": 400, "status": "ValidationError", "error": {"message": "Malformed JSON"}}
            await msg.respond(orjson.dumps({**envelope, "traceId": trace_id}))
            return
        errors = [{"path": error.instance_path, "message": error.message} for error in validator.iter_errors(params)]
        if errors:
            error = {"message": "Invalid params", "details": errors}
            envelope = {"code": 400, "status": "ValidationError", "error": error, "traceId": trace_id}
        else:
            envelope = {"code": 200, "status": "Success", "result": params, "traceId": trace_id}
        await msg.respond(orjson.dumps(envelope))

    await client.subscribe(f"{prefix}.cmd.bench.bench.order", queue=f"{prefix}.bench", cb=order)
    await client.flush()
    await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--nats", required=True)
    parser.add_argument("--prefix", required=True)
    args = parser.parse_args()
    asyncio.run(serve(args.nats, args.prefix))


if __name__ == "__main__":
    main()
