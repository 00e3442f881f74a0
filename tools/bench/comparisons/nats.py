"""NATS: betrue's NATS transport + adapter against raw nats-py request/reply; push through the NATS event bus
to WebSocket clients on two instances against raw nats-py subscriptions feeding raw aiohttp WebSockets.

The NATS server is the machine's (``BENCH_NATS_URL``, else ``BETRUE_TEST_NATS_URL``, else 127.0.0.1:4222), not
pinned; each side has a subject prefix of its own, so the two servers of a comparison never see each other's load.
"""

from __future__ import annotations

import os
import sys
import uuid

from tools.bench.harness import Comparison, Measurement, Server, Target, Window, python_module, run_load_script

__all__ = ["NATS_CALL", "NATS_CALL_LATENCY", "NATS_PUSH"]

NATS_URL = os.environ.get("BENCH_NATS_URL") or os.environ.get("BETRUE_TEST_NATS_URL") or "nats://127.0.0.1:4222"
_RUN = uuid.uuid4().hex[:8]
PREFIX = {"betrue": f"bench{_RUN}b", "baseline": f"bench{_RUN}r"}


def _calls(sequential: bool):  # type: ignore[no-untyped-def]
    def measure(target: Target, window: Window) -> Measurement:
        argv = [
            *(sys.executable, "-m", "tools.bench.comparisons.nats_load", "--side", target.side),
            *("--nats", NATS_URL, "--prefix", PREFIX[target.side], "--seconds", str(window.seconds)),
            *("--in-flight", str(window.connections)),
            *(["--sequential"] if sequential else []),
        ]
        return run_load_script(argv, window)

    return measure


def _call_server(side: str) -> Server:
    if side == "betrue":
        return Server(
            "betrue NATS adapter (jsonschema-rs, JSON logs at INFO) called through the NATS transport",
            python_module("tools.bench.servers.nats_call_betrue"),
            env={
                "NATS_URL": NATS_URL,
                "NATS_PREFIX": PREFIX["betrue"],
                "LOG_LEVEL": "INFO",
                "LOG_PRETTY": "false",
                "LOG_CALLS": "all",
            },
            ready="none",
        )
    return Server(
        "raw nats-py subscribe + orjson + jsonschema-rs, called with raw nats-py request",
        python_module("tools.bench.servers.nats_call_nats_py", "--nats", NATS_URL, "--prefix", PREFIX["baseline"]),
        ready="none",
    )


NATS_CALL = Comparison(
    "nats-call-vs-nats-py",
    betrue=_call_server("betrue"),
    baseline=_call_server("baseline"),
    measure=_calls(sequential=False),
    connections=50,
    goal=0.8,
    window_setup=4.0,
    description="A validated command over NATS, 50 calls in flight: transport + adapter against raw request/reply.",
)

NATS_CALL_LATENCY = Comparison(
    "nats-call-latency-vs-nats-py",
    betrue=_call_server("betrue"),
    baseline=_call_server("baseline"),
    measure=_calls(sequential=True),
    connections=1,
    goal=0.8,  # p50 within 1.25x of raw
    lower_is_better=True,
    window_setup=4.0,
    description="The same call one at a time: p50 latency (ratio = raw/betrue; 0.8 means 1.25x).",
)


def _push(target: Target, window: Window) -> Measurement:
    argv = [
        *(sys.executable, "-m", "tools.bench.comparisons.nats_push_load"),
        *("--host", target.host, "--port", str(target.port), "--nats", NATS_URL, "--prefix", PREFIX[target.side]),
        *("--seconds", str(window.seconds), "--clients", str(window.connections)),
    ]
    return run_load_script(argv, window)


NATS_PUSH = Comparison(
    "nats-push-vs-nats-py",
    betrue=Server(
        "two betrue-ws instances on the NATS event bus (per-connection queues + writers), JSON logs at INFO",
        python_module(
            "tools.bench.servers.nats_push_betrue", "--port", "{port}", "--nats", NATS_URL, "--prefix", PREFIX["betrue"]
        ),
        ready="tcp",
    ),
    baseline=Server(
        "two aiohttp WebSocket servers, each on a raw nats-py subscription looping ws.send_str",
        python_module(
            "tools.bench.servers.nats_push_nats_py",
            "--port",
            "{port}",
            "--nats",
            NATS_URL,
            "--prefix",
            PREFIX["baseline"],
        ),
        ready="tcp",
    ),
    measure=_push,
    connections=100,
    goal=0.8,
    window_setup=4.0,
    description="Events published on NATS, fanned out to WebSocket clients on two instances, against raw nats-py.",
)
