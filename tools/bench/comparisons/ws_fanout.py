"""WebSocket fan-out: 200 connected clients, bursts of events broadcast to all of them.

betrue pushes through the EventBus and the WebSocket adapter (a bounded queue and a writer task per
connection, so one stuck client cannot stall the rest); the baseline is plain aiohttp looping
``await ws.send_str(frame)`` over the connections, the fastest simple form (and the one a single
client that stops reading stalls for everybody). Deliveries per second, as the clients count them.
"""

from __future__ import annotations

import sys

from tools.bench.harness import Comparison, Measurement, Server, Target, Window, python_module, run_load_script

__all__ = ["WS_FANOUT"]

MESSAGES_PER_ROUND = 500
PAD = 64  # a ~100-byte push, like a chat message


def measure(target: Target, window: Window) -> Measurement:
    """200 byte-counting clients (``ws_fanout_load``), rounds of broadcasts for the window's length."""
    argv = [
        *(sys.executable, "-m", "tools.bench.comparisons.ws_fanout_load"),
        *("--host", target.host, "--port", str(target.port), "--seconds", str(window.seconds)),
        *("--clients", str(window.connections), "--count", str(MESSAGES_PER_ROUND), "--size", str(PAD)),
    ]
    return run_load_script(argv, window)


WS_FANOUT = Comparison(
    "ws-fanout-vs-aiohttp",
    betrue=Server(
        "betrue-ws (EventBus → adapter → per-connection queue + writer), JSON logs at INFO",
        python_module("tools.bench.servers.ws_fanout_betrue"),
        # Heartbeats off on both sides (plain aiohttp sends none); the rest are production defaults.
        env={"HTTP_HOST": "127.0.0.1", "HTTP_PORT": "{port}", "WS_HEARTBEAT": "0", "LOG_LEVEL": "INFO"},
        ready="tcp",
    ),
    baseline=Server(
        "aiohttp: for each message, await ws.send_str(frame) on each connection",
        python_module("tools.bench.servers.ws_fanout_aiohttp", "--port", "{port}"),
        ready="tcp",
    ),
    measure=measure,
    connections=200,
    goal=0.8,
    description="Server push to many connections, isolation included, against the naive loop without it.",
)
