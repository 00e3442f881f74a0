"""betrue's benchmark harness: declare a ``Comparison``, ``tools/bench/run.py`` finds, runs and reports it.

Example (a file in ``tools/bench/comparisons/``):
    >>> from tools.bench.harness import Comparison, HttpRequest, Server, python_module
    >>> PING = Comparison(
    ...     "ping-vs-aiohttp",
    ...     betrue=Server("betrue", python_module("my.bench.betrue_ping"), env={"HTTP_PORT": "{port}"}),
    ...     baseline=Server("aiohttp", python_module("my.bench.aiohttp_ping", "--port", "{port}")),
    ...     request=HttpRequest("POST", "/api/app/ping", b"{}", {"Content-Type": "application/json"}),
    ...     goal=0.9,
    ... )
"""

from tools.bench.harness.load import http_load, run_load_script
from tools.bench.harness.model import (
    Comparison,
    HttpRequest,
    Measure,
    Measurement,
    Server,
    Side,
    Target,
    Window,
    python_module,
)

__all__ = [
    "Comparison",
    "HttpRequest",
    "Measure",
    "Measurement",
    "Server",
    "Side",
    "Target",
    "Window",
    "http_load",
    "python_module",
    "run_load_script",
]
