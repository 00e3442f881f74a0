"""The chat's push end to end: ``chat/send`` → every member's WebSocket, the cluster against the monolith.

Both sides are the chat example on PostgreSQL with 20 members in one room, 4 of them sending back to
back. The monolith is one process; the cluster is 2 gateways and 2 chat instances (in one process, so
both sides get the same CPU) whose calls go gateway → NATS → chat instance and whose pushes go chat
instance → NATS → both gateways. Deliveries per second, as the members count them. What the figure
shows is the price of the NATS hops and of presence in PostgreSQL (the join rule reads it on each send).
"""

from __future__ import annotations

import sys

from tools.bench.harness import Comparison, Measurement, Server, Target, Window, python_module, run_load_script

__all__ = ["CLUSTER_PUSH"]


def measure(target: Target, window: Window) -> Measurement:
    argv = [
        *(sys.executable, "-m", "tools.bench.comparisons.cluster_load"),
        *("--host", target.host, "--port", str(target.port), "--seconds", str(window.seconds)),
        *("--members", "20", "--senders", "4"),
    ]
    return run_load_script(argv, window)


CLUSTER_PUSH = Comparison(
    "cluster-push-vs-monolith",
    betrue=Server(
        "chat cluster: 2 gateways + 2 chat instances over NATS and PostgreSQL (one process)",
        python_module("tools.bench.servers.chat_shape", "--shape", "cluster", "--port", "{port}"),
        ready="tcp",
    ),
    baseline=Server(
        "chat monolith (examples.chat.app) on PostgreSQL",
        python_module("tools.bench.servers.chat_shape", "--shape", "monolith", "--port", "{port}"),
        ready="tcp",
    ),
    measure=measure,
    connections=20,
    goal=0.5,
    window_setup=5.0,
    description="Messages delivered end to end (send → every member's WS), the chat cluster against the monolith.",
)
