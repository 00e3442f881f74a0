"""Idle WebSocket memory: 5,000 authenticated connections that send nothing, RSS growth per connection.

betrue holds each connection with its registry entry, attributes, identity, bounded send queue and writer;
the baseline is plain aiohttp verifying the same bearer token at connect and keeping the socket in a set.
Lower is better: the ratio is baseline bytes / betrue bytes, so 0.8 means betrue uses 1.25× the memory.

Each window starts a fresh server of its side: a process that held connections before keeps their freed
memory (Python's allocator does not give it back), so a second reading on the same process would measure
reuse, not cost. The servers are idle while measured, so their share of a core says nothing here.
"""

from __future__ import annotations

import sys

from tools.bench.harness import Comparison, Measurement, Server, Target, Window, python_module, run_load_script
from tools.bench.harness.processes import split_cpus, start_server

__all__ = ["WS_IDLE_MEMORY"]

CLIENTS = 5000


def measure(target: Target, window: Window) -> Measurement:
    server = WS_IDLE_MEMORY.betrue if target.side == "betrue" else WS_IDLE_MEMORY.baseline
    fresh = start_server(server, target.side, split_cpus().server, None)
    try:
        argv = [
            *(sys.executable, "-m", "tools.bench.comparisons.ws_idle_load"),
            *("--host", fresh.target.host, "--port", str(fresh.target.port), "--clients", str(CLIENTS)),
            *("--hold", str(min(window.seconds, 2.0))),
        ]
        return run_load_script(argv, window, timeout=window.seconds + 120)
    finally:
        fresh.stop()


WS_IDLE_MEMORY = Comparison(
    "ws-idle-memory-vs-aiohttp",
    betrue=Server(
        "betrue-ws, JWT at connect, production defaults (heartbeat off as on the baseline)",
        python_module("tools.bench.servers.ws_idle_betrue"),
        env={
            "HTTP_HOST": "127.0.0.1",
            "HTTP_PORT": "{port}",
            "WS_HEARTBEAT": "0",
            "LOG_LEVEL": "WARNING",  # 5,000 connect lines per round would measure the log, not the connections
        },
        ready="tcp",
    ),
    baseline=Server(
        "aiohttp WebSocketResponse, PyJWT check at connect, sockets kept in a set",
        python_module("tools.bench.servers.ws_idle_aiohttp", "--port", "{port}"),
        ready="tcp",
    ),
    measure=measure,
    connections=CLIENTS,
    goal=0.8,
    lower_is_better=True,
    window_setup=12.0,
    description="Memory per idle authenticated WebSocket connection against raw aiohttp (lower is better).",
)
