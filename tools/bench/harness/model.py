"""What a comparison is made of: two servers, a request or a custom measure, and a goal.

Example:
    >>> server = Server("raw", python_module("tools.bench.servers.aiohttp_validated", "--port", "{port}"))
    >>> Comparison("demo", betrue=server, baseline=server, request=HttpRequest("GET", "/")).goal
    1.0
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "Comparison",
    "Generator",
    "HttpRequest",
    "Measure",
    "Measurement",
    "Server",
    "Side",
    "Target",
    "Window",
    "python_module",
]

Side = Literal["betrue", "baseline"]
Generator = Literal["wrk", "python"]


def python_module(module: str, *args: str) -> list[str]:
    """The argv running ``module`` with this interpreter (``python -m module args``), from the repo root.

    Example:
        >>> python_module("uvicorn", "app:app")[1:]
        ['-m', 'uvicorn', 'app:app']
    """
    return [sys.executable, "-m", module, *args]


@dataclass(frozen=True)
class Server:
    """A server process. ``{port}`` in ``argv`` and ``env`` values becomes a free port on 127.0.0.1.

    ``ready``: how to tell it listens: ``"request"`` (the comparison's request answers its expected status,
    the default), ``"tcp"`` (the port accepts connections) or ``"none"`` (no port: custom measures only).
    """

    label: str
    argv: Sequence[str]
    env: Mapping[str, str] = field(default_factory=dict)
    ready: Literal["request", "tcp", "none"] = "request"
    startup_timeout: float = 30.0


@dataclass(frozen=True)
class HttpRequest:
    """One HTTP request the load generator repeats; ``check`` may vet a response body (None means fine)."""

    method: str = "GET"
    path: str = "/"
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    expect_status: int = 200
    check: Callable[[bytes], str | None] | None = None
    """Returns an error message for a wrong body; run once per side before measuring."""


@dataclass(frozen=True)
class Target:
    """The running server a measure talks to."""

    side: Side
    label: str
    host: str = "127.0.0.1"
    port: int | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


@dataclass(frozen=True)
class Window:
    """One measuring window: how long, how many connections, where the load runs and with what."""

    seconds: float
    connections: int
    load_cpus: tuple[int, ...]
    """The cores a load generator must be pinned to (empty: no pinning on this machine)."""
    generator: Generator
    warmup: bool = False


@dataclass(frozen=True)
class Measurement:
    """One side's result in one window. ``value`` is the number compared (higher is better unless the
    comparison says ``lower_is_better``)."""

    value: float
    unit: str = "req/s"
    p50_ms: float | None = None
    p99_ms: float | None = None
    errors: int = 0
    count: int = 0
    server_cpu: float | None = None
    """Share of one core the server used during the window (filled by the harness, from /proc)."""


Measure = Callable[[Target, Window], Measurement]
"""A custom load generator: run load against ``target`` for ``window.seconds`` and measure it."""


@dataclass(frozen=True)
class Comparison:
    """betrue against a baseline, measured the same way in the same run.

    Give ``request`` for an HTTP request/response load (wrk, or the Python generator), or ``measure`` for
    anything else (WebSocket fan-out, NATS round trips, ...). ``goal`` is the ratio betrue/baseline to reach.
    """

    name: str
    betrue: Server
    baseline: Server
    request: HttpRequest | None = None
    measure: Measure | None = None
    goal: float = 1.0
    connections: int = 50
    lower_is_better: bool = False
    description: str = ""
    window_setup: float = 0.0
    """Seconds each measure call spends beyond ``window.seconds`` (starting a load process, connecting 200
    WebSocket clients...), so ``--quick`` can budget it; the harness prints a hint when calls overrun it."""

    def __post_init__(self) -> None:
        if (self.request is None) == (self.measure is None):
            raise ValueError(f"comparison {self.name!r}: give exactly one of request= or measure=")
