"""A validated JSON command over HTTP: betrue against raw aiohttp (same schema engine) and against FastAPI.

All three servers take the same 10-field order (``tools/bench/servers/payload.py``), validate it (jsonschema-rs
for betrue and aiohttp, pydantic for FastAPI) and echo it in betrue's success envelope.
"""

from __future__ import annotations

import orjson

from tools.bench.harness import Comparison, HttpRequest, Server, python_module
from tools.bench.servers.payload import BODY, PARAMS

__all__ = ["VS_AIOHTTP", "VS_FASTAPI"]


def _echoed(body: bytes) -> str | None:
    envelope = orjson.loads(body)
    if envelope.get("code") != 200 or envelope.get("result") != PARAMS or not envelope.get("traceId"):
        return "not a success envelope echoing the order"
    return None


ORDER = HttpRequest("POST", "/api/bench/order", BODY, {"Content-Type": "application/json"}, check=_echoed)

BETRUE = Server(
    "betrue (aiohttp, jsonschema-rs, JSON logs at INFO)",
    python_module("tools.bench.servers.betrue_validated"),
    # Production defaults, spelled out so a developer's shell cannot change them: one JSON line per call.
    env={
        "HTTP_HOST": "127.0.0.1",
        "HTTP_PORT": "{port}",
        "LOG_LEVEL": "INFO",
        "LOG_PRETTY": "false",
        "LOG_CALLS": "all",
    },
)

VS_AIOHTTP = Comparison(
    "http-validated-vs-aiohttp",
    betrue=BETRUE,
    baseline=Server(
        "aiohttp + orjson + jsonschema-rs",
        python_module("tools.bench.servers.aiohttp_validated", "--port", "{port}"),
    ),
    request=ORDER,
    goal=0.85,
    description="The framework's overhead over the same work done by hand in a raw aiohttp handler.",
)

VS_FASTAPI = Comparison(
    "http-validated-vs-fastapi",
    betrue=BETRUE,
    baseline=Server(
        "FastAPI on uvicorn (httptools, asyncio loop)",
        # Parity of accelerators (docs/benchmarks.md): aiohttp parses HTTP with llhttp in C, so uvicorn gets
        # httptools (llhttp too) rather than pure-Python h11; betrue runs on the stdlib loop, so no uvloop.
        python_module(
            "uvicorn",
            "tools.bench.servers.fastapi_validated:app",
            *("--host", "127.0.0.1", "--port", "{port}", "--workers", "1"),
            *("--loop", "asyncio", "--http", "httptools", "--log-level", "warning", "--no-access-log"),
        ),
    ),
    request=ORDER,
    goal=1.6,
    description="betrue against FastAPI with the same shape as a pydantic model.",
)
