"""A gateway hop: betrue's gateway proxying a command to a betrue app over HTTP, against the same hop in raw aiohttp.

Both sides are two processes on the server's core: a front that takes the 10-field order
(``tools/bench/servers/payload.py``) and forwards it over a pooled keep-alive connection, and an upstream
that validates it and echoes it in betrue's success envelope. betrue's front also validates the order (a
gateway stops bad requests itself), traces and measures the call and runs it through the client's fault
tolerance; the raw one only copies bytes.
"""

from __future__ import annotations

import orjson

from tools.bench.harness import Comparison, HttpRequest, Server, python_module
from tools.bench.servers.payload import BODY, PARAMS

__all__ = ["GATEWAY_HOP"]


def _echoed(body: bytes) -> str | None:
    envelope = orjson.loads(body)
    if envelope.get("code") != 200 or envelope.get("result") != PARAMS or not envelope.get("traceId"):
        return "not a success envelope echoing the order"
    return None


GATEWAY_HOP = Comparison(
    "gateway-hop-vs-aiohttp",
    betrue=Server(
        "betrue gateway -> betrue app (JSON logs at INFO on both)",
        python_module("tools.bench.servers.gateway_hop_betrue"),
        env={
            "HTTP_HOST": "127.0.0.1",
            "HTTP_PORT": "{port}",
            "LOG_LEVEL": "INFO",
            "LOG_PRETTY": "false",
            "LOG_CALLS": "all",
        },
    ),
    baseline=Server(
        "aiohttp proxy -> aiohttp + orjson + jsonschema-rs",
        python_module("tools.bench.servers.gateway_hop_aiohttp", "--port", "{port}"),
    ),
    request=HttpRequest("POST", "/api/bench/order", BODY, {"Content-Type": "application/json"}, check=_echoed),
    goal=0.8,
    description="One proxied call through a gateway and its upstream, against a raw aiohttp hop.",
)
